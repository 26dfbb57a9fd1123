package lifecycle

import (
	"slices"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestBootingBeat: while several servers boot, each tick describes all
// their tasks in one DescribeTasks, and pings each booting server once;
// a server that answers is ready at that tick, the others go on.
func TestBootingBeat(t *testing.T) {
	w := newWorld(t)
	w.recover()
	owners := []string{alice, bob, carol}
	for _, o := range owners {
		w.create(o, "")
	}
	w.blockUntil(len(owners)) // every worker took its first step and waits for the beat
	arns := w.ecs.all()
	slices.Sort(arns)
	if len(arns) != len(owners) {
		t.Fatalf("tasks = %v, want %d\n%s", arns, len(owners), w)
	}
	w.ecs.setAll(spawner.TaskRunning)

	for tick := 1; tick <= 3; tick++ {
		descs, pings := len(w.ecs.describes()), len(w.pinger.pings())
		if tick == 3 {
			w.pinger.answer(4) // the games answer: all ready at this tick
		}
		w.clock.Advance(w.cfg.PollInterval)
		if tick < 3 {
			w.blockUntil(len(owners))
		} else {
			w.waitWorkers()
		}
		d := w.ecs.describes()[descs:]
		if len(d) != 1 {
			t.Fatalf("tick %d: DescribeTasks calls = %v, want one for all booting tasks\n%s", tick, d, w)
		}
		got := slices.Clone(d[0])
		slices.Sort(got)
		if !slices.Equal(got, arns) {
			t.Errorf("tick %d: described %v, want every booting task %v", tick, got, arns)
		}
		if n := len(w.pinger.pings()) - pings; n != len(owners) {
			t.Errorf("tick %d: %d pings, want one per booting server (%d)", tick, n, len(owners))
		}
	}
	for _, o := range owners {
		if srv, ok := w.serverOf(o); !ok || srv.State != spawner.StateReady {
			t.Errorf("server of %s = %+v, want ready\n%s", o, srv, w)
		}
	}
}
