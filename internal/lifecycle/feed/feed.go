// Package feed tells the live pages of every change a person following a
// server should see: each step of its life, the players the watchdog
// counted, the warnings, a moved stop time and the end. Its Feed owns what
// was last told of each server in the fleet, so that a later step never
// gives way to an earlier one and no change is told older than the last;
// it has no goroutine of its own.
package feed

import (
	"sort"
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Events is told of every change: the web feed's hub. Publish must not
// block: the Feed calls it with its own lock held, so that the events of
// one server reach it in order and never cross a Snapshot.
type Events interface{ Publish(spawner.Event) }

// Feed is what the pages were told of each server the lifecycle follows.
// It is safe for concurrent use. With no Events, every method does nothing
// and Snapshot returns the servers as they are.
type Feed struct {
	events Events
	now    func() time.Time
	// worldOf is the world of a server's events by its id (Worlds); nil:
	// none is shown.
	worldOf func(id string) *spawner.EventWorld

	mu   sync.Mutex
	told map[string]*told // by server id, from Follow to Forget
}

// told is what the feed last told of a server; it never goes in the record.
type told struct {
	steps   map[spawner.State]time.Time // when each step was reached
	at      time.Time                   // the latest change told
	state   spawner.State               // the latest step told
	players *int                        // the latest count told
	stopsAt time.Time                   // the latest stop time told, once ready
}

// New returns a Feed that tells events (nil: none) of each change, with
// now as its clock.
func New(events Events, now func() time.Time) *Feed {
	return &Feed{events: events, now: now, told: make(map[string]*told)}
}

// Worlds has every event of a server that plays a world carry that world,
// as of returns it by the world's id. Call it before the feed is used; of
// must not call the Feed.
func (f *Feed) Worlds(of func(id string) *spawner.EventWorld) { f.worldOf = of }

// Follow starts following server id, which entered the fleet: its changes
// are told from now on.
func (f *Feed) Follow(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.told[id] = &told{steps: make(map[spawner.State]time.Time)}
}

// Forget stops following server id, which left the fleet: nothing more is
// told of it but its End.
func (f *Feed) Forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.told, id)
}

// ID is the id a server has in the feed and its links: its creation id,
// or the task id of a record of the original bot.
func ID(s spawner.Server) string {
	if s.CreationID != "" {
		return s.CreationID
	}
	return s.ShortTaskID()
}

// event is the feed's view of srv, a server of game g, at now, with its
// world; never a token or a password.
func (f *Feed) event(typ spawner.EventType, srv spawner.Server, g spawner.Game, now time.Time) spawner.Event {
	e := event(typ, srv, g, now)
	if f.worldOf != nil && srv.WorldID != "" {
		e.World = f.worldOf(srv.WorldID)
	}
	return e
}

// event is the feed's view of srv, a server of game g, at now, without its
// world; never a token or a password.
func event(typ spawner.EventType, srv spawner.Server, g spawner.Game, now time.Time) spawner.Event {
	e := spawner.Event{
		Type: typ, Server: ID(srv), Owner: srv.Owner, State: srv.State, Time: now,
		Game: g.Name, Title: g.Title, Variant: srv.Variant, Address: srv.HostPort(),
	}
	if g.Protocol.CountsPlayers() {
		e.Min = g.MinPlayers
	}
	if !srv.ReadyAt.IsZero() {
		e.StopsAt = srv.StopTime(g)
	}
	return e
}

// Step tells of srv's step when it moved on (running is told on the way
// to booting, with the address), or of its stop time when that moved later
// since ready (/server extend). srv may be a copy from before: an earlier
// step or stop time is never told again. Server id is srv, of game g.
func (f *Feed) Step(id string, srv spawner.Server, g spawner.Game) {
	if f.events == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.told[id]
	if !ok {
		return
	}
	now := f.now()
	if srv.State.Rank() > t.state.Rank() {
		if srv.State == spawner.StateBooting && t.steps[spawner.StateRunning].IsZero() && srv.Address != "" {
			running := srv
			running.State = spawner.StateRunning
			at := srv.RunningAt
			if at.IsZero() {
				at = now
			}
			t.steps[spawner.StateRunning] = at
			f.tell(t, f.event(spawner.EventState, running, g, now))
		}
		t.steps[srv.State] = now
		t.state = srv.State
		ev := f.event(spawner.EventState, srv, g, now)
		if srv.State == spawner.StateReady {
			t.stopsAt = ev.StopsAt
		}
		f.tell(t, ev)
		return
	}
	if !t.stopsAt.IsZero() && !srv.ReadyAt.IsZero() {
		if end := srv.StopTime(g); end.After(t.stopsAt) {
			t.stopsAt = end
			f.tell(t, f.event(spawner.EventExtended, srv, g, now))
		}
	}
}

// Players tells how many play on server id (srv, of game g), when it
// changed; not once its stop was told.
func (f *Feed) Players(id string, srv spawner.Server, g spawner.Game, n int) {
	f.with(id, func(t *told) {
		if t.state.Rank() >= spawner.StateStopping.Rank() || (t.players != nil && *t.players == n) {
			return
		}
		ev := f.event(spawner.EventPlayers, srv, g, f.now())
		ev.Players = &n
		t.players = &n
		f.tell(t, ev)
	})
}

// Warning tells of a warning to the owner of server id (srv, of game g):
// kind "players" (warning k of n) or "runtime".
func (f *Feed) Warning(id string, srv spawner.Server, g spawner.Game, kind string, k, n int) {
	f.with(id, func(t *told) {
		ev := f.event(spawner.EventWarning, srv, g, f.now())
		ev.Warning, ev.K, ev.N = kind, k, n
		f.tell(t, ev)
	})
}

// End tells that srv, a server of game g, ended, and why: the last event
// of it. It is told whether the server is followed or not. saved, for a
// server of a world, says whether its world was saved (nil: nothing was
// to save).
func (f *Feed) End(srv spawner.Server, g spawner.Game, cause spawner.StopCause, saved *bool) {
	if f.events == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	srv.State = spawner.StateStopped
	ev := f.event(spawner.EventEnded, srv, g, f.now())
	ev.Cause = cause
	if ev.World != nil {
		ev.World.Saved = saved
	}
	f.events.Publish(ev)
}

// with runs do with f.mu held on what was told of server id, when there
// are events to tell and the server is followed.
func (f *Feed) with(id string, do func(t *told)) {
	if f.events == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.told[id]; ok {
		do(t)
	}
}

// tell publishes ev, remembering its time as the server's latest change;
// the caller holds f.mu. An event never carries an older time or stop
// time than one told before: pages drop older changes.
func (f *Feed) tell(t *told, ev spawner.Event) {
	if ev.Time.Before(t.at) {
		ev.Time = t.at
	}
	if !ev.StopsAt.IsZero() && ev.StopsAt.Before(t.stopsAt) {
		ev.StopsAt = t.stopsAt
	}
	t.at = ev.Time
	f.events.Publish(ev)
}

// Followed is a server of the fleet as Snapshot needs it: its id, its
// record and its game.
type Followed struct {
	ID     string
	Server spawner.Server
	Game   spawner.Game
}

// Snapshot returns one event per server of servers, oldest first, of type
// spawner.EventSnapshot: its state now, the times of the steps it reached,
// its address, players and stop time when known, and Time its latest
// change. It is the web feed's first message to a new client. It carries
// no token and no password.
func (f *Feed) Snapshot(servers []Followed) []spawner.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]spawner.Event, 0, len(servers))
	created := make(map[string]time.Time, len(servers))
	for _, s := range servers {
		t := f.told[s.ID]
		if t == nil {
			t = &told{}
		}
		out = append(out, f.snapshotOf(s.Server, s.Game, t))
		created[ID(s.Server)] = s.Server.CreatedAt
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := created[out[i].Server], created[out[j].Server]
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].Server < out[j].Server
	})
	return out
}

// snapshotOf is the snapshot event of srv, a server of game g, of which t
// was told.
func (f *Feed) snapshotOf(srv spawner.Server, g spawner.Game, t *told) spawner.Event {
	at := t.at
	if at.IsZero() {
		at = srv.CreatedAt
	}
	ev := f.event(spawner.EventSnapshot, srv, g, at)
	// A server recovered after a restart has no steps told yet: its
	// record's times stand in for them.
	ev.Steps = make(map[spawner.State]time.Time, len(t.steps)+3)
	for st, at := range map[spawner.State]time.Time{
		spawner.StateRequested: srv.CreatedAt, spawner.StateRunning: srv.RunningAt, spawner.StateReady: srv.ReadyAt,
	} {
		if !at.IsZero() {
			ev.Steps[st] = at
		}
	}
	for st, at := range t.steps {
		ev.Steps[st] = at
	}
	if t.players != nil {
		n := *t.players
		ev.Players = &n
	}
	return ev
}
