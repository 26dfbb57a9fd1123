package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mineral-contest/spawner/internal/backoff"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// Run drives the watchdogs until ctx ends: at once, then whenever a
// player-count check, a runtime warning or stop, a ticket channel to close
// or the periodic ECS sweep is due. The sweep runs at the fleet's
// interval, the default game's CheckInterval: a game's own checkInterval
// sets how often its servers are probed, never how often ECS is read. A
// sweep that cannot read ECS is tried again with a backoff that grows up
// to MaxBackoff (whatever the interval, so throttling gets relief), logged
// once and again at most every MaxBackoff, and its recovery is logged. Run returns nil when ctx ends;
// the workers it leaves are ended by Close. Servers keep running and
// recorded.
func (m *Manager) Run(ctx context.Context) error {
	interval := m.sweepInterval()
	nextSweep := m.clock.Now()
	health := loopHealth{what: "sweep", log: m.log, clock: m.clock, every: m.cfg.MaxBackoff,
		b: backoff.Backoff{Min: m.cfg.PollInterval, Max: m.cfg.MaxBackoff}}
	for {
		now := m.clock.Now()
		sweep := !now.Before(nextSweep)
		err := m.pass(ctx, now, sweep)
		if sweep {
			nextSweep = now.Add(interval)
			if err != nil && ctx.Err() == nil {
				nextSweep = now.Add(health.failed(err))
			} else if err == nil {
				health.ok()
			}
		}
		wait := max(m.nextEvent(nextSweep).Sub(m.clock.Now()), 0)
		select {
		case <-ctx.Done():
			return nil
		case <-m.clock.After(wait):
		case <-m.wake:
		}
	}
}

// loopHealth is how a background loop backs off and logs its failures: the
// first one at once, then at most one line per every, and one line when
// it works again.
type loopHealth struct {
	what     string
	log      *slog.Logger
	clock    Clock
	every    time.Duration
	b        backoff.Backoff
	failures int
	loggedAt time.Time
}

// failed records a failure and returns how long to wait before trying again.
func (h *loopHealth) failed(err error) time.Duration {
	h.failures++
	now := h.clock.Now()
	if h.failures == 1 || now.Sub(h.loggedAt) >= h.every {
		h.log.Warn(h.what+" failed; retrying with backoff", "err", err, "failures", h.failures)
		h.loggedAt = now
	}
	return h.b.Next()
}

// ok records a success, saying so when it ends a run of failures.
func (h *loopHealth) ok() {
	if h.failures > 0 {
		h.log.Info(h.what+" recovered", "failures", h.failures)
	}
	h.failures = 0
	h.b.Reset()
}

// sweepInterval is the fleet's interval between two ECS sweeps: the
// default game's CheckInterval (the variables'), whatever other games set.
func (m *Manager) sweepInterval() time.Duration {
	return spawner.PositiveOr(m.defaultGame().CheckInterval, DefaultSweepInterval)
}

// nextEvent is the earliest time something is due, at the latest nextSweep.
func (m *Manager) nextEvent(nextSweep time.Time) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := nextSweep
	earlier := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	for _, c := range m.closes {
		earlier(c.at)
	}
	for _, e := range m.entries {
		if e.phase != phaseWatched {
			continue // a worker owns it, or its end is retried at the next sweep
		}
		end := stopsAt(e.srv, e.game)
		if !e.srv.RuntimeWarned {
			earlier(end.Add(-e.game.MaxDurationWarning))
		}
		earlier(end)
		if countsPlayers(e.game) {
			earlier(e.nextCheck)
		}
	}
	return next
}

// check is one server's part of a pass.
type check struct {
	id        string
	srv       spawner.Server
	game      spawner.Game
	ping      bool
	end       *ending
	warnEnd   bool
	retryStop bool
	save      bool
	hostPorts map[int]int
}

// Pass does what is due at now: closes ticket channels, retries stops and
// saves that failed, and (when sweep) reads every tracked task's ECS state
// and stops the owned tasks nobody tracks; then runs the runtime watchdog
// and the player-count checks that are due. Pings and stops fan out with a
// bound. Run calls it; tests call it directly with a fake clock.
func (m *Manager) Pass(ctx context.Context, now time.Time, sweep bool) { _ = m.pass(ctx, now, sweep) }

// pass is Pass, returning the error that kept the sweep from reading ECS.
func (m *Manager) pass(ctx context.Context, now time.Time, sweep bool) error {
	m.closeDue(ctx, now)
	var ecsState map[string]spawner.Task
	var err error
	if sweep {
		ecsState, err = m.sweepECS(ctx, now)
	}
	m.mu.Lock()
	// Sized once and read in place: a check holds copies of its server
	// and game (some 750 bytes); growing the slice and copying each check
	// into its goroutine made a fleet's worth of them several times over.
	checks := make([]check, 0, len(m.entries))
	for id, e := range m.entries {
		if c, ok := m.checkLocked(id, e, now, sweep, ecsState); ok {
			checks = append(checks, c)
		}
	}
	m.mu.Unlock()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.PingConcurrency)
	for i := range checks {
		g.Go(func() error {
			m.act(gctx, now, checks[i])
			return nil
		})
	}
	_ = g.Wait()
	return err
}

// checkLocked decides what is due for one server at now; the caller holds m.mu.
func (m *Manager) checkLocked(id string, e *entry, now time.Time, sweep bool, ecsState map[string]spawner.Task) (check, bool) {
	c := check{id: id, srv: e.srv, game: e.game}
	switch e.phase {
	case phaseEndWanted:
		c.retryStop = sweep
		return c, sweep
	case phaseWatched:
	default:
		return c, false // a worker owns it
	}
	c.save = e.unsaved && sweep
	if ecsState != nil && e.srv.TaskARN != "" {
		t, found := ecsState[e.srv.TaskARN]
		if !found || t.Stopped() {
			c.end = &ending{cause: spawner.CauseTaskEnded, detail: taskEnded(t), task: &t}
			return c, true
		}
		if t.Ports != nil {
			e.hostPorts = t.Ports
		}
	}
	c.hostPorts = e.hostPorts
	end := stopsAt(e.srv, e.game)
	switch {
	case !now.Before(end):
		c.end = &ending{cause: spawner.CauseRuntime}
	case !e.srv.RuntimeWarned && !now.Before(end.Add(-e.game.MaxDurationWarning)):
		e.srv.RuntimeWarned = true
		c.warnEnd = true
	}
	if c.end == nil && countsPlayers(e.game) && !now.Before(e.nextCheck) {
		c.ping = true
		e.nextCheck = now.Add(e.game.CheckInterval)
	}
	return c, c.end != nil || c.warnEnd || c.ping || c.save
}

func (m *Manager) act(ctx context.Context, now time.Time, c check) {
	if c.save {
		m.save(ctx, c.id)
	}
	switch {
	case c.retryStop:
		_ = m.finish(ctx, c.id, ending{}) // keeps the ending remembered
		return
	case c.end != nil:
		_ = m.finish(ctx, c.id, *c.end)
		return
	}
	if c.warnEnd {
		m.warnRuntime(ctx, c)
	}
	if c.ping {
		m.checkPlayers(ctx, now, c)
	}
}

// warnRuntime tells the owner their server stops soon.
func (m *Manager) warnRuntime(ctx context.Context, c check) {
	gone, live := m.live(c.id)
	if !live {
		return
	}
	m.save(ctx, c.id) // a restart must not warn again
	m.metrics.Warned("runtime")
	m.publishWarning(c.id, "runtime", 1, 1)
	stops := stopsAt(c.srv, c.game)
	m.mustSay(ctx, c.srv.ChannelID, spawner.Message{
		Content: m.lang(c.srv).RuntimeWarning(c.srv.Owner, stops), Mentions: []string{c.srv.Owner},
		// An extension moves the stop time and warns again: another message.
		Key: msgKey(c.srv, "warn-runtime-"+strconv.FormatInt(stops.UnixMilli(), 10)),
	}, "runtime warning", gone)
}

// checkPlayers is the player-count watchdog's check of one server.
func (m *Manager) checkPlayers(ctx context.Context, now time.Time, c check) {
	pctx, cancel := context.WithTimeout(ctx, m.pingTimeout(c.game))
	ping, err := m.pinger.Ping(pctx, c.game.ProbeProtocol(), probeAddr(c.srv, c.game, c.hostPorts))
	cancel()
	if ctx.Err() != nil {
		return
	}
	m.metrics.Pinged(ping.Latency, err)
	enough := err == nil && ping.Online >= c.game.MinPlayers
	var k int
	var reset, ended, moved bool
	var gone <-chan struct{}
	_, found := m.update(c.id, func(e *entry) {
		gone = e.gone
		switch {
		case e.ended():
			ended = true
		case enough:
			moved = e.srv.Players != ping.Online
			e.srv.Players = ping.Online
			reset = e.srv.Warnings > 0
			e.srv.Warnings = 0
		default:
			if err == nil {
				e.srv.Players = ping.Online
			}
			e.srv.Warnings++
			k = e.srv.Warnings
		}
	})
	if !found || ended {
		return // stopped while it was pinged
	}
	if err == nil {
		m.publishPlayers(c.id, ping.Online)
	}
	lang := m.lang(c.srv)
	log := m.log.With("task", c.srv.TaskARN, "user", c.srv.Owner, "channel", c.srv.ChannelID)
	// Warning k comes again after players came back and left: the check's
	// time tells those messages apart.
	checkAt := strconv.FormatInt(now.UnixMilli(), 10)
	switch {
	case enough && reset:
		log.Info("players back; warnings reset", "players", ping.Online)
		m.save(ctx, c.id) // a restart carries the count on
		_, _ = m.chat.Send(ctx, c.srv.ChannelID, spawner.Message{Content: lang.PlayersBack(ping.Online), Key: msgKey(c.srv, "players-back-"+checkAt)})
	case enough && moved:
		m.save(ctx, c.id) // a restart shows the last count, not the one at ready
	case enough:
	case k > c.game.WarningCount:
		log.Info("too few players after the last warning", "players", ping.Online, "err", err)
		_ = m.finish(ctx, c.id, ending{cause: spawner.CausePlayers})
	default:
		log.Info("too few players; warning", "warning", k, "of", c.game.WarningCount, "players", ping.Online, "err", err)
		m.metrics.Warned("players")
		m.publishWarning(c.id, "players", k, c.game.WarningCount)
		m.save(ctx, c.id) // a restart carries the count on
		next := now.Add(c.game.CheckInterval)
		m.mustSay(ctx, c.srv.ChannelID, spawner.Message{
			Content:  lang.PlayerWarning(c.srv.Owner, k, c.game.WarningCount, ping.Online, c.game.MinPlayers, err == nil, next),
			Mentions: []string{c.srv.Owner},
			Key:      msgKey(c.srv, "warn-players-"+strconv.Itoa(k)+"-"+checkAt),
		}, "player warning", gone)
	}
}

// live reports whether server id is watched and not ending, with the
// channel closed when it leaves the mirror.
func (m *Manager) live(id string) (<-chan struct{}, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	if !ok || e.ended() {
		return nil, false
	}
	return e.gone, true
}

// pingTimeout bounds one watchdog ping: half the check interval, at most PingTimeout.
func (m *Manager) pingTimeout(g spawner.Game) time.Duration {
	d := g.CheckInterval / 2
	if d > m.cfg.PingTimeout || d <= 0 {
		d = m.cfg.PingTimeout
	}
	return d
}

// sweepECS reads the ECS state of every tracked task (the owned ones through
// ListTasks, the others by DescribeTasks, 100 at a time in the adapter) and
// stops owned tasks that nothing tracks and that are older than the grace
// window. It returns the state by ARN, or the error that kept it from
// reading ECS (nothing is then concluded about any server).
func (m *Manager) sweepECS(ctx context.Context, now time.Time) (map[string]spawner.Task, error) {
	owned, err := m.tasks.ListOwnedTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list owned tasks: %w", err)
	}
	state := make(map[string]spawner.Task, len(owned))
	for _, t := range owned {
		state[t.ARN] = t
	}
	var rest []string
	var tracked tracking
	m.mu.Lock()
	for _, e := range m.entries {
		tracked.add(e.srv)
		if _, ok := state[e.srv.TaskARN]; e.srv.TaskARN != "" && !ok && e.phase != phaseCreating {
			rest = append(rest, e.srv.TaskARN)
		}
	}
	m.mu.Unlock()
	if len(rest) > 0 {
		described, err := m.tasks.DescribeTasks(ctx, rest)
		if err != nil {
			return nil, fmt.Errorf("describe tasks: %w", err)
		}
		for _, t := range described {
			if slices.Contains(rest, t.ARN) {
				state[t.ARN] = t
			}
		}
	}
	m.stopOrphans(ctx, orphans(owned, tracked, now, m.cfg.OrphanGrace))
	return state, nil
}

// stopOrphans stops owned tasks that have no record and says so in the log channel.
func (m *Manager) stopOrphans(ctx context.Context, orphans []spawner.Task) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.OrphanStopConcurrency)
	for _, t := range orphans {
		g.Go(func() error {
			m.stopOrphan(gctx, t)
			return nil
		})
	}
	_ = g.Wait()
}

func (m *Manager) stopOrphan(ctx context.Context, t spawner.Task) {
	if err := m.tasks.StopTask(ctx, t.ARN, "spawner: "+string(spawner.CauseOrphan)); err != nil {
		if ctx.Err() == nil {
			m.log.Error("stop orphaned task", "task", t.ARN, "err", err)
		}
		return
	}
	m.log.Warn("stopped orphaned task", "task", t.ARN, "user", t.Tags[spawner.TagOwner])
	m.metrics.Stopped(spawner.CauseOrphan)
	orphan := spawner.Server{TaskARN: t.ARN, Owner: t.Tags[spawner.TagOwner]}
	_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogStopped(orphan, spawner.CauseOrphan, "", ""), Key: msgKey(orphan, "log-orphan")})
	if ch := t.Tags[spawner.TagChannel]; ch != "" {
		m.closeLater(ch)
	}
}

// closeDue deletes the ticket channels whose close delay is over.
func (m *Manager) closeDue(ctx context.Context, now time.Time) {
	m.mu.Lock()
	var due []closing
	kept := m.closes[:0]
	for _, c := range m.closes {
		if !now.Before(c.at) {
			due = append(due, c)
		} else {
			kept = append(kept, c)
		}
	}
	m.closes = kept
	m.mu.Unlock()
	for _, c := range due {
		if err := m.chat.DeleteChannel(ctx, c.channelID); err != nil && ctx.Err() == nil {
			m.log.Warn("delete ticket channel; retrying later", "channel", c.channelID, "err", err)
			c.at = now.Add(m.sweepInterval())
			m.mu.Lock()
			m.closes = append(m.closes, c)
			m.mu.Unlock()
			continue
		}
		close(c.done)
	}
}

// closeOneEarly deletes the ticket channel of an ended server that is the
// closest to its close delay, to free its slot in a full category. It
// reports whether one was deleted.
func (m *Manager) closeOneEarly(ctx context.Context) bool {
	m.mu.Lock()
	if len(m.closes) == 0 {
		m.mu.Unlock()
		return false
	}
	first := 0
	for i, c := range m.closes {
		if c.at.Before(m.closes[first].at) {
			first = i
		}
	}
	c := m.closes[first]
	m.closes = slices.Delete(m.closes, first, first+1)
	m.mu.Unlock()
	if err := m.chat.DeleteChannel(ctx, c.channelID); err != nil {
		m.log.Warn("delete a lingering ticket channel early", "channel", c.channelID, "err", err)
		m.mu.Lock()
		m.closes = append(m.closes, c)
		m.mu.Unlock()
		return false
	}
	m.log.Info("ticket category full: closed a lingering ticket channel early", "channel", c.channelID)
	close(c.done)
	return true
}
