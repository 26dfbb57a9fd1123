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
// when Options.MaxExtensions is zero.
const DefaultMaxExtensions = 2

// findLocked returns the server whose task id (or, before its task
// exists, creation id) is id; the caller holds m.mu.
func (m *Manager) findLocked(id string) *entry {
	for _, e := range m.entries {
		if (e.srv.TaskARN != "" && e.srv.TaskID() == id) || e.id == id {
			return e
		}
	}
	return nil
}

// ownedLocked finds the server id that by may act on (its owner or an
// admin), whatever its phase, or says why not; the caller holds m.mu.
func (m *Manager) ownedLocked(by spawner.Actor, id string) (*entry, error) {
	e := m.findLocked(id)
	switch {
	case e == nil:
		return nil, &spawner.Refusal{Code: spawner.RefusedNoServer}
	case e.srv.Owner != by.UserID && !by.Admin:
		return nil, &spawner.Refusal{Code: spawner.RefusedNotOwner}
	}
	return e, nil
}

// controlLocked finds the ready server id that by may act on (its owner or
// an admin), or says why not; the caller holds m.mu.
func (m *Manager) controlLocked(by spawner.Actor, id string) (*entry, error) {
	if m.closing {
		return nil, &spawner.Refusal{Code: spawner.RefusedShuttingDown}
	}
	e, err := m.ownedLocked(by, id)
	switch {
	case err != nil:
		return nil, err
	case e.ended() || e.stopBy != nil:
		return nil, &spawner.Refusal{Code: spawner.RefusedStopping}
	case e.phase != phaseWatched:
		return nil, &spawner.Refusal{Code: spawner.RefusedNotReady}
	}
	return e, nil
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
	m.mu.Lock()
	e, err := m.controlLocked(by, id)
	if err != nil {
		m.mu.Unlock()
		return spawner.Extension{}, err
	}
	m.mu.Unlock()

	// The server's records are written one at a time: a save of the
	// watchdogs never overwrites the new stop time with the old one.
	e.io.Lock()
	defer e.io.Unlock()
	m.mu.Lock()
	if _, err := m.controlLocked(by, id); err != nil {
		m.mu.Unlock()
		return spawner.Extension{}, err
	}
	limit := max(m.cfg.MaxExtensions, 0) // negative: members may not
	if !by.Admin && e.srv.Extensions >= limit {
		m.mu.Unlock()
		return spawner.Extension{}, &spawner.Refusal{Code: spawner.RefusedExtendLimit, Limit: limit}
	}
	next := e.srv
	next.StopsAt = stopsAt(e.srv, e.game).Add(spawner.PositiveOr(e.game.ExtendDuration, DefaultExtendDuration))
	next.RuntimeWarned = false // warned again before the new end
	if !by.Admin {
		next.Extensions++
	}
	m.mu.Unlock()

	if err := m.store.Put(ctx, next); err != nil {
		m.log.Warn("save extended server; nothing changed", "task", next.TaskARN, "by", by.UserID, "err", err)
		return spawner.Extension{}, fmt.Errorf("save extended server: %w", err)
	}
	m.mu.Lock()
	if e.ended() || m.entries[e.id] != e {
		m.mu.Unlock() // a stop came first; its end deletes the record
		return spawner.Extension{}, &spawner.Refusal{Code: spawner.RefusedStopping}
	}
	e.srv.StopsAt = next.StopsAt
	e.srv.RuntimeWarned = false
	e.srv.Extensions = next.Extensions
	srv, gone := e.srv, e.gone
	m.mu.Unlock()
	m.poke() // the watchdog's next wake-up moved

	left := -1
	if !by.Admin {
		left = max(limit-srv.Extensions, 0)
	}
	m.log.Info("server extended", "task", srv.TaskARN, "user", srv.Owner, "by", by.UserID,
		"stops_at", srv.StopsAt.UTC().Format(time.RFC3339), "extensions", srv.Extensions)
	m.goWorker(func() { m.tellExtended(srv, by.UserID, gone) })
	return spawner.Extension{Server: srv, StopsAt: srv.StopsAt, Left: left}, nil
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
		m.log.Warn("tell log channel of an extension", "task", srv.TaskARN, "err", err)
	}
}
