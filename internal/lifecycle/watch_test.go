package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// seed puts in the table, ECS and the category a server recorded before
// the Manager started, as a previous run (or the original bot) left it.
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
	seeded := w.seeded
	id := fmt.Sprintf("c0ffee%026x", seeded)
	ch := fmt.Sprintf("1300000000009%06d", seeded)
	topic := "Minecraft · official · " + TopicMarker + id
	if s.original {
		topic = "Serveur de " + s.owner // the original bot put no marker
	}
	statusID := w.chat.addChannel(ch, topic, s.owner)
	arn := fmt.Sprintf("arn:aws:ecs:eu-west-3:111122223333:task/games/%032x", 0xfeed0000+seeded)
	srv := spawner.Server{
		TaskID:          arn,
		CreationID:      id,
		Game:            "minecraft",
		Variant:         "official",
		Owner:           s.owner,
		ChannelID:       ch,
		StatusMessageID: statusID,
		Port:            25565,
		Token:           fmt.Sprintf("tok%09d", seeded),
		Locale:          "en-US",
		State:           s.state,
		CreatedAt:       s.createdAt,
	}
	if s.task != 0 {
		t := spawner.Task{
			ID: arn, Status: s.task, CreatedAt: s.createdAt,
			Tags: map[string]string{spawner.TagCreation: id, spawner.TagOwner: s.owner, spawner.TagChannel: ch},
		}
		if t.Status == spawner.TaskStopped {
			t.StopWanted = true
			t.StoppedReason = "Task stopped by user"
		}
		if s.owned {
			t.StartedBy = spawner.StartedBy
		}
		w.ecs.add(t)
		if s.task == spawner.TaskRunning && s.state != spawner.StatePending && s.state != spawner.StateProvisioning {
			srv.Address = w.ecs.ipOf(arn)
			srv.RunningAt = s.createdAt.Add(time.Minute)
		}
	}
	if s.state == spawner.StateReady || s.original {
		srv.ReadyAt = s.createdAt.Add(2 * time.Minute)
	}
	if s.original {
		srv.CreationID, srv.Port, srv.StatusMessageID, srv.Locale = "", 0, "", ""
		srv.ReadyAt, srv.RunningAt = time.Time{}, time.Time{}
	}
	if s.pending {
		srv.TaskID = ""
	}
	w.store.put(srv)
	return srv
}

// newMessages returns the messages of a channel after the first n.
func (w *world) newMessages(ch string, n *int) []fakeMessage {
	msgs := w.chat.messages(ch)
	out := msgs[min(*n, len(msgs)):]
	*n = len(msgs)
	return out
}

func TestPlayerWatchdog(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	ch := srv.ChannelID
	seen := len(w.chat.messages(ch))
	bootPings := len(w.pinger.pings())

	w.advanceAndPass(w.game().CheckInterval-time.Second, false)
	if n := len(w.pinger.pings()); n != bootPings {
		t.Fatalf("pinged %d times before the first check was due", n-bootPings)
	}
	w.clock.Advance(time.Second)

	mention := text.Mention(alice)
	for i, step := range []struct {
		players int // -1: no answer
		want    []string
		ping    bool // the message pings the owner
		stopped bool
	}{
		{players: 1, want: []string{mention, "warning **1/3**", "1 player(s) online, 4 needed", "Next check"}, ping: true},
		{players: -1, want: []string{mention, "warning **2/3**", "did not answer"}, ping: true},
		{players: 6, want: []string{"6 players online: warnings reset"}},
		{players: 4}, // at the minimum: nothing to say, said once already
		{players: 5},
		{players: 0, want: []string{mention, "warning **1/3**", "0 player(s) online"}, ping: true},
		{players: 3, want: []string{mention, "warning **2/3**", "3 player(s) online"}, ping: true},
		{players: -1, want: []string{mention, "warning **3/3**", "Last warning"}, ping: true},
		{players: 3, want: []string{"Server stopped: too few players after the last warning"}, ping: true, stopped: true},
	} {
		if i > 0 {
			w.clock.Advance(w.game().CheckInterval)
		}
		if step.players < 0 {
			w.pinger.silence()
		} else {
			w.pinger.answer(step.players)
		}
		w.pass(false)
		what := fmt.Sprintf("check %d (%d players)", i+1, step.players)
		if got := len(w.pinger.pings()) - bootPings; got != i+1 {
			t.Fatalf("%s: %d watchdog pings in all, want %d\n%s", what, got, i+1, w)
		}
		msgs := w.newMessages(ch, &seen)
		if step.want == nil {
			if len(msgs) != 0 {
				t.Errorf("%s: said %q, want nothing", what, msgs[0].content)
			}
		} else {
			if len(msgs) != 1 {
				t.Fatalf("%s: %d new messages, want 1\n%s", what, len(msgs), w)
			}
			w.mustContain(what, msgs[0].content, step.want...)
			if step.ping != slices.Equal(msgs[0].mentions, []string{alice}) {
				t.Errorf("%s: message pings %v", what, msgs[0].mentions)
			}
		}
		if _, ok := w.serverOf(alice); ok == step.stopped {
			t.Fatalf("%s: server tracked = %v, want stopped = %v\n%s", what, ok, step.stopped, w)
		}
	}
	if stops := w.ecs.stopped(); len(stops) != 1 || stops[0] != srv.TaskID {
		t.Errorf("StopTask calls = %v, want alice's task", taskIDs(stops))
	}
	w.expectNothingLeft()
	if got := w.chat.logsWith(mention, "too few players", srv.ShortTaskID()); len(got) != 1 {
		t.Errorf("log channel lines telling the stop = %q, want 1\n%s", got, w)
	}
	if got := w.metrics.stoppedOf(spawner.CausePlayers); got != 1 {
		t.Errorf("metrics counted %d player stops, want 1", got)
	}
	w.expectClosedAfterDelay(ch)
}

func TestPlayerWatchdogDisabled(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
	w.recover()
	srv, _ := w.readyServer(alice)
	if strings.Contains(w.chat.messages(srv.ChannelID)[1].content, "Minimum players") {
		t.Errorf("ready message tells a minimum although there is none")
	}
	w.pinger.silence()
	pings := len(w.pinger.pings())
	seen := len(w.chat.messages(srv.ChannelID))
	for range 12 { // one hour
		w.advanceAndPass(w.game().CheckInterval, false)
	}
	if n := len(w.pinger.pings()); n != pings {
		t.Errorf("pinged %d times with MinPlayers 0", n-pings)
	}
	if msgs := w.newMessages(srv.ChannelID, &seen); len(msgs) != 0 {
		t.Errorf("said %q with MinPlayers 0", msgs[0].content)
	}
	if got, ok := w.serverOf(alice); !ok || got.State != spawner.StateReady {
		t.Errorf("server = %+v, %v; want still ready", got, ok)
	}
}

// expectRuntimeWatchdog checks the runtime warning and stop of srv happen
// at createdAt+MaxDuration-MaxDurationWarning and createdAt+MaxDuration,
// driving passes at the fake clock's time.
func (w *world) expectRuntimeWatchdog(srv spawner.Server) {
	w.tb.Helper()
	g := w.game()
	end := srv.CreatedAt.Add(g.MaxDuration)
	warnAt := end.Add(-g.MaxDurationWarning)
	ch := srv.ChannelID
	seen := len(w.chat.messages(ch))

	w.clock.AdvanceTo(warnAt.Add(-time.Second))
	w.pass(false)
	if msgs := w.newMessages(ch, &seen); len(msgs) != 0 {
		w.tb.Fatalf("said %q before the warning time %v", msgs[0].content, warnAt)
	}
	w.advanceAndPass(time.Second, false)
	msgs := w.newMessages(ch, &seen)
	if len(msgs) != 1 {
		w.tb.Fatalf("%d messages at the warning time, want the warning\n%s", len(msgs), w)
	}
	w.mustContain("runtime warning", msgs[0].content, text.Mention(srv.Owner), "maximum duration", text.Timestamp(end, spawner.TimeRelative))
	if !slices.Equal(msgs[0].mentions, []string{srv.Owner}) {
		w.tb.Errorf("runtime warning pings %v, want the owner", msgs[0].mentions)
	}
	w.advanceAndPass(time.Minute, false)
	w.clock.AdvanceTo(end.Add(-time.Second))
	w.pass(false)
	if msgs := w.newMessages(ch, &seen); len(msgs) != 0 {
		w.tb.Errorf("said %q after the warning, before the end", msgs[0].content)
	}
	if _, ok := w.serverOf(srv.Owner); !ok {
		w.tb.Fatalf("server stopped before %v\n%s", end, w)
	}
	w.advanceAndPass(time.Second, false)
	if _, ok := w.serverOf(srv.Owner); ok {
		w.tb.Fatalf("server still tracked at %v\n%s", end, w)
	}
	w.expectNothingLeft()
	w.mustContain("ticket channel's last message", w.lastMessage(ch).content, "maximum duration")
	if got := w.chat.logsWith(text.Mention(srv.Owner), "maximum duration reached", srv.ShortTaskID()); len(got) != 1 {
		w.tb.Errorf("log channel lines telling the stop = %q, want 1\n%s", got, w)
	}
	if got := w.metrics.stoppedOf(spawner.CauseRuntime); got != 1 {
		w.tb.Errorf("metrics counted %d runtime stops, want 1", got)
	}
}

func TestRuntimeWatchdog(t *testing.T) {
	t.Run("created here", func(t *testing.T) {
		w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
		w.recover()
		srv, _ := w.readyServer(alice)
		w.expectRuntimeWatchdog(srv)
	})
	t.Run("recovered with an old creation date", func(t *testing.T) {
		w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-60 * time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
		w.recover()
		w.expectRuntimeWatchdog(srv) // warned at t0+20m and stopped at t0+30m, not 90 minutes after the restart
	})
	t.Run("recovered from the original bot", func(t *testing.T) {
		w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-45 * time.Minute), task: spawner.TaskRunning, original: true})
		w.recover()
		w.expectRuntimeWatchdog(srv)
	})
}

// TestRunSchedulesWatchdog checks Run wakes up for the runtime warning and
// stop themselves, not at the next sweep.
func TestRunSchedulesWatchdog(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) {
		g.MinPlayers = 0
		g.CheckInterval = time.Hour // the sweep interval
	}))
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(-75 * time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	w.recover()
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()

	w.blockUntil(1)
	lists := w.ecs.listCount()
	if next, _ := w.clock.NextDeadline(); !next.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("Run waits until %v, want the warning time %v", next.Format(time.TimeOnly), t0.Add(5*time.Minute).Format(time.TimeOnly))
	}
	w.clock.Advance(5 * time.Minute)
	w.waitFor("the runtime warning", func() bool { return len(w.chat.find(srv.ChannelID, "maximum duration")) == 1 })
	if n := w.ecs.listCount(); n != lists {
		t.Errorf("a sweep ran at the warning (%d ListOwnedTasks calls, want %d)", n, lists)
	}
	w.blockUntil(1)
	w.clock.Advance(10 * time.Minute)
	w.waitFor("the runtime stop", func() bool { return len(w.chat.logsWith("maximum duration reached")) == 1 })
	w.expectNothingLeft()
	w.blockUntil(1)
	w.clock.Advance(w.cfg.TicketCloseDelay)
	w.waitFor("the ticket channel deleted", func() bool { return w.chat.isDeleted(srv.ChannelID) })

	w.cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after the context ended", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return after the context ended\n%s", w)
	}
}

func TestTaskEndedNoticedBySweep(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	reason := "OutOfMemoryError: Container killed due to memory usage"
	w.ecs.endOnOwn(srv.TaskID, reason, 137)

	w.advanceAndPass(time.Minute, false) // no sweep: ECS not read
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("a pass without sweep ended the server")
	}
	w.pass(true)
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the sweep did not notice the task ended\n%s", w)
	}
	why := "the server stopped on its own (" + reason + ", exit code 137)"
	last := w.lastMessage(srv.ChannelID)
	w.mustContain("ticket channel's last message", last.content, "Server gone: "+why)
	if !slices.Equal(last.mentions, []string{alice}) {
		t.Errorf("message pings %v, want alice", last.mentions)
	}
	if got := w.chat.logsWith(text.Mention(alice), logPhrase(spawner.CauseTaskEnded), why, srv.ShortTaskID()); len(got) != 1 {
		t.Errorf("log channel lines = %q, want 1\n%s", got, w)
	}
	w.expectNothingLeft()
	if n := len(w.ecs.stopped()); n != 0 {
		t.Errorf("StopTask called %d times for a task already stopped", n)
	}
	if got := w.metrics.stoppedOf(spawner.CauseTaskEnded); got != 1 {
		t.Errorf("metrics counted %d task_ended, want 1", got)
	}
	w.expectClosedAfterDelay(srv.ChannelID)
}

func TestSweep(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
	// The original bot's server: its task is not ours by startedBy, so
	// ListOwnedTasks does not return it.
	old := w.seed(seed{owner: bob, createdAt: t0.Add(-10 * time.Minute), task: spawner.TaskRunning, original: true})
	w.recover()
	srv, _ := w.readyServer(alice)

	orphan := func(name string, age time.Duration) string {
		arn := "arn:aws:ecs:eu-west-3:111122223333:task/games/" + name
		w.ecs.add(spawner.Task{
			ID: arn, Status: spawner.TaskRunning, StartedBy: spawner.StartedBy,
			CreatedAt: w.clock.Now().Add(-age),
			Tags:      map[string]string{spawner.TagCreation: "gone" + name, spawner.TagOwner: carol, spawner.TagChannel: "1300000000000777777"},
		})
		return arn
	}
	oldOrphan := orphan("0ld0rphan", 10*time.Minute)
	youngOrphan := orphan("y0ungorphan", time.Minute)
	lists, descs := w.ecs.listCount(), len(w.ecs.describes())

	w.pass(true)
	if n := w.ecs.listCount(); n != lists+1 {
		t.Errorf("ListOwnedTasks called %d times by a sweep, want 1", n-lists)
	}
	d := w.ecs.describes()[descs:]
	if len(d) != 1 || !slices.Equal(d[0], []string{old.TaskID}) {
		t.Errorf("DescribeTasks calls = %v, want one for the tracked task ListOwnedTasks missed (%s)", d, old.ShortTaskID())
	}
	if got := w.ecs.stopped(); !slices.Equal(got, []string{oldOrphan}) {
		t.Errorf("stopped %v, want only the orphan older than the grace", taskIDs(got))
	}
	if got := w.chat.logsWith("Stopped task `" + spawner.ShortTaskID(oldOrphan) + "`"); len(got) != 1 {
		t.Errorf("log channel lines for the orphan = %q, want 1\n%s", got, w)
	}
	for _, s := range []spawner.Server{old, srv} {
		if got, ok := w.serverOf(s.Owner); !ok || got.State != spawner.StateReady {
			t.Errorf("server of %s = %+v, %v after the sweep; want still ready", s.Owner, got, ok)
		}
	}

	w.advanceAndPass(2*time.Minute, true)
	if got := w.ecs.stopped(); !slices.Equal(got, []string{oldOrphan, youngOrphan}) {
		t.Errorf("stopped %v, want the young orphan too once past the grace", taskIDs(got))
	}
	if r := w.ecs.running(); len(r) != 2 {
		t.Errorf("running %v, want alice's and bob's tasks", taskIDs(r))
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
	if n := len(w.ecs.stopped()); n != 0 {
		t.Errorf("the sweep stopped a booting task\n%s", w)
	}
	if p := w.pinger.pings(); len(p) != 0 {
		t.Errorf("the watchdog pinged a server with no address: %q\n%s", p, w)
	}
	if msgs := w.chat.messages(srv.ChannelID); len(msgs) != 1 {
		t.Errorf("ticket channel has %d messages, want only the status (no warning)\n%s", len(msgs), w)
	}
	if got := w.chat.logsWith("orphan"); len(got) != 0 {
		t.Errorf("log channel says orphan: %q", got)
	}
	w.expectPhase(srv.CreationID, phaseCreating)
	if srv, ok := w.serverOf(alice); !ok || srv.State != spawner.StateProvisioning {
		t.Errorf("server = %+v, %v; want still provisioning", srv, ok)
	}
}

// TestStopDuringPlayerCheck stops a server while its player count is being
// checked: once stopped, nothing more is said in its ticket channel.
func TestStopDuringPlayerCheck(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	w.pinger.answer(1)
	var fired bool
	var stopErr error
	w.pinger.onCall("Ping", func() {
		if fired {
			return
		}
		fired = true
		_, stopErr = w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
	})
	w.advanceAndPass(w.game().CheckInterval, false)
	if !fired || stopErr != nil {
		t.Fatalf("stop during the check: fired=%v err=%v", fired, stopErr)
	}
	w.expectNothingLeft()
	last := w.lastMessage(srv.ChannelID)
	if !strings.Contains(last.content, "Server stopped by") {
		t.Errorf("bug: the check that ran while the server stopped posted after the stop message: %q\n%s", last.content, w)
	}
}

// TestSaveRetriedBySweep checks a record the table refused to update is
// written again by the next sweep.
func TestSaveRetriedBySweep(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.store.failAfter("Put", 3, 1, errBoom) // pending, task, address, then ready fails
	srv, _ := w.readyServer(alice)
	if rec, _ := w.store.get(srv.TaskID); rec.State != spawner.StateBooting {
		t.Fatalf("record state = %q, want booting (the ready save failed)", rec.State)
	}
	w.advanceAndPass(time.Minute, false)
	if rec, _ := w.store.get(srv.TaskID); rec.State != spawner.StateBooting {
		t.Errorf("a pass without sweep saved the record")
	}
	w.pass(true)
	if rec, _ := w.store.get(srv.TaskID); rec.State != spawner.StateReady {
		t.Errorf("record state = %q after the sweep, want ready\n%s", rec.State, w)
	}
}

// TestSaveRacingStop stops a server (from another goroutine, as
// /server stop does) while the sweep writes its record again: once the stop
// has returned, the table must not hold the record.
func TestSaveRacingStop(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.store.failAfter("Put", 3, 1, errBoom) // the ready save fails: the sweep retries it
	srv, _ := w.readyServer(alice)
	stopped := make(chan error, 1)
	var fired, seen bool
	w.store.onCall("Put", func() {
		if fired {
			return
		}
		fired = true
		go func() {
			_, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
			stopped <- err
		}()
		// Let the stop get as far as it can while this Put is under way.
		deadline := time.Now().Add(waitTimeout)
		for time.Now().Before(deadline) && !seen {
			p, ok := w.phaseOf(srv.CreationID)
			seen = !ok || p == phaseEnding
			time.Sleep(time.Millisecond)
		}
	})
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
	if k := w.store.keys(); len(k) != 0 {
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
	w.store.failAfter("Put", 3, 1000, errBoom) // from the ready save on, the table refuses
	srv, _ := w.readyServer(alice)
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()
	w.blockUntil(1)
	warnAt := srv.CreatedAt.Add(20 * time.Minute)
	if next, _ := w.clock.NextDeadline(); !next.Equal(warnAt) {
		t.Errorf("bug: Run waits until %v, want the runtime warning at %v (a server whose record is not saved gets no watchdog until the next sweep)",
			next.Format(time.TimeOnly), warnAt.Format(time.TimeOnly))
	}
	w.cancel()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return")
	}
}

// TestRecoverKeepsWarnings: the warnings posted before a restart are in the
// record, so the next low check after it is warning 3/3, not 1/3 again, and
// a runtime warning already posted is not posted twice.
func TestRecoverKeepsWarnings(t *testing.T) {
	w := newWorld(t)
	g := w.game()
	if g.MaxDurationWarning <= g.CheckInterval+time.Minute || g.WarningCount != 3 {
		t.Fatalf("test assumes a warning lead longer than one check and 3 warnings: %+v", g)
	}
	// Inside the runtime warning window, stopping after the next check.
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(g.CheckInterval + time.Minute - g.MaxDuration), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	srv.Warnings = 2
	srv.RuntimeWarned = true
	w.store.put(srv)
	w.recover()
	w.pinger.answer(1)

	w.pass(true)
	w.advanceAndPass(g.CheckInterval, true)

	var got []string
	for _, m := range w.chat.messages(srv.ChannelID) {
		got = append(got, m.content)
	}
	all := strings.Join(got, "\n")
	if !strings.Contains(all, "warning **3/3**") || strings.Contains(all, "warning **1/3**") {
		t.Errorf("after a restart with 2 warnings recorded, want warning 3/3; ticket:\n%s", all)
	}
	if strings.Contains(all, "maximum duration") {
		t.Errorf("the runtime warning was posted again after the restart; ticket:\n%s", all)
	}
	if rec, ok := w.store.get(srv.Key()); !ok || rec.Warnings != 3 || !rec.RuntimeWarned {
		t.Errorf("record after the warning = %+v, want 3 warnings and the runtime warning kept", rec)
	}
}

// TestTaskChangedEndsAtOnce: a change saying a watched server's task
// stopped on its own ends the server without waiting for a sweep, exactly
// as the sweep would; the same change again, or one of a task of no
// server, does nothing.
func TestTaskChangedEndsAtOnce(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	reason := "Essential container in task exited"
	w.ecs.endOnOwn(srv.TaskID, reason, 1)
	task, _ := w.ecs.get(srv.TaskID)
	lists := w.ecs.listCount()

	w.m.TaskChanged(spawner.Task{ID: "arn:aws:ecs:eu-west-3:1:task/c/unknown", Status: spawner.TaskStopped})
	w.m.TaskChanged(task)
	w.m.TaskChanged(task) // delivered twice
	w.waitWorkers()
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the server outlived a change saying its task stopped\n%s", w)
	}
	why := "the server stopped on its own (" + reason + ", exit code 1)"
	w.mustContain("ticket channel's last message", w.lastMessage(srv.ChannelID).content, "Server gone: "+why)
	if got := w.chat.logsWith(logPhrase(spawner.CauseTaskEnded), srv.ShortTaskID()); len(got) != 1 {
		t.Errorf("log channel lines = %q, want 1 for a change delivered twice\n%s", got, w)
	}
	if n := w.ecs.listCount() - lists; n != 0 {
		t.Errorf("the end waited for a sweep (%d ListTasks)", n)
	}
	w.expectNothingLeft()
}

// TestTaskChangedRunningLeavesAWatchedServer: a change that says nothing
// new of a ready server's task (RUNNING) changes nothing.
func TestTaskChangedRunningLeavesAWatchedServer(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	task, _ := w.ecs.get(srv.TaskID)
	w.m.TaskChanged(task)
	w.waitWorkers()
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("a RUNNING change ended a ready server\n%s", w)
	}
	w.expectPhase(srv.CreationID, phaseWatched)
}
