package lifecycle

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// TestTaskChangedEndsAtOnce: a change saying a watched server's task
// stopped on its own ends the server without waiting for a sweep, exactly
// as the sweep would; the same change again, or one of a task of no
// server, does nothing.
func TestTaskChangedEndsAtOnce(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	w.cluster.endOnOwn(srv.TaskID, "Essential container in task exited", 1)
	task := w.cluster.get(srv.TaskID)
	lists := int(w.cluster.lists.Load())

	w.m.TaskChanged(spawner.Task{ID: "arn:aws:ecs:eu-west-3:1:task/c/unknown", Status: spawner.TaskStopped})
	w.m.TaskChanged(task)
	w.m.TaskChanged(task) // delivered twice
	w.waitWorkers()
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the server outlived a change saying its task stopped\n%s", w)
	}
	w.expectEnded(srv, spawner.CauseTaskEnded)
	if n := int(w.cluster.lists.Load()) - lists; n != 0 {
		t.Errorf("the end waited for a sweep (%d ListTasks)", n)
	}
	w.expectNothingLeft()
}

// TestTaskChangedRunningLeavesAWatchedServer: a change that says nothing
// new of a ready server's task (RUNNING) changes nothing.
func TestTaskChangedRunningLeavesAWatchedServer(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	w.m.TaskChanged(w.cluster.get(srv.TaskID))
	w.waitWorkers()
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("a RUNNING change ended a ready server\n%s", w)
	}
	w.expectPhase(srv.CreationID, phaseWatched)
}

// TestTaskChangedWakesACreation: a change of a booting server's task wakes
// its worker, which reads the task again at once, off its poll.
func TestTaskChangedWakesACreation(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.players.answer(4)
	w.create(alice, "")
	w.blockUntil(1) // PROVISIONING, the next poll in 5s
	arn := w.cluster.all()[0]
	w.cluster.setAll(spawner.TaskRunning)
	w.m.TaskChanged(w.cluster.get(arn))
	w.waitWorkers() // ready, with no poll: the clock never moved
	if srv, ok := w.serverOf(alice); !ok || srv.State != spawner.StateReady {
		t.Errorf("server = %+v, want ready at once\n%s", srv, w)
	}
}

// TestTaskChangedIsConfirmedBeforeAnEnd: a change saying a watched
// server's task stopped is a hint to look, not a fact: while the runtime
// still reports the task RUNNING, the server is left alone and the change
// is logged as unconfirmed.
func TestTaskChangedIsConfirmedBeforeAnEnd(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	describes := len(w.cluster.descs.all())

	code := int32(137)
	forged := spawner.Task{ID: srv.TaskID, Status: spawner.TaskStopped, StopWanted: true, StartedBy: spawner.StartedBy,
		StoppedReason: "forged", ExitCode: &code}
	w.m.TaskChanged(forged)
	w.waitWorkers()
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("a change the runtime does not confirm ended the server\n%s", w)
	}
	w.expectPhase(srv.CreationID, phaseWatched)
	if n := len(w.cluster.stops.all()); n != 0 {
		t.Errorf("StopTask called %d times", n)
	}
	if got := w.cluster.descs.all()[describes:]; len(got) != 1 || !slices.Equal(got[0], []string{srv.TaskID}) {
		t.Errorf("DescribeTasks calls after the change = %v, want one for the server's task", got)
	}
	if w.logCount("not confirmed") != 1 {
		t.Errorf("the unconfirmed change is not logged:\n%s", w.logs)
	}
	if said := w.guild.purposes(srv.ChannelID, 2); len(said) != 0 {
		t.Errorf("the owner was told %q", said)
	}
}

// TestTaskChangedEndsWithTheRuntimesWords: once the runtime confirms the
// task stopped, the owner is told what the runtime says of it, not what
// the change said.
func TestTaskChangedEndsWithTheRuntimesWords(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	w.cluster.endOnOwn(srv.TaskID, "Essential container in task exited", 1)
	w.m.TaskChanged(spawner.Task{ID: srv.TaskID, Status: spawner.TaskStopped, StoppedReason: "forged"})
	w.waitWorkers()
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the server outlived a confirmed stop\n%s", w)
	}
	why := text.En.FailTaskEnded(w.cluster.get(srv.TaskID))
	if end := w.expectSaid(srv, "end", alice); end.content != text.En.Ended(alice, spawner.CauseTaskEnded, "", why, w.cfg.TicketCloseDelay) {
		t.Errorf("the end message does not give the runtime's reason:\n%s", end.content)
	}
	if end, _ := w.said(srv, "end"); strings.Contains(end.content, "forged") {
		t.Errorf("the owner was told the change's words: %q", end.content)
	}
}

// TestTaskChangedUnreadableRuntime: when the runtime cannot be asked, a
// change ends nothing; the sweep will look.
func TestTaskChangedUnreadableRuntime(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	w.cluster.endOnOwn(srv.TaskID, "Essential container in task exited", 1)
	fail := failing(1)
	w.tasks.DescribeTasksFn = func(ctx context.Context, arns []string) ([]spawner.Task, error) {
		if fail() {
			return nil, errBoom
		}
		return w.cluster.DescribeTasks(ctx, arns)
	}
	w.m.TaskChanged(w.cluster.get(srv.TaskID))
	w.waitWorkers()
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("a change ended the server though the runtime could not confirm it\n%s", w)
	}
	w.pass(true)
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the sweep did not end the server\n%s", w)
	}
}

// TestReclaimed: the change that says the provider reclaims a ready
// server's capacity tells its owner at once, in their language and
// mentioning them, once however often it comes; the server stays until the
// change that says its task stopped, which ends it as a task that stopped
// on its own.
func TestReclaimed(t *testing.T) {
	w := newWorld(t)
	w.recover()
	req, _ := w.request(alice, "")
	req.Locale = "fr"
	w.cluster.startIn(spawner.TaskRunning)
	w.players.answer(4)
	if err := w.m.Create(req); err != nil {
		t.Fatal(err)
	}
	w.waitWorkers()
	srv, _ := w.serverOf(alice)
	lists := int(w.cluster.lists.Load())

	reason := "Your Spot Task was interrupted."
	w.cluster.set(srv.TaskID, func(t *spawner.Task) {
		t.StopWanted, t.Reclaimed, t.StoppedReason = true, true, reason
	})
	warning := w.cluster.get(srv.TaskID)
	w.m.TaskChanged(warning)
	w.m.TaskChanged(warning) // delivered twice
	w.cluster.set(srv.TaskID, func(t *spawner.Task) { t.Status = spawner.TaskStopping })
	w.m.TaskChanged(w.cluster.get(srv.TaskID)) // on its way down: still the same warning
	w.waitWorkers()

	if said := w.guild.purposes(srv.ChannelID, 2); !slices.Equal(said, []string{"warn-spot"}) {
		t.Fatalf("said %q after the warnings, want one reclaim warning\n%s", said, w)
	}
	if p := w.expectSaid(srv, "warn-spot", alice); p.content != text.Fr.Reclaimed(alice) {
		t.Errorf("the reclaim warning is not in the owner's language:\n%s", p.content)
	}
	if n := w.metrics.warnedOf("spot"); n != 1 {
		t.Errorf("metrics counted %d reclaim warnings, want 1", n)
	}
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("the server ended at the warning, before its task stopped\n%s", w)
	}
	w.expectPhase(srv.CreationID, phaseWatched)
	if n := len(w.cluster.stops.all()); n != 0 {
		t.Errorf("the bot stopped %d task(s) at the warning; the provider does it", n)
	}

	w.cluster.endOnOwn(srv.TaskID, reason, 143)
	stopped := w.cluster.get(srv.TaskID)
	stopped.Reclaimed = true
	w.m.TaskChanged(stopped)
	w.waitWorkers()
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the server outlived the change saying its task stopped\n%s", w)
	}
	w.expectEnded(srv, spawner.CauseTaskEnded)
	if n := int(w.cluster.lists.Load()) - lists; n != 0 {
		t.Errorf("the warning or the end waited for a sweep (%d ListTasks)", n)
	}
	w.expectNothingLeft()
}
