package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// booting is what a creation remembers between its polls.
type booting struct {
	warnedDescr bool // a failing DescribeTasks was logged
	warnedAddr  bool // a failing address lookup was logged
}

// resume follows a server recovery found booting until it is ready.
func (c *creation) resume(ctx context.Context) {
	m := c.m
	_, srv, ok := m.fleet.get(c.id)
	if !ok {
		return
	}
	c.log.Info("resuming a server that was booting")
	m.save(ctx, c.id)
	if srv.CreationID != "" {
		_ = m.store.Delete(ctx, spawner.PendingKeyPrefix+srv.CreationID)
	}
	c.boot(ctx)
}

// boot follows a started task until its game answers a ping: RUNNING, the
// address, then pings, on the booting beat (beat.go). It is the end of a
// creation, and what a restart runs for a server it finds not ready yet.
func (c *creation) boot(ctx context.Context) {
	m := c.m
	var tick time.Time // zero: describe this task alone (first step, or woken)
	for {
		if c.stopAsked(ctx) {
			return
		}
		if done := c.bootStep(ctx, tick); done || ctx.Err() != nil {
			return
		}
		now := m.clock.Now()
		next := m.beat.next(now)
		select {
		case <-ctx.Done():
			return
		case <-m.clock.After(next.Sub(now)):
			tick = next
		case <-c.nudge:
			tick = time.Time{}
		}
	}
}

// bootStep is one poll of a booting server at tick (zero: off the beat):
// the runtime, then a ping once the address is known, then the deadlines. It
// reports whether the worker is done.
func (c *creation) bootStep(ctx context.Context, tick time.Time) bool {
	m, id, game := c.m, c.id, c.game
	_, srv, _ := m.fleet.get(id)
	tasks, err := m.beat.describe(ctx, tick, srv.TaskID)
	t, found := taskByID(tasks, srv.TaskID)
	switch {
	case ctx.Err() != nil:
		return true
	case err != nil:
		if !c.warnedDescr {
			c.log.Warn("describe booting task; will retry", "err", err)
			c.warnedDescr = true
		}
	case !found || t.Stopped():
		_ = m.finish(ctx, id, ending{cause: spawner.CauseFailed, detail: taskEnded(t), task: &t})
		return true
	default:
		c.warnedDescr = false
		var done bool
		if srv, done = c.advance(ctx, t); done {
			return true
		}
	}
	if srv.Address != "" && c.pingReady(ctx, srv) {
		return true
	}
	now := m.clock.Now() // after the ping, which may have used its whole timeout
	switch {
	case srv.RunningAt.IsZero() && now.Sub(srv.CreatedAt) >= game.ReadyTimeout:
		_ = m.finish(ctx, id, ending{cause: spawner.CauseFailed, detail: func(l text.Lang) string { return l.FailNotRunning(game.ReadyTimeout) }})
		return true
	case !srv.RunningAt.IsZero() && now.Sub(srv.RunningAt) >= game.ReadyTimeout:
		_ = m.finish(ctx, id, ending{cause: spawner.CauseNotReady, detail: func(l text.Lang) string { return l.FailNotReady(game.ReadyTimeout) }})
		return true
	}
	return false
}

// taskByID finds the task id in a DescribeTasks answer, which may hold
// others or none: never take the first one on trust.
func taskByID(tasks []spawner.Task, id string) (spawner.Task, bool) {
	for _, t := range tasks {
		if t.ID == id {
			return t, true
		}
	}
	return spawner.Task{}, false
}

// pingReady pings a booting server; when it answers, the server is ready
// and handed to the watchdogs. It reports whether it was.
func (c *creation) pingReady(ctx context.Context, srv spawner.Server) bool {
	m, game := c.m, c.game
	// A game that accepts the connection and says nothing must not hold
	// the creation past its ready deadline.
	addr := probeAddr(srv, game, m.queryAddrOf(ctx, c.id, srv, game))
	left := game.ReadyTimeout - m.clock.Now().Sub(srv.RunningAt)
	pctx, cancel := context.WithTimeout(ctx, max(left, m.cfg.PollInterval))
	ping, err := m.pinger.Ping(pctx, game.ProbeProtocol(), addr)
	cancel()
	if ctx.Err() != nil {
		return true
	}
	m.metrics.Pinged(ping.Latency, err)
	if err != nil {
		c.log.Debug("not answering yet", "err", err)
		return false
	}
	c.ready(ctx, ping)
	return true
}

// advance records what the runtime says of a booting task: the step, and
// once RUNNING the players' address and port, saved so a restart knows
// them. A RUNNING task that will have no public address fails the
// creation, with that reason; it reports whether it did.
func (c *creation) advance(ctx context.Context, t spawner.Task) (spawner.Server, bool) {
	m, id := c.m, c.id
	_, before, _ := m.fleet.get(id)
	state := stateOf(t, before.State)
	address, port := before.Address, before.Port
	if t.Status == spawner.TaskRunning && address == "" {
		a, p, err := m.playersAddress(ctx, t, cmp.Or(before.Port, c.game.Port))
		switch {
		case errors.Is(err, spawner.ErrNoPublicIP):
			c.log.Warn("task running without a public address", "err", err)
			c.noPublicIP(ctx)
			return before, true
		case err != nil:
			if !c.warnedAddr {
				c.log.Warn("task address; will retry", "err", err)
				c.warnedAddr = true
			}
			state = spawner.StatePending // RUNNING without an address yet: say so next poll
		default:
			address, port = a, p
		}
	}
	if address != "" && (state == spawner.StateRunning || state == spawner.StateBooting) {
		state = spawner.StateBooting
	}
	if state == before.State && address == before.Address {
		return before, false
	}
	now := m.clock.Now()
	srv, _ := m.fleet.update(id, func(e *entry) {
		e.srv.State = state
		if address != "" && e.srv.Address == "" {
			e.srv.Address = address
			e.srv.Port = port
			e.srv.RunningAt = now
		}
	})
	if address != "" && before.Address == "" {
		c.log.Info("task running", "address", srv.HostPort())
	}
	m.save(ctx, id)
	m.editStatus(ctx, srv, "")
	return srv, false
}

// playersAddress is the host and port where players reach the game port
// port of the running task t, as the runtime says.
func (m *Manager) playersAddress(ctx context.Context, t spawner.Task, port int) (string, int, error) {
	addr, err := m.tasks.Address(ctx, t, port)
	if err != nil {
		return "", 0, err
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("task address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || host == "" {
		return "", 0, fmt.Errorf("task address %q: not a host and a port", addr)
	}
	return host, n, nil
}

// noPublicIP ends a creation whose task runs with no public address,
// showing that it got as far as running.
func (c *creation) noPublicIP(ctx context.Context) {
	now := c.m.clock.Now()
	c.m.fleet.update(c.id, func(e *entry) {
		e.srv.State = spawner.StateRunning
		e.srv.RunningAt = now
	})
	_ = c.m.finish(ctx, c.id, ending{cause: spawner.CauseFailed, detail: text.Lang.FailNoPublicIP, err: spawner.ErrNoPublicIP})
}

// ready marks a server ready, tells its owner and hands it to the watchdogs.
func (c *creation) ready(ctx context.Context, ping spawner.Ping) {
	m, id := c.m, c.id
	now := m.clock.Now()
	var gone <-chan struct{}
	srv, ok := m.fleet.update(id, func(e *entry) {
		e.srv.State = spawner.StateReady
		e.srv.ReadyAt = now
		e.srv.Players = playersSeen(e.game, ping)
		e.nextCheck = now.Add(e.game.CheckInterval)
		gone = e.gone
	})
	if !ok {
		return
	}
	m.save(ctx, id)
	m.admission.Count(ctx, id, now) // the member got their server
	game := m.gameOf(srv)
	m.editStatus(ctx, srv, "")
	m.feed.Players(id, srv, game, ping.Online)
	worldLines := c.worldReady(ctx, srv, ping)
	m.mustSay(ctx, srv.ChannelID, spawner.Message{
		Content:  joinLines(m.lang(srv).Ready(game, srv, m.StopsAt(srv)), worldLines(m.lang(srv))),
		Mentions: []string{srv.Owner},
		Key:      msgKey(srv, "ready"),
	}, "ready message", gone)
	_ = m.chat.Log(ctx, spawner.Message{Content: joinLines(m.logLang().LogReady(srv), wokenLine(srv.WokenBy, m.logLang())), Key: msgKey(srv, "log-ready")})
	c.log.Info("server ready", "address", srv.HostPort(), "players", ping.Online, "latency", ping.Latency)
	// Hand over to the watchdogs last, so a stop never races the messages above.
	var stopBy *spawner.Actor
	m.fleet.update(id, func(e *entry) { stopBy = handOverLocked(e) })
	if stopBy != nil { // asked while the last ping was under way
		_ = m.finish(ctx, id, ending{cause: spawner.CauseCommand, by: stopBy.UserID})
		return
	}
	m.poke()
}
