package main

import (
	"strings"
	"testing"
)

// A creation refused for want of a free port leaves no container and no
// record behind: only the first server's remain, and its ticket's owner
// reads why.
func TestDockerPortRangeExhaustedLeavesNoRecord(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 1, map[string]string{"GAMESERVER_MAX_SERVERS": "5"})
	d := w.start(t)
	dkReady(t, w, d, member(1))
	channelID := dkCreate(t, w, member(2))
	m := wdWait(t, w.world, d, channelID, "could not be created")
	if !strings.Contains(m.Text(), "no free port") {
		t.Errorf("the failure does not say the port range is full: %q", m.Text())
	}
	if got := w.ours(t); len(got) != 1 {
		t.Errorf("containers = %d, want only the first server's: %+v", len(got), got)
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	recs := w.records(t)
	if len(recs) != 1 || recs[0].Owner != member(1).ID {
		t.Errorf("records = %+v, want only the first member's server", recs)
	}
}
