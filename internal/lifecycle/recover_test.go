package lifecycle

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// restart replaces the world's Manager by a new one on the same fakes, as
// the daemon does when it starts again; the old one must have been shut down (w.cancel).
func (w *world) restart() {
	w.tb.Helper()
	w.start(context.WithCancel(context.Background()))
}

// expectGone checks srv was cleaned up at start with the owner told why.
func (w *world) expectGone(srv spawner.Server, cause spawner.StopCause, why string) {
	w.tb.Helper()
	if _, ok := w.serverOf(srv.Owner); ok {
		w.tb.Fatalf("server of %s still tracked\n%s", srv.Owner, w)
	}
	last := w.lastMessage(srv.ChannelID)
	w.mustContain("ticket channel's last message", last.content, why)
	if !slices.Equal(last.mentions, []string{srv.Owner}) {
		w.tb.Errorf("message pings %v, want the owner", last.mentions)
	}
	if got := w.chat.logsWith(text.Mention(srv.Owner), logPhrase(cause)); len(got) != 1 {
		w.tb.Errorf("log channel lines telling the end = %q, want 1\n%s", got, w)
	}
	for _, k := range []string{srv.Key(), spawner.PendingKeyPrefix + srv.CreationID} {
		if _, ok := w.store.get(k); ok {
			w.tb.Errorf("record %s left in the table", k)
		}
	}
	if got := w.metrics.stoppedOf(cause); got != 1 {
		w.tb.Errorf("metrics counted %d %s, want 1", got, cause)
	}
	w.expectClosedAfterDelay(srv.ChannelID)
}

func TestRecover(t *testing.T) {
	t.Run("original bot's record carried on", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-30 * time.Minute), task: spawner.TaskRunning, original: true})
		w.recover()
		got, ok := w.serverOf(alice)
		if !ok {
			t.Fatalf("the original bot's server was not adopted\n%s", w)
		}
		addr := srv.Address + ":25565"
		if got.State != spawner.StateReady || got.HostPort() != addr || !got.CreatedAt.Equal(srv.CreatedAt) || got.Token != srv.Token {
			t.Errorf("adopted server = %+v, want ready at %s created %v", got, addr, srv.CreatedAt)
		}
		if len(w.ecs.stopped()) > 0 || len(w.chat.deletedChannels()) > 0 || len(w.store.deleted()) > 0 {
			t.Errorf("Recover stopped or deleted something\n%s", w)
		}
		// The player watchdog checks it from the start on.
		w.pinger.answerAt(addr, 1)
		w.advanceAndPass(w.game().CheckInterval, false)
		if p := w.pinger.pings(); !slices.Equal(p, []string{addr}) {
			t.Errorf("pings = %v, want one of %s", p, addr)
		}
		w.mustContain("warning", w.lastMessage(srv.ChannelID).content, "warning **1/3**", text.Mention(alice))
		// Its owner can stop it.
		if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, got.TaskID()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		w.expectNothingLeft()
		if len(w.ecs.runSpecs()) > 0 {
			t.Errorf("RunTask called")
		}
	})

	t.Run("pending creation with its task adopted", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateRequested, task: spawner.TaskPending, owned: true, pending: true})
		if k := w.store.keys(); !slices.Equal(k, []string{spawner.PendingKeyPrefix + srv.CreationID}) {
			t.Fatalf("seeded keys %v", k)
		}
		w.recover()
		w.blockUntil(1) // booting
		arn := w.ecs.all()[0]
		if k := w.store.keys(); !slices.Equal(k, []string{arn}) {
			t.Errorf("table keys = %v, want only the task's record", k)
		}
		got, _ := w.serverOf(alice)
		if got.TaskARN != arn || got.State != spawner.StatePending {
			t.Errorf("adopted server = %+v, want task %s pending", got, spawner.TaskID(arn))
		}
		if req, _ := w.request(alice, ""); refusalCode(w.m.Create(req)) != spawner.RefusedBusy {
			t.Errorf("alice may create a second server while hers boots")
		}
		w.ecs.setAll(spawner.TaskRunning)
		w.pinger.answer(4)
		w.clock.Advance(w.cfg.PollInterval)
		w.waitWorkers()
		if got, _ := w.serverOf(alice); got.State != spawner.StateReady {
			t.Fatalf("adopted server = %+v, want ready\n%s", got, w)
		}
		ready := w.lastMessage(srv.ChannelID)
		w.mustContain("ready message", ready.content, text.Mention(alice), w.ecs.ipOf(arn)+":25565", srv.Token)
		w.mustContain("status message", w.chat.messages(srv.ChannelID)[0].content, "✅ ready")
		if n := len(w.ecs.runSpecs()); n != 0 {
			t.Errorf("RunTask called %d times for a creation whose task exists", n)
		}
		if n := len(w.ecs.stopped()); n != 0 {
			t.Errorf("the adopted task was stopped")
		}
	})

	t.Run("pending creation without task cleaned up", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateRequested, pending: true})
		w.recover()
		w.expectGone(srv, spawner.CauseRestart, "interrupted by a bot restart")
		if len(w.ecs.runSpecs()) > 0 {
			t.Errorf("RunTask called")
		}
		if req, _ := w.request(alice, ""); w.m.Create(req) != nil {
			t.Errorf("alice cannot create a server after the cleanup")
		}
	})

	t.Run("record whose task stopped", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Hour), state: spawner.StateReady, task: spawner.TaskStopped, owned: true})
		w.recover()
		w.expectGone(srv, spawner.CauseRecordGone, "Server gone: the server stopped on its own (Task stopped by user)")
	})

	t.Run("record whose task ECS forgot", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-3 * time.Hour), state: spawner.StateReady})
		w.recover()
		w.expectGone(srv, spawner.CauseRecordGone, "Server gone: the server stopped on its own (no reason given)")
	})

	t.Run("owned task without record stopped", func(t *testing.T) {
		w := newWorld(t)
		arn := "arn:aws:ecs:eu-west-3:111122223333:task/games/0rphan"
		ch := "1300000000000555555"
		w.chat.addChannel(ch, "Minecraft · official · "+TopicMarker+"0123", carol)
		w.ecs.add(spawner.Task{
			ARN: arn, Status: spawner.TaskRunning, StartedBy: spawner.StartedBy,
			CreatedAt: t0, // younger than the grace: at start it does not apply
			Tags:      map[string]string{spawner.TagCreation: "0123", spawner.TagOwner: carol, spawner.TagChannel: ch},
		})
		foreign := "arn:aws:ecs:eu-west-3:111122223333:task/games/n0tours"
		w.ecs.add(spawner.Task{ARN: foreign, Status: spawner.TaskRunning, StartedBy: "someone-else", CreatedAt: t0.Add(-time.Hour)})
		w.recover()
		if got := w.ecs.stopped(); !slices.Equal(got, []string{arn}) {
			t.Errorf("stopped %v, want only the orphan", taskIDs(got))
		}
		if got := w.chat.logsWith("Stopped task `0rphan`"); len(got) != 1 {
			t.Errorf("log channel lines for the orphan = %q, want 1\n%s", got, w)
		}
		if got := w.metrics.stoppedOf(spawner.CauseOrphan); got != 1 {
			t.Errorf("metrics counted %d orphans, want 1", got)
		}
		w.advanceAndPass(w.cfg.TicketCloseDelay, false)
		if !w.chat.isDeleted(ch) {
			t.Errorf("the orphan's ticket channel was not deleted")
		}
	})

	t.Run("ticket channels no record names deleted", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
		stray := "1300000000000666666"
		w.chat.addChannel(stray, "Minecraft · official · "+TopicMarker+"deadbeefdeadbeefdeadbeefdeadbeef", bob)
		humans := map[string]string{
			"1300000000000777771": "Ask the admins for help here",
			"1300000000000777772": "Questions about spawner: ask here",
			"1300000000000777773": "Notes · spawner:deadbeef",                                // too short
			"1300000000000777774": "Notes · spawner:deadbeefdeadbeefdeadbeefdeadbeef · kept", // not at the end
			"1300000000000777775": "Notes · spawner:DEADBEEFDEADBEEFDEADBEEFDEADBEEF",        // not as the bot writes it
		}
		for id, topic := range humans {
			w.chat.addChannel(id, topic, "")
		}
		w.recover()
		if got := w.chat.deletedChannels(); !slices.Equal(got, []string{stray}) {
			t.Errorf("deleted channels %v, want only the stray ticket %s", got, stray)
		}
		if w.chat.isDeleted(srv.ChannelID) {
			t.Errorf("the channel of a recorded server was deleted")
		}
		for id, topic := range humans {
			if w.chat.isDeleted(id) {
				t.Errorf("a channel people made was deleted (topic %q)", topic)
			}
		}
	})

	t.Run("malformed items told", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
		w.store.problems = []error{
			errors.New(`item taskId="arn:x": creationDate is not a number`),
			errors.New(`item 3: no taskId`),
		}
		w.recover()
		for _, p := range w.store.problems {
			if got := w.chat.logsWith("malformed", p.Error()); len(got) != 1 {
				t.Errorf("log channel lines for %q = %q, want 1", p, got)
			}
		}
		if got, ok := w.serverOf(alice); !ok || got.TaskARN != srv.TaskARN {
			t.Errorf("the good record was not loaded\n%s", w)
		}
	})

	t.Run("pending and task records of one creation", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
		p := srv
		p.TaskARN, p.State, p.Address = "", spawner.StateRequested, ""
		w.store.put(p)
		w.recover()
		if got := w.m.Servers(admin); len(got) != 1 || got[0].TaskARN != srv.TaskARN || got[0].State != spawner.StateReady {
			t.Errorf("servers = %+v, want alice's one, ready", got)
		}
		if k := w.store.keys(); !slices.Equal(k, []string{srv.TaskARN}) {
			t.Errorf("table keys = %v, want only the task's record", k)
		}
		if len(w.ecs.stopped()) > 0 || len(w.ecs.runSpecs()) > 0 || len(w.chat.deletedChannels()) > 0 {
			t.Errorf("Recover stopped, ran or deleted something\n%s", w)
		}
	})
}

func TestRecoverFailsWithoutChanging(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(w *world)
	}{
		{"table unreadable", func(w *world) { w.store.failNext("LoadAll", 1, errBoom) }},
		{"ECS unreadable", func(w *world) { w.ecs.failNext("ListOwnedTasks", 1, errBoom) }},
		{"recorded tasks undescribable", func(w *world) { w.ecs.failNext("DescribeTasks", 1, errBoom) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ready := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
			gone := w.seed(seed{owner: bob, createdAt: t0.Add(-time.Minute), state: spawner.StateRequested, pending: true})
			w.seed(seed{owner: carol, createdAt: t0.Add(-time.Hour), task: spawner.TaskRunning, original: true})
			w.store.problems = []error{errors.New("item 3: no taskId")}
			orphan := "arn:aws:ecs:eu-west-3:111122223333:task/games/0rphan"
			w.ecs.add(spawner.Task{ARN: orphan, Status: spawner.TaskRunning, StartedBy: spawner.StartedBy, CreatedAt: t0})
			w.chat.addChannel("1300000000000666666", "Minecraft · official · "+TopicMarker+"deadbeef", bob)
			keys := w.store.keys()
			tc.fail(w)

			err := w.m.Recover(w.ctx)
			if !errors.Is(err, errBoom) {
				t.Fatalf("Recover = %v, want the failure", err)
			}
			if len(w.m.Servers(admin)) != 0 {
				t.Errorf("servers loaded by a failed Recover")
			}
			if !slices.Equal(w.store.keys(), keys) || len(w.store.deleted()) > 0 || len(w.store.putsOf()) > 0 {
				t.Errorf("the table changed")
			}
			if len(w.ecs.stopped()) > 0 || len(w.chat.deletedChannels()) > 0 || len(w.chat.logLines()) > 0 {
				t.Errorf("a failed Recover stopped, deleted or said something (log channel: %q)\n%s", w.chat.logLines(), w)
			}
			if req, _ := w.request(alice, ""); refusalCode(w.m.Create(req)) != spawner.RefusedShuttingDown {
				t.Errorf("Create accepted after a failed Recover")
			}

			w.recover()
			if got, ok := w.serverOf(alice); !ok || got.TaskARN != ready.TaskARN {
				t.Errorf("alice's server not loaded on retry\n%s", w)
			}
			if _, ok := w.serverOf(carol); !ok {
				t.Errorf("carol's server not loaded on retry\n%s", w)
			}
			if _, ok := w.serverOf(bob); ok {
				t.Errorf("bob's interrupted creation not cleaned on retry")
			}
			if _, ok := w.store.get(gone.Key()); ok {
				t.Errorf("bob's pending record left")
			}
			if got := w.ecs.stopped(); !slices.Equal(got, []string{orphan}) {
				t.Errorf("stopped %v on retry, want the orphan", taskIDs(got))
			}
			if len(w.chat.logsWith("malformed")) != 1 {
				t.Errorf("the malformed item was not told once")
			}
			if req, _ := w.request(bob, ""); w.m.Create(req) != nil {
				t.Errorf("Create refused after a successful Recover")
			}
		})
	}
}

// TestShutdownWhileBooting cancels the daemon's context during a creation:
// Run and Wait return at once and the table keeps the server, which the
// next start adopts.
func TestShutdownWhileBooting(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.create(alice, "")
	w.blockUntil(1) // the task is PROVISIONING
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()
	w.blockUntil(2) // and Run waits for its next event
	arn := w.ecs.all()[0]
	stops, deletes, chans := len(w.ecs.stopped()), len(w.store.deleted()), len(w.chat.deletedChannels())

	w.cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return after the context ended\n%s", w)
	}
	w.waitWorkers()
	if k := w.store.keys(); !slices.Equal(k, []string{arn}) {
		t.Errorf("table keys = %v, want the task's record kept", k)
	}
	if len(w.ecs.stopped()) != stops || len(w.store.deleted()) != deletes || len(w.chat.deletedChannels()) != chans {
		t.Errorf("shutdown stopped or deleted something\n%s", w)
	}
	if r := w.ecs.running(); !slices.Equal(r, []string{arn}) {
		t.Errorf("running tasks = %v, want the booting one", taskIDs(r))
	}

	// The next start carries on with it. The old Manager's waits on the
	// clock are still pending: wait for one more.
	stale := w.clock.Waiters()
	w.restart()
	w.recover()
	w.blockUntil(stale + 1)
	w.ecs.setAll(spawner.TaskRunning)
	w.pinger.answer(4)
	w.clock.Advance(w.cfg.PollInterval)
	w.waitWorkers()
	if got, ok := w.serverOf(alice); !ok || got.State != spawner.StateReady || got.TaskARN != arn {
		t.Errorf("after the restart: %+v, %v; want the same task ready\n%s", got, ok, w)
	}
	if n := len(w.ecs.runSpecs()); n != 1 {
		t.Errorf("RunTask called %d times in all, want 1", n)
	}
}

// TestCloseWaitsForRecoveredWorkers: a server Recover found booting is
// followed by a worker of the Manager's, which Close ends and waits for.
func TestCloseWaitsForRecoveredWorkers(t *testing.T) {
	w := newWorld(t)
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateBooting, task: spawner.TaskRunning, owned: true})
	entered, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var hookDone atomic.Bool
	w.ecs.onCall("DescribeTasks", func() {
		once.Do(func() {
			close(entered)
			<-gate
			hookDone.Store(true)
		})
	})
	w.recover()
	select {
	case <-entered:
	case <-time.After(waitTimeout):
		t.Fatalf("the recovered server's worker never described its task\n%s", w)
	}
	w.expectPhase(srv.CreationID, phaseCreating)
	closed := make(chan bool)
	go func() {
		_ = w.m.Close()
		closed <- hookDone.Load()
	}()
	w.waitFor("Close to end the workers' context", func() bool { return w.m.ctx.Err() != nil })
	close(gate)
	select {
	case workerDone := <-closed:
		if !workerDone {
			t.Errorf("Close returned before the recovered worker did")
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Close did not return\n%s", w)
	}
	if err := w.m.Create(spawner.CreateRequest{Owner: bob}); refusalCode(err) != spawner.RefusedShuttingDown {
		t.Errorf("Create after Close = %v, want RefusedShuttingDown", err)
	}
	if k := w.store.keys(); len(k) != 1 || k[0] != srv.TaskARN {
		t.Errorf("table = %v, want the booting server kept for the next start", k)
	}
}

// TestRecoverReadsTheTableOnce: one read of the table at start gives the
// servers, the stored templates and the cooldowns, its malformed records
// reported each where it belongs.
func TestRecoverReadsTheTableOnce(t *testing.T) {
	games := newFakeGames()
	games.docs["factorio"] = factorioTemplate
	w := newWorld(t, withGames(games), withCooldown())
	w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	w.store.mu.Lock()
	w.store.cooldowns[bob] = t0.Add(-time.Minute)
	w.store.problems = []error{errors.New(`item "arn:x": userId is missing`)}
	w.store.mu.Unlock()

	w.recover()
	if got := w.j.count("store.LoadAll"); got != 1 {
		t.Errorf("Recover read the table %d times, want once\n%s", got, w)
	}
	if _, ok := w.serverOf(alice); !ok {
		t.Errorf("alice's server is not carried on\n%s", w)
	}
	if _, ok := w.m.Catalog().Lookup("factorio"); !ok {
		t.Errorf("the stored template is not offered: %v", w.m.Catalog())
	}
	w.expectCooldown(bob, t0.Add(-time.Minute))
	if got := w.chat.logsWith("arn:x", "userId is missing"); len(got) != 1 {
		t.Errorf("log channel lines telling the malformed record = %q, want 1\n%s", got, w)
	}
}
