package lifecycle

import (
	"sort"
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/lifecycle/feed"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// fleet is the mirror of the table: every server the bot runs, each in
// exactly one phase (phase.go). It owns the entries and every field of
// them, under its lock; nothing does I/O while holding it. Code elsewhere
// changes an entry only through update, with the lock held for it.
type fleet struct {
	mu      sync.Mutex
	entries map[string]*entry // by id: the CreationID, or the TaskID of a record of the original bot
}

func newFleet() *fleet { return &fleet{entries: make(map[string]*entry)} }

// entry is a server in the mirror and what the watchdogs know of it. Its
// phase, end, stopBy, endTold, unsaved and worker change only through
// phase.go.
type entry struct {
	id   string
	srv  spawner.Server
	game spawner.Game

	phase     phase
	end       *ending        // the end decided (phaseEnding, phaseEndWanted)
	stopBy    *spawner.Actor // /server stop asked in phaseCreating: the worker ends it
	endTold   bool           // the log channel was told the end is being retried
	unsaved   bool           // the record in the table is behind the mirror
	worker    *creation      // the creation that owns it in phaseCreating; nil once handed over
	nextCheck time.Time      // the player watchdog's next check (phaseWatched)
	// queryAddr is where the game answers its queries when that is not
	// the players' address (an A2S query port), asked of the runtime
	// once (queryAddrOf); "" until then.
	queryAddr   string
	reclaimTold bool // the owner was told the provider is reclaiming the server (reclaim.go)
	// looking is true while a worker asks the runtime about a change of
	// the task (changes.go); lookAgain asks it to look once more, for the
	// latest change, hint.
	looking, lookAgain bool
	hint               spawner.Task

	gone   chan struct{} // closed when the entry leaves the mirror
	failed chan struct{} // closed when a finish of it first fails (endFailedLocked)
	io     sync.Mutex    // serialises the writes of the server's records (record.go)
}

func newEntry(id string, srv spawner.Server, game spawner.Game, p phase) *entry {
	return &entry{id: id, srv: srv, game: game, phase: p, gone: make(chan struct{}), failed: make(chan struct{})}
}

// entryID is the mirror's key of a server: its creation id, or its task
// id for a record of the original bot.
func entryID(s spawner.Server) string {
	if s.CreationID != "" {
		return s.CreationID
	}
	return s.TaskID
}

// add puts e in the mirror.
func (f *fleet) add(e *entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries[e.id] = e
}

// remove drops entry id from the mirror; its gone channel is closed.
func (f *fleet) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.entries[id]; ok {
		delete(f.entries, id)
		close(e.gone)
	}
}

// get returns entry id and a copy of its server.
func (f *fleet) get(id string) (*entry, spawner.Server, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[id]
	if !ok {
		return nil, spawner.Server{}, false
	}
	return e, e.srv, true
}

// update runs change on entry id with the lock held, and returns a copy
// of its server after; false when id is not in the mirror.
func (f *fleet) update(id string, change func(e *entry)) (spawner.Server, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[id]
	if !ok {
		return spawner.Server{}, false
	}
	change(e)
	return e.srv, true
}

// updateEntry runs change on e with the lock held, when e is still in the
// mirror (not removed, nor replaced by another entry of its id).
func (f *fleet) updateEntry(e *entry, change func(e *entry)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.entries[e.id] != e {
		return false
	}
	change(e)
	return true
}

// servers returns the servers visible to who: every server for an admin,
// their own for anyone else, oldest first.
func (f *fleet) servers(who spawner.Actor) []spawner.Server {
	f.mu.Lock()
	out := make([]spawner.Server, 0, len(f.entries))
	for _, e := range f.entries {
		if who.Admin || e.srv.Owner == who.UserID {
			out = append(out, e.srv)
		}
	}
	f.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].CreationID < out[j].CreationID
	})
	return out
}

// followed returns every server as the feed's snapshot needs it.
func (f *fleet) followed() []feed.Followed {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]feed.Followed, 0, len(f.entries))
	for id, e := range f.entries {
		out = append(out, feed.Followed{ID: id, Server: e.srv, Game: e.game})
	}
	return out
}

// view is a copy of what the sweep reads of one entry.
type view struct {
	id        string
	srv       spawner.Server
	game      spawner.Game
	phase     phase
	unsaved   bool
	nextCheck time.Time
}

// views returns a copy of every entry for the sweep to plan on.
func (f *fleet) views() []view {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]view, 0, len(f.entries))
	for id, e := range f.entries {
		out = append(out, view{id: id, srv: e.srv, game: e.game, phase: e.phase, unsaved: e.unsaved, nextCheck: e.nextCheck})
	}
	return out
}

// findLocked returns the server whose task id (or, before its task
// exists, creation id) is id; the caller holds f.mu.
func (f *fleet) findLocked(id string) *entry {
	for _, e := range f.entries {
		if (e.srv.TaskID != "" && e.srv.ShortTaskID() == id) || e.id == id {
			return e
		}
	}
	return nil
}

// ownedLocked finds the server id that by may act on (its owner or an
// admin), whatever its phase, or says why not; the caller holds f.mu.
func (f *fleet) ownedLocked(by spawner.Actor, id string) (*entry, error) {
	e := f.findLocked(id)
	switch {
	case e == nil:
		return nil, &spawner.Refusal{Code: spawner.RefusedNoServer}
	case e.srv.Owner != by.UserID && !by.Admin:
		return nil, &spawner.Refusal{Code: spawner.RefusedNotOwner}
	}
	return e, nil
}

// controlLocked finds the ready server id that by may act on (its owner or
// an admin), or says why not; the caller holds f.mu.
func (f *fleet) controlLocked(by spawner.Actor, id string) (*entry, error) {
	e, err := f.ownedLocked(by, id)
	if err != nil {
		return nil, err
	}
	if err := e.controlRefusal(); err != nil {
		return nil, err
	}
	return e, nil
}

// owned returns the server id that by may act on, whatever its phase,
// with a copy of its record and game, or says why not.
func (f *fleet) owned(by spawner.Actor, id string) (*entry, spawner.Server, spawner.Game, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.ownedLocked(by, id)
	if err != nil {
		return nil, spawner.Server{}, spawner.Game{}, err
	}
	return e, e.srv, e.game, nil
}

// control returns the ready server id that by may act on, with a copy of
// its record, or says why not.
func (f *fleet) control(by spawner.Actor, id string) (*entry, spawner.Server, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.controlLocked(by, id)
	if err != nil {
		return nil, spawner.Server{}, err
	}
	return e, e.srv, nil
}

// askStop records a /server stop by by of the server whose task id is id
// (askStopLocked), and returns it with a copy of its record; creating when
// its creation will end it. It refuses a member who may not stop it, and
// a server already ending or asked to stop (RefusedStopping).
func (f *fleet) askStop(by spawner.Actor, id string) (e *entry, srv spawner.Server, creating bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, err = f.ownedLocked(by, id); err != nil {
		return nil, spawner.Server{}, false, err
	}
	creating, ok := askStopLocked(e, by)
	if !ok {
		return nil, spawner.Server{}, false, &spawner.Refusal{Code: spawner.RefusedStopping}
	}
	return e, e.srv, creating, nil
}

// byTask returns the server whose task is taskID, with its phase.
func (f *fleet) byTask(taskID string) (*entry, phase) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.entries {
		if e.srv.TaskID == taskID {
			return e, e.phase
		}
	}
	return nil, 0
}

// bootingTasks is the set of tasks of the servers being created or
// booted.
func (f *fleet) bootingTasks() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make(map[string]bool)
	for _, e := range f.entries {
		if e.phase == phaseCreating && e.srv.TaskID != "" {
			ids[e.srv.TaskID] = true
		}
	}
	return ids
}

// starting returns the creation of server id while it starts its task
// (before the runtime answered), nil otherwise.
func (f *fleet) starting(id string) *creation {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[id]
	if !ok || e.phase != phaseCreating || e.srv.TaskID != "" {
		return nil
	}
	return e.worker
}

// queryAddr is the query address the runtime gave for server id's task
// (queryAddrOf); "" when it was not asked yet.
func (f *fleet) queryAddr(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.entries[id]; ok {
		return e.queryAddr
	}
	return ""
}

// live reports whether server id is in the mirror and not ending, with
// the channel closed when it leaves the mirror.
func (f *fleet) live(id string) (<-chan struct{}, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[id]
	if !ok || e.ended() {
		return nil, false
	}
	return e.gone, true
}
