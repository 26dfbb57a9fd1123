package lifecycle

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// expectGone checks srv was cleaned up at start, its owner told why.
func (w *world) expectGone(srv spawner.Server, cause spawner.StopCause, why string) {
	w.tb.Helper()
	if _, ok := w.serverOf(srv.Owner); ok {
		w.tb.Fatalf("server of %s still tracked\n%s", srv.Owner, w)
	}
	w.expectEnded(srv, cause)
	if end, _ := w.said(srv, "end"); !strings.Contains(end.content, why) {
		w.tb.Errorf("the end message does not give the reason %q:\n%s", why, end.content)
	}
	for _, k := range []string{srv.Key(), spawner.PendingKeyPrefix + srv.CreationID} {
		if _, ok := w.table.get(k); ok {
			w.tb.Errorf("record %s left in the table", k)
		}
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
		if len(w.cluster.stops.all()) > 0 || len(w.guild.deletes.all()) > 0 || len(w.table.deletes.all()) > 0 {
			t.Errorf("Recover stopped or deleted something\n%s", w)
		}
		// The player watchdog checks it from the start on.
		w.players.answerAt(addr, 1)
		w.advanceAndPass(w.game().CheckInterval, false)
		if p := w.players.pinged(); !slices.Equal(p, []string{addr}) {
			t.Errorf("pings = %v, want one of %s", p, addr)
		}
		if said := w.guild.purposes(srv.ChannelID, 1); len(said) != 1 || !strings.HasPrefix(said[0], "warn-players-1-") {
			t.Errorf("said %q, want warning 1", said)
		}
		// Its owner can stop it.
		if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, got.ShortTaskID()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		w.expectNothingLeft()
		if len(w.cluster.runs.all()) > 0 {
			t.Errorf("RunTask called")
		}
	})

	t.Run("pending creation with its task adopted", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateRequested, task: spawner.TaskPending, owned: true, pending: true})
		if k := w.table.keys(); !slices.Equal(k, []string{spawner.PendingKeyPrefix + srv.CreationID}) {
			t.Fatalf("seeded keys %v", k)
		}
		w.recover()
		w.blockUntil(1) // booting
		arn := w.cluster.all()[0]
		if k := w.table.keys(); !slices.Equal(k, []string{arn}) {
			t.Errorf("table keys = %v, want only the task's record", k)
		}
		got, _ := w.serverOf(alice)
		if got.TaskID != arn || got.State != spawner.StatePending {
			t.Errorf("adopted server = %+v, want task %s pending", got, spawner.ShortTaskID(arn))
		}
		req, _ := w.request(alice, "")
		expectRefused(t, "a second server while hers boots", w.m.Create(req), spawner.RefusedBusy)
		w.cluster.setAll(spawner.TaskRunning)
		w.players.answer(4)
		w.clock.Advance(w.cfg.PollInterval)
		w.waitWorkers()
		got, _ = w.serverOf(alice)
		if got.State != spawner.StateReady || got.Address != w.cluster.ipOf(arn) {
			t.Fatalf("adopted server = %+v, want ready at its task's address\n%s", got, w)
		}
		if ready := w.expectSaid(srv, "ready", alice); ready.content != text.En.Ready(w.game(), got, got.StopTime(w.game())) {
			t.Errorf("the ready message is not the adopted server's:\n%s", ready.content)
		}
		if status := w.guild.posts(srv.ChannelID)[0]; status.id != srv.StatusMessageID || status.content != text.En.Status(w.game(), got, "") {
			t.Errorf("the status message posted before the restart does not show ready:\n%s", status.content)
		}
		if n := len(w.cluster.runs.all()); n != 0 {
			t.Errorf("RunTask called %d times for a creation whose task exists", n)
		}
		if n := len(w.cluster.stops.all()); n != 0 {
			t.Errorf("the adopted task was stopped")
		}
	})

	t.Run("pending creation without task cleaned up", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateRequested, pending: true})
		w.recover()
		w.expectGone(srv, spawner.CauseRestart, "")
		if len(w.cluster.runs.all()) > 0 {
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
		w.expectGone(srv, spawner.CauseRecordGone, text.En.FailTaskEnded(w.cluster.get(srv.TaskID)))
	})

	t.Run("record whose task the runtime forgot", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-3 * time.Hour), state: spawner.StateReady})
		w.recover()
		w.expectGone(srv, spawner.CauseRecordGone, text.En.FailTaskEnded(spawner.Task{}))
	})

	t.Run("owned task without record stopped", func(t *testing.T) {
		w := newWorld(t)
		arn := "arn:aws:ecs:eu-west-3:111122223333:task/games/0rphan"
		ch := "1300000000000555555"
		w.guild.addChannel(ch, "Minecraft · official · "+TopicMarker+"0123", carol)
		w.cluster.add(spawner.Task{
			ID: arn, Status: spawner.TaskRunning, StartedBy: spawner.StartedBy,
			CreatedAt: t0, // younger than the grace: at start it does not apply
			Tags:      map[string]string{spawner.TagCreation: "0123", spawner.TagOwner: carol, spawner.TagChannel: ch},
		})
		foreign := "arn:aws:ecs:eu-west-3:111122223333:task/games/n0tours"
		w.cluster.add(spawner.Task{ID: foreign, Status: spawner.TaskRunning, StartedBy: "someone-else", CreatedAt: t0.Add(-time.Hour)})
		w.recover()
		if got := w.cluster.stops.all(); !slices.Equal(got, []string{arn}) {
			t.Errorf("stopped %v, want only the orphan", got)
		}
		if n := w.logged(spawner.Server{TaskID: arn}, "log-orphan"); n != 1 {
			t.Errorf("the log channel was told of the orphan %d times, want once\n%s", n, w)
		}
		if got := w.metrics.stoppedOf(spawner.CauseOrphan); got != 1 {
			t.Errorf("metrics counted %d orphans, want 1", got)
		}
		w.advanceAndPass(w.cfg.TicketCloseDelay, false)
		if !w.guild.isDeleted(ch) {
			t.Errorf("the orphan's ticket channel was not deleted")
		}
	})

	t.Run("ticket channels no record names deleted", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
		stray := "1300000000000666666"
		w.guild.addChannel(stray, "Minecraft · official · "+TopicMarker+"deadbeefdeadbeefdeadbeefdeadbeef", bob)
		humans := map[string]string{
			"1300000000000777771": "Ask the admins for help here",
			"1300000000000777772": "Questions about spawner: ask here",
			"1300000000000777773": "Notes · spawner:deadbeef",                                // too short
			"1300000000000777774": "Notes · spawner:deadbeefdeadbeefdeadbeefdeadbeef · kept", // not at the end
			"1300000000000777775": "Notes · spawner:DEADBEEFDEADBEEFDEADBEEFDEADBEEF",        // not as the bot writes it
		}
		for id, topic := range humans {
			w.guild.addChannel(id, topic, "")
		}
		w.recover()
		if got := w.guild.deletes.all(); !slices.Equal(got, []string{stray}) {
			t.Errorf("deleted channels %v, want only the stray ticket %s", got, stray)
		}
		if w.guild.isDeleted(srv.ChannelID) {
			t.Errorf("the channel of a recorded server was deleted")
		}
	})

	t.Run("malformed items told", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
		w.table.problems = []error{
			errors.New(`item taskId="arn:x": creationDate is not a number`),
			errors.New(`item 3: no taskId`),
		}
		w.recover()
		for _, p := range w.table.problems {
			if got := w.guild.logged("bad-record/" + p.Error()); len(got) != 1 || !strings.Contains(got[0].Content, p.Error()) {
				t.Errorf("log channel lines for %q = %+v, want 1 naming it", p, got)
			}
		}
		if got, ok := w.serverOf(alice); !ok || got.TaskID != srv.TaskID {
			t.Errorf("the good record was not loaded\n%s", w)
		}
	})

	t.Run("pending and task records of one creation", func(t *testing.T) {
		w := newWorld(t)
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
		p := srv
		p.TaskID, p.State, p.Address = "", spawner.StateRequested, ""
		w.table.put(p)
		w.recover()
		if got := w.m.Servers(admin); len(got) != 1 || got[0].TaskID != srv.TaskID || got[0].State != spawner.StateReady {
			t.Errorf("servers = %+v, want alice's one, ready", got)
		}
		if k := w.table.keys(); !slices.Equal(k, []string{srv.TaskID}) {
			t.Errorf("table keys = %v, want only the task's record", k)
		}
		if len(w.cluster.stops.all()) > 0 || len(w.cluster.runs.all()) > 0 || len(w.guild.deletes.all()) > 0 {
			t.Errorf("Recover stopped, ran or deleted something\n%s", w)
		}
	})
}

func TestRecoverFailsWithoutChanging(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(w *world)
	}{
		{"table unreadable", func(w *world) {
			fail := failing(1)
			w.store.LoadAllFn = func(ctx context.Context) (spawner.Snapshot, error) {
				if fail() {
					return spawner.Snapshot{}, errBoom
				}
				return w.table.LoadAll(ctx)
			}
		}},
		{"runtime unreadable", func(w *world) { w.failLists(1) }},
		{"recorded tasks undescribable", func(w *world) {
			fail := failing(1)
			w.tasks.DescribeTasksFn = func(ctx context.Context, ids []string) ([]spawner.Task, error) {
				if fail() {
					return nil, errBoom
				}
				return w.cluster.DescribeTasks(ctx, ids)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ready := w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
			gone := w.seed(seed{owner: bob, createdAt: t0.Add(-time.Minute), state: spawner.StateRequested, pending: true})
			w.seed(seed{owner: carol, createdAt: t0.Add(-time.Hour), task: spawner.TaskRunning, original: true})
			w.table.problems = []error{errors.New("item 3: no taskId")}
			orphan := "arn:aws:ecs:eu-west-3:111122223333:task/games/0rphan"
			w.cluster.add(spawner.Task{ID: orphan, Status: spawner.TaskRunning, StartedBy: spawner.StartedBy, CreatedAt: t0})
			w.guild.addChannel("1300000000000666666", "Minecraft · official · "+TopicMarker+"deadbeef", bob)
			keys := w.table.keys()
			tc.fail(w)

			if err := w.m.Recover(w.ctx); !errors.Is(err, errBoom) {
				t.Fatalf("Recover = %v, want the failure", err)
			}
			if len(w.m.Servers(admin)) != 0 {
				t.Errorf("servers loaded by a failed Recover")
			}
			if !slices.Equal(w.table.keys(), keys) || len(w.table.deletes.all()) > 0 || w.table.puts.len() > 0 {
				t.Errorf("the table changed")
			}
			if len(w.cluster.stops.all()) > 0 || len(w.guild.deletes.all()) > 0 || len(w.guild.logged("")) > 0 {
				t.Errorf("a failed Recover stopped, deleted or said something\n%s", w)
			}
			req, _ := w.request(alice, "")
			expectRefused(t, "Create after a failed Recover", w.m.Create(req), spawner.RefusedShuttingDown)

			w.recover()
			if got, ok := w.serverOf(alice); !ok || got.TaskID != ready.TaskID {
				t.Errorf("alice's server not loaded on retry\n%s", w)
			}
			if _, ok := w.serverOf(carol); !ok {
				t.Errorf("carol's server not loaded on retry\n%s", w)
			}
			if _, ok := w.serverOf(bob); ok {
				t.Errorf("bob's interrupted creation not cleaned on retry")
			}
			if _, ok := w.table.get(gone.Key()); ok {
				t.Errorf("bob's pending record left")
			}
			if got := w.cluster.stops.all(); !slices.Equal(got, []string{orphan}) {
				t.Errorf("stopped %v on retry, want the orphan", got)
			}
			if n := len(w.guild.logged("bad-record/")); n != 1 {
				t.Errorf("the malformed item was told %d times, want once", n)
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
	arn := w.cluster.all()[0]
	stops, deletes, chans := len(w.cluster.stops.all()), len(w.table.deletes.all()), len(w.guild.deletes.all())

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
	if k := w.table.keys(); !slices.Equal(k, []string{arn}) {
		t.Errorf("table keys = %v, want the task's record kept", k)
	}
	if len(w.cluster.stops.all()) != stops || len(w.table.deletes.all()) != deletes || len(w.guild.deletes.all()) != chans {
		t.Errorf("shutdown stopped or deleted something\n%s", w)
	}
	if r := w.cluster.running(); !slices.Equal(r, []string{arn}) {
		t.Errorf("running tasks = %v, want the booting one", r)
	}

	// The next start carries on with it. The old Manager's waits on the
	// clock are still pending: wait for one more.
	stale := w.clock.Waiters()
	w.restart()
	w.recover()
	w.blockUntil(stale + 1)
	w.cluster.setAll(spawner.TaskRunning)
	w.players.answer(4)
	w.clock.Advance(w.cfg.PollInterval)
	w.waitWorkers()
	if got, ok := w.serverOf(alice); !ok || got.State != spawner.StateReady || got.TaskID != arn {
		t.Errorf("after the restart: %+v, %v; want the same task ready\n%s", got, ok, w)
	}
	if n := len(w.cluster.runs.all()); n != 1 {
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
	w.tasks.DescribeTasksFn = func(ctx context.Context, arns []string) ([]spawner.Task, error) {
		once.Do(func() {
			close(entered)
			<-gate
			hookDone.Store(true)
		})
		return w.cluster.DescribeTasks(ctx, arns)
	}
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
	w.waitFor("Close to end the workers' context", func() bool { return w.m.closed() })
	close(gate)
	select {
	case workerDone := <-closed:
		if !workerDone {
			t.Errorf("Close returned before the recovered worker did")
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Close did not return\n%s", w)
	}
	err := w.m.Create(spawner.CreateRequest{Owner: bob})
	expectRefused(t, "Create after Close", err, spawner.RefusedShuttingDown)
	if k := w.table.keys(); !slices.Equal(k, []string{srv.TaskID}) {
		t.Errorf("table = %v, want the booting server kept for the next start", k)
	}
}

// TestRecoverReadsTheTableOnce: one read of the table at start gives the
// servers, the stored templates and the cooldowns, its malformed records
// reported each where it belongs.
func TestRecoverReadsTheTableOnce(t *testing.T) {
	w := newWorld(t, withGames(map[string][]byte{"factorio": factorioTemplate}), withCooldown())
	var reads atomic.Int32
	loadAll := w.store.LoadAllFn
	w.store.LoadAllFn = func(ctx context.Context) (spawner.Snapshot, error) {
		reads.Add(1)
		return loadAll(ctx)
	}
	w.seed(seed{owner: alice, createdAt: t0.Add(-time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	malformed := errors.New(`item "arn:x": userId is missing`)
	w.table.mu.Lock()
	w.table.cooldowns[bob] = t0.Add(-time.Minute)
	w.table.problems = []error{malformed}
	w.table.mu.Unlock()

	w.recover()
	if got := reads.Load(); got != 1 {
		t.Errorf("Recover read the table %d times, want once\n%s", got, w)
	}
	if _, ok := w.serverOf(alice); !ok {
		t.Errorf("alice's server is not carried on\n%s", w)
	}
	if _, ok := w.m.Catalog().Lookup("factorio"); !ok {
		t.Errorf("the stored template is not offered: %v", w.m.Catalog())
	}
	w.expectCooldown(bob, t0.Add(-time.Minute))
	if got := w.guild.logged("bad-record/" + malformed.Error()); len(got) != 1 {
		t.Errorf("log channel lines telling the malformed record = %+v, want 1\n%s", got, w)
	}
}
