package lifecycle

import (
	"context"
	"strconv"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The watchdogs act on what a pass planned for one watched server (plan.go):
// its end (its task ended, or its time is up), the warning before its
// time is up, the player-count check; and, for a server whose end failed,
// the retry.

// act does c, one server's part of a pass.
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
	gone, live := m.fleet.live(c.id)
	if !live {
		return
	}
	m.save(ctx, c.id) // a restart must not warn again
	m.metrics.Warned("runtime")
	m.feed.Warning(c.id, c.srv, c.game, "runtime", 1, 1)
	stops := c.srv.StopTime(c.game)
	m.mustSay(ctx, c.srv.ChannelID, spawner.Message{
		Content: m.lang(c.srv).RuntimeWarning(c.srv.Owner, stops), Mentions: []string{c.srv.Owner},
		// An extension moves the stop time and warns again: another message.
		Key: msgKey(c.srv, "warn-runtime-"+strconv.FormatInt(stops.UnixMilli(), 10)),
	}, "runtime warning", gone)
}

// checkPlayers is the player-count watchdog's check of one server: a
// ping, the count recorded, then what the count calls for.
func (m *Manager) checkPlayers(ctx context.Context, now time.Time, c check) {
	ping, err := m.probe(ctx, c)
	if ctx.Err() != nil {
		return
	}
	n, ok := m.countPlayers(c, ping, err)
	if !ok {
		return // stopped while it was pinged
	}
	if err == nil {
		m.feed.Players(c.id, n.srv, c.game, ping.Online)
		m.keepStatus(ctx, n.srv, ping)
	}
	m.answerCount(ctx, now, c, ping, err, n)
}

// probe pings c's server, within the watchdog's timeout.
func (m *Manager) probe(ctx context.Context, c check) (spawner.Ping, error) {
	addr := probeAddr(c.srv, c.game, m.queryAddrOf(ctx, c.id, c.srv, c.game))
	pctx, cancel := context.WithTimeout(ctx, m.pingTimeout(c.game))
	defer cancel()
	ping, err := m.pinger.Ping(pctx, c.game.ProbeProtocol(), addr)
	if ctx.Err() == nil {
		m.metrics.Pinged(ping.Latency, err)
	}
	return ping, err
}

// count is what one player check recorded.
type count struct {
	srv     spawner.Server  // the server, its count recorded
	gone    <-chan struct{} // closed when the server leaves the mirror
	enough  bool            // at least the game's minimum answered
	warning int             // the warning now due, k of the game's WarningCount; 0: none
	reset   bool            // enough again after warnings: they start over
	moved   bool            // enough, and a count other than the last
}

// countPlayers records in c's server what its ping found: the players, and
// a warning more when too few answered (or none did). It reports false
// when the server's end began meanwhile.
func (m *Manager) countPlayers(c check, ping spawner.Ping, err error) (count, bool) {
	n := count{enough: err == nil && ping.Online >= c.game.MinPlayers}
	var ended bool
	srv, found := m.fleet.update(c.id, func(e *entry) {
		n.gone = e.gone
		switch {
		case e.ended():
			ended = true
		case n.enough:
			n.moved = e.srv.Players != ping.Online
			e.srv.Players = ping.Online
			n.reset = e.srv.Warnings > 0
			e.srv.Warnings = 0
		default:
			if err == nil {
				e.srv.Players = ping.Online
			}
			e.srv.Warnings++
			n.warning = e.srv.Warnings
		}
	})
	n.srv = srv
	return n, found && !ended
}

// answerCount does what a player check's count calls for: say the players
// came back, save a moved count, warn the owner, or stop the server after
// its last warning.
func (m *Manager) answerCount(ctx context.Context, now time.Time, c check, ping spawner.Ping, err error, n count) {
	lang := m.lang(c.srv)
	log := m.log.With("task", c.srv.TaskID, "user", c.srv.Owner, "channel", c.srv.ChannelID)
	// Warning k comes again after players came back and left: the check's
	// time tells those messages apart.
	checkAt := strconv.FormatInt(now.UnixMilli(), 10)
	k := n.warning
	switch {
	case n.enough && n.reset:
		log.Info("players back; warnings reset", "players", ping.Online)
		m.save(ctx, c.id) // a restart carries the count on
		_, _ = m.chat.Send(ctx, c.srv.ChannelID, spawner.Message{Content: lang.PlayersBack(ping.Online), Key: msgKey(c.srv, "players-back-"+checkAt)})
	case n.enough && n.moved:
		m.save(ctx, c.id) // a restart shows the last count, not the one at ready
	case n.enough:
	case k > c.game.WarningCount:
		log.Info("too few players after the last warning", "players", ping.Online, "err", err)
		_ = m.finish(ctx, c.id, ending{cause: spawner.CausePlayers})
	default:
		log.Info("too few players; warning", "warning", k, "of", c.game.WarningCount, "players", ping.Online, "err", err)
		m.metrics.Warned("players")
		m.feed.Warning(c.id, n.srv, c.game, "players", k, c.game.WarningCount)
		m.save(ctx, c.id) // a restart carries the count on
		next := now.Add(c.game.CheckInterval)
		m.mustSay(ctx, c.srv.ChannelID, spawner.Message{
			Content:  lang.PlayerWarning(c.srv.Owner, k, c.game.WarningCount, ping.Online, c.game.MinPlayers, err == nil, next),
			Mentions: []string{c.srv.Owner},
			Key:      msgKey(c.srv, "warn-players-"+strconv.Itoa(k)+"-"+checkAt),
		}, "player warning", n.gone)
	}
}

// pingTimeout bounds one watchdog ping: half the check interval, at most PingTimeout.
func (m *Manager) pingTimeout(g spawner.Game) time.Duration {
	d := g.CheckInterval / 2
	if d > m.cfg.PingTimeout || d <= 0 {
		d = m.cfg.PingTimeout
	}
	return d
}
