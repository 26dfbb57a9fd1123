package feed

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

var t0 = time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)

// events is a function-field fake of the web hub.
type events struct{ PublishFn func(spawner.Event) }

func (e *events) Publish(ev spawner.Event) { e.PublishFn(ev) }

// page records what a Feed publishes, with a clock the test moves.
type page struct {
	events []spawner.Event
	now    time.Time
}

func newFeed() (*Feed, *page) {
	r := &page{now: t0}
	return New(&events{PublishFn: func(ev spawner.Event) { r.events = append(r.events, ev) }}, func() time.Time { return r.now }), r
}

// since returns the events page after the first n, as "type/state".
func (r *page) since(n int) []string {
	var out []string
	for _, e := range r.events[n:] {
		out = append(out, fmt.Sprintf("%s/%s", e.Type, e.State))
	}
	return out
}

func game() spawner.Game {
	return spawner.Game{Name: "minecraft", Title: "Minecraft", MinPlayers: 4, MaxDuration: 90 * time.Minute}
}

func server() spawner.Server {
	return spawner.Server{
		CreationID: "c0ffee", Owner: "100000000000000001", Game: "minecraft", Variant: "official",
		State: spawner.StateRequested, CreatedAt: t0, Token: "s3cr3t", RCONPassword: "rc0n",
	}
}

// TestStepsInOrder: each step is page once, running on the way to booting
// with the address, and a step never gives way to an earlier one, as a
// copy of the server from before would tell.
func TestStepsInOrder(t *testing.T) {
	f, r := newFeed()
	g := game()
	s := server()
	f.Follow("c0ffee")
	f.Step("c0ffee", s, g)
	s.State = spawner.StateProvisioning
	f.Step("c0ffee", s, g)
	old := s
	s.State = spawner.StatePending
	f.Step("c0ffee", s, g)
	f.Step("c0ffee", s, g)   // the same step again
	f.Step("c0ffee", old, g) // a copy from before
	r.now = t0.Add(time.Minute)
	s.State, s.Address, s.Port, s.RunningAt = spawner.StateBooting, "203.0.113.7", 25565, t0.Add(50*time.Second)
	f.Step("c0ffee", s, g)
	r.now = t0.Add(2 * time.Minute)
	s.State, s.ReadyAt = spawner.StateReady, r.now
	f.Step("c0ffee", s, g)
	want := []string{"state/requested", "state/provisioning", "state/pending", "state/running", "state/booting", "state/ready"}
	if got := r.since(0); !slices.Equal(got, want) {
		t.Fatalf("page %v, want %v", got, want)
	}
	running := r.events[3]
	if running.Address != "203.0.113.7:25565" || !running.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("running = %+v, want the address", running)
	}
	if ready := r.events[5]; !ready.StopsAt.Equal(t0.Add(90*time.Minute)) || ready.Min != 4 {
		t.Errorf("ready = %+v, want its stop time and minimum", ready)
	}
	for _, e := range r.events {
		if e.Server != "c0ffee" || strings.Contains(fmt.Sprint(e), "s3cr3t") || strings.Contains(fmt.Sprint(e), "rc0n") {
			t.Errorf("event %+v names another server or carries a secret", e)
		}
	}
}

// TestStopTimeMovesLaterOnly: a stop time moved later (/server extend) is
// page once; a copy with the stop time from before moves nothing back, and
// no event carries an older stop time than one page.
func TestStopTimeMovesLaterOnly(t *testing.T) {
	f, r := newFeed()
	g := game()
	s := server()
	s.State, s.ReadyAt = spawner.StateReady, t0
	f.Follow("c0ffee")
	f.Step("c0ffee", s, g)
	old := s
	s.StopsAt = t0.Add(2 * time.Hour)
	n := len(r.events)
	f.Step("c0ffee", s, g)
	f.Step("c0ffee", s, g)
	f.Step("c0ffee", old, g)
	if got := r.since(n); !slices.Equal(got, []string{"extended/ready"}) || !r.events[n].StopsAt.Equal(s.StopsAt) {
		t.Fatalf("page %v after the stop time moved, want one extension to %v", got, s.StopsAt)
	}
	f.Warning("c0ffee", old, g, "runtime", 1, 1)
	if last := r.events[len(r.events)-1]; !last.StopsAt.Equal(s.StopsAt) {
		t.Errorf("a warning from a copy before the extension tells the stop time %v, want %v", last.StopsAt, s.StopsAt)
	}
}

func TestPlayersWarningsAndEnd(t *testing.T) {
	f, r := newFeed()
	g := game()
	s := server()
	s.State, s.ReadyAt = spawner.StateReady, t0
	f.Follow("c0ffee")
	f.Step("c0ffee", s, g)
	n := len(r.events)
	f.Players("c0ffee", s, g, 3)
	f.Players("c0ffee", s, g, 3) // unchanged
	f.Warning("c0ffee", s, g, "players", 1, 3)
	f.Players("c0ffee", s, g, 5)
	s.State = spawner.StateStopping
	f.Step("c0ffee", s, g)
	f.Players("c0ffee", s, g, 0) // once stopping, no count
	f.Forget("c0ffee")
	f.Step("c0ffee", s, g) // no longer followed
	f.End(s, g, spawner.CausePlayers, nil)
	want := []string{"players/ready", "warning/ready", "players/ready", "state/stopping", "ended/stopped"}
	if got := r.since(n); !slices.Equal(got, want) {
		t.Fatalf("page %v, want %v", got, want)
	}
	if p := r.events[n].Players; p == nil || *p != 3 {
		t.Errorf("players event = %v, want 3", p)
	}
	if w := r.events[n+1]; w.Warning != "players" || w.K != 1 || w.N != 3 {
		t.Errorf("warning event = %+v, want players 1/3", w)
	}
	if end := r.events[len(r.events)-1]; end.Cause != spawner.CausePlayers {
		t.Errorf("end = %+v, want its cause", end)
	}
}

// TestTimesNeverGoBack: a change is never page older than the one before:
// pages drop older changes.
func TestTimesNeverGoBack(t *testing.T) {
	f, r := newFeed()
	g := game()
	s := server()
	f.Follow("c0ffee")
	r.now = t0.Add(time.Minute)
	f.Step("c0ffee", s, g)
	r.now = t0 // a clock that stepped back
	s.State = spawner.StateProvisioning
	f.Step("c0ffee", s, g)
	if got := r.events[1].Time; got.Before(r.events[0].Time) {
		t.Errorf("the second change is page at %v, before the first at %v", got, r.events[0].Time)
	}
}

func TestNotFollowed(t *testing.T) {
	f, r := newFeed()
	f.Step("stranger", server(), game())
	f.Players("stranger", server(), game(), 1)
	f.Warning("stranger", server(), game(), "runtime", 1, 1)
	if len(r.events) != 0 {
		t.Errorf("page %v of a server not followed", r.since(0))
	}
}

// TestSnapshot: one event per server, oldest first, its steps from the
// feed or, after a restart, from its record's times.
func TestSnapshot(t *testing.T) {
	f, r := newFeed()
	g := game()
	recovered := server()
	recovered.CreationID, recovered.CreatedAt = "0ld", t0.Add(-time.Hour)
	recovered.State, recovered.RunningAt, recovered.ReadyAt = spawner.StateReady, t0.Add(-59*time.Minute), t0.Add(-58*time.Minute)
	recovered.Address, recovered.Port = "203.0.113.9", 25565
	fresh := server()
	f.Follow("c0ffee")
	f.Step("c0ffee", fresh, g)
	r.now = t0.Add(time.Minute)
	fresh.State = spawner.StateProvisioning
	f.Step("c0ffee", fresh, g)
	snap := f.Snapshot([]Followed{{ID: "c0ffee", Server: fresh, Game: g}, {ID: "0ld", Server: recovered, Game: g}})
	if len(snap) != 2 || snap[0].Server != "0ld" || snap[1].Server != "c0ffee" {
		t.Fatalf("snapshot = %+v, want the recovered server first", snap)
	}
	old := snap[0]
	if old.Type != spawner.EventSnapshot || !old.Time.Equal(recovered.CreatedAt) || !old.Steps[spawner.StateReady].Equal(recovered.ReadyAt) ||
		!old.Steps[spawner.StateRunning].Equal(recovered.RunningAt) || old.Address != "203.0.113.9:25565" {
		t.Errorf("recovered server's snapshot = %+v", old)
	}
	if now := snap[1]; !now.Time.Equal(t0.Add(time.Minute)) || !now.Steps[spawner.StateProvisioning].Equal(t0.Add(time.Minute)) || now.State != spawner.StateProvisioning {
		t.Errorf("fresh server's snapshot = %+v, want its latest change and its steps", now)
	}
	for _, e := range snap {
		if strings.Contains(fmt.Sprint(e), "s3cr3t") {
			t.Errorf("the snapshot carries a token: %+v", e)
		}
	}
}

func TestNoEvents(t *testing.T) {
	f := New(nil, func() time.Time { return t0 })
	f.Follow("c0ffee")
	f.Step("c0ffee", server(), game())
	f.End(server(), game(), spawner.CauseCommand, nil)
	if snap := f.Snapshot([]Followed{{ID: "c0ffee", Server: server(), Game: game()}}); len(snap) != 1 {
		t.Errorf("snapshot with no events = %+v, want the server", snap)
	}
}

func TestEventsCarryTheWorld(t *testing.T) {
	f, r := newFeed()
	f.Worlds(func(id string) *spawner.EventWorld {
		if id != "w1" {
			return nil
		}
		return &spawner.EventWorld{Name: "valheim", Owner: "100", State: spawner.WorldRunning, Size: 42}
	})
	g := game()
	s := server()
	s.WorldID = "w1"
	f.Follow("c0ffee")
	f.Step("c0ffee", s, g)
	saved := true
	f.End(s, g, spawner.CauseCommand, &saved)
	for _, ev := range r.events {
		if ev.World == nil || ev.World.Name != "valheim" || ev.World.Owner != "100" || ev.World.Size != 42 {
			t.Fatalf("%s event carries world %+v, want valheim of 100", ev.Type, ev.World)
		}
	}
	if end := r.events[len(r.events)-1]; end.World.Saved == nil || !*end.World.Saved {
		t.Errorf("the ended event says saved %v, want true", end.World.Saved)
	}
	if snap := f.Snapshot([]Followed{{ID: "c0ffee", Server: s, Game: g}}); snap[0].World == nil {
		t.Errorf("the snapshot carries no world")
	}
	s.WorldID = ""
	f.Follow("beef")
	f.Step("beef", s, g)
	if ev := r.events[len(r.events)-1]; ev.World != nil {
		t.Errorf("a server without a world has world %+v in its events", ev.World)
	}
}
