package lifecycle

import (
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestSweepRunsAtTheFleetsInterval: a stored game whose checkInterval is
// shorter than the variables' does not make the whole fleet's ECS sweep
// run at its pace, and a game with a longer one is probed at its own.
func TestSweepRunsAtTheFleetsInterval(t *testing.T) {
	games := newFakeGames()
	games.docs["valheim"] = valheimTemplate(1, "10s")
	w := newWorld(t, withGames(games))
	w.recover()
	if g, ok := w.m.Catalog().Lookup("valheim"); !ok || g.CheckInterval != 10*time.Second {
		t.Fatalf("valheim = %+v, %v: the stored template was not offered", g, ok)
	}
	base := w.ecs.listCount()
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()
	defer func() { w.cancel(); <-done }()
	for i := 1; i <= 3; i++ {
		w.blockUntil(1)
		if n := w.ecs.listCount() - base; n != i {
			t.Fatalf("%d sweeps after %d intervals, want %d\n%s", n, i-1, i, w)
		}
		next, _ := w.clock.NextDeadline()
		if got := next.Sub(w.clock.Now()); got != w.game().CheckInterval {
			t.Fatalf("the next sweep comes after %v, want the fleet's interval %v (GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION), not valheim's 10s", got, w.game().CheckInterval)
		}
		w.clock.AdvanceTo(next)
	}
}

// TestGameCheckedAtItsOwnInterval: a server of a game with a longer
// checkInterval than the sweep's is probed at its interval, not at every
// sweep.
func TestGameCheckedAtItsOwnInterval(t *testing.T) {
	games := newFakeGames()
	w := newWorld(t, withGames(games))
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, valheimTemplate(1, "30m")); err != nil {
		t.Fatal(err)
	}
	w.readyGameServer(alice, "valheim", 5)
	pings := len(w.pinger.pings())
	for range 5 {
		w.advanceAndPass(w.game().CheckInterval, true) // 25 minutes of sweeps
	}
	if n := len(w.pinger.pings()) - pings; n != 0 {
		t.Errorf("probed %d times in 25 minutes, want none before its 30 minutes", n)
	}
	w.advanceAndPass(w.game().CheckInterval, true)
	if n := len(w.pinger.pings()) - pings; n != 1 {
		t.Errorf("probed %d times at 30 minutes, want once", n)
	}
}

// TestSweepBackoffIsNotCappedAtTheInterval: a sweep that ECS refuses (it
// throttles) backs off beyond the check interval, up to MaxBackoff.
func TestSweepBackoffIsNotCappedAtTheInterval(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) { g.CheckInterval = 10 * time.Second }))
	w.recover()
	w.ecs.failNext("ListOwnedTasks", 5, errBoom)
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()
	defer func() { w.cancel(); <-done }()
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second} {
		w.blockUntil(1)
		next, _ := w.clock.NextDeadline()
		if got := next.Sub(w.clock.Now()); got != wait {
			t.Errorf("retry %d waits %v, want %v", i+1, got, wait)
		}
		w.clock.AdvanceTo(next)
	}
	w.waitFor("the sweep to recover", func() bool { return strings.Contains(w.logs.String(), "sweep recovered") })
}

// TestStoredTemplateOutOfLimits: a template stored before its values had
// limits (checkInterval 1ms) is not offered at the next start, and the
// log channel says why; the sweep keeps the fleet's interval.
func TestStoredTemplateOutOfLimits(t *testing.T) {
	games := newFakeGames()
	games.docs["valheim"] = valheimTemplate(1, "1ms")
	w := newWorld(t, withGames(games))
	w.recover()
	if _, ok := w.m.Catalog().Lookup("valheim"); ok {
		t.Errorf("a template with checkInterval 1ms is offered")
	}
	if got := w.chat.logsWith("valheim", "checkInterval: 1ms is below the minimum of 10s"); len(got) != 1 {
		t.Errorf("log channel lines about it = %q, want 1\n%s", got, w)
	}
	if got := w.m.sweepInterval(); got != w.game().CheckInterval {
		t.Errorf("sweep interval %v, want the fleet's %v", got, w.game().CheckInterval)
	}
}
