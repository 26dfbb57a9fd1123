// Package lifecycle is the one place that knows the rules of a game server's
// life: who may create and stop one, the creation steps and their cleanup on
// failure, the watchdogs that stop servers nobody plays on, and the
// reconciliation with ECS and the table after a restart.
//
// It talks to the outside world only through the small interfaces below,
// which the adapters (discord, ecs, dynamo, mcping) satisfy.
package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// Tasks is what the lifecycle needs of ECS (and EC2 for addresses).
type Tasks interface {
	RunTask(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error)
	DescribeTasks(ctx context.Context, arns []string) ([]spawner.Task, error)
	StopTask(ctx context.Context, arn, reason string) error
	ListOwnedTasks(ctx context.Context) ([]spawner.Task, error)
	Address(ctx context.Context, task spawner.Task) (string, error)
}

// Store is the table of servers, the truth the mirror is loaded from.
type Store interface {
	Load(ctx context.Context) (servers []spawner.Server, problems []error, err error)
	Put(ctx context.Context, s spawner.Server) error
	Delete(ctx context.Context, key string) error
}

// Pinger asks a game server how many players it has.
type Pinger interface {
	Ping(ctx context.Context, addr string) (spawner.Ping, error)
}

// Chat is what the lifecycle says and does on Discord.
type Chat interface {
	CreateTicket(ctx context.Context, t spawner.Ticket) (channelID string, err error)
	Send(ctx context.Context, channelID string, m spawner.Message) (messageID string, err error)
	Edit(ctx context.Context, channelID, messageID string, m spawner.Message) error
	DeleteChannel(ctx context.Context, channelID string) error
	CategoryChannels(ctx context.Context) ([]spawner.Channel, error)
	// Log says m in the admin log channel; a no-op when there is none.
	Log(ctx context.Context, m spawner.Message) error
}

// Clock is the time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Metrics is told of what happens, for /metrics. Every method must be cheap
// and safe for concurrent use.
type Metrics interface {
	Created(game string)
	Stopped(cause spawner.StopCause)
	Warned(kind string)
	Pinged(d time.Duration, err error)
}

// Config holds the rules' settings.
type Config struct {
	Catalog    spawner.Catalog
	MaxServers int
	// PollInterval is how often a booting server's task is described and pinged.
	PollInterval time.Duration
	// TicketCloseDelay is how long a ticket channel stays after its server ended.
	TicketCloseDelay time.Duration
	// Locale is the guild's language, for the log channel and for records
	// that carry none (those written by the original bot).
	Locale string
	// PingConcurrency bounds the pings and stops of one sweep (default 64).
	PingConcurrency int
	// OrphanGrace is how old an owned task with no record must be before a
	// sweep stops it (default 2 min); at start it is not applied.
	OrphanGrace time.Duration
}

// Manager runs the fleet. Create, Stop and Servers are safe for concurrent
// use; Recover must complete before Create accepts requests; Run drives the
// watchdogs until its context ends.
type Manager struct {
	cfg     Config
	tasks   Tasks
	store   Store
	pinger  Pinger
	chat    Chat
	clock   Clock
	log     *slog.Logger
	metrics Metrics

	ctx       context.Context // the daemon's; workers stop with it
	recovered atomic.Bool

	mu      sync.Mutex
	closing bool              // Run is returning: no new workers
	entries map[string]*entry // by CreationID (or TaskARN for the original bot's records)
	closes  []closing         // ticket channels to delete later
	wake    chan struct{}
	workers sync.WaitGroup
}

// entry is a server in the mirror and what the watchdogs know of it.
type entry struct {
	id   string
	srv  spawner.Server
	game spawner.Game

	booting       bool           // a worker owns it until it is ready
	stopping      bool           // a finish is under way
	stop          *ending        // a finish that is wanted, retried until it succeeds
	stopAsked     *spawner.Actor // /server stop while booting: the worker ends it
	dirty         bool           // the record in the table is behind the mirror
	nextCheck     time.Time
	stopRetryTold bool

	reply    func(spawner.Message) // the member's ephemeral answer, during creation
	gone     chan struct{}         // closed when the entry leaves the mirror
	nudge    chan struct{}         // wakes the creation worker before its next poll
	answered <-chan struct{}       // closed once the member was answered (may be nil)
	io       sync.Mutex            // serialises the writes of the server's records
}

func newEntry(id string, srv spawner.Server, game spawner.Game) *entry {
	return &entry{id: id, srv: srv, game: game, gone: make(chan struct{}), nudge: make(chan struct{}, 1)}
}

// remove drops entry id from the mirror; the caller holds m.mu.
func (m *Manager) removeLocked(id string) {
	if e, ok := m.entries[id]; ok {
		delete(m.entries, id)
		close(e.gone)
	}
}

type closing struct {
	channelID string
	at        time.Time
}

// New returns a Manager. ctx is the daemon's lifetime: creation workers run
// under it and abandon their work (safely: the table tells a restart where
// they were) when it ends.
func New(ctx context.Context, cfg Config, tasks Tasks, store Store, pinger Pinger, chat Chat, clock Clock, log *slog.Logger, metrics Metrics) *Manager {
	if cfg.PingConcurrency <= 0 {
		cfg.PingConcurrency = 64
	}
	if cfg.OrphanGrace <= 0 {
		cfg.OrphanGrace = 2 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if metrics == nil {
		metrics = nopMetrics{}
	}
	return &Manager{
		cfg: cfg, tasks: tasks, store: store, pinger: pinger, chat: chat, clock: clock, log: log, metrics: metrics,
		ctx:     ctx,
		entries: make(map[string]*entry),
		wake:    make(chan struct{}, 1),
	}
}

type nopMetrics struct{}

func (nopMetrics) Created(string)              {}
func (nopMetrics) Stopped(spawner.StopCause)   {}
func (nopMetrics) Warned(string)               {}
func (nopMetrics) Pinged(time.Duration, error) {}

// Catalog returns the games offered.
func (m *Manager) Catalog() spawner.Catalog { return m.cfg.Catalog }

// Create checks req against the rules and, when accepted, starts the
// creation in the background and returns nil at once. A refused request
// returns a *spawner.Refusal and changes nothing. Create does no I/O.
func (m *Manager) Create(req spawner.CreateRequest) error {
	if !m.recovered.Load() || m.ctx.Err() != nil {
		return &spawner.Refusal{Code: spawner.RefusedShuttingDown}
	}
	game, ok := m.cfg.Catalog.Lookup(req.Game)
	if !ok {
		return &spawner.Refusal{Code: spawner.RefusedUnknownGame, Name: req.Game}
	}
	variant, ok := game.Variant(req.Variant)
	if !ok {
		return &spawner.Refusal{Code: spawner.RefusedUnknownVariant, Name: req.Variant}
	}
	now := m.clock.Now()
	e := newEntry(newID(16), spawner.Server{
		Game:      game.Name,
		Variant:   variant.Name,
		Owner:     req.Owner,
		Port:      game.Port,
		Locale:    req.Locale,
		State:     spawner.StateRequested,
		CreatedAt: now,
	}, game)
	e.booting = true
	e.reply = req.Reply
	e.answered = req.Answered
	if game.TokenEnv != "" {
		e.srv.Token = newID(12)
	}
	e.srv.CreationID = e.id

	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return &spawner.Refusal{Code: spawner.RefusedShuttingDown}
	}
	if !req.Admin {
		for _, o := range m.entries {
			if o.srv.Owner == req.Owner {
				m.mu.Unlock()
				return &spawner.Refusal{Code: spawner.RefusedBusy}
			}
		}
	}
	if len(m.entries) >= m.cfg.MaxServers {
		m.mu.Unlock()
		return &spawner.Refusal{Code: spawner.RefusedCap, Limit: m.cfg.MaxServers}
	}
	m.entries[e.id] = e
	m.workers.Add(1)
	m.mu.Unlock()

	m.log.Info("creation accepted", "creation", e.id, "user", req.Owner, "game", game.Name, "variant", variant.Name)
	m.metrics.Created(game.Name)
	go m.create(e.id)
	return nil
}

// Stop stops the server whose task id is taskID on behalf of by: its owner
// or an admin. It returns once the task is stopped and the record removed
// (the channel goes after the close delay), or a *spawner.Refusal, or the
// error that kept it from stopping (a retry is then scheduled).
func (m *Manager) Stop(ctx context.Context, by spawner.Actor, taskID string) (spawner.Server, error) {
	m.mu.Lock()
	var e *entry
	for _, o := range m.entries {
		if (o.srv.TaskARN != "" && o.srv.TaskID() == taskID) || o.id == taskID {
			e = o
			break
		}
	}
	if e == nil {
		m.mu.Unlock()
		return spawner.Server{}, &spawner.Refusal{Code: spawner.RefusedNoServer}
	}
	if e.srv.Owner != by.UserID && !by.Admin {
		m.mu.Unlock()
		return spawner.Server{}, &spawner.Refusal{Code: spawner.RefusedNotOwner}
	}
	if e.stopping || e.stop != nil || e.stopAsked != nil {
		m.mu.Unlock()
		return spawner.Server{}, &spawner.Refusal{Code: spawner.RefusedStopping}
	}
	srv := e.srv
	if e.booting {
		// The creation worker owns the server until it is ready; it ends it
		// at its next step, never longer than one poll away.
		actor := by
		e.stopAsked = &actor
		m.mu.Unlock()
		select {
		case e.nudge <- struct{}{}:
		default:
		}
		m.log.Info("stop asked during creation", "creation", e.id, "task", srv.TaskARN, "by", by.UserID)
		select {
		case <-e.gone:
			return srv, nil
		case <-ctx.Done():
			return srv, ctx.Err()
		}
	}
	m.mu.Unlock()
	err := m.finish(ctx, e.id, ending{cause: spawner.CauseCommand, by: by.UserID})
	return srv, err
}

// Servers returns the servers by visible to who: every server for an admin,
// their own for anyone else, oldest first.
func (m *Manager) Servers(who spawner.Actor) []spawner.Server {
	m.mu.Lock()
	out := make([]spawner.Server, 0, len(m.entries))
	for _, e := range m.entries {
		if who.Admin || e.srv.Owner == who.UserID {
			out = append(out, e.srv)
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].CreationID < out[j].CreationID
	})
	return out
}

// StopsAt is when the runtime watchdog stops s.
func (m *Manager) StopsAt(s spawner.Server) time.Time {
	g, _ := m.cfg.Catalog.Lookup(s.Game)
	return s.CreatedAt.Add(g.MaxDuration)
}

// Wait blocks until every creation worker under way has returned.
func (m *Manager) Wait() { m.workers.Wait() }

// shutdown refuses new creations, then waits for the workers: a Create
// racing the end of the context can no longer add one behind Wait's back.
func (m *Manager) shutdown() {
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	m.workers.Wait()
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Manager) get(id string) (*entry, spawner.Server, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	if !ok {
		return nil, spawner.Server{}, false
	}
	return e, e.srv, true
}

// update changes the mirror's copy of a server under the lock and returns the result.
func (m *Manager) update(id string, f func(e *entry)) (spawner.Server, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	if !ok {
		return spawner.Server{}, false
	}
	f(e)
	return e.srv, true
}

func (m *Manager) lang(s spawner.Server) text.Lang {
	if s.Locale != "" {
		return text.For(s.Locale)
	}
	return text.For(m.cfg.Locale)
}

func (m *Manager) logLang() text.Lang { return text.For(m.cfg.Locale) }

func (m *Manager) gameOf(s spawner.Server) spawner.Game {
	g, ok := m.cfg.Catalog.Lookup(s.Game)
	if !ok {
		g, _ = m.cfg.Catalog.Lookup("")
	}
	return g
}

func newID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return hex.EncodeToString(b)
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
