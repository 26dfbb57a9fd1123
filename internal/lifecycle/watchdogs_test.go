package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

func TestPlayerWatchdog(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	g := w.game()
	seen := len(w.guild.posts(srv.ChannelID))
	bootPings := len(w.players.pinged())

	w.advanceAndPass(g.CheckInterval-time.Second, false)
	if n := len(w.players.pinged()); n != bootPings {
		t.Fatalf("pinged %d times before the first check was due", n-bootPings)
	}
	w.clock.Advance(time.Second)

	for i, step := range []struct {
		players int    // -1: no answer
		said    string // the message's purpose, before the check's time; "" for none
		warning int    // the warning it is, k of 3
		stopped bool
	}{
		{players: 1, said: "warn-players-1-", warning: 1},
		{players: -1, said: "warn-players-2-", warning: 2},
		{players: 6, said: "players-back-"},
		{players: 4}, // at the minimum: nothing to say, said once already
		{players: 5},
		{players: 0, said: "warn-players-1-", warning: 1},
		{players: 3, said: "warn-players-2-", warning: 2},
		{players: -1, said: "warn-players-3-", warning: 3},
		{players: 3, said: "end", stopped: true},
	} {
		if i > 0 {
			w.clock.Advance(g.CheckInterval)
		}
		if step.players < 0 {
			w.players.silence()
		} else {
			w.players.answer(step.players)
		}
		now := w.clock.Now()
		w.pass(false)
		what := fmt.Sprintf("check %d (%d players)", i+1, step.players)
		if got := len(w.players.pinged()) - bootPings; got != i+1 {
			t.Fatalf("%s: %d watchdog pings in all, want %d\n%s", what, got, i+1, w)
		}
		said := w.guild.purposes(srv.ChannelID, seen)
		seen += len(said)
		var want []string
		if step.said == "end" {
			want = []string{"end"}
		} else if step.said != "" {
			want = []string{step.said + strconv.FormatInt(now.UnixMilli(), 10)}
		}
		if !slices.Equal(said, want) {
			t.Fatalf("%s: said %q, want %q\n%s", what, said, want, w)
		}
		if step.warning > 0 {
			p := w.expectSaid(srv, want[0], alice)
			if text := text.En.PlayerWarning(alice, step.warning, 3, max(step.players, 0), 4, step.players >= 0, now.Add(g.CheckInterval)); p.content != text {
				t.Errorf("%s: the warning is not warning %d/3 of %d players:\n%s", what, step.warning, step.players, p.content)
			}
		}
		if step.said == "players-back-" {
			if p := w.expectSaid(srv, want[0]); p.content != text.En.PlayersBack(6) {
				t.Errorf("%s: the message is not that 6 players came back:\n%s", what, p.content)
			}
		}
		if _, ok := w.serverOf(alice); ok == step.stopped {
			t.Fatalf("%s: server tracked = %v, want stopped = %v\n%s", what, ok, step.stopped, w)
		}
	}
	if stops := w.cluster.stops.all(); !slices.Equal(stops, []string{srv.TaskID}) {
		t.Errorf("StopTask calls = %v, want alice's task", stops)
	}
	w.expectNothingLeft()
	w.expectEnded(srv, spawner.CausePlayers)
	if n := w.metrics.warnedOf("players"); n != 5 {
		t.Errorf("metrics counted %d player warnings, want 5", n)
	}
	w.expectClosedAfterDelay(srv.ChannelID)
}

func TestPlayerWatchdogDisabled(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
	w.recover()
	srv := w.readyServer(alice)
	w.players.silence()
	pings := len(w.players.pinged())
	seen := len(w.guild.posts(srv.ChannelID))
	for range 12 { // one hour
		w.advanceAndPass(w.game().CheckInterval, false)
	}
	if n := len(w.players.pinged()); n != pings {
		t.Errorf("pinged %d times with MinPlayers 0", n-pings)
	}
	if said := w.guild.purposes(srv.ChannelID, seen); len(said) != 0 {
		t.Errorf("said %q with MinPlayers 0", said)
	}
	if got, ok := w.serverOf(alice); !ok || got.State != spawner.StateReady {
		t.Errorf("server = %+v, %v; want still ready", got, ok)
	}
}

// expectRuntimeWatchdog checks the runtime warning and stop of srv happen
// at createdAt+MaxDuration-MaxDurationWarning and createdAt+MaxDuration,
// driving passes at the fake clock's time.
func (w *world) expectRuntimeWatchdog(srv spawner.Server) {
	w.tb.Helper()
	g := w.game()
	end := srv.CreatedAt.Add(g.MaxDuration)
	warnAt := end.Add(-g.MaxDurationWarning)
	warning := "warn-runtime-" + strconv.FormatInt(end.UnixMilli(), 10)
	seen := len(w.guild.posts(srv.ChannelID))

	w.clock.AdvanceTo(warnAt.Add(-time.Second))
	w.pass(false)
	if said := w.guild.purposes(srv.ChannelID, seen); len(said) != 0 {
		w.tb.Fatalf("said %q before the warning time %v", said, warnAt)
	}
	w.advanceAndPass(time.Second, false)
	if said := w.guild.purposes(srv.ChannelID, seen); !slices.Equal(said, []string{warning}) {
		w.tb.Fatalf("said %q at the warning time, want the runtime warning\n%s", said, w)
	}
	if p := w.expectSaid(srv, warning, srv.Owner); p.content != text.En.RuntimeWarning(srv.Owner, end) {
		w.tb.Errorf("the warning does not name the stop time %v:\n%s", end, p.content)
	}
	w.advanceAndPass(time.Minute, false)
	w.clock.AdvanceTo(end.Add(-time.Second))
	w.pass(false)
	if said := w.guild.purposes(srv.ChannelID, seen+1); len(said) != 0 {
		w.tb.Errorf("said %q after the warning, before the end", said)
	}
	if _, ok := w.serverOf(srv.Owner); !ok {
		w.tb.Fatalf("server stopped before %v\n%s", end, w)
	}
	w.advanceAndPass(time.Second, false)
	if _, ok := w.serverOf(srv.Owner); ok {
		w.tb.Fatalf("server still tracked at %v\n%s", end, w)
	}
	w.expectNothingLeft()
	w.expectEnded(srv, spawner.CauseRuntime)
}

func TestRuntimeWatchdog(t *testing.T) {
	t.Run("created here", func(t *testing.T) {
		w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
		w.recover()
		w.expectRuntimeWatchdog(w.readyServer(alice))
	})
	t.Run("recovered with an old creation date", func(t *testing.T) {
		w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-60 * time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
		w.recover()
		w.expectRuntimeWatchdog(srv) // warned at t0+20m and stopped at t0+30m, not 90 minutes after the restart
	})
	t.Run("recovered from the original bot", func(t *testing.T) {
		w := newWorld(t, withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
		srv := w.seed(seed{owner: alice, createdAt: t0.Add(-45 * time.Minute), task: spawner.TaskRunning, original: true})
		w.recover()
		w.expectRuntimeWatchdog(srv)
	})
}

// TestRuntimeWatchdogHonoursStopsAt: a server whose stop time was moved
// (by /server extend) runs past the game's maximum duration.
func TestRuntimeWatchdogHonoursStopsAt(t *testing.T) {
	w := newWorld(t)
	g := w.game()
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(-g.MaxDuration + time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	srv.StopsAt = t0.Add(30 * time.Minute)
	w.table.put(srv)
	w.players.answer(g.MinPlayers)
	w.recover()
	w.advanceAndPass(2*time.Minute, false) // past CreatedAt+MaxDuration
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("stopped at the game's maximum duration, not at StopsAt\n%s", w)
	}
	w.clock.AdvanceTo(srv.StopsAt)
	w.pass(false)
	if _, ok := w.serverOf(alice); ok {
		t.Errorf("still running at StopsAt\n%s", w)
	}
	if got := w.m.StopsAt(srv); !got.Equal(srv.StopsAt) {
		t.Errorf("StopsAt = %v, want the record's %v", got, srv.StopsAt)
	}
}

// TestStopDuringPlayerCheck stops a server while its player count is being
// checked: once stopped, nothing more is said in its ticket channel.
func TestStopDuringPlayerCheck(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	w.players.answer(1)
	var fired bool
	var stopErr error
	w.pinger.PingFn = func(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error) {
		if !fired {
			fired = true
			_, stopErr = w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
		}
		return w.players.Ping(ctx, proto, addr)
	}
	w.advanceAndPass(w.game().CheckInterval, false)
	if !fired || stopErr != nil {
		t.Fatalf("stop during the check: fired=%v err=%v", fired, stopErr)
	}
	w.expectNothingLeft()
	if said := w.guild.purposes(srv.ChannelID, 0); said[len(said)-1] != "end" {
		t.Errorf("bug: the check that ran while the server stopped posted after the end: %q\n%s", said, w)
	}
}

// TestRecoverKeepsWarnings: the warnings posted before a restart are in the
// record, so the next low check after it is warning 3/3, not 1/3 again, and
// a runtime warning already posted is not posted twice.
func TestRecoverKeepsWarnings(t *testing.T) {
	w := newWorld(t)
	g := w.game()
	if g.MaxDurationWarning <= g.CheckInterval+time.Minute || g.WarningCount != 3 {
		t.Fatalf("test assumes a warning lead longer than one check and 3 warnings: %+v", g)
	}
	// Inside the runtime warning window, stopping after the next check.
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(g.CheckInterval + time.Minute - g.MaxDuration), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	srv.Warnings = 2
	srv.RuntimeWarned = true
	w.table.put(srv)
	w.recover()
	w.players.answer(1)

	w.pass(true)
	w.advanceAndPass(g.CheckInterval, true)

	said := w.guild.purposes(srv.ChannelID, 1)
	want := []string{"warn-players-3-" + strconv.FormatInt(t0.Add(g.CheckInterval).UnixMilli(), 10)}
	if !slices.Equal(said, want) {
		t.Errorf("after a restart with 2 warnings recorded and the runtime warning posted, said %q, want %q", said, want)
	}
	if rec, ok := w.table.get(srv.Key()); !ok || rec.Warnings != 3 || !rec.RuntimeWarned {
		t.Errorf("record after the warning = %+v, want 3 warnings and the runtime warning kept", rec)
	}
}

// TestRestartShowsTheLastPlayerCount: the players a check sees are saved
// when the count moved, and only then, so /server list after a restart
// shows the last count, not the one at ready nor 0.
func TestRestartShowsTheLastPlayerCount(t *testing.T) {
	w := newWorld(t)
	w.recover()
	g := w.game()
	srv := w.readyServer(alice) // ready with g.MinPlayers online
	w.players.answer(g.MinPlayers + 2)
	w.advanceAndPass(g.CheckInterval, false)
	if rec, ok := w.table.get(srv.Key()); !ok || rec.Players != g.MinPlayers+2 {
		t.Fatalf("record after a check saw %d players = %+v, want the count saved", g.MinPlayers+2, rec)
	}
	puts := w.table.puts.len()
	w.advanceAndPass(g.CheckInterval, false) // the same count: nothing to write
	if n := w.table.puts.len() - puts; n != 0 {
		t.Errorf("a check that saw the same count wrote the record %d times", n)
	}

	w.cancel()
	w.restart()
	w.recover()
	if got, _ := w.serverOf(alice); got.Players != g.MinPlayers+2 {
		t.Errorf("players after a restart = %d, want the last count %d", got.Players, g.MinPlayers+2)
	}
}
