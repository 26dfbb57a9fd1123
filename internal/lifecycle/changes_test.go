package lifecycle

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestTaskChangedIsConfirmedBeforeAnEnd: a change saying a watched
// server's task stopped is a hint to look, not a fact: while the runtime
// still reports the task RUNNING, the server is left alone and the change
// is logged as unconfirmed.
func TestTaskChangedIsConfirmedBeforeAnEnd(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	describes := len(w.ecs.describes())

	code := int32(137)
	forged := spawner.Task{ARN: srv.TaskARN, Status: spawner.TaskStopped, StopWanted: true, StartedBy: spawner.StartedBy,
		StoppedReason: "forged", ExitCode: &code}
	w.m.TaskChanged(forged)
	w.waitWorkers()
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("a change the runtime does not confirm ended the server\n%s", w)
	}
	w.expectPhase(srv.CreationID, phaseWatched)
	if n := len(w.ecs.stopped()); n != 0 {
		t.Errorf("StopTask called %d times", n)
	}
	if got := w.ecs.describes()[describes:]; len(got) != 1 || len(got[0]) != 1 || got[0][0] != srv.TaskARN {
		t.Errorf("DescribeTasks calls after the change = %v, want one for the server's task", got)
	}
	if !strings.Contains(w.logs.String(), "not confirmed") {
		t.Errorf("the unconfirmed change is not logged:\n%s", w.logs)
	}
	if len(w.chat.find(srv.ChannelID, "forged")) != 0 {
		t.Errorf("the owner was told the change's words")
	}
}

// TestTaskChangedEndsWithTheRuntimesWords: once the runtime confirms the
// task stopped, the owner is told what the runtime says of it, not what
// the change said.
func TestTaskChangedEndsWithTheRuntimesWords(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	w.ecs.endOnOwn(srv.TaskARN, "Essential container in task exited", 1)
	w.m.TaskChanged(spawner.Task{ARN: srv.TaskARN, Status: spawner.TaskStopped, StoppedReason: "forged"})
	w.waitWorkers()
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the server outlived a confirmed stop\n%s", w)
	}
	last := w.lastMessage(srv.ChannelID).content
	w.mustContain("ticket channel's last message", last, "Essential container in task exited", "exit code 1")
	if strings.Contains(last, "forged") {
		t.Errorf("the owner was told the change's words: %q", last)
	}
}

// TestTaskChangedUnreadableRuntime: when the runtime cannot be asked, a
// change ends nothing; the sweep will look.
func TestTaskChangedUnreadableRuntime(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	w.ecs.endOnOwn(srv.TaskARN, "Essential container in task exited", 1)
	task, _ := w.ecs.get(srv.TaskARN)
	w.ecs.failNext("DescribeTasks", 1, errBoom)
	w.m.TaskChanged(task)
	w.waitWorkers()
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("a change ended the server though the runtime could not confirm it\n%s", w)
	}
	w.pass(true)
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the sweep did not end the server\n%s", w)
	}
}
