package lifecycle

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// Sleep and wake. Where the runtime publishes games on host ports it
// chooses (Options.KeepPorts: Docker), a world keeps the host port its
// server got, while it runs and while it sleeps after it: its address
// never changes between sessions. At the end of its server (after the
// save) such a world is asleep (worlds.Idle); a world of a minecraft
// game is then answered for on its port (Sleepers), and a login there
// wakes it (wake.go). WORLD_SLEEP_MAX after it was last played, the sweep
// stores it and its port goes back to the runtime's range.

// Sleepers answers for asleep worlds on their ports (mcsleep under Docker).
type Sleepers interface {
	// Sleep answers for the asleep world w on its port w.Port until Release or the Manager's end;
	// an error wrapping spawner.ErrPortTaken when something else holds the port.
	Sleep(w spawner.World) error
	// Release stops answering for the world and frees its port at once (before a server of it starts);
	// it reports whether it was answering.
	Release(worldID string) bool
}

// Members tells whether a member may still create, outside any interaction (discord.Bot.Actor).
type Members interface {
	Actor(ctx context.Context, userID string) (spawner.Actor, error)
}

// DefaultSleepMax is how long an asleep world keeps its port after it was
// last played when WORLD_SLEEP_MAX is not set.
const DefaultSleepMax = 7 * 24 * time.Hour

// WorldPorts returns the host ports kept by the worlds running and
// asleep, sorted: the runtime hands none of them to another server
// (ReservePorts).
func (m *Manager) WorldPorts() []int { return m.worlds.Ports() }

// worldAddress is the address players reach world w at while it keeps a
// port; "" when it keeps none or its host is not known.
func worldAddress(w spawner.World) string {
	if w.Port <= 0 || w.Host == "" {
		return ""
	}
	return net.JoinHostPort(w.Host, strconv.Itoa(w.Port))
}

// sleep has the asleep world w answered for on its port, when a Sleepers
// is wired and its game speaks minecraft. Whatever answered for it before
// is let go first: a wake that failed before its task started leaves its
// listener waking, and Sleep would keep it so. A port another program
// holds leaves the world asleep without a port (portTaken). Once Close
// was called nothing is put to sleep (the next start does it): a wake
// refused because the Manager closes must not wait on the listener that
// asked for it.
func (m *Manager) sleep(ctx context.Context, w spawner.World) {
	if m.sleepers == nil || w.State != spawner.WorldAsleep || w.Port == 0 || w.Server != "" || m.workers.stopping() {
		return
	}
	game, ok := m.Catalog().Lookup(w.Game)
	if !ok || game.ProbeProtocol() != spawner.ProtocolMinecraft {
		return // its port stays kept; a command or its Wake button wakes it
	}
	m.sleepers.Release(w.ID)
	err := m.sleepers.Sleep(w)
	switch {
	case err == nil:
		m.log.Info("answering for an asleep world", "world", w.ID, "name", w.Name, "owner", w.Owner, "port", w.Port)
	case errors.Is(err, spawner.ErrPortTaken):
		m.portTaken(ctx, w, err)
	default:
		m.log.Error("answer for an asleep world; joining it cannot wake it", "world", w.ID, "port", w.Port, "err", err)
	}
}

// portTaken leaves the asleep world w without its port, which another
// program holds: it stays asleep, and a command or its Wake button starts
// its next server on a port of the runtime's choice. The admin log is
// told once: the port is no longer the world's to try again.
func (m *Manager) portTaken(ctx context.Context, w spawner.World, err error) {
	if _, changed := m.worlds.Unport(ctx, w.ID, w.Port, false); !changed {
		return
	}
	m.log.Warn("an asleep world's port is held by another program; the world sleeps without it", "world", w.ID, "port", w.Port, "err", err)
	addr := worldAddress(w)
	if addr == "" {
		addr = strconv.Itoa(w.Port)
	}
	_ = m.chat.Log(ctx, spawner.Message{
		Content: m.logLang().LogWorldPortTaken(w, addr),
		Key:     "log-port-taken/" + w.ID + "/" + strconv.Itoa(w.Port),
	})
}

// expireSleep stores the asleep worlds last played SleepMax ago or more,
// and every asleep world where the runtime keeps no ports: nothing
// answers for them any more and their ports go back to the runtime's
// range. A world a wake claimed meanwhile keeps its port.
func (m *Manager) expireSleep(ctx context.Context, now time.Time) {
	for _, w := range m.worlds.Asleep() {
		if m.cfg.KeepPorts && !worlds.Overslept(w, now, m.cfg.SleepMax) {
			continue
		}
		if m.sleepers != nil {
			m.sleepers.Release(w.ID)
		}
		if _, changed := m.worlds.Unport(ctx, w.ID, w.Port, true); changed {
			m.log.Info("an asleep world is stored; its port is released", "world", w.ID, "name", w.Name, "owner", w.Owner, "port", w.Port, "last_played", w.LastPlayed)
		}
	}
}

// recoverSleep, at start once the worlds whose servers ended were saved,
// stores the worlds that slept too long and answers again for every other
// asleep world on its port.
func (m *Manager) recoverSleep(ctx context.Context) {
	m.expireSleep(ctx, m.clock.Now())
	for _, w := range m.worlds.Asleep() {
		m.sleep(ctx, w)
	}
}

// keepStatus records in the world of srv the version, protocol and
// maximum of players its game answered a status with, for its sleep.
func (m *Manager) keepStatus(ctx context.Context, srv spawner.Server, ping spawner.Ping) {
	if srv.WorldID != "" {
		m.worlds.Status(ctx, srv.WorldID, entryID(srv), ping)
	}
}

// worldReady records what the ready server srv of a world showed: its
// game's status and, where worlds keep ports, its address, which the
// world keeps from now on. When its kept port was held by another program
// (runTask), the admin log is told the address changed. It returns the
// ready message's lines about the world, in a language: who woke it (as
// its record keeps it, after a restart too), and that its address
// changed.
func (c *creation) worldReady(ctx context.Context, srv spawner.Server, ping spawner.Ping) func(text.Lang) string {
	m := c.m
	if srv.WorldID == "" {
		return func(text.Lang) string { return "" }
	}
	m.keepStatus(ctx, srv, ping)
	if m.cfg.KeepPorts {
		w, ok := m.worlds.Played(ctx, srv.WorldID, c.id, srv.Address, srv.Port)
		if ok && c.movedFrom != "" {
			_ = m.chat.Log(ctx, spawner.Message{
				Content: m.logLang().LogWorldAddressChanged(w, c.movedFrom, srv.HostPort()),
				Key:     msgKey(srv, "log-address-changed"),
			})
		}
	}
	moved, woke := c.movedFrom, srv.WokenBy
	return func(l text.Lang) string {
		if moved == "" {
			return wokenLine(woke, l)
		}
		return joinLines(wokenLine(woke, l), l.WorldAddressChanged(moved))
	}
}
