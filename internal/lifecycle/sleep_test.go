package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

type mockSleepers struct {
	SleepFn   func(w spawner.World) error
	ReleaseFn func(worldID string) bool
}

var _ Sleepers = (*mockSleepers)(nil)

func (m *mockSleepers) Sleep(w spawner.World) error { return m.SleepFn(w) }
func (m *mockSleepers) Release(worldID string) bool { return m.ReleaseFn(worldID) }

// beds is the model behind the Sleepers fake: the worlds answered for now,
// by id, with the world each was given, the ports other programs hold,
// and every call in order ("sleep <id> <port>", "release <id>"), with the
// runtime's runs among them ("run <host port>") when a test asks.
type beds struct {
	mu    sync.Mutex
	on    map[string]spawner.World
	taken map[int]bool
	calls []string
}

func newBeds() *beds { return &beds{on: map[string]spawner.World{}, taken: map[int]bool{}} }

func (b *beds) callf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, fmt.Sprintf(format, args...))
}

func (b *beds) fake() *mockSleepers {
	return &mockSleepers{
		SleepFn: func(w spawner.World) error {
			b.callf("sleep %s %d", w.ID, w.Port)
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.taken[w.Port] {
				return fmt.Errorf("listen on :%d: %w", w.Port, spawner.ErrPortTaken)
			}
			b.on[w.ID] = w
			return nil
		},
		ReleaseFn: func(id string) bool {
			b.callf("release %s", id)
			b.mu.Lock()
			defer b.mu.Unlock()
			_, ok := b.on[id]
			delete(b.on, id)
			return ok
		},
	}
}

// answering returns the world answered for as id, if any.
func (b *beds) answering(id string) (spawner.World, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.on[id]
	return w, ok
}

func (b *beds) log() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// take has another program hold port.
func (b *beds) take(port int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.taken[port] = true
}

// withSleep makes the runtime one that publishes games on host ports
// (25565 on 25570), whose worlds keep them, answered for by b when asleep.
func withSleep(b *beds) option {
	return func(c *Options) {
		c.KeepPorts = true
		c.Sleepers = b.fake()
		c.SleepMax = 24 * time.Hour
	}
}

// newSleepWorld is a world whose worlds keep their ports and sleep in b,
// its runs told to b, its games answering as Paper 1.21.4.
func newSleepWorld(tb testing.TB, v *vault, b *beds, opts ...option) *world {
	w := newWorldsWorld(tb, v, append([]option{withSleep(b)}, opts...)...)
	w.cluster.mapPorts("", map[int]int{25565: 25570})
	w.players.speak("Paper 1.21.4", 769, 40)
	run := w.tasks.RunTaskFn
	w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
		b.callf("run %d", spec.HostPort)
		return run(ctx, spec)
	}
	return w
}

// stop has owner stop their server srv.
func (w *world) stop(owner string, srv spawner.Server) {
	w.tb.Helper()
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: owner}, srv.ShortTaskID()); err != nil {
		w.tb.Fatalf("Stop: %v\n%s", err, w)
	}
}

// A world keeps the host port its server got and the status its game
// answered; at the end of its server (after the save) it is asleep on
// that port, answered for by the Sleepers, listed with its address, and
// the end message carries the Wake button. Its next server asks for the
// same port, once nothing answers for the world there any more.
func TestAWorldKeepsItsPortAndSleeps(t *testing.T) {
	v, b := newVault(), newBeds()
	w := newSleepWorld(t, v, b)
	w.recover()
	srv := w.readyOn(alice, "")
	world := v.only(t)
	if world.Port != 25570 || world.Host != "203.0.113.1" || world.StatusVersion != "Paper 1.21.4" || world.StatusProtocol != 769 || world.StatusMax != 40 {
		t.Fatalf("world recorded at ready %+v, want port 25570 on 203.0.113.1, Paper 1.21.4 (769), 40 players at most", world)
	}
	if got := w.m.WorldPorts(); !slices.Equal(got, []int{25570}) {
		t.Errorf("WorldPorts while it runs = %v, want [25570]", got)
	}

	w.stop(alice, srv)
	world, _ = v.record(world.ID)
	if world.State != spawner.WorldAsleep || world.Port != 25570 || world.Server != "" {
		t.Fatalf("world after its end %+v, want asleep on 25570", world)
	}
	if on, ok := b.answering(world.ID); !ok || on.Port != 25570 || on.StatusVersion != "Paper 1.21.4" || on.StatusProtocol != 769 || on.StatusMax != 40 {
		t.Errorf("answered for as %+v (%v), want the world on 25570 with its status", on, ok)
	}
	if calls := strings.Join(b.log(), ","); !strings.HasSuffix(calls, "sleep "+world.ID+" 25570") {
		t.Errorf("calls %s, want the sleep after the save", calls)
	}
	end := w.expectSaid(srv, "end", alice)
	if end.wake != world.ID || end.locale != "en-US" {
		t.Errorf("end message's Wake %q, locale %q; want the world's button in en-US", end.wake, end.locale)
	}
	evs := w.feed.all()
	if last := evs[len(evs)-1]; last.World == nil || last.World.State != spawner.WorldAsleep {
		t.Errorf("the ended event carries world %+v, want asleep", last.World)
	}
	infos, _ := w.m.Worlds(w.ctx, spawner.Actor{UserID: alice})
	if len(infos) != 1 || infos[0].Address != "203.0.113.1:25570" || infos[0].State != spawner.WorldAsleep {
		t.Errorf("/world list %+v, want the asleep world at 203.0.113.1:25570", infos)
	}
	if got := w.m.WorldPorts(); !slices.Equal(got, []int{25570}) {
		t.Errorf("WorldPorts while it sleeps = %v, want [25570]", got)
	}

	w.clock.Advance(time.Hour)
	w.readyOn(alice, "")
	if spec := w.cluster.runs.all()[1]; spec.HostPort != 25570 {
		t.Errorf("the next server asks for host port %d, want 25570", spec.HostPort)
	}
	calls := b.log()
	if i, j := slices.Index(calls, "release "+world.ID), slices.Index(calls, "run 25570"); i < 0 || j < i {
		t.Errorf("calls %v, want the world released before its server runs on its port", calls)
	}
	if _, ok := b.answering(world.ID); ok {
		t.Errorf("the world is still answered for while its server runs")
	}
}

// Where the runtime keeps no ports (ECS), a world is stored at the end of
// its server, nothing answers for it, and its end message still carries
// the Wake button.
func TestWithoutKeptPortsAWorldIsStored(t *testing.T) {
	v, b := newVault(), newBeds()
	w := newSleepWorld(t, v, b, withConfig(func(c *Options) { c.KeepPorts = false }))
	w.recover()
	srv := w.readyOn(alice, "")
	w.stop(alice, srv)
	world := v.only(t)
	if world.State != spawner.WorldStored || world.Port != 0 || len(b.log()) != 2 || w.cluster.runs.all()[0].HostPort != 0 {
		t.Errorf("world %+v, sleepers' calls %v; want stored, no port asked, none answering", world, b.log())
	}
	if end := w.expectSaid(srv, "end", alice); end.wake != world.ID {
		t.Errorf("end message's Wake %q, want the world's", end.wake)
	}
	// Its button wakes it all the same: its owner's creation of it.
	if err := w.m.WakeWorld(w.ctx, spawner.Actor{UserID: alice}, world.ID); err != nil {
		t.Fatalf("WakeWorld of a stored world: %v", err)
	}
	w.waitWorkers()
	if next, ok := w.serverOf(alice); !ok || next.WorldID != world.ID || next.State != spawner.StateReady {
		t.Errorf("after the Wake button: %+v (%v), want alice's world ready", next, ok)
	}
}

// A world of a game that speaks no Minecraft keeps its port asleep, and
// nothing answers for it there: a command or its Wake button wakes it.
func TestAWorldOfAnotherProtocolSleepsSilently(t *testing.T) {
	v, b := newVault(), newBeds()
	w := newSleepWorld(t, v, b, withGame(func(g *spawner.Game) { g.Protocol = spawner.ProtocolTCP }))
	w.recover()
	srv := w.readyOn(alice, "")
	w.stop(alice, srv)
	if world := v.only(t); world.State != spawner.WorldAsleep || world.Port != 25570 {
		t.Errorf("world %+v, want asleep on 25570", world)
	}
	if calls := b.log(); slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "sleep") }) {
		t.Errorf("calls %v, want no listener", calls)
	}
}

// A port another program took while the server ran: the world stays
// asleep without it, nothing answers for it, the admin log is told once,
// and the port is no longer kept.
func TestAsleepWorldsPortTaken(t *testing.T) {
	v, b := newVault(), newBeds()
	w := newSleepWorld(t, v, b)
	var told int
	log := w.chat.LogFn
	w.chat.LogFn = func(ctx context.Context, m spawner.Message) error {
		if strings.HasPrefix(m.Key, "log-port-taken/") {
			told++
		}
		return log(ctx, m)
	}
	w.recover()
	srv := w.readyOn(alice, "")
	b.take(25570)
	w.stop(alice, srv)
	world := v.only(t)
	if world.State != spawner.WorldAsleep || world.Port != 0 {
		t.Errorf("world %+v, want asleep without a port", world)
	}
	if logs := w.guild.logged("log-port-taken/" + world.ID); told != 1 || len(logs) != 1 || !strings.Contains(logs[0].Content, "`203.0.113.1:25570`") {
		t.Errorf("the admin log was told %d times: %+v; want once, naming the address", told, logs)
	}
	if got := w.m.WorldPorts(); len(got) != 0 {
		t.Errorf("WorldPorts = %v, want none", got)
	}

	w.cancel()
	w.restart()
	w.recover()
	if n := len(slices.DeleteFunc(b.log(), func(c string) bool { return !strings.HasPrefix(c, "sleep") })); n != 1 || told != 1 {
		t.Errorf("after a restart: %d sleeps, told %d times; want neither again", n, told)
	}
}

// SleepMax after it was last played, the sweep stores an asleep world:
// nothing answers for it and its port is no longer kept. Not before.
func TestAsleepWorldStoredAfterSleepMax(t *testing.T) {
	v, b := newVault(), newBeds()
	w := newSleepWorld(t, v, b)
	w.recover()
	w.stop(alice, w.readyOn(alice, ""))
	world := v.only(t)

	w.advanceAndPass(w.cfg.SleepMax-time.Minute, true)
	if now, _ := v.record(world.ID); now.State != spawner.WorldAsleep {
		t.Fatalf("world %+v before SleepMax, want asleep", now)
	}
	w.advanceAndPass(time.Minute, true)
	now, _ := v.record(world.ID)
	if now.State != spawner.WorldStored || now.Port != 0 {
		t.Errorf("world %+v after SleepMax, want stored without a port", now)
	}
	if _, ok := b.answering(world.ID); ok {
		t.Errorf("the world is still answered for")
	}
	if got := w.m.WorldPorts(); len(got) != 0 {
		t.Errorf("WorldPorts = %v, want none", got)
	}
}

// At start, every asleep world with a port is answered for again; one
// asleep past SleepMax is stored; one whose port another program took
// meanwhile sleeps without it, told once; a world left running by a
// server gone is saved and sleeps on its port. Without kept ports, every
// asleep world is stored.
func TestRecoverPutsWorldsBackToSleep(t *testing.T) {
	v, b := newVault(), newBeds()
	asleep := func(id string, port int, last time.Time) spawner.World {
		return spawner.World{ID: id, Owner: alice, Game: "minecraft", Name: id, State: spawner.WorldAsleep, Port: port,
			Host: "games.example.org", LastPlayed: last, CreatedAt: t0.Add(-30 * 24 * time.Hour), Storage: "vol-" + id}
	}
	v.records["fresh"] = asleep("fresh", 25570, t0.Add(-time.Hour))
	v.records["old"] = asleep("old", 25571, t0.Add(-25*time.Hour))
	v.records["lost"] = asleep("lost", 25572, t0.Add(-time.Hour))
	left := asleep("left", 25573, t0.Add(-2*time.Hour))
	left.State, left.Server = spawner.WorldRunning, "feedfacefeedfacefeedfacefeedface"
	v.records["left"] = left
	b.take(25572)
	w := newSleepWorld(t, v, b)
	w.recover()
	w.waitWorkers() // the save of the world left running, in the background

	for id, want := range map[string]spawner.World{
		"fresh": {State: spawner.WorldAsleep, Port: 25570}, "old": {State: spawner.WorldStored},
		"lost": {State: spawner.WorldAsleep}, "left": {State: spawner.WorldAsleep, Port: 25573},
	} {
		got, _ := v.record(id)
		if got.State != want.State || got.Port != want.Port {
			t.Errorf("%s after Recover: %s on %d, want %s on %d", id, got.State, got.Port, want.State, want.Port)
		}
		_, on := b.answering(id)
		if on != (want.Port != 0) {
			t.Errorf("%s answered for: %v", id, on)
		}
	}
	if logs := w.guild.logged("log-port-taken/lost/"); len(logs) != 1 || !strings.Contains(logs[0].Content, "games.example.org:25572") {
		t.Errorf("admin log %+v, want the lost port told", logs)
	}
	if got := w.m.WorldPorts(); !slices.Equal(got, []int{25570, 25573}) {
		t.Errorf("WorldPorts = %v, want the two asleep on their ports", got)
	}

	w.cancel()
	w.cfg.KeepPorts = false
	w.restart()
	w.recover()
	for _, id := range []string{"fresh", "left"} {
		if got, _ := v.record(id); got.State != spawner.WorldStored || got.Port != 0 {
			t.Errorf("%s without kept ports: %+v, want stored", id, got)
		}
	}
}

// The status a game answers the player watchdog is kept by its world
// when it changes: an asleep world answers as the game did last.
func TestWatchdogKeepsTheWorldsStatus(t *testing.T) {
	v, b := newVault(), newBeds()
	w := newSleepWorld(t, v, b)
	w.recover()
	w.readyOn(alice, "")
	w.players.speak("Paper 1.21.5", 770, 60)
	w.advanceAndPass(w.game().CheckInterval, false)
	if world := v.only(t); world.StatusVersion != "Paper 1.21.5" || world.StatusProtocol != 770 || world.StatusMax != 60 {
		t.Errorf("world %+v after a check, want the new status", world)
	}
	puts := len(v.called("put"))
	w.advanceAndPass(w.game().CheckInterval, false)
	if n := len(v.called("put")); n != puts {
		t.Errorf("the same status recorded again (%d writes, was %d)", n, puts)
	}
}

// A world whose kept port another program holds when it wakes: its
// server starts once more on a port of the runtime's choice, which the
// world keeps from then on; the ready message and the admin log say its
// address changed.
func TestAWorldsPortTakenWhenItWakes(t *testing.T) {
	v, b := newVault(), newBeds()
	w := newSleepWorld(t, v, b)
	w.recover()
	w.stop(alice, w.readyOn(alice, ""))
	world := v.only(t)

	run := w.tasks.RunTaskFn
	w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
		if spec.HostPort == 25570 {
			b.callf("run %d", spec.HostPort)
			return spawner.Task{}, fmt.Errorf("%w: %w", &spawner.RunFailure{Reason: "the world's host port 25570 is taken"}, spawner.ErrPortTaken)
		}
		return run(ctx, spec)
	}
	w.cluster.mapPorts("", map[int]int{25565: 25581})
	w.clock.Advance(time.Hour)
	srv := w.readyOn(alice, "")
	if calls := b.log(); !slices.Contains(calls, "run 25570") || calls[len(calls)-1] != "run 0" {
		t.Errorf("runs %v, want its port, then the runtime's choice", calls)
	}
	now, _ := v.record(world.ID)
	if now.Port != 25581 || now.Host != "203.0.113.2" {
		t.Errorf("world %+v, want it on its new port", now)
	}
	ready := w.expectSaid(srv, "ready", alice)
	if !strings.Contains(ready.content, text.En.WorldAddressChanged("203.0.113.1:25570")) {
		t.Errorf("the ready message does not say the address changed:\n%s", ready.content)
	}
	if logs := w.guild.logged(msgKey(srv, "log-address-changed")); len(logs) != 1 ||
		!strings.Contains(logs[0].Content, "`203.0.113.1:25570`") || !strings.Contains(logs[0].Content, "`203.0.113.2:25581`") {
		t.Errorf("admin log %+v, want both addresses", logs)
	}
}
