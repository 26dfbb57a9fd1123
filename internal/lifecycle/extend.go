package lifecycle

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// DefaultExtendDuration is what one /server extend adds for a game that
// sets no ExtendDuration.
const DefaultExtendDuration = 30 * time.Minute

// DefaultMaxExtensions is how many times a member may extend one server
// when GAMESERVER_MAX_EXTENSIONS is unset.
const DefaultMaxExtensions = 2

// control finds the ready server id that by may act on (its owner or an
// admin), or says why not; nothing is controlled once Close was called.
func (m *Manager) control(by spawner.Actor, id string) (*entry, spawner.Server, error) {
	if m.closed() {
		return nil, spawner.Server{}, &spawner.Refusal{Code: spawner.RefusedShuttingDown}
	}
	return m.fleet.control(by, id)
}

// Extend moves the stop time of the server whose task id is id later by
// its game's ExtendDuration, on behalf of by: its owner or an admin. A
// member may extend one server MaxExtensions times; an admin has no limit
// and does not use up the owner's. The new stop time and the count are
// saved before Extend returns, so they survive a restart; the runtime
// warning is armed again for the new end; the status message, the ticket
// channel and the log channel are told in the background.
//
// A refused request (no such server, not the owner, not ready, ending, the
// limit reached) returns a *spawner.Refusal and changes nothing; so does a
// failed save, returned as a plain error.
func (m *Manager) Extend(ctx context.Context, by spawner.Actor, id string) (spawner.Extension, error) {
	e, _, err := m.control(by, id)
	if err != nil {
		return spawner.Extension{}, err
	}
	// The server's records are written one at a time: a save of the
	// watchdogs never overwrites the new stop time with the old one.
	e.io.Lock()
	defer e.io.Unlock()
	next, limit, err := m.extension(e, by)
	if err != nil {
		return spawner.Extension{}, err
	}
	if err := m.store.Put(ctx, next); err != nil {
		m.log.Warn("save extended server; nothing changed", "task", next.TaskID, "by", by.UserID, "err", err)
		return spawner.Extension{}, fmt.Errorf("save extended server: %w", err)
	}
	var srv spawner.Server
	var gone <-chan struct{}
	var ended bool
	if !m.fleet.updateEntry(e, func(e *entry) {
		if ended = e.ended(); !ended {
			e.srv.StopsAt = next.StopsAt
			e.srv.RuntimeWarned = false
			e.srv.Extensions = next.Extensions
			srv, gone = e.srv, e.gone
		}
	}) || ended {
		return spawner.Extension{}, &spawner.Refusal{Code: spawner.RefusedStopping} // a stop came first; its end deletes the record
	}
	m.poke() // the watchdog's next wake-up moved

	left := -1
	if !by.Admin {
		left = max(limit-srv.Extensions, 0)
	}
	m.log.Info("server extended", "task", srv.TaskID, "user", srv.Owner, "by", by.UserID,
		"stops_at", srv.StopsAt.UTC().Format(time.RFC3339), "extensions", srv.Extensions)
	m.goWorker(func() { m.tellExtended(srv, by.UserID, gone) })
	return spawner.Extension{Server: srv, StopsAt: srv.StopsAt, Left: left}, nil
}

// extension is server e extended by by, not saved yet, and the members'
// limit; or why it may not be, a *spawner.Refusal.
func (m *Manager) extension(e *entry, by spawner.Actor) (next spawner.Server, limit int, err error) {
	limit = max(m.cfg.MaxExtensions, 0)
	err = &spawner.Refusal{Code: spawner.RefusedNoServer} // unless still in the mirror
	m.fleet.updateEntry(e, func(e *entry) {
		if err = e.controlRefusal(); err != nil {
			return
		}
		if !by.Admin && e.srv.Extensions >= limit {
			err = &spawner.Refusal{Code: spawner.RefusedExtendLimit, Limit: limit}
			return
		}
		next = e.srv
		next.StopsAt = e.srv.StopTime(e.game).Add(spawner.PositiveOr(e.game.ExtendDuration, DefaultExtendDuration))
		next.RuntimeWarned = false // warned again before the new end
		if !by.Admin {
			next.Extensions++
		}
	})
	return next, limit, err
}

// tellExtended shows srv's new stop time in its status message, says who
// extended it in its ticket channel (pinging the owner when it was
// someone else) and tells the log channel.
func (m *Manager) tellExtended(srv spawner.Server, by string, gone <-chan struct{}) {
	ctx := m.ctx
	lang := m.lang(srv)
	m.editStatus(ctx, srv, lang.StatusStopsAt(srv.StopsAt))
	// Each extension moves the stop time: it names the message.
	stops := strconv.FormatInt(srv.StopsAt.UnixMilli(), 10)
	msg := spawner.Message{Content: lang.ExtendedTicket(by, srv.StopsAt), Key: msgKey(srv, "extended-"+stops)}
	if by != srv.Owner {
		msg.Mentions = []string{srv.Owner}
	}
	m.mustSay(ctx, srv.ChannelID, msg, "extension message", gone)
	if err := m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogExtended(srv, by, srv.StopsAt), Key: msgKey(srv, "log-extended-"+stops)}); err != nil && ctx.Err() == nil {
		m.log.Warn("tell log channel of an extension", "task", srv.TaskID, "err", err)
	}
}
