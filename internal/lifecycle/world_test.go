package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/syncbuf"
)

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

// world is a Manager wired to fakes of everything it talks to.
type world struct {
	tb     testing.TB
	ctx    context.Context
	cancel context.CancelFunc
	cfg    Options

	clock   *fakeClock
	j       *journal
	ecs     *fakeTasks
	store   *fakeStore
	pinger  *fakePinger
	chat    *fakeChat
	metrics *fakeMetrics
	logs    *syncBuffer
	m       *Manager

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
	ctx, cancel := context.WithCancel(context.Background())
	w := &world{tb: tb, clock: newFakeClock(t0), j: &journal{}, logs: &syncBuffer{}}
	w.ecs = newFakeTasks(w.j, w.clock)
	w.store = newFakeStore(w.j)
	w.pinger = newFakePinger(w.j)
	w.chat = newFakeChat(w.j)
	w.metrics = newFakeMetrics()
	w.cfg = Options{
		Catalog:          spawner.Catalog{testGame()},
		MaxServers:       10,
		PollInterval:     5 * time.Second,
		TicketCloseDelay: time.Minute,
		Locale:           "en-US",
		OrphanGrace:      2 * time.Minute,
		CreateCooldown:   -1, // TestCreateCooldown turns it on
		Tasks:            w.ecs,
		Store:            w.store,
		Cooldowns:        w.store,
		Pinger:           w.pinger,
		Chat:             w.chat,
		Clock:            w.clock,
		Log:              slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:          w.metrics,
	}
	for _, o := range opts {
		o(&w.cfg)
	}
	if g, ok := w.cfg.Games.(*fakeGames); ok {
		w.store.games = g // one table holds the servers and the templates
	}
	w.start(ctx, cancel)
	return w
}

// start makes the world's Manager, as the daemon does at start; w.cancel
// is then its shutdown: the context ends and the Manager closes.
func (w *world) start(ctx context.Context, cancel context.CancelFunc) {
	m := New(w.cfg)
	w.m = m
	w.ctx = ctx
	w.cancel = func() {
		cancel()
		w.closeManager(m)
	}
	w.tb.Cleanup(w.cancel)
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

// String dumps everything the fakes recorded.
func (w *world) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- clock: %v (%d waiting)\n", w.clock.Now().Format(time.TimeOnly), w.clock.Waiters())
	b.WriteString("--- calls:\n" + w.j.String())
	b.WriteString("--- discord:\n" + w.chat.String())
	b.WriteString("--- table:\n" + w.store.String())
	b.WriteString("--- ecs:\n" + w.ecs.String())
	b.WriteString("--- metrics:\n" + w.metrics.String())
	b.WriteString("--- mirror:\n")
	for _, s := range w.m.Servers(admin) {
		fmt.Fprintf(&b, "  %s task=%s state=%s owner=%s addr=%s\n", s.CreationID, s.TaskID(), s.State, s.Owner, s.HostPort())
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

// replies records what a member is answered, ephemerally, during creation.
type replies struct {
	mu   sync.Mutex
	msgs []spawner.Message
}

func (r *replies) reply(m spawner.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

func (r *replies) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.msgs))
	for i, m := range r.msgs {
		out[i] = m.Content
	}
	return out
}

func (r *replies) String() string { return "--- replies:\n  " + strings.Join(r.all(), "\n  ") + "\n" }

// request is a member's /server create with a recorded reply.
func (w *world) request(owner, variant string) (spawner.CreateRequest, *replies) {
	r := &replies{}
	return spawner.CreateRequest{Owner: owner, Locale: "en-US", Variant: variant, Reply: r.reply}, r
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

// waitWorkers waits until every creation worker has returned.
func (w *world) waitWorkers() {
	w.tb.Helper()
	select {
	case <-w.workersDone():
	case <-time.After(waitTimeout):
		w.tb.Fatalf("creation workers still running after %v\n%s", waitTimeout, w)
	}
}

func (w *world) workersDone() <-chan struct{} {
	done := make(chan struct{})
	go func() { w.m.Wait(); close(done) }()
	return done
}

// pollUntilWorkersDone advances the clock by PollInterval each time a
// creation worker waits on it, until every worker has returned; at most
// maxPolls polls.
func (w *world) pollUntilWorkersDone(maxPolls int) {
	w.tb.Helper()
	done := w.workersDone()
	for i := 0; ; i++ {
		var finished bool
		w.waitFor("a creation worker to wait on the clock or return", func() bool {
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
// once (task RUNNING at the first poll, the game answering with the minimum).
func (w *world) readyServer(owner string) (spawner.Server, *replies) {
	w.tb.Helper()
	w.ecs.mu.Lock()
	w.ecs.startStatus = spawner.TaskRunning
	w.ecs.mu.Unlock()
	w.pinger.answer(w.game().MinPlayers)
	r := w.create(owner, "")
	w.waitWorkers()
	srv, ok := w.serverOf(owner)
	if !ok || srv.State != spawner.StateReady {
		w.tb.Fatalf("server of %s not ready: %+v\n%s", owner, srv, w)
	}
	w.expectPhase(srv.CreationID, phaseWatched)
	return srv, r
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
func (w *world) pass(sweep bool) {
	w.m.Pass(w.ctx, w.clock.Now(), sweep)
}

// advanceAndPass moves the clock by d and runs a pass.
func (w *world) advanceAndPass(d time.Duration, sweep bool) {
	w.clock.Advance(d)
	w.pass(sweep)
}

// mustContain fails the test unless s contains every one of parts.
func (w *world) mustContain(what, s string, parts ...string) {
	w.tb.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			w.tb.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}

// lastMessage returns the last message of a channel, failing when there is none.
func (w *world) lastMessage(channelID string) fakeMessage {
	w.tb.Helper()
	msgs := w.chat.messages(channelID)
	if len(msgs) == 0 {
		w.tb.Fatalf("no message in channel %s\n%s", channelID, w)
	}
	return msgs[len(msgs)-1]
}

// expectClosedAfterDelay checks the ticket channel is still there, then
// deleted by the first pass after TicketCloseDelay.
func (w *world) expectClosedAfterDelay(channelID string) {
	w.tb.Helper()
	w.pass(false)
	if w.chat.isDeleted(channelID) {
		w.tb.Fatalf("ticket channel %s deleted before the close delay\n%s", channelID, w)
	}
	w.advanceAndPass(w.cfg.TicketCloseDelay, false)
	if !w.chat.isDeleted(channelID) {
		w.tb.Fatalf("ticket channel %s not deleted after the close delay\n%s", channelID, w)
	}
}

// expectNothingLeft checks no task runs, no record is left and the mirror is empty.
func (w *world) expectNothingLeft() {
	w.tb.Helper()
	if r := w.ecs.running(); len(r) > 0 {
		w.tb.Errorf("tasks left running: %v\n%s", taskIDs(r), w)
	}
	if k := w.store.keys(); len(k) > 0 {
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

// syncBuffer collects the logger's concurrent writes.
type syncBuffer = syncbuf.Buffer

// phaseOf returns the phase of server id (its creation id, or task ARN for
// an original record) and whether it is in the mirror at all.
func (w *world) phaseOf(id string) (phase, bool) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	e, ok := w.m.entries[id]
	if !ok {
		return 0, false
	}
	return e.phase, true
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
