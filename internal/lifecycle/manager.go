// Package lifecycle is the one place that knows the rules of a game server's
// life: who may create and stop one, the creation steps and their cleanup on
// failure, the watchdogs that stop servers nobody plays on, and the
// reconciliation with the runtime and the table after a restart.
//
// A Manager composes parts that each own their state, under their own lock
// or in one goroutine, and never hold it across I/O:
//
//   - the fleet (fleet.go, phase.go): the servers, each in one phase that
//     says who may act on it;
//   - a creation (create.go, boot.go, beat.go, progress.go): one server's
//     way from a member's request, or a restart that found it booting, to
//     ready, owned by one worker from start to end;
//   - the ending (stop.go, finish.go): a server's one way out, whatever
//     ends it;
//   - the sessions (session.go): each server's run, recorded when its task
//     starts and when it ends, for what it cost;
//   - the sweep (sweep.go, plan.go, watchdogs.go): read the runtime and the
//     fleet, plan with a pure function, then act: runtime warnings, player
//     checks, servers whose task ended, orphaned tasks; recovery at start
//     reads, plans and acts the same way (recover.go);
//   - admission (package admission): the fleet's cap, one server per
//     member, the creation cooldowns;
//   - the catalog (package catalog): the games offered and their templates;
//   - the feed (package feed): what the live pages were told of each server;
//   - the ticket closer (package tickets): the channels waiting to be deleted;
//   - the worlds (package worlds, worlds.go here): a world per member, game
//     and name, the one server playing each, their backups, restores and
//     deletions. Create claims a world in memory; the creation's worker
//     prepares it (storage, record) before its task starts (create.go,
//     startTask); the ending saves it once the task stopped, before the
//     server leaves the fleet (finish.go, endWorld);
//   - sleep and wake (sleep.go, wake.go): where the runtime publishes
//     games on host ports, a world keeps its server's port and sleeps on
//     it after the end of its server, answered for by the Sleepers; a
//     wake (a login there, the Wake button, /server create of the world)
//     is a creation by the world's owner started from the world rather
//     than a command, admitted without the cooldown (package admission).
//
// It talks to the outside world only through the small interfaces below and
// those of its parts, which the adapters satisfy, and in the domain's words.
package lifecycle

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mineral-contest/spawner/internal/lifecycle/admission"
	"github.com/mineral-contest/spawner/internal/lifecycle/catalog"
	"github.com/mineral-contest/spawner/internal/lifecycle/feed"
	"github.com/mineral-contest/spawner/internal/lifecycle/tickets"
	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// Tasks is what the lifecycle needs of the task runtime.
type Tasks interface {
	RunTask(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error)
	DescribeTasks(ctx context.Context, ids []string) ([]spawner.Task, error)
	StopTask(ctx context.Context, id, reason string) error
	ListOwnedTasks(ctx context.Context) ([]spawner.Task, error)
	// Address is "host:port" where players reach port, a port the game
	// listens on, of the running task (only its ID is read). It fails
	// while the task has no address yet, with an error wrapping
	// spawner.ErrNoPublicIP when it will never have one players can reach.
	Address(ctx context.Context, task spawner.Task, port int) (string, error)
}

// Store is the table of servers, the truth the mirror is loaded from.
type Store interface {
	// LoadAll reads the whole table at once: its servers, and its game
	// templates and cooldowns (which Recover gives the catalog and
	// admission only when Games and Cooldowns are set), with a problem
	// for each record it could not read.
	LoadAll(ctx context.Context) (spawner.Snapshot, error)
	Put(ctx context.Context, s spawner.Server) error
	Delete(ctx context.Context, key string) error
}

// Pinger asks a game server whether it is up and how many players it has,
// speaking proto on addr (for ProtocolA2S, the query port).
type Pinger interface {
	Ping(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error)
}

// Chat is what the lifecycle says and does in the community's chat.
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

// Default settings. A zero Options field takes its default, unless the
// field says what zero means (the same as in the variable it comes from).
const (
	// DefaultPollInterval is how often the booting servers' tasks are
	// described (all in one call) and each booting server pinged.
	DefaultPollInterval = time.Second
	// DefaultSweepInterval is the time between two sweeps of the runtime
	// when the default game sets no CheckInterval.
	DefaultSweepInterval = 5 * time.Minute
	// DefaultPingConcurrency bounds the pings and stops of one watchdog pass.
	DefaultPingConcurrency = 64
	// DefaultOrphanGrace is how old an owned task with no record must be
	// before a sweep stops it, so a creation between its task's start and
	// its record is never mistaken for an orphan.
	DefaultOrphanGrace = 2 * time.Minute
	// DefaultOrphanStopConcurrency bounds the StopTask calls for orphans in flight at once.
	DefaultOrphanStopConcurrency = 8
	// DefaultPingTimeout caps one watchdog ping (it is also at most half
	// the game's CheckInterval). The pinger's own timeout should not be shorter.
	DefaultPingTimeout = 10 * time.Second
	// DefaultMaxBackoff caps the wait between two tries of a failing
	// background step (a sweep, a message a member must read).
	DefaultMaxBackoff = 5 * time.Minute
)

// Options are the Manager's settings and the adapters it talks to. Zero
// durations and bounds take the Default... values above, except
// CreateCooldown and MaxExtensions, whose zero means none, as in their
// variables.
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
	// a creation that counted before the next (package admission); zero:
	// no cooldown.
	CreateCooldown time.Duration
	// MaxBackoff caps the wait between two tries of a failing background step.
	MaxBackoff time.Duration
	// MaxExtensions is how many times a member may extend one server
	// (admins: no limit); zero: members may not.
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
	Cooldowns admission.Cooldowns
	// Games keeps the game templates; nil: /game add is refused and only
	// Catalog is offered.
	Games catalog.Store
	// GameChecker, when set, is the runtime's check of a template at /game add.
	GameChecker catalog.Checker
	Pinger      Pinger
	Chat        Chat
	Clock       Clock        // RealClock when nil
	Log         *slog.Logger // slog.Default() when nil
	Metrics     Metrics      // none when nil
	Events      feed.Events  // the web feed; none when nil
	Links       Links        // links to the web pages in status messages; none when nil
	// Alerts is told, beside the log channel, of the failures admins
	// should hear of outside the chat (alert.go); none when nil.
	Alerts Alerts
	// Sessions keeps each server's session, for what it cost (session.go);
	// nil: none is recorded.
	Sessions Sessions
	// SessionDefaults are what a session records where the game and the
	// task say nothing: the runtime's capacity, region and task size.
	SessionDefaults SessionDefaults
	// Worlds keeps the worlds' records, WorldContent their content and
	// backups (package worlds). With either nil the bot keeps no worlds:
	// a creation of a game with a world is refused (spawner.RefusedWorldsOff).
	Worlds       worlds.Store
	WorldContent worlds.Content
	// KeepPorts says the runtime publishes games on host ports it
	// chooses, so that a world can keep one (Docker): a world keeps the
	// host port of its server while it runs and while it sleeps after it
	// (sleep.go). False: a world is stored at the end of its server.
	KeepPorts bool
	// Sleepers answers for asleep worlds on their ports; nil: none is
	// answered for, and only a command or a Wake button wakes a world.
	Sleepers Sleepers
	// Members reads a world's owner's roles for a wake outside any
	// interaction (wake.go); nil: a wake by login is refused, and so is
	// a Wake button clicked by an admin for a world not theirs.
	Members Members
	// SleepMax is how long an asleep world keeps its port after it was
	// last played (WORLD_SLEEP_MAX); zero: DefaultSleepMax.
	SleepMax time.Duration
}

// withDefaults returns o with every zero setting given its default.
func (o Options) withDefaults() Options {
	o.PollInterval = cmp.Or(o.PollInterval, DefaultPollInterval)
	o.OrphanGrace = cmp.Or(o.OrphanGrace, DefaultOrphanGrace)
	o.PingTimeout = cmp.Or(o.PingTimeout, DefaultPingTimeout)
	o.MaxBackoff = cmp.Or(o.MaxBackoff, DefaultMaxBackoff)
	o.SleepMax = cmp.Or(o.SleepMax, DefaultSleepMax)
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

// Manager runs the fleet. Create, Stop, Servers and the other requests are
// safe for concurrent use; Recover must complete before Create accepts
// requests; Run drives the sweep until its context ends; Close ends every
// worker the Manager started and waits for them.
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
	// sleepers answers for asleep worlds, members reads their owners'
	// roles (sleep.go, wake.go); either may be nil.
	sleepers Sleepers
	members  Members

	// The parts, each the owner of its state.
	fleet     *fleet               // the servers and their phases
	admission *admission.Admission // the fleet's cap, one server per member, the cooldowns
	catalog   *catalog.Catalog     // the games offered and kept
	feed      *feed.Feed           // what the live pages were told of each server
	closer    *tickets.Closer      // the ticket channels waiting for their close delay
	beat      *beat                // the booting servers' shared description (beat.go)
	sessions  *sessionBook         // the sessions of the servers, for their cost (session.go)
	worlds    *worlds.Worlds       // the worlds, the server playing each, their operations

	// ctx is the Manager's own: Close cancels it, and every worker the
	// Manager started stops with it.
	ctx       context.Context
	cancel    context.CancelFunc
	recovered atomic.Bool
	workers   workers
	wake      chan struct{} // wakes Run's loop before its next event
}

// New returns a Manager with o's settings. It starts nothing: Recover,
// then Run, and Close at the end.
func New(o Options) *Manager {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	games := catalog.New(o.Catalog, o.Games, o.GameChecker, o.Limits)
	m := &Manager{
		cfg: o, tasks: o.Tasks, store: o.Store, pinger: o.Pinger, chat: o.Chat,
		clock: o.Clock, log: o.Log, metrics: o.Metrics, rcon: o.RCON,
		sleepers: o.Sleepers, members: o.Members,
		fleet:     newFleet(),
		admission: admission.New(o.MaxServers, o.CreateCooldown, o.Cooldowns, o.Log),
		catalog:   games,
		feed:      feed.New(o.Events, o.Clock.Now),
		// A delete that fails is tried again at the next sweep.
		closer: tickets.New(o.Chat, o.Log, o.Clock.Now, o.TicketCloseDelay, sweepInterval(games.Default())),
		ctx:    ctx, cancel: cancel,
		wake:     make(chan struct{}, 1),
		sessions: newSessionBook(o.Sessions, o.SessionDefaults, o.Log),
		worlds:   worlds.New(o.Worlds, o.WorldContent, o.Clock.Now, o.Log),
	}
	m.feed.Worlds(m.worlds.Event)
	m.beat = &beat{every: o.PollInterval, tasks: o.Tasks, booting: m.fleet.bootingTasks}
	return m
}

// Close refuses new creations, ends every worker the Manager started
// (creations abandon their work safely: the table tells a restart where
// they were) and waits for them. Servers keep running and recorded. Close
// is idempotent.
func (m *Manager) Close() error {
	m.workers.close()
	m.cancel()
	m.workers.wait()
	return nil
}

// Wait blocks until every worker the Manager started has returned.
func (m *Manager) Wait() { m.workers.wait() }

// closed reports whether Close was called.
func (m *Manager) closed() bool { return m.ctx.Err() != nil }

// workers are the goroutines the Manager starts: creations, the messages
// a member must read, the looks at a task's change. Close refuses new ones
// and waits for those running.
type workers struct {
	mu      sync.Mutex
	closing bool
	running sync.WaitGroup
}

// run runs f in a goroutine Close waits for, and reports whether it did:
// not once Close was called.
func (w *workers) run(f func()) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return false
	}
	w.running.Add(1)
	go func() {
		defer w.running.Done()
		f()
	}()
	return true
}

func (w *workers) close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
}

func (w *workers) wait() { w.running.Wait() }

// stopping reports whether Close was called: no new worker starts.
func (w *workers) stopping() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closing
}

// goWorker runs f in a worker, unless Close was called.
func (m *Manager) goWorker(f func()) { m.workers.run(f) }

// track puts e in the fleet and has the feed follow it; admission gave it
// its place first.
func (m *Manager) track(e *entry) {
	m.fleet.add(e)
	m.feed.Follow(e.id)
}

// untrack takes server id out of the fleet, the feed and admission. When
// its owner stopped it (ownerStopped), its creation counts toward their
// cooldown. It returns until when the owner's cooldown refuses them a
// creation (zero: none).
func (m *Manager) untrack(ctx context.Context, id string, ownerStopped bool) time.Time {
	if _, srv, ok := m.fleet.get(id); ok && srv.WorldID != "" {
		// A creation that ended before its world was prepared: a world it
		// woke goes back to sleep.
		if w, ok := m.worlds.Unclaim(srv.WorldID, id); ok {
			m.sleep(ctx, w)
		}
	}
	m.fleet.remove(id)
	m.feed.Forget(id)
	return m.admission.Leave(ctx, id, ownerStopped, m.clock.Now())
}

// Servers returns the servers by visible to who: every server for an admin,
// their own for anyone else, oldest first.
func (m *Manager) Servers(who spawner.Actor) []spawner.Server { return m.fleet.servers(who) }

// StopsAt is when the runtime watchdog stops s: s.StopsAt when set (moved
// by /server extend), else its creation time plus its game's MaxDuration.
func (m *Manager) StopsAt(s spawner.Server) time.Time {
	return s.StopTime(m.gameOf(s))
}

// poke wakes Run's loop: something is due sooner than it planned.
func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Manager) lang(s spawner.Server) text.Lang {
	if s.Locale != "" {
		return text.For(s.Locale)
	}
	return text.For(m.cfg.Locale)
}

func (m *Manager) logLang() text.Lang { return text.For(m.cfg.Locale) }

// localeOf is the locale of the messages about s (see lang).
func (m *Manager) localeOf(s spawner.Server) string { return cmp.Or(s.Locale, m.cfg.Locale) }

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

type nopMetrics struct{}

func (nopMetrics) Created(string)              {}
func (nopMetrics) Stopped(spawner.StopCause)   {}
func (nopMetrics) Warned(string)               {}
func (nopMetrics) Pinged(time.Duration, error) {}
