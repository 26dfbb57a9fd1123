package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

type mockMembers struct {
	ActorFn func(ctx context.Context, userID string) (spawner.Actor, error)
}

var _ Members = (*mockMembers)(nil)

func (m *mockMembers) Actor(ctx context.Context, userID string) (spawner.Actor, error) {
	return m.ActorFn(ctx, userID)
}

// guildRoles is the model behind the Members fake: the members' roles as
// Discord would tell them, by id (absent: a member with the user role),
// and whose roles were read.
type guildRoles struct {
	mu     sync.Mutex
	refuse map[string]spawner.RefusalCode
	admins map[string]bool
	read   []string
}

func (g *guildRoles) fake() *mockMembers {
	return &mockMembers{ActorFn: func(_ context.Context, id string) (spawner.Actor, error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.read = append(g.read, id)
		if code, ok := g.refuse[id]; ok {
			return spawner.Actor{UserID: id}, &spawner.Refusal{Code: code}
		}
		return spawner.Actor{UserID: id, Admin: g.admins[id]}, nil
	}}
}

func (g *guildRoles) reads() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.read)
}

// newWakeWorld is a sleep world (newSleepWorld) whose owners' roles are
// read from roles, with a creation cooldown, in which alice's world
// "survival" was played once and sleeps on port 25570.
func newWakeWorld(tb testing.TB, v *vault, b *beds, roles *guildRoles, opts ...option) (*world, spawner.World) {
	tb.Helper()
	roles.refuse, roles.admins = map[string]spawner.RefusalCode{}, map[string]bool{}
	opts = append([]option{withConfig(func(c *Options) {
		c.Members = roles.fake()
		c.CreateCooldown = time.Hour
	})}, opts...)
	w := newSleepWorld(tb, v, b, opts...)
	w.recover()
	w.stop(alice, w.readyOn(alice, "survival"))
	world := v.only(tb)
	if world.State != spawner.WorldAsleep {
		tb.Fatalf("alice's world %+v, want asleep", world)
	}
	return w, world
}

// wokenServer waits for the wake's creation to end and returns owner's
// server, ready.
func (w *world) wokenServer(owner string) spawner.Server {
	w.tb.Helper()
	w.waitWorkers()
	srv, ok := w.serverOf(owner)
	if !ok || srv.State != spawner.StateReady {
		w.tb.Fatalf("no ready server of %s after the wake: %+v\n%s", owner, srv, w)
	}
	return srv
}

// A login on an asleep world wakes it: accepted at once, whatever the
// owner's creation cooldown; a new server of the world by its owner, on
// its port, once nothing answers for the world there, in a new ticket
// whose ready message names the player. Logins during the wake start
// nothing more.
func TestWakeByLogin(t *testing.T) {
	v, b, roles := newVault(), newBeds(), &guildRoles{}
	w, world := newWakeWorld(t, v, b, roles)
	w.cluster.startIn(spawner.TaskRunning)

	accepted, reason := w.m.Wake(w.ctx, world.ID, "Alex_2")
	if !accepted || reason != "" {
		t.Fatalf("Wake = %v, %q; want accepted", accepted, reason)
	}
	if again, _ := w.m.Wake(w.ctx, world.ID, "Steve"); !again {
		t.Errorf("a login during the wake is refused; want it told the server starts")
	}
	srv := w.wokenServer(alice)
	if n := w.cluster.runs.len(); n != 2 {
		t.Errorf("%d tasks run, want the first server's and the wake's", n)
	}
	if srv.WorldID != world.ID || srv.Owner != alice || w.cluster.runs.all()[1].HostPort != 25570 {
		t.Errorf("woken server %+v on host port %d, want alice's on the world's port", srv, w.cluster.runs.all()[1].HostPort)
	}
	ready := w.expectSaid(srv, "ready", alice)
	if !strings.Contains(ready.content, text.En.WokenByPlayer("Alex_2")) {
		t.Errorf("the ready message does not name the player:\n%s", ready.content)
	}
	calls := b.log()
	if i, j := lastIndex(calls, "release "+world.ID), lastIndex(calls, "run 25570"); i < 0 || j < i {
		t.Errorf("calls %v, want the world released before its server runs", calls)
	}
	if got := roles.reads(); !slices.Equal(got, []string{alice}) {
		t.Errorf("roles read %v, want alice's once", got)
	}
	if now, _ := v.record(world.ID); now.State != spawner.WorldRunning || now.Server != srv.CreationID {
		t.Errorf("world %+v, want running the woken server", now)
	}
}

// A wake the owner's rules refuse starts nothing and says why in the
// guild's language, about the owner; the world sleeps on, answered for.
func TestWakeRefusals(t *testing.T) {
	v, b, roles := newVault(), newBeds(), &guildRoles{}
	w, world := newWakeWorld(t, v, b, roles, withConfig(func(c *Options) { c.Locale = "fr"; c.MaxServers = 2 }))
	fr := text.Fr
	expect := func(what string, wantReason string) {
		t.Helper()
		accepted, reason := w.m.Wake(w.ctx, world.ID, "Alex_2")
		if accepted || reason != wantReason {
			t.Errorf("%s: Wake = %v, %q; want refused with %q", what, accepted, reason, wantReason)
		}
	}
	roles.refuse[alice] = spawner.RefusedNoRole
	expect("the owner lost their role", fr.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedNoRole}))
	roles.refuse[alice] = spawner.RefusedNotMember
	expect("the owner left", fr.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedNotMember}))
	delete(roles.refuse, alice)

	w.readyOn(bob, "")
	w.readyOn(carol, "")
	expect("the cap", fr.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedCap, Limit: 2}))
	w.stop(carol, mustServerOf(w, carol))
	w.clock.Advance(time.Hour) // alice's cooldown, which a wake ignores and her other world does not
	other, _ := w.request(alice, "")
	other.World = "creative"
	if err := w.m.Create(withAnswer(other)); err != nil {
		t.Fatalf("alice's other world: %v", err)
	}
	expect("the owner has a server", fr.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedBusy}))
	if accepted, reason := w.m.Wake(w.ctx, "no-such-world", "Alex_2"); accepted || reason != fr.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedNoWorld}) {
		t.Errorf("a world gone: Wake = %v, %q", accepted, reason)
	}
	w.waitWorkers()

	if now, _ := v.record(world.ID); now.State != spawner.WorldAsleep || now.Port != 25570 {
		t.Errorf("world %+v after refused wakes, want asleep on its port", now)
	}
	if _, on := b.answering(world.ID); !on {
		t.Errorf("the world is no longer answered for")
	}
	for _, s := range w.m.Servers(admin) {
		if s.WorldID == world.ID {
			t.Errorf("a server of the world was started: %+v", s)
		}
	}

	w.m.members = nil
	expect("no way to read the owner's roles", "")
	if w.logCount("the owner's roles cannot be read") != 1 {
		t.Errorf("the refusal without Members is not logged")
	}
}

// mustServerOf is owner's server in the mirror.
func mustServerOf(w *world, owner string) spawner.Server {
	w.tb.Helper()
	srv, ok := w.serverOf(owner)
	if !ok {
		w.tb.Fatalf("no server of %s\n%s", owner, w)
	}
	return srv
}

// withAnswer is req with a fresh recorded answer.
func withAnswer(req spawner.CreateRequest) spawner.CreateRequest {
	req.Answer = &replies{}
	return req
}

// The Wake button: its owner wakes the world, whose ready message names
// them; another member reads that there is no such world; an admin wakes
// it for its owner, whose roles are read.
func TestWakeWorldButton(t *testing.T) {
	v, b, roles := newVault(), newBeds(), &guildRoles{}
	w, world := newWakeWorld(t, v, b, roles)
	if err := w.m.WakeWorld(w.ctx, spawner.Actor{UserID: bob}, world.ID); refusalCode(err) != spawner.RefusedNoWorld {
		t.Errorf("another member's click: %v, want RefusedNoWorld", err)
	}
	if err := w.m.WakeWorld(w.ctx, spawner.Actor{UserID: alice}, "forged"); refusalCode(err) != spawner.RefusedNoWorld {
		t.Errorf("a forged world id: %v, want RefusedNoWorld", err)
	}
	if err := w.m.WakeWorld(w.ctx, spawner.Actor{UserID: alice}, world.ID); err != nil {
		t.Fatalf("the owner's click: %v", err)
	}
	if err := w.m.WakeWorld(w.ctx, spawner.Actor{UserID: alice}, world.ID); refusalCode(err) != spawner.RefusedWorldRunning {
		t.Errorf("a second click during the wake: %v, want RefusedWorldRunning", err)
	}
	srv := w.wokenServer(alice)
	if ready := w.expectSaid(srv, "ready", alice); !strings.Contains(ready.content, text.En.WokenByMember(alice)) {
		t.Errorf("the ready message does not name who woke it:\n%s", ready.content)
	}
	if len(roles.reads()) != 0 {
		t.Errorf("the roles of an owner who clicked were read again: %v", roles.reads())
	}

	w.stop(alice, srv)
	roles.refuse[alice] = spawner.RefusedNoRole
	if err := w.m.WakeWorld(w.ctx, admin, world.ID); refusalCode(err) != spawner.RefusedNoRole {
		t.Errorf("an admin's click for an owner without the role: %v, want RefusedNoRole", err)
	}
	delete(roles.refuse, alice)
	if err := w.m.WakeWorld(w.ctx, admin, world.ID); err != nil {
		t.Fatalf("an admin's click: %v", err)
	}
	srv = w.wokenServer(alice)
	if ready := w.expectSaid(srv, "ready", alice); !strings.Contains(ready.content, text.En.WokenByMember(admin.UserID)) || srv.Owner != alice {
		t.Errorf("the admin's wake: server of %s, ready message:\n%s", srv.Owner, ready.content)
	}

	w.stop(alice, srv)
	w.m.members = nil
	if err := w.m.WakeWorld(w.ctx, admin, world.ID); err == nil || refusalCode(err) != 0 {
		t.Errorf("an admin's click with no way to read the owner's roles: %v, want a failure", err)
	}
}

// Who woke a world outlives a restart of the bot while its server
// boots: the record keeps them, and the ready message and the admin log
// of the creation the next start resumes name the player (or the member)
// who woke it.
func TestWokenByOutlivesARestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		wake func(w *world, worldID string)
		line func(text.Lang) string
	}{
		{"player", func(w *world, worldID string) {
			if accepted, reason := w.m.Wake(w.ctx, worldID, "Alex_2"); !accepted {
				w.tb.Fatalf("Wake refused: %q", reason)
			}
		}, func(l text.Lang) string { return l.WokenByPlayer("Alex_2") }},
		{"member", func(w *world, worldID string) {
			if err := w.m.WakeWorld(w.ctx, admin, worldID); err != nil {
				w.tb.Fatalf("WakeWorld: %v", err)
			}
		}, func(l text.Lang) string { return l.WokenByMember(admin.UserID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, b, roles := newVault(), newBeds(), &guildRoles{}
			w, world := newWakeWorld(t, v, b, roles)
			w.cluster.startIn(spawner.TaskProvisioning)
			stale := w.clock.Waiters()
			tc.wake(w, world.ID)
			w.blockUntil(stale + 1) // the woken server's task is provisioning
			w.cancel()
			w.waitWorkers()
			if srv, ok := w.serverOf(alice); !ok || srv.State == spawner.StateReady {
				t.Fatalf("woken server %+v (%v) at the restart, want it booting\n%s", srv, ok, w)
			}

			stale = w.clock.Waiters()
			w.restart()
			w.recover()
			w.blockUntil(stale + 1)
			w.cluster.setAll(spawner.TaskRunning)
			w.clock.Advance(w.cfg.PollInterval)
			srv := w.wokenServer(alice)
			if ready := w.expectSaid(srv, "ready", alice); !strings.Contains(ready.content, tc.line(text.En)) {
				t.Errorf("the resumed creation's ready message does not say %q:\n%s", tc.line(text.En), ready.content)
			}
			logs := w.guild.logged(msgKey(srv, "log-ready"))
			if len(logs) != 1 || !strings.Contains(logs[0].Content, tc.line(text.En)) {
				t.Errorf("the admin log of the ready server %+v, want it to say %q", logs, tc.line(text.En))
			}
		})
	}
}

// /server create of an asleep world wakes it: the creation cooldown does
// not refuse it, and its ready message names the member; a creation of a
// stored world in the cooldown is refused as ever.
func TestCreateOfAnAsleepWorldWakesIt(t *testing.T) {
	v, b, roles := newVault(), newBeds(), &guildRoles{}
	w, world := newWakeWorld(t, v, b, roles)
	req, _ := w.request(alice, "")
	req.World = "other"
	if err := w.m.Create(req); refusalCode(err) != spawner.RefusedCooldown {
		t.Fatalf("a new world in the cooldown: %v, want RefusedCooldown", err)
	}
	req.World = "survival"
	if err := w.m.Create(req); err != nil {
		t.Fatalf("/server create of the asleep world in the cooldown: %v", err)
	}
	srv := w.wokenServer(alice)
	if srv.WorldID != world.ID {
		t.Errorf("the creation plays %q, want the asleep world", srv.WorldID)
	}
	if ready := w.expectSaid(srv, "ready", alice); !strings.Contains(ready.content, text.En.WokenByMember(alice)) {
		t.Errorf("the ready message does not say who woke the world:\n%s", ready.content)
	}
}

// A wake whose creation fails puts the world back to sleep on its port,
// whether it failed before the world's port was let go (its ticket) or
// after (its task): a fresh listener answers for it, no longer waking.
func TestFailedWakeSleepsAgain(t *testing.T) {
	v, b, roles := newVault(), newBeds(), &guildRoles{}
	w, world := newWakeWorld(t, v, b, roles)

	w.chat.CreateTicketFn = func(context.Context, spawner.Ticket) (string, error) { return "", errors.New("discord: 503") }
	before := len(b.log())
	if accepted, _ := w.m.Wake(w.ctx, world.ID, "Alex_2"); !accepted {
		t.Fatal("Wake refused")
	}
	w.waitWorkers()
	expectAsleepAgain(t, w, v, b, world, before)

	w.chat.CreateTicketFn = w.guild.CreateTicket
	w.tasks.RunTaskFn = func(context.Context, spawner.TaskSpec) (spawner.Task, error) {
		return spawner.Task{}, &spawner.RunFailure{Reason: "no capacity"}
	}
	before = len(b.log())
	if accepted, _ := w.m.Wake(w.ctx, world.ID, "Alex_2"); !accepted {
		t.Fatal("Wake refused")
	}
	w.waitWorkers()
	expectAsleepAgain(t, w, v, b, world, before)
}

// expectAsleepAgain checks world is asleep on its port after a failed
// wake, answered for by a listener opened, after the sleepers' call
// before, once the one of the wake was let go.
func expectAsleepAgain(t *testing.T, w *world, v *vault, b *beds, world spawner.World, before int) {
	t.Helper()
	if now, _ := v.record(world.ID); now.State != spawner.WorldAsleep || now.Port != world.Port || now.Server != "" {
		t.Errorf("world %+v after a failed wake, want asleep on %d", now, world.Port)
	}
	calls := b.log()[before:]
	sleep := fmt.Sprintf("sleep %s %d", world.ID, world.Port)
	if n := len(calls); n < 2 || calls[n-2] != "release "+world.ID || calls[n-1] != sleep {
		t.Errorf("calls since the wake %v, want a release then %q last", calls, sleep)
	}
	if _, on := b.answering(world.ID); !on {
		t.Errorf("nothing answers for the world")
	}
	if _, ok := w.serverOf(alice); ok {
		t.Errorf("a server of alice is left")
	}
}

// lastIndex is the index of the last s in calls, -1 for none.
func lastIndex(calls []string, s string) int {
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i] == s {
			return i
		}
	}
	return -1
}

// A wake refused because the Manager closes calls nothing of the
// Sleepers: the listener that asked waits on Wake, and a release or a
// sleep of its world from within Wake would wait on that listener.
func TestWakeWhileClosing(t *testing.T) {
	v, b, roles := newVault(), newBeds(), &guildRoles{}
	w, world := newWakeWorld(t, v, b, roles)
	before := len(b.log())
	w.m.workers.close() // Close's first step: no worker starts any more
	accepted, reason := w.m.Wake(w.ctx, world.ID, "Alex_2")
	if accepted || reason != text.En.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedShuttingDown}) {
		t.Errorf("Wake while closing = %v, %q; want refused, the bot restarting", accepted, reason)
	}
	if calls := b.log()[before:]; len(calls) != 0 {
		t.Errorf("the Sleepers were called from Wake: %v", calls)
	}
	if now, _ := v.record(world.ID); now.State != spawner.WorldAsleep || now.Port != 25570 {
		t.Errorf("world %+v, want still asleep on its port for the next start", now)
	}
}

// A world deleted while asleep is no longer answered for, and its port
// goes back to the runtime.
func TestDeleteAnAsleepWorld(t *testing.T) {
	v, b, roles := newVault(), newBeds(), &guildRoles{}
	w, world := newWakeWorld(t, v, b, roles)
	if err := w.m.Delete(w.ctx, spawner.Actor{UserID: alice}, world.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, on := b.answering(world.ID); on {
		t.Errorf("the deleted world is still answered for")
	}
	if got := w.m.WorldPorts(); len(got) != 0 {
		t.Errorf("WorldPorts = %v after the delete, want none", got)
	}
}

// A login before Recover ended (its world is answered for during it) is
// refused as during a restart, without asking Discord for the owner's
// roles.
func TestWakeBeforeRecover(t *testing.T) {
	v, b, roles := newVault(), newBeds(), &guildRoles{refuse: map[string]spawner.RefusalCode{}}
	v.records["w1"] = spawner.World{ID: "w1", Owner: alice, Game: "minecraft", Name: "w1", State: spawner.WorldAsleep, Port: 25570, LastPlayed: t0}
	w := newSleepWorld(t, v, b, withConfig(func(c *Options) { c.Members = roles.fake() }))
	accepted, reason := w.m.Wake(w.ctx, "w1", "Alex_2")
	if accepted || reason != text.En.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedShuttingDown}) || len(roles.reads()) != 0 {
		t.Errorf("Wake before Recover = %v, %q, roles read %v; want refused at once", accepted, reason, roles.reads())
	}
}
