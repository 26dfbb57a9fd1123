package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mineral-contest/spawner/internal/backoff"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// Run drives the watchdogs until ctx ends: at once, then whenever a
// player-count check, a runtime warning or stop, a ticket channel to close
// or the periodic sweep of the runtime is due. The sweep runs at the
// fleet's interval, the default game's CheckInterval: a game's own
// checkInterval sets how often its servers are probed, never how often the
// runtime is read. A sweep that cannot read the runtime is tried again with a backoff that grows up
// to MaxBackoff (whatever the interval, so throttling gets relief), logged
// once and again at most every MaxBackoff, and its recovery is logged. Run
// returns nil when ctx ends; the workers it leaves are ended by Close.
// Servers keep running and recorded.
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
// it works again. The backoff counts the failures.
type loopHealth struct {
	what     string
	log      *slog.Logger
	clock    Clock
	every    time.Duration
	b        backoff.Backoff
	loggedAt time.Time
}

// failed records a failure and returns how long to wait before trying again.
func (h *loopHealth) failed(err error) time.Duration {
	wait := h.b.Next()
	now := h.clock.Now()
	if n := h.b.Failures(); n == 1 || now.Sub(h.loggedAt) >= h.every {
		h.log.Warn(h.what+" failed; retrying with backoff", "err", err, "failures", n)
		h.loggedAt = now
	}
	return wait
}

// ok records a success, saying so when it ends a run of failures.
func (h *loopHealth) ok() {
	if n := h.b.Failures(); n > 0 {
		h.log.Info(h.what+" recovered", "failures", n)
	}
	h.b.Reset()
}

// sweepInterval is the fleet's interval between two sweeps: the
// default game's CheckInterval (the variables'), whatever other games set.
func (m *Manager) sweepInterval() time.Duration { return sweepInterval(m.catalog.Default()) }

func sweepInterval(defaultGame spawner.Game) time.Duration {
	return spawner.PositiveOr(defaultGame.CheckInterval, DefaultSweepInterval)
}

// nextEvent is the earliest time something is due, at the latest nextSweep.
func (m *Manager) nextEvent(nextSweep time.Time) time.Time {
	limit := nextSweep
	if c := m.closer.Next(); !c.IsZero() && c.Before(limit) {
		limit = c
	}
	return nextDue(m.fleet.views(), limit)
}

// Pass does what is due at now: closes ticket channels, retries stops and
// saves that failed, and (when sweep) reads every tracked task's state
// and stops the owned tasks nobody tracks; then runs the runtime watchdog
// and the player-count checks that are due, and (when sweep) stores the
// worlds asleep for longer than SleepMax. Pings and stops fan out with a
// bound. Run calls it; tests call it directly with a fake clock.
func (m *Manager) Pass(ctx context.Context, now time.Time, sweep bool) { _ = m.pass(ctx, now, sweep) }

// pass is Pass, returning the error that kept the sweep from reading the runtime.
// It reads, plans with a pure function (planPass), then acts.
func (m *Manager) pass(ctx context.Context, now time.Time, sweep bool) error {
	m.closer.CloseDue(ctx, now)
	in, err := m.readPass(ctx, now, sweep)
	m.actPass(ctx, now, planPass(in))
	if sweep {
		m.expireSleep(ctx, now)
	}
	return err
}

// readPass reads what a pass plans on: the fleet and, when it sweeps, the
// runtime's state of every tracked task (the owned ones through ListTasks,
// the others by DescribeTasks, 100 at a time in the adapter). It returns
// the error that kept it from reading the runtime: nothing is then
// concluded about any server's task, nor about orphans.
func (m *Manager) readPass(ctx context.Context, now time.Time, sweep bool) (passInput, error) {
	in := passInput{now: now, sweep: sweep, grace: m.cfg.OrphanGrace}
	if !sweep {
		in.servers = m.fleet.views()
		return in, nil
	}
	owned, err := m.tasks.ListOwnedTasks(ctx)
	// The fleet is read after the list: a creation that records its task
	// meanwhile is known, by its creation id at least.
	in.servers = m.fleet.views()
	if err != nil {
		return in, fmt.Errorf("list owned tasks: %w", err)
	}
	state := make(map[string]spawner.Task, len(owned))
	for _, t := range owned {
		state[t.ID] = t
	}
	var rest []string
	for _, v := range in.servers {
		if _, ok := state[v.srv.TaskID]; v.srv.TaskID != "" && !ok && v.phase != phaseCreating {
			rest = append(rest, v.srv.TaskID)
		}
	}
	if len(rest) > 0 {
		described, err := m.tasks.DescribeTasks(ctx, rest)
		if err != nil {
			return in, fmt.Errorf("describe tasks: %w", err)
		}
		for _, t := range described {
			if slices.Contains(rest, t.ID) {
				state[t.ID] = t
			}
		}
	}
	in.tasks, in.owned = state, owned
	return in, nil
}

// actPass carries out plan p: stops the orphans, then commits each
// server's check (commit) and does it, the pings and stops fanned out
// with a bound.
func (m *Manager) actPass(ctx context.Context, now time.Time, p passPlan) {
	m.stopOrphans(ctx, p.orphans)
	// Sized once and read in place: a check holds copies of its server
	// and game (some 750 bytes); growing the slice and copying each check
	// into its goroutine made a fleet's worth of them several times over.
	due := make([]check, 0, len(p.checks))
	for _, c := range p.checks {
		if m.commit(c) {
			due = append(due, c)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.PingConcurrency)
	for i := range due {
		g.Go(func() error {
			m.act(gctx, now, due[i])
			return nil
		})
	}
	_ = g.Wait()
}

// commit applies to c's server the changes its plan made (the runtime
// warning sent, the next player check), unless the server
// changed since it was read (it ended, was extended, or was checked): the
// next pass plans it again. It reports whether c is to be done.
func (m *Manager) commit(c check) bool {
	ok := false
	m.fleet.update(c.id, func(e *entry) {
		if e.phase != c.phase || !e.nextCheck.Equal(c.view.nextCheck) || e.srv.RuntimeWarned != c.srv.RuntimeWarned ||
			!e.srv.StopTime(e.game).Equal(c.srv.StopTime(c.game)) {
			return
		}
		ok = true
		if c.warnEnd {
			e.srv.RuntimeWarned = true
		}
		if c.ping {
			e.nextCheck = c.nextCheck
		}
	})
	return ok
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
	if err := m.tasks.StopTask(ctx, t.ID, "spawner: "+string(spawner.CauseOrphan)); err != nil {
		if ctx.Err() == nil {
			m.log.Error("stop orphaned task", "task", t.ID, "err", err)
		}
		return
	}
	m.log.Warn("stopped orphaned task", "task", t.ID, "user", t.Tags[spawner.TagOwner])
	m.metrics.Stopped(spawner.CauseOrphan)
	orphan := spawner.Server{TaskID: t.ID, Owner: t.Tags[spawner.TagOwner]}
	_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogStopped(orphan, spawner.CauseOrphan, "", ""), Key: msgKey(orphan, "log-orphan")})
	if ch := t.Tags[spawner.TagChannel]; ch != "" {
		m.closeLater(ch)
	}
}
