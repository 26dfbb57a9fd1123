package main

import (
	"strings"
	"testing"
)

// The real binary SIGKILLed while a server of a world runs, then started
// again: the server carries on in the same container on its world, the
// world is listed running, and its stop saves it as any stop does, so
// the next server starts on what the first one left.
func TestDockerWorldServerResumesAfterSIGKILL(t *testing.T) {
	t.Parallel()
	w := newWorldsWorld(t, nil)
	bin := rsSpawnerBinary(t)
	p := rsStartBinary(t, w.world, bin)
	u := member(1)

	channelID, addr := wlReady(t, w, p.handle(w.world), u, "home")
	if n := wlStarts(t, addr); n != 1 {
		t.Fatalf("first start shows %d", n)
	}
	before := w.containerOf(t, channelID)
	p.kill(t)
	p = rsStartBinary(t, w.world, bin)

	if after := w.containerOf(t, channelID); after.ID != before.ID || after.State != "running" {
		t.Fatalf("the server's container changed across the restart: %s (%s) → %s (%s)", before.ID, before.State, after.ID, after.State)
	}
	if list := wlAnswer(t, w.world, u, "list", nil, "home"); !strings.Contains(list, "running") {
		t.Errorf("/world list after the restart: %q, want home running", list)
	}
	if n := wlStarts(t, addr); n != 1 {
		t.Errorf("the server after the restart shows start %d, want the same server's 1", n)
	}
	end := wlStop(t, w, p.handle(w.world), u, channelID)
	if !strings.Contains(end.Text(), "saved") {
		t.Errorf("the stop after the restart does not say the world was saved: %q", end.Text())
	}
	if backups := wlBackups(t, w, u, "home"); len(backups) != 1 {
		t.Errorf("backups after the stop: %v, want the stop's", backups)
	}
	channelID, addr = wlReady(t, w, p.handle(w.world), u, "home")
	if n := wlStarts(t, addr); n != 2 {
		t.Errorf("the next server shows start %d, want 2", n)
	}
	wlStop(t, w, p.handle(w.world), u, channelID)
}
