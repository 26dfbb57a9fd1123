package lifecycle

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Run drives the watchdogs until ctx ends: at once, then whenever a
// player-count check, a runtime warning or stop, a ticket channel to close
// or the periodic ECS sweep is due. It returns nil when ctx ends, after the
// creation workers have returned; servers keep running and recorded.
func (m *Manager) Run(ctx context.Context) error {
	interval := m.sweepInterval()
	nextSweep := m.clock.Now()
	for {
		now := m.clock.Now()
		sweep := !now.Before(nextSweep)
		m.Pass(ctx, now, sweep)
		if sweep {
			nextSweep = now.Add(interval)
		}
		wait := m.nextEvent(nextSweep).Sub(m.clock.Now())
		if wait < 0 {
			wait = 0
		}
		select {
		case <-ctx.Done():
			m.shutdown()
			return nil
		case <-m.clock.After(wait):
		case <-m.wake:
		}
	}
}

func (m *Manager) sweepInterval() time.Duration {
	var d time.Duration
	for _, g := range m.cfg.Catalog {
		if d == 0 || g.CheckInterval < d {
			d = g.CheckInterval
		}
	}
	if d <= 0 {
		d = 5 * time.Minute
	}
	return d
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
		if e.booting || e.stopping {
			continue
		}
		if e.stop != nil {
			continue // retried at the next sweep, not in a tight loop
		}
		end := e.srv.CreatedAt.Add(e.game.MaxDuration)
		if !e.srv.RuntimeWarned {
			earlier(end.Add(-e.game.MaxDurationWarning))
		}
		earlier(end)
		if e.game.MinPlayers > 0 {
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
}

// Pass does what is due at now: closes ticket channels, retries stops and
// saves that failed, and (when sweep) reads every tracked task's ECS state
// and stops the owned tasks nobody tracks; then runs the runtime watchdog
// and the player-count checks that are due. Pings and stops fan out with a
// bound. Run calls it; tests call it directly with a fake clock.
func (m *Manager) Pass(ctx context.Context, now time.Time, sweep bool) {
	m.closeDue(ctx, now)

	var ecsState map[string]spawner.Task
	if sweep {
		ecsState = m.sweepECS(ctx, now)
	}

	var checks []check
	m.mu.Lock()
	for id, e := range m.entries {
		if e.stopping {
			continue
		}
		c := check{id: id, srv: e.srv, game: e.game}
		switch {
		case e.stop != nil:
			if sweep {
				c.retryStop = true
				checks = append(checks, c)
			}
			continue
		case e.booting:
			continue
		}
		if e.dirty && sweep {
			c.save = true
		}
		if ecsState != nil && e.srv.TaskARN != "" {
			t, found := ecsState[e.srv.TaskARN]
			if !found || t.Stopped() {
				tc := t
				c.end = &ending{cause: spawner.CauseTaskEnded, detail: taskEnded(tc), task: &tc}
				checks = append(checks, c)
				continue
			}
		}
		end := e.srv.CreatedAt.Add(e.game.MaxDuration)
		switch {
		case !now.Before(end):
			c.end = &ending{cause: spawner.CauseRuntime}
		case !e.srv.RuntimeWarned && !now.Before(end.Add(-e.game.MaxDurationWarning)):
			e.srv.RuntimeWarned = true
			c.warnEnd = true
		}
		if c.end == nil && e.game.MinPlayers > 0 && !now.Before(e.nextCheck) {
			c.ping = true
			e.nextCheck = now.Add(e.game.CheckInterval)
		}
		if c.end != nil || c.warnEnd || c.ping || c.save {
			checks = append(checks, c)
		}
	}
	m.mu.Unlock()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.PingConcurrency)
	for _, c := range checks {
		g.Go(func() error {
			m.act(gctx, now, c)
			return nil
		})
	}
	_ = g.Wait()
}

func (m *Manager) act(ctx context.Context, now time.Time, c check) {
	lang := m.lang(c.srv)
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
	if c.warnEnd && m.live(c.id) {
		m.save(ctx, c.id) // a restart must not warn again
		m.metrics.Warned("runtime")
		end := c.srv.CreatedAt.Add(c.game.MaxDuration)
		if _, err := m.chat.Send(ctx, c.srv.ChannelID, spawner.Message{
			Content: lang.RuntimeWarning(c.srv.Owner, end), Mentions: []string{c.srv.Owner},
		}); err != nil && ctx.Err() == nil {
			m.log.Warn("send runtime warning", "task", c.srv.TaskARN, "err", err)
		}
	}
	if !c.ping {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout(c.game))
	ping, err := m.pinger.Ping(pctx, c.srv.HostPort())
	cancel()
	if ctx.Err() != nil {
		return
	}
	m.metrics.Pinged(ping.Latency, err)
	enough := err == nil && ping.Online >= c.game.MinPlayers
	var k int
	var reset, ended bool
	_, found := m.update(c.id, func(e *entry) {
		if e.stopping || e.stop != nil {
			ended = true
			return
		}
		if enough {
			reset = e.srv.Warnings > 0
			e.srv.Warnings = 0
			return
		}
		e.srv.Warnings++
		k = e.srv.Warnings
	})
	if !found || ended {
		return // stopped while it was pinged
	}
	log := m.log.With("task", c.srv.TaskARN, "user", c.srv.Owner, "channel", c.srv.ChannelID)
	switch {
	case enough && reset:
		log.Info("players back; warnings reset", "players", ping.Online)
		m.save(ctx, c.id) // a restart carries the count on
		_, _ = m.chat.Send(ctx, c.srv.ChannelID, spawner.Message{Content: lang.PlayersBack(ping.Online)})
	case enough:
	case k > c.game.WarningCount:
		log.Info("too few players after the last warning", "players", ping.Online, "err", err)
		_ = m.finish(ctx, c.id, ending{cause: spawner.CausePlayers})
	default:
		log.Info("too few players; warning", "warning", k, "of", c.game.WarningCount, "players", ping.Online, "err", err)
		m.metrics.Warned("players")
		m.save(ctx, c.id) // a restart carries the count on
		next := now.Add(c.game.CheckInterval)
		if _, err := m.chat.Send(ctx, c.srv.ChannelID, spawner.Message{
			Content:  lang.PlayerWarning(c.srv.Owner, k, c.game.WarningCount, ping.Online, c.game.MinPlayers, err == nil, next),
			Mentions: []string{c.srv.Owner},
		}); err != nil && ctx.Err() == nil {
			log.Warn("send player warning", "err", err)
		}
	}
}

// live reports whether server id is tracked and not being stopped.
func (m *Manager) live(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[id]
	return ok && !e.stopping && e.stop == nil
}

func pingTimeout(g spawner.Game) time.Duration {
	d := g.CheckInterval / 2
	if d > 10*time.Second || d <= 0 {
		d = 10 * time.Second
	}
	return d
}

// sweepECS reads the ECS state of every tracked task (the owned ones through
// ListTasks, the others by DescribeTasks, 100 at a time in the adapter) and
// stops owned tasks that nothing tracks and that are older than the grace
// window. It returns the state by ARN, or nil when ECS could not be read
// (nothing is then concluded about any server).
func (m *Manager) sweepECS(ctx context.Context, now time.Time) map[string]spawner.Task {
	owned, err := m.tasks.ListOwnedTasks(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("sweep: list owned tasks", "err", err)
		}
		return nil
	}
	state := make(map[string]spawner.Task, len(owned))
	for _, t := range owned {
		state[t.ARN] = t
	}
	var rest []string
	known := make(map[string]bool)
	m.mu.Lock()
	for _, e := range m.entries {
		known[e.id] = true
		if e.srv.TaskARN == "" {
			continue
		}
		known[e.srv.TaskARN] = true
		if _, ok := state[e.srv.TaskARN]; !ok && !e.booting {
			rest = append(rest, e.srv.TaskARN)
		}
	}
	m.mu.Unlock()
	if len(rest) > 0 {
		described, err := m.tasks.DescribeTasks(ctx, rest)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("sweep: describe tasks", "err", err)
			}
			return nil
		}
		for _, t := range described {
			state[t.ARN] = t
		}
	}
	var orphans []spawner.Task
	for _, t := range owned {
		if known[t.ARN] || known[t.Tags[spawner.TagCreation]] || t.Stopped() {
			continue
		}
		if now.Sub(t.CreatedAt) < m.cfg.OrphanGrace {
			continue
		}
		orphans = append(orphans, t)
	}
	m.stopOrphans(ctx, orphans)
	return state
}

// stopOrphans stops owned tasks that have no record and says so in the log channel.
func (m *Manager) stopOrphans(ctx context.Context, orphans []spawner.Task) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, t := range orphans {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := m.tasks.StopTask(ctx, t.ARN, "spawner: "+string(spawner.CauseOrphan)); err != nil {
				m.log.Error("stop orphaned task", "task", t.ARN, "err", err)
				return
			}
			m.log.Warn("stopped orphaned task", "task", t.ARN, "user", t.Tags[spawner.TagOwner])
			m.metrics.Stopped(spawner.CauseOrphan)
			_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogStopped(spawner.Server{TaskARN: t.ARN, Owner: t.Tags[spawner.TagOwner]}, spawner.CauseOrphan, "", "")})
			if ch := t.Tags[spawner.TagChannel]; ch != "" {
				m.closeLater(ch)
			}
		}()
	}
	wg.Wait()
}

// closeDue deletes the ticket channels whose close delay is over.
func (m *Manager) closeDue(ctx context.Context, now time.Time) {
	m.mu.Lock()
	var due []string
	kept := m.closes[:0]
	for _, c := range m.closes {
		if !now.Before(c.at) {
			due = append(due, c.channelID)
		} else {
			kept = append(kept, c)
		}
	}
	m.closes = kept
	m.mu.Unlock()
	for _, ch := range due {
		if err := m.chat.DeleteChannel(ctx, ch); err != nil && ctx.Err() == nil {
			m.log.Warn("delete ticket channel; retrying later", "channel", ch, "err", err)
			m.mu.Lock()
			m.closes = append(m.closes, closing{channelID: ch, at: now.Add(m.sweepInterval())})
			m.mu.Unlock()
		}
	}
}
