package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/syncbuf"
)

// The world the Manager's tests run in. Its ports are the function-field
// fakes of mock_test.go; newWorld points their functions at the small
// models of models_test.go: a runtime whose tasks a test moves through their statuses
// (cluster), the table (table), the guild, which keeps every message by
// its Key, so that a test asserts what was said, to whom and of which
// server by its purpose, and leaves the words to text's own tests (guild),
// and the games' answers to probes (players). The feed's events and the
// metrics are recorded too.

// t0 is when every test's fake clock starts.
var t0 = time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)

var (
	admin   = spawner.Actor{UserID: "900000000000000001", Admin: true}
	alice   = "100000000000000001"
	bob     = "100000000000000002"
	carol   = "100000000000000003"
	errBoom = errors.New("service unavailable")
)

// testGame is the default Minecraft game as the daemon builds it from the
// original bot's variables.
func testGame() spawner.Game {
	return spawner.Game{
		Name:           "minecraft",
		Title:          "Minecraft",
		TaskDefinition: "minecraft-server",
		Container:      "minecraft",
		Port:           25565,
		Version:        "1.20.4",
		Env:            map[string]string{"EULA": "TRUE"},
		TokenEnv:       "OPREDEEM_TOKEN",
		AdminCommand:   "/opredeem {token}",
		Variants: []spawner.Variant{
			{Name: "official", Env: map[string]string{"ALLOW_NON_OFFICIAL": "false"}},
			{Name: "non_official", Env: map[string]string{"ALLOW_NON_OFFICIAL": "true"}},
		},
		DefaultVariant:     "official",
		MinPlayers:         4,
		WarningCount:       3,
		CheckInterval:      5 * time.Minute,
		MaxDuration:        90 * time.Minute,
		MaxDurationWarning: 10 * time.Minute,
		ReadyTimeout:       10 * time.Minute,
	}
}

// world is a Manager wired to function-field fakes and their models.
type world struct {
	tb     testing.TB
	ctx    context.Context
	cancel context.CancelFunc
	cfg    Options
	clock  *fakeClock
	logs   *syncbuf.Buffer
	m      *Manager

	// The Manager's ports; a test replaces a function to fail it, hold it
	// or watch it.
	tasks  *mockTasks
	store  *mockStore
	pinger *mockPinger
	chat   *mockChat

	// What the ports' functions read and change, and what the feed and
	// the metrics were told.
	cluster *cluster
	table   *table
	guild   *guild
	players *players
	feed    *events
	metrics *counts

	seeded int // servers put in the table by seed
}

type option func(*Options)

// withGame changes the (only) game of the catalog.
func withGame(change func(g *spawner.Game)) option {
	return func(c *Options) { change(&c.Catalog[0]) }
}

func withConfig(change func(c *Options)) option { return option(change) }

func newWorld(tb testing.TB, opts ...option) *world {
	tb.Helper()
	w := &world{tb: tb, clock: newFakeClock(t0), logs: &syncbuf.Buffer{}}
	w.cluster = &cluster{clock: w.clock, tasks: map[string]*spawner.Task{}, ips: map[string]string{}}
	w.table = &table{items: map[string]spawner.Server{}, cooldowns: map[string]time.Time{}}
	w.guild = &guild{tickets: map[string]*ticket{}}
	w.players = &players{at: map[string]int{}}
	w.feed = &events{}
	w.metrics = &counts{stopped: map[spawner.StopCause]int{}, warned: map[string]int{}}
	c, s, g := w.cluster, w.table, w.guild
	w.tasks = &mockTasks{RunTaskFn: c.RunTask, DescribeTasksFn: c.DescribeTasks, StopTaskFn: c.StopTask, ListOwnedTasksFn: c.ListOwnedTasks, AddressFn: c.Address}
	w.store = &mockStore{LoadAllFn: s.LoadAll, PutFn: s.Put, DeleteFn: s.Delete,
		PutCooldownFn: s.PutCooldown, DeleteCooldownFn: s.DeleteCooldown}
	w.pinger = &mockPinger{PingFn: w.players.Ping}
	w.chat = &mockChat{CreateTicketFn: g.CreateTicket, SendFn: g.Send, EditFn: g.Edit, DeleteChannelFn: g.DeleteChannel,
		CategoryChannelsFn: g.CategoryChannels, LogFn: g.Log}
	w.cfg = Options{
		Catalog:          spawner.Catalog{testGame()},
		MaxServers:       10,
		PollInterval:     5 * time.Second,
		TicketCloseDelay: time.Minute,
		Locale:           "en-US",
		OrphanGrace:      2 * time.Minute,
		Tasks:            w.tasks,
		Store:            w.store,
		Cooldowns:        w.store,
		Pinger:           w.pinger,
		Chat:             w.chat,
		Clock:            w.clock,
		Log:              slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:          w.metrics,
		Events:           w.feed,
	}
	for _, o := range opts {
		o(&w.cfg)
	}
	w.start()
	return w
}

// start makes the world's Manager, as the daemon does at start; w.cancel
// is then its shutdown: the context ends and the Manager closes.
func (w *world) start() {
	ctx, cancel := context.WithCancel(context.Background())
	m := New(w.cfg)
	w.m, w.ctx = m, ctx
	w.cancel = func() {
		cancel()
		w.closeManager(m)
	}
	w.tb.Cleanup(w.cancel)
}

// restart replaces the world's Manager by a new one on the same fakes, as
// the daemon does when it starts again; the old one must have been shut
// down (w.cancel).
func (w *world) restart() {
	w.tb.Helper()
	w.start()
}

// closeManager closes m, failing the test when its workers do not return.
func (w *world) closeManager(m *Manager) {
	w.tb.Helper()
	done := make(chan struct{})
	go func() { _ = m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		w.tb.Errorf("workers still running %v after Close\n%s", waitTimeout, w)
	}
}

func (w *world) game() spawner.Game { return w.cfg.Catalog[0] }

// String dumps everything the models recorded.
func (w *world) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- clock: %v (%d waiting)\n", w.clock.Now().Format(time.TimeOnly), w.clock.Waiters())
	b.WriteString("--- discord:\n" + w.guild.String())
	b.WriteString("--- table:\n" + w.table.String())
	b.WriteString("--- runtime:\n" + w.cluster.String())
	b.WriteString("--- mirror:\n")
	for _, s := range w.m.Servers(admin) {
		fmt.Fprintf(&b, "  %s task=%s state=%s owner=%s addr=%s\n", s.CreationID, s.ShortTaskID(), s.State, s.Owner, s.HostPort())
	}
	b.WriteString("--- log:\n" + w.logs.String())
	return b.String()
}

func (w *world) waitFor(what string, cond func() bool) {
	w.tb.Helper()
	waitFor(w.tb, what, cond, w)
}

// blockUntil waits until n goroutines wait on the fake clock.
func (w *world) blockUntil(n int) {
	w.tb.Helper()
	w.clock.BlockUntil(w.tb, n, w)
}

// recover runs Recover, failing the test on error.
func (w *world) recover() {
	w.tb.Helper()
	if err := w.m.Recover(w.ctx); err != nil {
		w.tb.Fatalf("Recover: %v\n%s", err, w)
	}
}

// replies records what a member is answered, ephemerally, during
// creation: the request's Answer.
type replies struct {
	mu   sync.Mutex
	msgs []string
}

var _ spawner.Answer = (*replies)(nil)

// Given says the member was answered at once.
func (r *replies) Given() <-chan struct{} { return nil }

// Update records m.
func (r *replies) Update(m spawner.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m.Content)
	r.mu.Unlock()
}

func (r *replies) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// last is the last answer, "" for none.
func (r *replies) last() string {
	all := r.all()
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// request is a member's /server create with a recorded reply.
func (w *world) request(owner, variant string) (spawner.CreateRequest, *replies) {
	r := &replies{}
	return spawner.CreateRequest{Owner: owner, Locale: "en-US", Variant: variant, Answer: r}, r
}

// create asks for a server for owner, failing the test when refused.
func (w *world) create(owner, variant string) *replies {
	w.tb.Helper()
	req, r := w.request(owner, variant)
	if err := w.m.Create(req); err != nil {
		w.tb.Fatalf("Create for %s: %v\n%s", owner, err, w)
	}
	return r
}

// waitWorkers waits until every worker of the Manager has returned.
func (w *world) waitWorkers() {
	w.tb.Helper()
	select {
	case <-w.workersDone():
	case <-time.After(waitTimeout):
		w.tb.Fatalf("workers still running after %v\n%s", waitTimeout, w)
	}
}

func (w *world) workersDone() <-chan struct{} {
	done := make(chan struct{})
	go func() { w.m.Wait(); close(done) }()
	return done
}

// pollUntilWorkersDone advances the clock by PollInterval each time a
// worker waits on it, until every worker has returned; at most maxPolls.
func (w *world) pollUntilWorkersDone(maxPolls int) {
	w.tb.Helper()
	done := w.workersDone()
	for i := 0; ; i++ {
		var finished bool
		w.waitFor("a worker to wait on the clock or return", func() bool {
			select {
			case <-done:
				finished = true
				return true
			default:
				return w.clock.Waiters() > 0
			}
		})
		if finished {
			return
		}
		if i >= maxPolls {
			w.tb.Fatalf("creation still running after %d polls\n%s", maxPolls, w)
		}
		w.clock.Advance(w.cfg.PollInterval)
	}
}

// readyServer creates a server for owner and lets it boot to ready at
// once (task RUNNING at the first poll, the game answering with the
// minimum).
func (w *world) readyServer(owner string) spawner.Server {
	w.tb.Helper()
	w.cluster.startIn(spawner.TaskRunning)
	w.players.answer(w.game().MinPlayers)
	w.create(owner, "")
	w.waitWorkers()
	srv, ok := w.serverOf(owner)
	if !ok || srv.State != spawner.StateReady {
		w.tb.Fatalf("server of %s not ready: %+v\n%s", owner, srv, w)
	}
	w.expectPhase(srv.CreationID, phaseWatched)
	return srv
}

// waitServerReady waits until owner's server is ready in the mirror.
func (w *world) waitServerReady(owner string) spawner.Server {
	w.tb.Helper()
	var srv spawner.Server
	w.waitFor(owner+"'s server ready", func() bool {
		s, ok := w.serverOf(owner)
		srv = s
		return ok && s.State == spawner.StateReady
	})
	return srv
}

// serverOf returns owner's server in the mirror.
func (w *world) serverOf(owner string) (spawner.Server, bool) {
	for _, s := range w.m.Servers(admin) {
		if s.Owner == owner {
			return s, true
		}
	}
	return spawner.Server{}, false
}

// pass runs one watchdog pass at the fake clock's time.
func (w *world) pass(sweep bool) { w.m.Pass(w.ctx, w.clock.Now(), sweep) }

// advanceAndPass moves the clock by d and runs a pass.
func (w *world) advanceAndPass(d time.Duration, sweep bool) {
	w.clock.Advance(d)
	w.pass(sweep)
}

// said returns the message about srv for purpose in its ticket channel.
func (w *world) said(srv spawner.Server, purpose string) (post, bool) {
	return w.guild.said(srv.ChannelID, msgKey(srv, purpose))
}

// logged is how many times the log channel was told of srv for purpose.
func (w *world) logged(srv spawner.Server, purpose string) int {
	return len(w.guild.logged(msgKey(srv, purpose)))
}

// expectSaid fails the test unless the message about srv for purpose is
// in its ticket channel, mentioning exactly mentions.
func (w *world) expectSaid(srv spawner.Server, purpose string, mentions ...string) post {
	w.tb.Helper()
	p, ok := w.said(srv, purpose)
	if !ok {
		w.tb.Fatalf("no %q message about %s in #%s\n%s", purpose, srv.CreationID, srv.ChannelID, w)
	}
	if !slices.Equal(p.mentions, mentions) {
		w.tb.Errorf("the %q message mentions %v, want %v", purpose, p.mentions, mentions)
	}
	return p
}

// expectEnded checks srv ended for cause: the feed and the metrics were
// told so once, its owner was told in the ticket (mentioned) unless it
// had none, and the log channel once.
func (w *world) expectEnded(srv spawner.Server, cause spawner.StopCause) {
	w.tb.Helper()
	if got, ok := w.feed.endOf(feedID(srv)); !ok || got != cause {
		w.tb.Errorf("the feed was told %s ended with %q (%v), want %q\n%s", srv.CreationID, got, ok, cause, w)
	}
	if got := w.metrics.stoppedOf(cause); got != 1 {
		w.tb.Errorf("metrics counted %d %s stops, want 1", got, cause)
	}
	if srv.ChannelID != "" {
		w.expectSaid(srv, "end", srv.Owner)
	}
	if n := w.logged(srv, "log-end"); n != 1 {
		w.tb.Errorf("the log channel was told of the end %d times, want once\n%s", n, w)
	}
}

// feedID is the id the feed names srv by.
func feedID(srv spawner.Server) string {
	if srv.CreationID != "" {
		return srv.CreationID
	}
	return srv.ShortTaskID()
}

// expectClosedAfterDelay checks the ticket channel is still there, then
// deleted by the first pass after TicketCloseDelay.
func (w *world) expectClosedAfterDelay(channelID string) {
	w.tb.Helper()
	w.pass(false)
	if w.guild.isDeleted(channelID) {
		w.tb.Fatalf("ticket channel %s deleted before the close delay\n%s", channelID, w)
	}
	w.advanceAndPass(w.cfg.TicketCloseDelay, false)
	if !w.guild.isDeleted(channelID) {
		w.tb.Fatalf("ticket channel %s not deleted after the close delay\n%s", channelID, w)
	}
}

// expectNothingLeft checks no task runs, no record is left and the mirror is empty.
func (w *world) expectNothingLeft() {
	w.tb.Helper()
	if r := w.cluster.running(); len(r) > 0 {
		w.tb.Errorf("tasks left running: %v\n%s", r, w)
	}
	if k := w.table.keys(); len(k) > 0 {
		w.tb.Errorf("records left in the table: %v\n%s", k, w)
	}
	if s := w.m.Servers(admin); len(s) > 0 {
		w.tb.Errorf("servers left in the mirror: %+v\n%s", s, w)
	}
}

func refusalCode(err error) spawner.RefusalCode {
	var r *spawner.Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return 0
}

// expectRefused fails the test unless err is a refusal with code want.
func expectRefused(tb testing.TB, what string, err error, want spawner.RefusalCode) {
	tb.Helper()
	if refusalCode(err) != want {
		tb.Fatalf("%s: err = %v, want refusal %d", what, err, want)
	}
}

// refusalOf returns err's refusal, for a test that checks what it names
// (a limit, a name, a time), failing the test unless err is a refusal
// with code want.
func refusalOf(tb testing.TB, what string, err error, want spawner.RefusalCode) *spawner.Refusal {
	tb.Helper()
	var r *spawner.Refusal
	if !errors.As(err, &r) || r.Code != want {
		tb.Fatalf("%s: err = %v, want refusal %d", what, err, want)
	}
	return r
}

// phaseOf returns the phase of server id (its creation id, or task ARN for
// an original record) and whether it is in the mirror at all.
func (w *world) phaseOf(id string) (phase, bool) {
	var p phase
	_, ok := w.m.fleet.update(id, func(e *entry) { p = e.phase })
	return p, ok
}

// expectPhase fails the test unless server id is in the mirror in phase want.
func (w *world) expectPhase(id string, want phase) {
	w.tb.Helper()
	got, ok := w.phaseOf(id)
	if !ok {
		w.tb.Errorf("server %s is not in the mirror, want it %s\n%s", id, want, w)
	} else if got != want {
		w.tb.Errorf("server %s is %s, want %s\n%s", id, got, want, w)
	}
}

// logCount is how many lines of the daemon's log contain s.
func (w *world) logCount(s string) int { return strings.Count(w.logs.String(), s) }

// seed puts in the table, the runtime and the category a server recorded
// before the Manager started, as a previous run (or the original bot)
// left it.
type seed struct {
	owner     string
	createdAt time.Time
	state     spawner.State      // record state ("" as the original bot wrote it)
	task      spawner.TaskStatus // status of its task; 0 for no task at all
	owned     bool               // task started by this bot (startedBy spawner)
	pending   bool               // only the pending record: RunTask had not answered
	original  bool               // written by the original bot: no creation id, no port
}

func (w *world) seed(s seed) spawner.Server {
	w.tb.Helper()
	w.seeded++
	id := fmt.Sprintf("c0ffee%026x", w.seeded)
	ch := fmt.Sprintf("1300000000009%06d", w.seeded)
	topic := "Minecraft · official · " + TopicMarker + id
	if s.original {
		topic = "Serveur de " + s.owner // the original bot put no marker
	}
	statusID := w.guild.addChannel(ch, topic, s.owner)
	arn := fmt.Sprintf("arn:aws:ecs:eu-west-3:111122223333:task/games/%032x", 0xfeed0000+w.seeded)
	srv := spawner.Server{
		TaskID: arn, CreationID: id, Game: "minecraft", Variant: "official", Owner: s.owner,
		ChannelID: ch, StatusMessageID: statusID, Port: 25565, Token: fmt.Sprintf("tok%09d", w.seeded),
		Locale: "en-US", State: s.state, CreatedAt: s.createdAt,
	}
	if s.task != 0 {
		t := spawner.Task{
			ID: arn, Status: s.task, CreatedAt: s.createdAt,
			Tags: map[string]string{spawner.TagCreation: id, spawner.TagOwner: s.owner, spawner.TagChannel: ch},
		}
		if t.Status == spawner.TaskStopped {
			t.StopWanted, t.StoppedReason = true, "Task stopped by user"
		}
		if s.owned {
			t.StartedBy = spawner.StartedBy
		}
		w.cluster.add(t)
		if s.task == spawner.TaskRunning && s.state != spawner.StatePending && s.state != spawner.StateProvisioning {
			srv.Address = w.cluster.ipOf(arn)
			srv.RunningAt = s.createdAt.Add(time.Minute)
		}
	}
	if s.state == spawner.StateReady {
		srv.ReadyAt = s.createdAt.Add(2 * time.Minute)
	}
	if s.original {
		srv.CreationID, srv.Port, srv.StatusMessageID, srv.Locale = "", 0, "", ""
		srv.ReadyAt, srv.RunningAt = time.Time{}, time.Time{}
	}
	if s.pending {
		srv.TaskID = ""
	}
	w.table.put(srv)
	return srv
}
