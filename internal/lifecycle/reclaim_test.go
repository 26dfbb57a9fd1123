package lifecycle

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// TestReclaimed: the change that says the provider reclaims a ready
// server's capacity tells its owner at once, in their language and
// mentioning them, once however often it comes; the server stays until the
// change that says its task stopped, which ends it as a task that stopped
// on its own.
func TestReclaimed(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	before := len(w.chat.messages(srv.ChannelID))
	lists := w.ecs.listCount()

	reason := "Your Spot Task was interrupted."
	w.ecs.set(srv.TaskID, func(t *spawner.Task) {
		t.StopWanted, t.Reclaimed, t.StoppedReason = true, true, reason
	})
	warning, _ := w.ecs.get(srv.TaskID)
	w.m.TaskChanged(warning)
	w.m.TaskChanged(warning) // delivered twice
	w.ecs.set(srv.TaskID, func(t *spawner.Task) { t.Status = spawner.TaskStopping })
	stopping, _ := w.ecs.get(srv.TaskID)
	w.m.TaskChanged(stopping) // on its way down: still the same warning
	w.waitWorkers()

	msgs := w.chat.messages(srv.ChannelID)[before:]
	want := text.For("en").Reclaimed(alice)
	var told int
	for _, m := range msgs {
		if m.content == want {
			told++
			if len(m.mentions) != 1 || m.mentions[0] != alice {
				t.Errorf("warning mentions %v, want the owner %s", m.mentions, alice)
			}
		}
	}
	if told != 1 {
		t.Fatalf("Spot warnings in the ticket = %d, want 1\n%s", told, w)
	}
	w.mustContain("Spot warning", want, text.Mention(alice), "Fargate Spot is reclaiming this server", "two minutes")
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("the server ended at the warning, before its task stopped\n%s", w)
	}
	w.expectPhase(srv.CreationID, phaseWatched)
	if n := len(w.ecs.stopped()); n != 0 {
		t.Errorf("the bot stopped %d task(s) at the warning; Fargate does it", n)
	}

	w.ecs.endOnOwn(srv.TaskID, reason, 143)
	stopped, _ := w.ecs.get(srv.TaskID)
	stopped.Reclaimed = true
	w.m.TaskChanged(stopped)
	w.waitWorkers()
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the server outlived the change saying its task stopped\n%s", w)
	}
	w.mustContain("ticket channel's last message", w.lastMessage(srv.ChannelID).content, reason)
	if n := w.ecs.listCount() - lists; n != 0 {
		t.Errorf("the warning or the end waited for a sweep (%d ListTasks)", n)
	}
	w.expectNothingLeft()
}

// TestReclaimedFrench: the warning speaks the owner's language.
func TestReclaimedFrench(t *testing.T) {
	got := text.For("fr").Reclaimed(alice)
	if !strings.Contains(got, "Fargate Spot reprend ce serveur") || !strings.Contains(got, text.Mention(alice)) {
		t.Errorf("French warning = %q", got)
	}
}
