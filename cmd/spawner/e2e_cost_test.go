package main

// What the servers cost, end to end: /server cost as admins and members
// read it, and the monthly report in the log channel, once, also across a
// restart on the first of the month. The sessions are the hand-computed
// November of internal/cost (testworld/costcase), written into the store
// by the test; the day is the test's, through run's context.

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/costcase"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// costClock is the day as the test says it is.
type costClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *costClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *costClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// startAt runs the daemon as w.start does, with clock as the day /server
// cost and the monthly report see.
func (w *world) startAt(tb testing.TB, clock *costClock) *daemonHandle {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), clockKey{}, clock.now))
	d := &daemonHandle{w: w, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	go func() { d.done <- run(ctx, []string{"run"}, w.getenv, d.logs, d.logs) }()
	tb.Cleanup(func() {
		if err := d.stop(tb); err != nil {
			tb.Errorf("the daemon's run returned %v at the test's end", err)
		}
		if tb.Failed() {
			tb.Logf("daemon logs:\n%s", d.logs.String())
		}
	})
	w.waitFor(tb, "the daemon to register its commands and connect", func() bool {
		return len(w.discord.CommandsIn(guildID)) > 0 && w.discord.Connected() && strings.Contains(d.logs.String(), "spawner started")
	}, d)
	return d
}

// costUsers are the case's members in the guild: alice is an admin.
var costUsers = map[string]fakediscord.User{
	costcase.Alice: admin(1),
	costcase.Bob:   member(2),
	costcase.Carol: member(3),
	costcase.Dave:  member(4),
	costcase.Erin:  member(5),
}

// costSessions are the case's sessions, owned by costUsers, and one that
// ended more than 13 months before December 2026, for the pruning.
func costSessions() []spawner.Session {
	sessions := costcase.Sessions(func(name string) string { return costUsers[name].ID })
	return append(sessions, spawner.Session{ID: "old", Owner: costUsers[costcase.Erin].ID, Game: "minecraft",
		StartedAt: time.Date(2025, 9, 2, 20, 0, 0, 0, time.UTC), EndedAt: time.Date(2025, 9, 2, 21, 0, 0, 0, time.UTC),
		Capacity: spawner.CapacityFargate, Region: "eu-west-3", CPU: 1024, Memory: 2048})
}

func mention(name string) string { return "<@" + costUsers[name].ID + ">" }

// costStores are the two stores the sessions can be in, each with the
// environment that puts the daemon on it and how the test reaches it
// while no daemon runs.
var costStores = []struct {
	name string
	env  func(dir string) map[string]string
	open func(tb testing.TB, w *world, dir string) (cost.Store, func())
}{
	{"table", func(string) map[string]string { return nil }, func(tb testing.TB, w *world, _ string) (cost.Store, func()) {
		tbl := w.serverTable(tb)
		if err := tbl.EnsureTable(context.Background()); err != nil {
			tb.Fatalf("create table: %v", err)
		}
		return tbl, func() {}
	}},
	{"data folder", embeddedEnv, func(tb testing.TB, _ *world, dir string) (cost.Store, func()) {
		st, err := bolt.Open(dir)
		if err != nil {
			tb.Fatalf("open store: %v", err)
		}
		return st, func() { _ = st.Close() }
	}},
}

// putSessions writes sessions into the store, as the lifecycle records them.
type sessionPutter interface {
	PutSession(ctx context.Context, s spawner.Session) error
}

func putSessions(tb testing.TB, st cost.Store, sessions []spawner.Session) {
	tb.Helper()
	for _, s := range sessions {
		if err := st.(sessionPutter).PutSession(context.Background(), s); err != nil {
			tb.Fatalf("put session %s: %v", s.ID, err)
		}
	}
}

// TestCostCommandE2E: an admin's /server cost month:2026-11 shows the
// hand-computed figures by member and by game with the rates, a member
// sees only their own, and a month the bot cannot tell is refused at
// once, privately, naming the problem.
func TestCostCommandE2E(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	st, _ := costStores[0].open(t, w, "")
	putSessions(t, st, costSessions())
	clock := &costClock{t: time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)}
	w.startAt(t, clock)

	answer := func(u fakediscord.User, locale string, opts map[string]any) string {
		t.Helper()
		ix := w.discord.Command(u, locale, []string{"server", "cost"}, opts)
		if r := ix.WaitResponse(t, waitLong); !r.Ephemeral() || r.Late || r.Type != fakediscord.ResponseDeferredChannelMessage {
			t.Fatalf("cost answer %+v, want a private deferred answer within the deadline", r)
		}
		edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return m.Content != "" })
		if len(edit.Mentions) != 0 {
			t.Errorf("the answer pings %v", edit.Mentions)
		}
		return edit.Text()
	}

	got := answer(costUsers[costcase.Alice], "en-US", map[string]any{"month": "2026-11"})
	mustSay(t, "the admin's answer", got,
		"Estimated cost of the servers, November 2026\n",
		"Total: 6 server(s), 9.5 h, 0.35 USD (2.0 h not priced",
		"By member:\n- "+mention(costcase.Bob)+": 2 server(s), 5.0 h, 0.19 USD\n- "+mention(costcase.Alice)+": 2 server(s), 2.5 h, 0.16 USD\n- "+
			mention(costcase.Carol)+": 1 server(s), < 0.1 h, < 0.01 USD\n- "+mention(costcase.Dave)+": 1 server(s), 2.0 h (2.0 h not priced",
		"By game:\n- minecraft: 5 server(s), 5.5 h, 0.19 USD (2.0 h not priced",
		"- valheim: 1 server(s), 4.0 h, 0.16 USD",
		"Rates in eu-west-3: Fargate 0.0486 USD per vCPU-hour and 0.0053 USD per GB-hour; Fargate Spot 0.01458 USD and 0.00159 USD",
		"Rates read 2026-12-07 from <https://aws.amazon.com/fargate/pricing/>.",
	)
	if strings.Contains(got, mention(costcase.Erin)) {
		t.Errorf("sessions of other months are counted:\n%s", got)
	}

	got = answer(costUsers[costcase.Bob], "fr", map[string]any{"month": "2026-11"})
	mustSay(t, "bob's answer", got,
		"Tes serveurs en novembre 2026 : 2 serveur(s), 5,0 h, 0,19 USD\n- valheim : 1 serveur(s), 4,0 h, 0,16 USD\n- minecraft : 1 serveur(s), 1,0 h, 0,03 USD\n")
	for _, other := range []string{costcase.Alice, costcase.Carol, costcase.Dave} {
		if strings.Contains(got, costUsers[other].ID) {
			t.Errorf("bob's answer names %s:\n%s", other, got)
		}
	}
	if strings.Contains(got, "0,35") {
		t.Errorf("bob's answer shows the month's total:\n%s", got)
	}
	// December so far: bob's server D, running since 30 November 23:00.
	mustSay(t, "bob's December", answer(costUsers[costcase.Bob], "en-US", nil),
		"Your servers in December 2026: 1 server(s), 158.0 h, 4.68 USD\n- minecraft: 1 server(s), 158.0 h, 4.68 USD")

	refusalExpect(t, w.discord.Command(costUsers[costcase.Bob], "en-US", []string{"server", "cost"}, map[string]any{"month": "11/2026"}),
		`"11/2026" is not a month: write it YYYY-MM, like 2026-12.`)
	refusalExpect(t, w.discord.Command(costUsers[costcase.Alice], "fr", []string{"server", "cost"}, map[string]any{"month": "2027-01"}),
		"2027-01 n'est pas encore arrivé.")
	refusalExpect(t, w.discord.Command(costUsers[costcase.Alice], "en-US", []string{"server", "cost"}, map[string]any{"month": "2025-11"}),
		"Servers are kept 13 months: ask for 2025-12 or later.")

	// spawner check says what the estimate uses.
	r := checkRunEnv(t, w, nil)
	checkExpect(t, w, r, nil)
	if want := "ok       cost: rates of 2026-12-07 from https://aws.amazon.com/fargate/pricing/ (the repository's table); eu-west-3 priced for FARGATE and FARGATE_SPOT\n"; !strings.Contains(r.out, want) {
		t.Errorf("check does not say %q:\n%s", want, r.out)
	}
}

// reports are the monthly reports in the log channel.
func (w *world) reports() []fakediscord.Message {
	var out []fakediscord.Message
	for _, m := range w.discord.Messages(logChannel) {
		if strings.Contains(m.Text(), "Bilan du mois") { // the guild speaks French
			out = append(out, m)
		}
	}
	return out
}

// TestCostMonthlyReportOnceE2E: on the first of the month the past
// month's report reaches the log channel with the hand-computed figures,
// pinging nobody; a restart later that day finds it sent and posts nothing
// more; the sessions past their 13 months are pruned. With either store.
func TestCostMonthlyReportOnceE2E(t *testing.T) {
	t.Parallel()
	for _, s := range costStores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			w := newWorld(t, worldOptions{env: s.env(dir)})
			st, closeStore := s.open(t, w, dir)
			putSessions(t, st, costSessions())
			closeStore() // the daemon holds the embedded store's file

			clock := &costClock{t: time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC)}
			d := w.startAt(t, clock)
			w.waitFor(t, "November's report in the log channel", func() bool { return len(w.reports()) > 0 }, d)
			report := w.reports()[0]
			mustSay(t, "the report", report.Text(),
				"Bilan du mois, novembre 2026\n",
				"Serveurs créés : 5\n",
				"Le plus de temps sur les serveurs :\n1. "+mention(costcase.Bob)+" : 5,0 h\n2. "+mention(costcase.Alice)+" : 2,5 h\n3. "+
					mention(costcase.Dave)+" : 2,0 h\n4. "+mention(costcase.Carol)+" : < 0,1 h\n",
				"Session la plus longue : 4,0 h, "+mention(costcase.Bob)+" (valheim), 10 novembre\n",
				"Le plus de serveurs à la fois : 1 (1 novembre, 00:00 UTC)\n",
				"Coût estimé : 6 serveur(s), 9,5 h, 0,35 USD (2,0 h sans prix",
				"Tarifs relevés le 2026-12-07 sur <https://aws.amazon.com/fargate/pricing/>.",
			)
			if len(report.Mentions) != 0 {
				t.Errorf("the report pings %v", report.Mentions)
			}
			if err := d.stop(t); err != nil {
				t.Fatalf("first daemon: %v", err)
			}

			// A restart later on the first.
			clock.set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			d = w.startAt(t, clock)
			w.waitFor(t, "the restarted daemon to find the report sent", func() bool {
				return strings.Contains(d.logs.String(), `msg="monthly report already sent" month=2026-11`)
			}, d)
			if n := len(w.reports()); n != 1 {
				t.Errorf("%d reports in the log channel after the restart, want 1: %q", n, w.messagesIn(logChannel))
			}
			if err := d.stop(t); err != nil {
				t.Fatalf("restarted daemon: %v", err)
			}

			st, closeStore = s.open(t, w, dir)
			defer closeStore()
			kept, _, err := st.Sessions(context.Background(), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), costcase.Now)
			if err != nil {
				t.Fatalf("read sessions: %v", err)
			}
			if len(kept) != len(costSessions())-1 {
				t.Errorf("%d sessions kept, want all but the one past 13 months: %+v", len(kept), kept)
			}
			for _, s := range kept {
				if s.ID == "old" {
					t.Errorf("the session of September 2025 was not pruned")
				}
			}
		})
	}
}

// TestCostMonthlyReportNoLogChannelE2E: without a log channel the report
// is posted nowhere and recorded as done, and the bot runs on.
func TestCostMonthlyReportNoLogChannelE2E(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"DISCORD_LOG_CHANNEL_ID": ""}})
	st, _ := costStores[0].open(t, w, "")
	putSessions(t, st, costSessions())
	d := w.startAt(t, &costClock{t: time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC)})
	w.waitFor(t, "the report to be done", func() bool {
		_, sent, err := st.Report(context.Background(), costcase.Month)
		return err == nil && sent && strings.Contains(d.logs.String(), "monthly report: no DISCORD_LOG_CHANNEL_ID, posted nowhere")
	}, d)
	if got := w.messagesIn(logChannel); len(got) != 0 {
		t.Errorf("the log channel that is not configured got %q", got)
	}
	if strings.Contains(d.logs.String(), "level=WARN msg=\"monthly report") {
		t.Errorf("the report without a log channel was logged as a failure:\n%s", d.logs.String())
	}
}

// TestCostOfAServerE2E: a member's server, created, ready, and stopped
// half an hour later, is in an admin's /server cost with its half hour,
// priced at the size ECS said the task ran with: the lifecycle recorded
// its session, start and end.
func TestCostOfAServerE2E(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	clock := &costClock{t: time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)}
	d := w.startAt(t, clock)
	owner, boss := member(1), admin(2)
	_, arn := createReady(t, w, d, owner, nil)

	clock.set(clock.now().Add(30 * time.Minute))
	stop := w.discord.Command(owner, "en-US", []string{"server", "stop"}, map[string]any{"server": spawner.Server{TaskID: arn}.ShortTaskID()})
	stop.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "stopped") })

	ix := w.discord.Command(boss, "en-US", []string{"server", "cost"}, nil)
	ix.WaitResponse(t, waitLong)
	got := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return m.Content != "" }).Text()
	mustSay(t, "the admin's answer", got,
		"Estimated cost of the servers, December 2026 (so far",
		"Total: 1 server(s), 0.5 h, 0.03 USD\n",
		"By member:\n- <@"+owner.ID+">: 1 server(s), 0.5 h, 0.03 USD\n",
		"By game:\n- minecraft: 1 server(s), 0.5 h, 0.03 USD\n")
}
