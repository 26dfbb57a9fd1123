package lifecycle

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// run runs the Manager's loop until the test ends, checking it returns
// nil once its context ends.
func (w *world) run() {
	w.tb.Helper()
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()
	w.tb.Cleanup(func() {
		w.cancel()
		select {
		case err := <-done:
			if err != nil {
				w.tb.Errorf("Run = %v, want nil once its context ended", err)
			}
		case <-time.After(waitTimeout):
			w.tb.Errorf("Run did not return after its context ended\n%s", w)
		}
	})
}

// TestRunSchedulesWatchdog checks Run wakes up for the runtime warning and
// stop themselves, not at the next sweep, and for a ticket channel to close.
func TestRunSchedulesWatchdog(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) {
		g.MinPlayers = 0
		g.CheckInterval = time.Hour // the sweep interval
	}))
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(-75 * time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	w.recover()
	w.run()

	w.blockUntil(1)
	lists := int(w.cluster.lists.Load())
	if next, _ := w.clock.NextDeadline(); !next.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("Run waits until %v, want the warning time %v", next.Format(time.TimeOnly), t0.Add(5*time.Minute).Format(time.TimeOnly))
	}
	w.clock.Advance(5 * time.Minute)
	warning := "warn-runtime-" + strconv.FormatInt(t0.Add(15*time.Minute).UnixMilli(), 10)
	w.waitFor("the runtime warning", func() bool { _, ok := w.said(srv, warning); return ok })
	if n := int(w.cluster.lists.Load()); n != lists {
		t.Errorf("a sweep ran at the warning (%d ListOwnedTasks calls, want %d)", n, lists)
	}
	w.blockUntil(1)
	w.clock.Advance(10 * time.Minute)
	w.waitFor("the runtime stop", func() bool { return w.metrics.stoppedOf(spawner.CauseRuntime) == 1 })
	w.waitFor("the end told", func() bool { return w.logged(srv, "log-end") == 1 })
	w.expectNothingLeft()
	w.blockUntil(1)
	w.clock.Advance(w.cfg.TicketCloseDelay)
	w.waitFor("the ticket channel deleted", func() bool { return w.guild.isDeleted(srv.ChannelID) })
}

func TestTaskEndedNoticedBySweep(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	reason := "OutOfMemoryError: Container killed due to memory usage"
	w.cluster.endOnOwn(srv.TaskID, reason, 137)

	w.advanceAndPass(time.Minute, false) // no sweep: the runtime is not read
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("a pass without sweep ended the server")
	}
	w.pass(true)
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the sweep did not notice the task ended\n%s", w)
	}
	w.expectEnded(srv, spawner.CauseTaskEnded)
	why := text.En.FailTaskEnded(w.cluster.get(srv.TaskID))
	if end, _ := w.said(srv, "end"); end.content != text.En.Ended(alice, spawner.CauseTaskEnded, "", why, w.cfg.TicketCloseDelay) {
		t.Errorf("the end message does not give the runtime's reason and exit code:\n%s", end.content)
	}
	w.expectNothingLeft()
	if n := len(w.cluster.stops.all()); n != 0 {
		t.Errorf("StopTask called %d times for a task already stopped", n)
	}
	w.expectClosedAfterDelay(srv.ChannelID)
}

func TestSweep(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
	// The original bot's server: its task is not ours by startedBy, so
	// ListOwnedTasks does not return it.
	old := w.seed(seed{owner: bob, createdAt: t0.Add(-10 * time.Minute), task: spawner.TaskRunning, original: true})
	w.recover()
	srv := w.readyServer(alice)

	orphan := func(name string, age time.Duration) string {
		arn := "arn:aws:ecs:eu-west-3:111122223333:task/games/" + name
		w.cluster.add(spawner.Task{
			ID: arn, Status: spawner.TaskRunning, StartedBy: spawner.StartedBy,
			CreatedAt: w.clock.Now().Add(-age),
			Tags:      map[string]string{spawner.TagCreation: "gone" + name, spawner.TagOwner: carol, spawner.TagChannel: "1300000000000777777"},
		})
		return arn
	}
	oldOrphan := orphan("0ld0rphan", 10*time.Minute)
	youngOrphan := orphan("y0ungorphan", time.Minute)
	lists, descs := int(w.cluster.lists.Load()), len(w.cluster.descs.all())

	w.pass(true)
	if n := int(w.cluster.lists.Load()); n != lists+1 {
		t.Errorf("ListOwnedTasks called %d times by a sweep, want 1", n-lists)
	}
	d := w.cluster.descs.all()[descs:]
	if len(d) != 1 || !slices.Equal(d[0], []string{old.TaskID}) {
		t.Errorf("DescribeTasks calls = %v, want one for the tracked task ListOwnedTasks missed (%s)", d, old.ShortTaskID())
	}
	if got := w.cluster.stops.all(); !slices.Equal(got, []string{oldOrphan}) {
		t.Errorf("stopped %v, want only the orphan older than the grace", got)
	}
	if n := w.logged(spawner.Server{TaskID: oldOrphan}, "log-orphan"); n != 1 {
		t.Errorf("the log channel was told of the orphan %d times, want once\n%s", n, w)
	}
	if n := w.metrics.stoppedOf(spawner.CauseOrphan); n != 1 {
		t.Errorf("metrics counted %d orphans, want 1", n)
	}
	for _, s := range []spawner.Server{old, srv} {
		if got, ok := w.serverOf(s.Owner); !ok || got.State != spawner.StateReady {
			t.Errorf("server of %s = %+v, %v after the sweep; want still ready", s.Owner, got, ok)
		}
	}

	w.advanceAndPass(2*time.Minute, true)
	if got := w.cluster.stops.all(); !slices.Equal(got, []string{oldOrphan, youngOrphan}) {
		t.Errorf("stopped %v, want the young orphan too once past the grace", got)
	}
	if r := w.cluster.running(); len(r) != 2 {
		t.Errorf("running %v, want alice's and bob's tasks", r)
	}
}

// TestSweepLeavesBootingTasks checks a server still being created is left
// to its worker, however long it boots: the sweep neither takes its task for
// an orphan nor stops it, and the watchdogs neither ping it (it has no
// address yet) nor warn its owner, even past a check interval.
func TestSweepLeavesBootingTasks(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.create(alice, "")
	w.blockUntil(1)
	for range 6 { // past the 5-minute check interval, short of the ready timeout
		w.clock.Advance(time.Minute)
		w.blockUntil(1)
	}
	srv, ok := w.serverOf(alice)
	if !ok {
		t.Fatalf("alice's server is gone\n%s", w)
	}
	w.pass(true)
	if n := len(w.cluster.stops.all()); n != 0 {
		t.Errorf("the sweep stopped a booting task\n%s", w)
	}
	if p := w.players.pinged(); len(p) != 0 {
		t.Errorf("the watchdog pinged a server with no address: %q\n%s", p, w)
	}
	if said := w.guild.purposes(srv.ChannelID, 0); !slices.Equal(said, []string{"status"}) {
		t.Errorf("ticket channel says %q, want only the status (no warning)\n%s", said, w)
	}
	if n := len(w.guild.logged(srv.TaskID + "/log-orphan")); n != 0 {
		t.Errorf("the log channel was told of an orphan")
	}
	w.expectPhase(srv.CreationID, phaseCreating)
	if srv, ok := w.serverOf(alice); !ok || srv.State != spawner.StateProvisioning {
		t.Errorf("server = %+v, %v; want still provisioning", srv, ok)
	}
}

// failReadySave makes the table refuse the save of a ready record n times
// (a creation's fourth Put), letting the others through.
func (w *world) failReadySave(n int) {
	fail := failingAfter(3, n) // pending, task, address, then ready
	w.store.PutFn = func(ctx context.Context, s spawner.Server) error {
		if fail() {
			return errBoom
		}
		return w.table.Put(ctx, s)
	}
}

// TestSaveRetriedBySweep checks a record the table refused to update is
// written again by the next sweep.
func TestSaveRetriedBySweep(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.failReadySave(1)
	srv := w.readyServer(alice)
	if rec, _ := w.table.get(srv.TaskID); rec.State != spawner.StateBooting {
		t.Fatalf("record state = %q, want booting (the ready save failed)", rec.State)
	}
	w.advanceAndPass(time.Minute, false)
	if rec, _ := w.table.get(srv.TaskID); rec.State != spawner.StateBooting {
		t.Errorf("a pass without sweep saved the record")
	}
	w.pass(true)
	if rec, _ := w.table.get(srv.TaskID); rec.State != spawner.StateReady {
		t.Errorf("record state = %q after the sweep, want ready\n%s", rec.State, w)
	}
}

// TestSaveRacingStop stops a server (from another goroutine, as
// /server stop does) while the sweep writes its record again: once the stop
// has returned, the table must not hold the record.
func TestSaveRacingStop(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.failReadySave(1) // the sweep retries it
	srv := w.readyServer(alice)
	stopped := make(chan error, 1)
	var fired, seen bool
	w.store.PutFn = func(ctx context.Context, s spawner.Server) error {
		if !fired {
			fired = true
			go func() {
				_, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
				stopped <- err
			}()
			// Let the stop get as far as it can while this Put is under way.
			for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline) && !seen; time.Sleep(time.Millisecond) {
				p, ok := w.phaseOf(srv.CreationID)
				seen = !ok || p == phaseEnding
			}
		}
		return w.table.Put(ctx, s)
	}
	w.pass(true)
	if !fired || !seen {
		t.Fatalf("the stop did not start during the save: fired=%v seen=%v", fired, seen)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Stop did not return\n%s", w)
	}
	if k := w.table.keys(); len(k) != 0 {
		t.Errorf("bug: the record of a stopped server was written back after the stop deleted it: table keys %v\n%s", k, w)
	}
}

// TestRunSchedulesWatchdogForUnsavedServer checks Run still wakes for the
// runtime warning of a server whose record the table keeps refusing.
func TestRunSchedulesWatchdogForUnsavedServer(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) {
		g.MinPlayers = 0
		g.CheckInterval = time.Hour // the sweep interval
		g.MaxDuration = 30 * time.Minute
	}))
	w.recover()
	w.failReadySave(1000) // from the ready save on, the table refuses
	srv := w.readyServer(alice)
	w.run()
	w.blockUntil(1)
	warnAt := srv.CreatedAt.Add(20 * time.Minute)
	if next, _ := w.clock.NextDeadline(); !next.Equal(warnAt) {
		t.Errorf("bug: Run waits until %v, want the runtime warning at %v (a server whose record is not saved gets no watchdog until the next sweep)",
			next.Format(time.TimeOnly), warnAt.Format(time.TimeOnly))
	}
}

// failLists makes the runtime refuse the next n ListOwnedTasks.
func (w *world) failLists(n int) {
	fail := failing(n)
	w.tasks.ListOwnedTasksFn = func(ctx context.Context) ([]spawner.Task, error) {
		if fail() {
			return nil, errBoom
		}
		return w.cluster.ListOwnedTasks(ctx)
	}
}

// TestSweepBacksOff: a sweep that cannot read the runtime is tried again
// sooner, with a growing wait, logged once, and its recovery is logged.
func TestSweepBacksOff(t *testing.T) {
	w := newWorld(t)
	w.recover()
	var lists atomic.Int32
	fail := failing(3)
	w.tasks.ListOwnedTasksFn = func(ctx context.Context) ([]spawner.Task, error) {
		lists.Add(1)
		if fail() {
			return nil, errBoom
		}
		return w.cluster.ListOwnedTasks(ctx)
	}
	w.run()
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second} {
		w.blockUntil(1)
		if n := lists.Load(); n != int32(i+1) {
			t.Fatalf("%d ListOwnedTasks calls before retry %d, want %d\n%s", n, i+1, i+1, w)
		}
		next, _ := w.clock.NextDeadline()
		if got := next.Sub(w.clock.Now()); got != wait {
			t.Errorf("retry %d waits %v, want %v", i+1, got, wait)
		}
		w.clock.AdvanceTo(next)
	}
	w.waitFor("the sweep to recover", func() bool { return w.logCount("sweep recovered") == 1 })
	if n := w.logCount("sweep failed"); n != 1 {
		t.Errorf("logged the failing sweep %d times, want once", n)
	}
	w.blockUntil(1)
	if next, _ := w.clock.NextDeadline(); next.Sub(w.clock.Now()) != w.game().CheckInterval {
		t.Errorf("after recovering the next sweep is at %v, want one interval later", next)
	}
}

// TestSweepBackoffIsNotCappedAtTheInterval: a sweep that the runtime
// refuses (it throttles) backs off beyond the check interval, up to
// MaxBackoff.
func TestSweepBackoffIsNotCappedAtTheInterval(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) { g.CheckInterval = 10 * time.Second }))
	w.recover()
	w.failLists(5)
	w.run()
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second} {
		w.blockUntil(1)
		next, _ := w.clock.NextDeadline()
		if got := next.Sub(w.clock.Now()); got != wait {
			t.Errorf("retry %d waits %v, want %v", i+1, got, wait)
		}
		w.clock.AdvanceTo(next)
	}
	w.waitFor("the sweep to recover", func() bool { return w.logCount("sweep recovered") == 1 })
}

// TestSweepRunsAtTheFleetsInterval: a stored game whose checkInterval is
// shorter than the variables' does not make the whole fleet's sweep run at
// its pace.
func TestSweepRunsAtTheFleetsInterval(t *testing.T) {
	w := newWorld(t, withGames(map[string][]byte{"valheim": valheimTemplate(1, "10s")}))
	w.recover()
	if g, ok := w.m.Catalog().Lookup("valheim"); !ok || g.CheckInterval != 10*time.Second {
		t.Fatalf("valheim = %+v, %v: the stored template was not offered", g, ok)
	}
	base := int(w.cluster.lists.Load())
	w.run()
	for i := 1; i <= 3; i++ {
		w.blockUntil(1)
		if n := int(w.cluster.lists.Load()) - base; n != i {
			t.Fatalf("%d sweeps after %d intervals, want %d\n%s", n, i-1, i, w)
		}
		next, _ := w.clock.NextDeadline()
		if got := next.Sub(w.clock.Now()); got != w.game().CheckInterval {
			t.Fatalf("the next sweep comes after %v, want the fleet's interval %v, not valheim's 10s", got, w.game().CheckInterval)
		}
		w.clock.AdvanceTo(next)
	}
}

// TestGameCheckedAtItsOwnInterval: a server of a game with a longer
// checkInterval than the sweep's is probed at its interval, not at every
// sweep.
func TestGameCheckedAtItsOwnInterval(t *testing.T) {
	w := newWorld(t, withGames(nil))
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, valheimTemplate(1, "30m")); err != nil {
		t.Fatal(err)
	}
	w.readyGameServer(alice, "valheim", 5)
	pings := len(w.players.pinged())
	for range 5 {
		w.advanceAndPass(w.game().CheckInterval, true) // 25 minutes of sweeps
	}
	if n := len(w.players.pinged()) - pings; n != 0 {
		t.Errorf("probed %d times in 25 minutes, want none before its 30 minutes", n)
	}
	w.advanceAndPass(w.game().CheckInterval, true)
	if n := len(w.players.pinged()) - pings; n != 1 {
		t.Errorf("probed %d times at 30 minutes, want once", n)
	}
}

// TestStoredTemplateOutOfLimits: a template stored before its values had
// limits (checkInterval 1ms) is not offered at the next start, and the
// log channel says why; the sweep keeps the fleet's interval.
func TestStoredTemplateOutOfLimits(t *testing.T) {
	w := newWorld(t, withGames(map[string][]byte{"valheim": valheimTemplate(1, "1ms")}))
	w.recover()
	if _, ok := w.m.Catalog().Lookup("valheim"); ok {
		t.Errorf("a template with checkInterval 1ms is offered")
	}
	if got := w.guild.logged("bad-template/valheim/"); len(got) != 1 {
		t.Errorf("log channel lines about it = %d, want 1\n%s", len(got), w)
	}
	if got := w.m.sweepInterval(); got != w.game().CheckInterval {
		t.Errorf("sweep interval %v, want the fleet's %v", got, w.game().CheckInterval)
	}
}

// TestShutdownLeavesNoGoroutine: Run, a booting creation and a message
// being retried all end with the context and Close; nothing is left.
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	w := newWorld(t)
	w.recover()
	readyAlice := w.readyServer(alice)
	w.players.answer(0)
	w.chat.SendFn = func(context.Context, string, spawner.Message) (string, error) { return "", errBoom }
	w.cluster.startIn(spawner.TaskProvisioning)
	w.create(bob, "")
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()
	w.advanceAndPass(w.game().CheckInterval, false) // alice's check: too few, a warning that is retried
	w.waitFor("the warning's retry to wait", func() bool {
		return w.logCount("send player warning; will retry") == 1 && w.clock.Waiters() >= 3
	})
	w.cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil once its context ended", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return\n%s", w)
	}
	w.waitFor("every goroutine of the Manager to end", func() bool { return runtime.NumGoroutine() <= before })
	if _, ok := w.serverOf(alice); !ok || readyAlice.TaskID == "" {
		t.Errorf("alice's server was dropped at shutdown")
	}
}
