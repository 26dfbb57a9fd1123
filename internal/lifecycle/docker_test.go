package lifecycle

import (
	"slices"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// statusEdits returns every content the status message of the only ticket
// channel was edited to, in order.
func (w *world) statusEdits() []string {
	w.chat.mu.Lock()
	defer w.chat.mu.Unlock()
	for _, id := range w.chat.order {
		if ch := w.chat.chans[id]; len(ch.msgs) > 0 {
			return slices.Clone(ch.msgs[0].edits)
		}
	}
	return nil
}

func editsWith(edits []string, part string) int {
	n := 0
	for _, e := range edits {
		if strings.Contains(e, part) {
			n++
		}
	}
	return n
}

// A pull's progress shows in the status message at most once per
// ProgressInterval, the latest note winning, and a note still waiting when
// the task starts is never shown over the steps that follow.
func TestProgressRateLimitedAndEndsWithTheStart(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.ecs.onCall("RunTask", func() {
		id := w.m.Servers(admin)[0].CreationID
		w.m.Progress(id, downloading(5))  // shown at once
		w.m.Progress(id, downloading(10)) // too soon: waits
		w.m.Progress(id, downloading(15)) // replaces it
		w.blockUntil(1)                   // the note's worker waits for the interval
		w.clock.Advance(ProgressInterval)
		w.waitFor("the waiting note to be shown", func() bool { return editsWith(w.statusEdits(), downloadingNote(15)) == 1 })
		w.m.Progress(id, spawner.PullProgress{Image: pullImage, Phase: spawner.PullExtracting}) // too soon again, and the task starts first
	})
	w.create(alice, "")
	w.waitFor("the task to start", func() bool { return len(w.ecs.all()) == 1 })
	w.ecs.onCall("RunTask", nil)
	w.clock.Advance(ProgressInterval) // the waiting note's time comes after the start

	edits := w.statusEdits()
	w.waitFor("the provisioning step", func() bool {
		edits = w.statusEdits()
		return editsWith(edits, "⏳ provisioning") > 0
	})
	if editsWith(edits, downloadingNote(5)) != 1 || editsWith(edits, downloadingNote(15)) != 1 {
		t.Errorf("notes shown %q, want 5%% then 15%% once each", edits)
	}
	if editsWith(edits, downloadingNote(10)) != 0 {
		t.Errorf("a note replaced before its time was shown: %q", edits)
	}
	w.cancel() // Close waits for every worker: a late note would be shown by now
	if n := editsWith(w.statusEdits(), "extracting"); n != 0 {
		t.Errorf("a note was shown after the task started: %q", w.statusEdits())
	}
	if last := w.statusEdits()[len(w.statusEdits())-1]; strings.Contains(last, "downloading") {
		t.Errorf("the status message ends on a pull note: %q", last)
	}
}

// Progress leaves a server that is not starting its task alone.
func TestProgressIgnoresServersNotStarting(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	before := len(w.statusEdits())
	w.m.Progress(srv.CreationID, downloading(5))
	w.m.Progress("no-such-creation", downloading(5))
	if got := w.statusEdits(); len(got) != before {
		t.Errorf("a ready server's status was edited with a note: %q", got[before:])
	}
}

// Under a container runtime the game port is published on a host port:
// the address recorded, shown and pinged is the host port; the container
// spec names the image, the ports and the limits.
func TestHostPortOfAContainer(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) {
		g.Image = "itzg/minecraft-server"
		g.Memory = 3072
	}))
	w.recover()
	w.pinger.answer(w.game().MinPlayers)
	w.create(alice, "")
	w.waitFor("the task", func() bool { return len(w.ecs.all()) == 1 })
	w.ecs.mapPorts(w.ecs.all()[0], map[int]int{25565: 25570}) // 25565 published on 25570
	w.ecs.set(w.ecs.all()[0], func(t *spawner.Task) { t.Status = spawner.TaskRunning })
	w.pollUntilWorkersDone(5)
	srv, ok := w.serverOf(alice)
	if !ok || srv.State != spawner.StateReady {
		t.Fatalf("server not ready: %+v\n%s", srv, w)
	}
	if srv.Port != 25570 || !strings.HasSuffix(srv.HostPort(), ":25570") {
		t.Errorf("server port = %d (%s), want the host port 25570", srv.Port, srv.HostPort())
	}
	if pings := w.pinger.pings(); len(pings) == 0 || !strings.HasSuffix(pings[len(pings)-1], ":25570") {
		t.Errorf("pings went to %q, want the host port", pings)
	}
	w.mustContain("ready message", w.lastMessage(srv.ChannelID).content, ":25570`")
	spec := w.ecs.runSpecs()[0]
	if spec.Image != "itzg/minecraft-server" || spec.Memory != 3072 || !slices.Equal(spec.Ports, []spawner.PortSpec{{Port: 25565, Proto: "tcp"}}) {
		t.Errorf("container spec = %+v", spec.ContainerSpec)
	}
	if rec, ok := w.store.get(srv.TaskID); !ok || rec.Port != 25570 {
		t.Errorf("record = %+v, want the host port kept for a restart", rec)
	}
}
