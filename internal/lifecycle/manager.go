// Package lifecycle is the one place that knows the rules of a game server's
// life: who may create and stop one, the creation steps and their cleanup on
// failure, the watchdogs that stop servers nobody plays on, and the
// reconciliation with ECS and the table after a restart.
//
// It talks to the outside world only through the small interfaces below,
// which the adapters (discord, ecs, dynamo, mcping) satisfy.
package lifecycle

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
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
	// LoadAll reads the whole table at once: its servers, and its game
	// templates and cooldowns (which Recover reads only when Games and
	// Cooldowns are set), with a problem for each record it could not read.
	LoadAll(ctx context.Context) (spawner.Snapshot, error)
	Put(ctx context.Context, s spawner.Server) error
	Delete(ctx context.Context, key string) error
}

// Pinger asks a game server whether it is up and how many players it has,
// speaking proto on addr (for ProtocolA2S, the query port).
type Pinger interface {
	Ping(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error)
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

// Default settings, used when the matching Options field is zero.
const (
	// DefaultPollInterval is how often the booting servers' tasks are
	// described (all in one call) and each booting server pinged.
	DefaultPollInterval = time.Second
	// DefaultSweepInterval is the time between two ECS sweeps when the
	// default game sets no CheckInterval.
	DefaultSweepInterval = 5 * time.Minute
	// DefaultPingConcurrency bounds the pings and stops of one watchdog pass.
	DefaultPingConcurrency = 64
	// DefaultOrphanGrace is how old an owned task with no record must be
	// before a sweep stops it, so a creation between its RunTask and its
	// record is never mistaken for an orphan.
	DefaultOrphanGrace = 2 * time.Minute
	// DefaultOrphanStopConcurrency bounds the StopTask calls for orphans in flight at once.
	DefaultOrphanStopConcurrency = 8
	// DefaultPingTimeout caps one watchdog ping (it is also at most half
	// the game's CheckInterval). The pinger's own timeout should not be shorter.
	DefaultPingTimeout = 10 * time.Second
	// DefaultCreateCooldown is the time a member waits between two
	// creations that counted (cooldown.go).
	DefaultCreateCooldown = 2 * time.Minute
	// DefaultMaxBackoff caps the wait between two tries of a failing
	// background step (a sweep, a message a member must read).
	DefaultMaxBackoff = 5 * time.Minute
)

// Options are the Manager's settings and the adapters it talks to. Zero
// durations and bounds take the Default... values above.
type Options struct {
	// Catalog is the games offered at start, the default game first; the
	// stored templates (Games) are added to it by Recover.
	Catalog    spawner.Catalog
	MaxServers int
	// PollInterval is how often a booting server's task is described and pinged.
	PollInterval time.Duration
	// TicketCloseDelay is how long a ticket channel stays after its server ended.
	TicketCloseDelay time.Duration
	// Locale is the guild's language, for the log channel and for records
	// that carry none (those written by the original bot).
	Locale string
	// PingConcurrency bounds the pings and stops of one pass.
	PingConcurrency int
	// OrphanGrace is how old an owned task with no record must be before a
	// sweep stops it; at start it is not applied.
	OrphanGrace time.Duration
	// OrphanStopConcurrency bounds the orphan StopTask calls in flight.
	OrphanStopConcurrency int
	// PingTimeout caps one watchdog ping.
	PingTimeout time.Duration
	// CreateCooldown is the time a member (not an admin) must wait after
	// a creation that counted before the next (cooldown.go); negative
	// disables it.
	CreateCooldown time.Duration
	// MaxBackoff caps the wait between two tries of a failing background step.
	MaxBackoff time.Duration
	// MaxExtensions is how many times a member may extend one server
	// (admins: no limit); negative: members may not.
	MaxExtensions int
	// RCON runs /server op's command in games that have RCON; nil: none can.
	RCON RCON
	// Limits bound the durations and counts of game templates; the zero
	// value is spawner.DefaultLimits.
	Limits spawner.Limits

	Tasks Tasks
	Store Store
	// Cooldowns keeps the creation cooldowns across restarts; nil: they
	// live in memory only.
	Cooldowns Cooldowns
	// Games keeps the game templates; nil: /game add is refused and only
	// Catalog is offered.
	Games Games
	// GameChecker, when set, is the runtime's check of a template at /game add.
	GameChecker GameChecker
	Pinger      Pinger
	Chat        Chat
	Clock       Clock        // RealClock when nil
	Log         *slog.Logger // slog.Default() when nil
	Metrics     Metrics      // none when nil
	Events      Events       // the web feed; none when nil
	Links       Links        // links to the web pages in status messages; none when nil
	// Alerts is told, beside the log channel, of the failures admins
	// should hear of outside Discord (alert.go); none when nil.
	Alerts Alerts
}

// withDefaults returns o with every zero setting given its default.
func (o Options) withDefaults() Options {
	o.PollInterval = cmp.Or(o.PollInterval, DefaultPollInterval)
	o.OrphanGrace = cmp.Or(o.OrphanGrace, DefaultOrphanGrace)
	o.PingTimeout = cmp.Or(o.PingTimeout, DefaultPingTimeout)
	o.CreateCooldown = cmp.Or(o.CreateCooldown, DefaultCreateCooldown)
	o.MaxBackoff = cmp.Or(o.MaxBackoff, DefaultMaxBackoff)
	o.MaxExtensions = cmp.Or(o.MaxExtensions, DefaultMaxExtensions)
	o.PingConcurrency = spawner.PositiveOr(o.PingConcurrency, DefaultPingConcurrency)
	if o.Limits == (spawner.Limits{}) {
		o.Limits = spawner.DefaultLimits()
	}
	o.OrphanStopConcurrency = spawner.PositiveOr(o.OrphanStopConcurrency, DefaultOrphanStopConcurrency)
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	return o
}

// Manager runs the fleet. Create, Stop and Servers are safe for concurrent
// use; Recover must complete before Create accepts requests; Run drives the
// watchdogs until its context ends; Close ends every worker the Manager
// started and waits for them.
type Manager struct {
	cfg     Options
	tasks   Tasks
	store   Store
	pinger  Pinger
	chat    Chat
	clock   Clock
	log     *slog.Logger
	metrics Metrics
	rcon    RCON
	games   Games
	checker GameChecker
	// cooldowns keeps lastCreate in the table (cooldown.go); may be nil.
	cooldowns Cooldowns

	catMu   sync.RWMutex
	catalog spawner.Catalog // copied on write: a snapshot never changes
	gamesMu sync.Mutex      // serialises the changes of stored templates

	// ctx is the Manager's own: Close cancels it, and every worker the
	// Manager started stops with it.
	ctx       context.Context
	cancel    context.CancelFunc
	recovered atomic.Bool

	mu         sync.Mutex
	closing    bool                 // Close was called: no new workers
	entries    map[string]*entry    // by CreationID (or TaskARN for the original bot's records)
	closes     []closing            // ticket channels to delete later
	lastCreate map[string]time.Time // member → when their last creation that counted was asked for (cooldown.go)
	wake       chan struct{}
	workers    sync.WaitGroup
	notes      sync.Map   // creation id → *progressNotes (progress.go)
	round      *bootRound // the booting beat's last DescribeTasks (booting.go)

	// badTemplates holds the malformed templates already reported, so
	// a Recover retried at start reports each once (games.go).
	badTemplates sync.Map
	// kept holds the games parsed from the templates servers keep in their
	// records (gameOf), by template text: parsed once, not at every
	// status edit or watchdog check.
	kept sync.Map
}

// entry is a server in the mirror and what the watchdogs know of it. Its
// phase, end, stopBy, endTold and unsaved change only through phase.go.
type entry struct {
	id   string
	srv  spawner.Server
	game spawner.Game

	phase     phase
	end       *ending        // the end decided (phaseEnding, phaseEndWanted)
	stopBy    *spawner.Actor // /server stop asked in phaseCreating: the worker ends it
	endTold   bool           // the log channel was told the end is being retried
	unsaved   bool           // the record in the table is behind the mirror
	nextCheck time.Time
	// hostPorts maps the game's ports to the host's under the Docker
	// runtime (Task.Ports), from the task's last description; nil on ECS.
	hostPorts map[int]int
	spotTold  bool // the owner was told Fargate Spot is reclaiming the server (spot.go)
	// looking is true while a worker asks the runtime about a change of
	// the task (changes.go); lookAgain asks it to look once more, for the
	// latest change, hint.
	looking, lookAgain bool
	hint               spawner.Task

	byAdmin  bool                  // an admin asked for it: it starts no cooldown
	counted  bool                  // it counted toward its owner's cooldown (cooldown.go)
	reply    func(spawner.Message) // the member's ephemeral answer, during creation
	gone     chan struct{}         // closed when the entry leaves the mirror
	failed   chan struct{}         // closed when a finish of it first fails (endFailedLocked)
	nudge    chan struct{}         // wakes the creation worker before its next poll
	answered <-chan struct{}       // closed once the member was answered (may be nil)
	io       sync.Mutex            // serialises the writes of the server's records
	feed     feedSeen              // what the web feed was told (events.go)
}

func newEntry(id string, srv spawner.Server, game spawner.Game, p phase) *entry {
	return &entry{id: id, srv: srv, game: game, phase: p, gone: make(chan struct{}), failed: make(chan struct{}), nudge: make(chan struct{}, 1)}
}

// nudgeWorker wakes e's creation worker before its next poll; a wake-up
// already waiting is enough.
func (e *entry) nudgeWorker() {
	select {
	case e.nudge <- struct{}{}:
	default:
	}
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
	done      chan struct{} // closed once the channel is deleted
}

// New returns a Manager with o's settings. It starts nothing: Recover,
// then Run, and Close at the end.
func New(o Options) *Manager {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg: o, games: o.Games, checker: o.GameChecker, cooldowns: o.Cooldowns, catalog: slices.Clone(o.Catalog), tasks: o.Tasks, store: o.Store, pinger: o.Pinger, chat: o.Chat, clock: o.Clock, log: o.Log, metrics: o.Metrics, rcon: o.RCON,
		ctx: ctx, cancel: cancel,
		entries:    make(map[string]*entry),
		lastCreate: make(map[string]time.Time),
		wake:       make(chan struct{}, 1),
	}
}

// Close refuses new creations, ends every worker the Manager started
// (creations abandon their work safely: the table tells a restart where
// they were) and waits for them. Servers keep running and recorded. Close
// is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	m.cancel()
	m.workers.Wait()
	return nil
}

// goWorker runs f in a goroutine Close waits for, unless Close was called.
func (m *Manager) goWorker(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return
	}
	m.workers.Add(1)
	go func() {
		defer m.workers.Done()
		f()
	}()
}

type nopMetrics struct{}

func (nopMetrics) Created(string)              {}
func (nopMetrics) Stopped(spawner.StopCause)   {}
func (nopMetrics) Warned(string)               {}
func (nopMetrics) Pinged(time.Duration, error) {}

// Create checks req against the rules and, when accepted, starts the
// creation in the background and returns nil at once. A refused request
// returns a *spawner.Refusal and changes nothing. Create does no I/O.
func (m *Manager) Create(req spawner.CreateRequest) error {
	if !m.recovered.Load() || m.ctx.Err() != nil {
		return &spawner.Refusal{Code: spawner.RefusedShuttingDown}
	}
	game, ok := m.Catalog().Lookup(req.Game)
	if !ok {
		return &spawner.Refusal{Code: spawner.RefusedUnknownGame, Name: req.Game}
	}
	variant, ok := game.Variant(req.Variant)
	if len(game.Variants) == 0 && req.Variant == "" {
		variant, ok = spawner.Variant{}, true // a game without variants
	}
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
		// Its rules, kept across restarts whatever becomes of the template.
		GameTemplate: game.Template,
	}, game, phaseCreating)
	e.reply = req.Reply
	e.answered = req.Answered
	e.byAdmin = req.Admin
	if game.TokenEnv != "" {
		e.srv.Token = newID(12)
	}
	e.srv.RCONPassword = rconPassword(game)
	e.srv.CreationID = e.id

	m.mu.Lock()
	if err := m.admitLocked(req, now); err != nil {
		m.mu.Unlock()
		return err
	}
	m.entries[e.id] = e
	m.workers.Add(1)
	m.mu.Unlock()

	m.log.Info("creation accepted", "creation", e.id, "user", req.Owner, "game", game.Name, "variant", variant.Name)
	m.metrics.Created(game.Name)
	go func() {
		defer m.workers.Done()
		m.create(e.id)
	}()
	return nil
}

// admitLocked applies the fleet's limits to req; the caller holds m.mu.
func (m *Manager) admitLocked(req spawner.CreateRequest, now time.Time) error {
	if m.closing {
		return &spawner.Refusal{Code: spawner.RefusedShuttingDown}
	}
	if !req.Admin {
		for _, o := range m.entries {
			if o.srv.Owner == req.Owner {
				return &spawner.Refusal{Code: spawner.RefusedBusy}
			}
		}
		if until, ok := m.cooldownLocked(req.Owner, now); ok {
			return &spawner.Refusal{Code: spawner.RefusedCooldown, Until: until}
		}
	}
	if len(m.entries) >= m.cfg.MaxServers {
		return &spawner.Refusal{Code: spawner.RefusedCap, Limit: m.cfg.MaxServers}
	}
	return nil
}

// Stop stops the server whose task id is taskID on behalf of by: its owner
// or an admin. It returns once the task is stopped and the record removed
// (the channel goes after the close delay), or a *spawner.Refusal, or the
// error that kept it from stopping (a retry is then scheduled).
func (m *Manager) Stop(ctx context.Context, by spawner.Actor, taskID string) (spawner.Server, error) {
	m.mu.Lock()
	e, err := m.ownedLocked(by, taskID)
	if err != nil {
		m.mu.Unlock()
		return spawner.Server{}, err
	}
	srv := e.srv
	creating, ok := askStopLocked(e, by)
	m.mu.Unlock()
	if !ok {
		return spawner.Server{}, &spawner.Refusal{Code: spawner.RefusedStopping}
	}
	if !creating {
		err := m.finish(ctx, e.id, ending{cause: spawner.CauseCommand, by: by.UserID})
		return srv, err
	}
	// The creation worker owns the server until it is ready; it ends it at
	// its next step, never longer than one poll away.
	e.nudgeWorker()
	m.log.Info("stop asked during creation", "creation", e.id, "task", srv.TaskARN, "by", by.UserID)
	// Its end may fail (AWS or the table down): the member is then told,
	// as for a watched server, while the sweep retries it.
	select {
	case <-e.gone:
		return srv, nil
	case <-e.failed:
		return srv, errEndRetried
	case <-ctx.Done():
		return srv, ctx.Err()
	}
}

// errEndRetried is Stop's answer when the end of a server stopped during
// its creation failed: the sweep retries it.
var errEndRetried = errors.New("stop server: failed; the sweep retries it")

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

// StopsAt is when the runtime watchdog stops s: s.StopsAt when set (moved
// by /server extend), else its creation time plus its game's MaxDuration.
func (m *Manager) StopsAt(s spawner.Server) time.Time {
	return stopsAt(s, m.gameOf(s))
}

func stopsAt(s spawner.Server, g spawner.Game) time.Time {
	if !s.StopsAt.IsZero() {
		return s.StopsAt
	}
	return s.CreatedAt.Add(g.MaxDuration)
}

// Wait blocks until every worker the Manager started has returned.
func (m *Manager) Wait() { m.workers.Wait() }

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
