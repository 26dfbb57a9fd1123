package lifecycle

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/lifecycle/admission"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// The rules of the cooldown are admission's (admission_test.go); these
// tests check the Manager tells admission when a creation counts.

func withCooldown() option {
	return withConfig(func(c *Options) { c.CreateCooldown = admission.DefaultCooldown })
}

// expectCooldown checks member is refused until since plus the cooldown,
// and that the table keeps the cooldown (from since) for a restart.
func (w *world) expectCooldown(member string, since time.Time) {
	w.tb.Helper()
	req, r := w.request(member, "")
	ref := refusalOf(w.tb, "Create", w.m.Create(req), spawner.RefusedCooldown)
	if until := since.Add(admission.DefaultCooldown); !ref.Until.Equal(until) {
		w.tb.Errorf("refused until %v, want %v", ref.Until, until)
	}
	if len(r.all()) != 0 {
		w.tb.Errorf("a refused Create answered %q", r.all())
	}
	if got, ok := w.table.cooldownOf(member); !ok || !got.Equal(since) {
		w.tb.Errorf("cooldown record of %s = %v (stored %v), want from %v\n%s", member, got, ok, since, w)
	}
}

// expectNoCooldown checks member may create again at once, and that no
// cooldown of theirs is stored.
func (w *world) expectNoCooldown(member string) {
	w.tb.Helper()
	if got, ok := w.table.cooldownOf(member); ok {
		w.tb.Errorf("cooldown record of %s from %v, want none\n%s", member, got, w)
	}
	req, _ := w.request(member, "")
	if err := w.m.Create(req); err != nil {
		w.tb.Errorf("Create = %v, want accepted at once\n%s", err, w)
	}
}

// TestCooldownRule: a creation counts toward its member's cooldown once
// its server is ready, or when the member stopped it themselves; one that
// ended before its server was ready (TestCreateFailures goes through every
// such failure) does not: its failure message says the member can try
// again, and they can.
func TestCooldownRule(t *testing.T) {
	t.Run("failed before ready: none", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		w.tasks.RunTaskFn = func(context.Context, spawner.TaskSpec) (spawner.Task, error) {
			return spawner.Task{}, &spawner.RunFailure{Reason: "RESOURCE:ENI", Detail: "ENI limit reached"}
		}
		r := w.create(alice, "")
		w.waitWorkers()
		if got, want := r.last(), text.En.CreationFailed(text.En.FailRun("RESOURCE:ENI")); got != want {
			t.Errorf("last reply = %q, want the failure, saying alice can try again", got)
		}
		w.expectNoCooldown(alice)
	})
	t.Run("ready: counts from the creation", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		w.clock.Advance(10 * time.Second)
		created := w.clock.Now()
		srv := w.readyServer(alice)
		w.clock.Advance(30 * time.Second)
		if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		w.expectCooldown(alice, created)
	})
	t.Run("ready, then gone on its own: counts", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		srv := w.readyServer(alice)
		w.cluster.endOnOwn(srv.TaskID, "Essential container in task exited", 1)
		w.pass(true)
		if _, ok := w.serverOf(alice); ok {
			t.Fatalf("the sweep did not end the server\n%s", w)
		}
		w.expectCooldown(alice, t0)
	})
	t.Run("stopped by the member during creation: counts", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		r := w.create(alice, "")
		w.blockUntil(1) // booting: the task is PROVISIONING
		srv, _ := w.serverOf(alice)
		if got := w.awaitStop(w.stopAsync(spawner.Actor{UserID: alice}, srv.ShortTaskID())); got.err != nil {
			t.Fatalf("Stop during creation: %v", got.err)
		}
		w.waitWorkers()
		// Their answer says when they may create another, as the refusal would.
		if got, want := r.last(), text.En.CreationStopped(t0.Add(admission.DefaultCooldown)); got != want {
			t.Errorf("last reply = %q, want the stop with the end of the cooldown", got)
		}
		w.expectCooldown(alice, t0)
	})
	t.Run("stopped by an admin during creation: none", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		r := w.create(alice, "")
		w.blockUntil(1)
		srv, _ := w.serverOf(alice)
		if got := w.awaitStop(w.stopAsync(admin, srv.ShortTaskID())); got.err != nil {
			t.Fatalf("admin's Stop during creation: %v", got.err)
		}
		w.waitWorkers()
		if got, want := r.last(), text.En.CreationStopped(time.Time{}); got != want {
			t.Errorf("last reply = %q, want the stop, saying alice can create another", got)
		}
		w.expectNoCooldown(alice)
	})
	t.Run("an admin's creation: none", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		w.cluster.startIn(spawner.TaskRunning)
		w.players.answer(w.game().MinPlayers)
		if err := w.m.Create(spawner.CreateRequest{Owner: admin.UserID, Admin: true, Locale: "en-US"}); err != nil {
			t.Fatalf("admin's Create: %v", err)
		}
		w.waitWorkers()
		srv, ok := w.serverOf(admin.UserID)
		if !ok || srv.State != spawner.StateReady {
			t.Fatalf("admin's server = %+v, want ready\n%s", srv, w)
		}
		if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if got, ok := w.table.cooldownOf(admin.UserID); ok {
			t.Errorf("an admin's creation stored a cooldown from %v", got)
		}
	})
	t.Run("ready after the cooldown is over: nothing stored", func(t *testing.T) {
		w := newWorld(t, withCooldown(), withGame(func(g *spawner.Game) { g.ReadyTimeout = time.Hour }))
		w.recover()
		w.players.answer(w.game().MinPlayers)
		w.create(alice, "")
		w.blockUntil(1) // booting: the task is PROVISIONING
		w.cluster.setAll(spawner.TaskRunning)
		w.clock.Advance(admission.DefaultCooldown) // a slow boot: RUNNING only now
		w.waitWorkers()
		if srv, ok := w.serverOf(alice); !ok || srv.State != spawner.StateReady {
			t.Fatalf("server of alice = %+v, want ready\n%s", srv, w)
		}
		if got, ok := w.table.cooldownOf(alice); ok {
			t.Errorf("a cooldown already over was stored, from %v", got)
		}
	})
}

// TestCreateCooldown: a member who created a server less than the cooldown
// ago is refused until when they may; admins are exempt; a refused attempt
// does not move the cooldown.
func TestCreateCooldown(t *testing.T) {
	w := newWorld(t, withCooldown())
	w.recover()
	srv := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.clock.Advance(time.Minute)
	w.expectCooldown(alice, t0)
	w.clock.Advance(30 * time.Second)
	if err := w.m.Create(spawner.CreateRequest{Owner: admin.UserID, Admin: true, Locale: "en-US"}); err != nil {
		t.Errorf("admin's Create = %v, want accepted", err)
	}
	w.clock.AdvanceTo(t0.Add(admission.DefaultCooldown))
	req, _ := w.request(alice, "")
	if err := w.m.Create(req); err != nil {
		t.Errorf("Create once the cooldown is over = %v, want accepted", err)
	}
}

// TestCooldownSurvivesRestart: the cooldowns are kept in the table and read
// at start, so a restart does not forget them; those over are removed
// then, and an item that cannot be read is reported and skipped.
func TestCooldownSurvivesRestart(t *testing.T) {
	w := newWorld(t, withCooldown())
	w.recover()
	srv := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	unreadable := errors.New(`item "cooldown/carol": startedAt is missing`)
	w.table.mu.Lock()
	w.table.cooldowns[bob] = t0.Add(-admission.DefaultCooldown) // over by now
	w.table.problems = []error{unreadable}
	w.table.mu.Unlock()

	w.cancel()
	w.clock.Advance(time.Minute)
	w.restart()
	w.recover()
	w.expectCooldown(alice, t0)
	if _, ok := w.table.cooldownOf(bob); ok {
		t.Errorf("the cooldown over was not removed at start\n%s", w)
	}
	w.expectNoCooldown(bob)
	if n := len(w.guild.logged("bad-record/" + unreadable.Error())); n != 1 {
		t.Errorf("the malformed item was told %d times in the log channel, want once\n%s", n, w)
	}
	w.expectNoCooldown(carol)
}

// TestCooldownOff: with the cooldown turned off, nothing is recorded, and
// a record left from when it was on refuses nothing and is removed at start.
func TestCooldownOff(t *testing.T) {
	w := newWorld(t) // no CreateCooldown
	w.table.mu.Lock()
	w.table.cooldowns[alice] = t0.Add(time.Minute) // even one from a clock ahead
	w.table.mu.Unlock()
	w.recover()
	if got, ok := w.table.cooldownOf(alice); ok {
		t.Errorf("a cooldown from %v was kept with the cooldown off", got)
	}
	srv := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.expectNoCooldown(alice)
}
