package lifecycle

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Sessions keeps each server's session (who, which game, when, which
// size and where), which /server cost and the monthly report read
// (package cost). The table and the embedded store satisfy it.
type Sessions interface {
	// PutSession writes s, replacing the record of the same id: a
	// session is written when its task starts, then again once ended.
	PutSession(ctx context.Context, s spawner.Session) error
	// Sessions reads the sessions that ran at some time in [from, to).
	Sessions(ctx context.Context, from, to time.Time) ([]spawner.Session, []error, error)
}

// SessionDefaults are what a session records where neither the game nor
// the task says: where the runtime runs tasks and their default size.
type SessionDefaults struct {
	// Capacity is the runtime's capacity provider (spawner.CapacityFargate,
	// spawner.CapacityFargateSpot), or spawner.CapacityDocker, whose
	// servers run where the game says no other; empty: CapacityFargate.
	Capacity string
	Region   string // AWS_REGION under ECS; empty under Docker
	PublicIP bool   // ECS tasks get a public IPv4 address of their own
	// CPU (1/1024 vCPU) and Memory (MiB) are the size of a task whose game
	// and runtime answer say none; 0: not known, and the session's hours
	// are not priced.
	CPU    int
	Memory int
}

// sessionBook records the servers' sessions: one when a server's task
// starts (its start), the same again when the server ends (with its end).
// It remembers the sessions of the servers in the fleet, under its own
// lock, never held across a write. A write that fails is logged, once a
// server, and nothing else: the cost of a server is never worth failing
// its creation or its stop; the end's write carries the whole session, so
// it makes up for a start that was not written.
type sessionBook struct {
	store    Sessions // nil: none are recorded
	defaults SessionDefaults
	log      *slog.Logger

	mu   sync.Mutex
	open map[string]*openSession // by session id: the server's entry id
}

// openSession is a session of a server in the fleet.
type openSession struct {
	s      spawner.Session
	warned bool // a write of it failed and was logged
}

func newSessionBook(store Sessions, d SessionDefaults, log *slog.Logger) *sessionBook {
	d.Capacity = cmp.Or(d.Capacity, spawner.CapacityFargate)
	return &sessionBook{store: store, defaults: d, log: log, open: make(map[string]*openSession)}
}

// session is the session of server srv of game, started at start: the
// size the game sets, else the task's as the runtime said, else the
// runtime's default; the game's capacity provider, else the runtime's.
func (b *sessionBook) session(srv spawner.Server, game spawner.Game, task spawner.Task, start time.Time) spawner.Session {
	d := b.defaults
	capacity := d.Capacity
	if capacity != spawner.CapacityDocker && game.CapacityProvider != "" {
		capacity = game.CapacityProvider
	}
	return spawner.Session{
		ID: entryID(srv), Owner: srv.Owner, Game: srv.Game, Variant: srv.Variant,
		StartedAt: start,
		CPU:       cmp.Or(game.CPU, task.CPU, d.CPU),
		Memory:    cmp.Or(game.Memory, task.Memory, d.Memory),
		Capacity:  capacity, Region: d.Region, PublicIP: d.PublicIP,
	}
}

// start records s, the session of a server whose task the runtime just
// accepted.
func (b *sessionBook) start(ctx context.Context, s spawner.Session) {
	if b.store == nil {
		return
	}
	o := &openSession{s: s}
	b.mu.Lock()
	b.open[s.ID] = o
	b.mu.Unlock()
	if b.put(ctx, s, "record the start of a session", false) {
		b.mu.Lock()
		o.warned = true
		b.mu.Unlock()
	}
}

// end records the end at `at` of the session of server srv (id: its
// entry id), which left the fleet. A server whose start was not known (a
// task started before a restart that could not read the sessions, a
// record of the original bot) is counted from its creation; one that never
// had a task cost nothing and records none.
func (b *sessionBook) end(ctx context.Context, id string, srv spawner.Server, game spawner.Game, at time.Time) {
	if b.store == nil {
		return
	}
	b.mu.Lock()
	o, ok := b.open[id]
	var s spawner.Session
	var warned bool
	if ok {
		s, warned = o.s, o.warned
	}
	delete(b.open, id)
	b.mu.Unlock()
	if !ok {
		if srv.TaskID == "" {
			return
		}
		s = b.session(srv, game, spawner.Task{}, srv.CreatedAt)
	}
	s.EndedAt = endAt(s, at)
	b.put(ctx, s, "record the end of a session", warned)
}

// load reads, at recovery, the sessions still running at now, so the
// servers that carry on end theirs. A failed read is logged; the servers'
// ends are then counted from their creation.
func (b *sessionBook) load(ctx context.Context, now time.Time) {
	if b.store == nil {
		return
	}
	// Every running session overlaps [now, a year on); one that started
	// after now (a clock set back) too.
	sessions, problems, err := b.store.Sessions(ctx, now, now.AddDate(1, 0, 0))
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("read the running sessions; the servers that carry on are counted from their creation", "err", err)
		}
		return
	}
	for _, p := range problems {
		b.log.Warn("skipped malformed session", "problem", p.Error())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range sessions {
		if s.Running() {
			b.open[s.ID] = &openSession{s: s}
		}
	}
}

// endUnknown ends, at `at`, the running sessions that no server in the
// fleet has (known reports whether one does): their server ended while
// the bot was not there to record it, after its records went.
func (b *sessionBook) endUnknown(ctx context.Context, known func(id string) bool, at time.Time) {
	b.mu.Lock()
	var gone []spawner.Session
	for id, o := range b.open {
		if !known(id) {
			gone = append(gone, o.s)
			delete(b.open, id)
		}
	}
	b.mu.Unlock()
	for _, s := range gone {
		b.log.Info("ending the session of a server that is gone", "session", s.ID, "user", s.Owner)
		s.EndedAt = endAt(s, at)
		b.put(ctx, s, "record the end of a session", false)
	}
}

// put writes s and reports whether it failed; the failure is logged
// unless warned says it was already, or the context ended.
func (b *sessionBook) put(ctx context.Context, s spawner.Session, what string, warned bool) bool {
	err := b.store.PutSession(ctx, s)
	if err != nil && !warned && ctx.Err() == nil {
		b.log.Warn(what+"; /server cost may miss this server", "session", s.ID, "user", s.Owner, "err", err)
	}
	return err != nil
}

// endAt is when session s ends, ended at at: never before it started (a
// clock set back).
func endAt(s spawner.Session, at time.Time) time.Time {
	if at.Before(s.StartedAt) {
		return s.StartedAt
	}
	return at
}
