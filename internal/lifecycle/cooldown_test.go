package lifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// withCooldown turns the creation cooldown on, at its default.
func withCooldown() option { return withConfig(func(c *Options) { c.CreateCooldown = 0 }) }

// expectCooldown checks member is refused until until, and that the store
// keeps the cooldown (from since), so a restart does not forget it.
func (w *world) expectCooldown(member string, since time.Time) {
	w.tb.Helper()
	until := since.Add(DefaultCreateCooldown)
	req, r := w.request(member, "")
	err := w.m.Create(req)
	if ref, ok := err.(*spawner.Refusal); !ok || ref.Code != spawner.RefusedCooldown || !ref.Until.Equal(until) {
		w.tb.Errorf("Create = %v, want RefusedCooldown until %v\n%s", err, until, w)
	}
	if len(r.all()) != 0 {
		w.tb.Errorf("a refused Create answered %q", r.all())
	}
	if got, ok := w.store.cooldownOf(member); !ok || !got.Equal(since) {
		w.tb.Errorf("cooldown record of %s = %v (stored %v), want from %v\n%s", member, got, ok, since, w)
	}
}

// expectNoCooldown checks member may create again at once, and that no
// cooldown of theirs is stored.
func (w *world) expectNoCooldown(member string) {
	w.tb.Helper()
	if got, ok := w.store.cooldownOf(member); ok {
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
		w.ecs.failNext("RunTask", 1, &spawner.RunFailure{Reason: "RESOURCE:ENI", Detail: "ENI limit reached"})
		r := w.create(alice, "")
		w.waitWorkers()
		if replies := r.all(); len(replies) == 0 || replies[len(replies)-1] != text.En.CreationFailed(text.En.FailRun("RESOURCE:ENI")) {
			t.Errorf("replies = %q, want the failure last, saying alice can try again", replies)
		}
		w.expectNoCooldown(alice)
	})
	t.Run("ready: counts from the creation", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		w.clock.Advance(10 * time.Second)
		created := w.clock.Now()
		srv, _ := w.readyServer(alice)
		w.clock.Advance(30 * time.Second)
		if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.TaskID()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		w.expectCooldown(alice, created)
	})
	t.Run("ready, then gone on its own: counts", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		srv, _ := w.readyServer(alice)
		w.ecs.endOnOwn(srv.TaskARN, "Essential container in task exited", 1)
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
		if got := w.awaitStop(w.stopAsync(spawner.Actor{UserID: alice}, srv.TaskID())); got.err != nil {
			t.Fatalf("Stop during creation: %v", got.err)
		}
		w.waitWorkers()
		// Their answer says when they may create another, as the refusal would.
		until := t0.Add(DefaultCreateCooldown)
		if replies := r.all(); len(replies) == 0 || replies[len(replies)-1] != text.En.CreationStopped(until) {
			t.Errorf("replies = %q, want the stop last, with the end of the cooldown", replies)
		}
		w.mustContain("answer", text.En.CreationStopped(until), "you can create another "+text.Timestamp(until, "R"))
		w.mustContain("answer", text.Fr.CreationStopped(until), "tu pourras en créer un autre "+text.Timestamp(until, "R"))
		w.expectCooldown(alice, t0)
	})
	t.Run("stopped by an admin during creation: none", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		r := w.create(alice, "")
		w.blockUntil(1)
		srv, _ := w.serverOf(alice)
		if got := w.awaitStop(w.stopAsync(admin, srv.TaskID())); got.err != nil {
			t.Fatalf("admin's Stop during creation: %v", got.err)
		}
		w.waitWorkers()
		if replies := r.all(); len(replies) == 0 || replies[len(replies)-1] != text.En.CreationStopped(time.Time{}) {
			t.Errorf("replies = %q, want the stop last, saying alice can create another", replies)
		}
		w.expectNoCooldown(alice)
	})
	t.Run("an admin's creation: none", func(t *testing.T) {
		w := newWorld(t, withCooldown())
		w.recover()
		w.ecs.startStatus = spawner.TaskRunning
		w.pinger.answer(w.game().MinPlayers)
		if err := w.m.Create(spawner.CreateRequest{Owner: admin.UserID, Admin: true, Locale: "en-US"}); err != nil {
			t.Fatalf("admin's Create: %v", err)
		}
		w.waitWorkers()
		srv, ok := w.serverOf(admin.UserID)
		if !ok || srv.State != spawner.StateReady {
			t.Fatalf("admin's server = %+v, want ready\n%s", srv, w)
		}
		if _, err := w.m.Stop(w.ctx, admin, srv.TaskID()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if got, ok := w.store.cooldownOf(admin.UserID); ok {
			t.Errorf("an admin's creation stored a cooldown from %v", got)
		}
	})
	t.Run("ready after the cooldown is over: nothing stored", func(t *testing.T) {
		w := newWorld(t, withCooldown(), withGame(func(g *spawner.Game) { g.ReadyTimeout = time.Hour }))
		w.recover()
		w.pinger.answer(w.game().MinPlayers)
		w.create(alice, "")
		w.blockUntil(1) // booting: the task is PROVISIONING
		w.ecs.setAll(spawner.TaskRunning)
		w.clock.Advance(DefaultCreateCooldown) // a slow boot: RUNNING only now
		w.waitWorkers()
		if srv, ok := w.serverOf(alice); !ok || srv.State != spawner.StateReady {
			t.Fatalf("server of alice = %+v, want ready\n%s", srv, w)
		}
		if got, ok := w.store.cooldownOf(alice); ok {
			t.Errorf("a cooldown already over was stored, from %v", got)
		}
	})
}

// TestCooldownSurvivesRestart: the cooldowns are kept in the table and read
// at start, so a restart does not forget them; those over are removed
// then, and an item that cannot be read is reported and skipped.
func TestCooldownSurvivesRestart(t *testing.T) {
	const bob, carol = "100000000000000002", "100000000000000003"
	w := newWorld(t, withCooldown())
	w.recover()
	srv, _ := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.TaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.store.mu.Lock()
	w.store.cooldowns[bob] = t0.Add(-DefaultCreateCooldown) // over by now
	w.store.coolProblems = []error{errors.New(`item "cooldown/carol": startedAt is missing`)}
	w.store.mu.Unlock()

	w.cancel()
	w.clock.Advance(time.Minute)
	w.restart()
	w.recover()
	w.expectCooldown(alice, t0)
	if _, ok := w.store.cooldownOf(bob); ok {
		t.Errorf("the cooldown over was not removed at start\n%s", w)
	}
	req, _ := w.request(bob, "")
	if err := w.m.Create(req); err != nil {
		t.Errorf("bob's Create = %v, want accepted: his cooldown is over", err)
	}
	if got := w.chat.logsWith("cooldown/carol", "startedAt is missing"); len(got) != 1 {
		t.Errorf("log channel lines telling the malformed item = %q, want 1\n%s", got, w)
	}
	req, _ = w.request(carol, "")
	if err := w.m.Create(req); err != nil {
		t.Errorf("carol's Create = %v, want accepted: her item was skipped", err)
	}
}

// TestCooldownNotSaved: a table that fails to keep a cooldown does not
// lift it; the failure is logged.
func TestCooldownNotSaved(t *testing.T) {
	w := newWorld(t, withCooldown())
	w.recover()
	w.store.failNext("PutCooldown", 1, errBoom)
	srv, _ := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.TaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	req, _ := w.request(alice, "")
	if err := w.m.Create(req); refusalCode(err) != spawner.RefusedCooldown {
		t.Errorf("Create = %v, want RefusedCooldown", err)
	}
	w.mustContain("logs", w.logs.String(), "record creation cooldown", errBoom.Error())
}

// TestCooldownLoadFails: a table that cannot be read (the cooldowns with
// the rest) fails Recover, which the daemon retries; nothing is accepted
// meanwhile.
func TestCooldownLoadFails(t *testing.T) {
	w := newWorld(t, withCooldown())
	w.store.failNext("LoadAll", 1, errBoom)
	if err := w.m.Recover(w.ctx); err == nil || !strings.Contains(err.Error(), "load table") {
		t.Fatalf("Recover = %v, want the table's load failure", err)
	}
	req, _ := w.request(alice, "")
	if err := w.m.Create(req); refusalCode(err) != spawner.RefusedShuttingDown {
		t.Errorf("Create before a Recover succeeded = %v, want refused", err)
	}
	w.recover()
}

// TestCooldownOff: with the cooldown turned off, nothing is recorded, and
// a record left from when it was on refuses nothing and is removed at start.
func TestCooldownOff(t *testing.T) {
	w := newWorld(t) // CreateCooldown -1
	w.store.mu.Lock()
	w.store.cooldowns[alice] = t0.Add(time.Minute) // even one from a clock ahead
	w.store.mu.Unlock()
	w.recover()
	if got, ok := w.store.cooldownOf(alice); ok {
		t.Errorf("a cooldown from %v was kept with the cooldown off", got)
	}
	srv, _ := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.TaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.expectNoCooldown(alice)
}
