package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"strconv"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// ErrAdminsOnly is returned by AddGame and RemoveGame for a member who is
// not an admin; nothing changed.
var ErrAdminsOnly = errors.New("only admins manage games")

// AddGame validates a game template and, when it has no problem, stores it
// and offers it for creation at once (catalog.Catalog.Add). It returns
// whether a game of that name was replaced. Servers already running keep
// the rules they started with. Only an admin may call it (ErrAdminsOnly).
func (m *Manager) AddGame(ctx context.Context, by spawner.Actor, data []byte) (replaced bool, err error) {
	if !by.Admin {
		return false, ErrAdminsOnly
	}
	g, replaced, err := m.catalog.Add(ctx, data)
	if err != nil {
		return false, err
	}
	m.log.Info("game template stored", "game", g.Name, "replaced", replaced, "by", by.UserID)
	return replaced, nil
}

// RemoveGame deletes the stored template name (catalog.Catalog.Remove):
// it is no longer offered; servers running it keep their rules until they
// stop. Only an admin may call it (ErrAdminsOnly).
func (m *Manager) RemoveGame(ctx context.Context, by spawner.Actor, name string) (spawner.Game, error) {
	if !by.Admin {
		return spawner.Game{}, ErrAdminsOnly
	}
	g, err := m.catalog.Remove(ctx, name)
	if err != nil {
		return spawner.Game{}, err
	}
	m.log.Info("game template removed", "game", g.Name, "by", by.UserID)
	return g, nil
}

// ValidateGame parses a template and asks the runtime whether it can run
// it, changing nothing (catalog.Catalog.Validate).
func (m *Manager) ValidateGame(ctx context.Context, data []byte) (spawner.Game, error) {
	return m.catalog.Validate(ctx, data)
}

// Catalog returns a snapshot of the games offered: the default game first,
// then the stored templates by name. It is safe for concurrent use; later
// changes do not show in a snapshot already taken.
func (m *Manager) Catalog() spawner.Catalog { return m.catalog.Games() }

// gameOf is the game whose rules server s follows (catalog.Catalog.Of).
func (m *Manager) gameOf(s spawner.Server) spawner.Game { return m.catalog.Of(s) }

// loadGames puts the stored templates read at start into the catalog. A
// record that could not be read (problems) or a template that does not
// parse is reported in the log channel, once.
func (m *Manager) loadGames(ctx context.Context, docs map[string][]byte, problems []error) {
	for _, b := range m.catalog.Load(docs, problems) {
		m.log.Warn("skipped a malformed game template", "game", b.Name, "problem", b.Err.Error())
		_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogBadTemplate(b.Name, b.Err.Error()), Key: "bad-template/" + b.Name + "/" + b.Err.Error()})
	}
}

// containerSpec is what a container runtime needs of game g beyond the
// task definition: its image, ports and limits. With no ports listed, the
// game port over TCP and the A2S query port over UDP for an a2s game are
// published. The RCON port is always published, and private: for the bot
// only, never for players.
func containerSpec(g spawner.Game) spawner.ContainerSpec {
	ports := slices.Clone(g.Ports)
	if len(ports) == 0 {
		ports = []spawner.PortSpec{{Port: g.Port, Proto: "tcp"}}
		if g.Protocol == spawner.ProtocolA2S {
			ports = append(ports, spawner.PortSpec{Port: g.ProbePort(), Proto: "udp"})
		}
	}
	var private []int
	if g.RCON != nil && g.RCON.Port != g.Port {
		rcon := spawner.PortSpec{Port: g.RCON.Port, Proto: "tcp"}
		if !slices.Contains(ports, rcon) {
			ports = append(ports, rcon)
		}
		private = []int{g.RCON.Port}
	}
	return spawner.ContainerSpec{Image: g.Image, Ports: ports, PrivatePorts: private, CPU: g.CPU, Memory: g.Memory}
}

// probeAddr is where s is probed: the players' address, or for a game
// queried on another port (A2S) queryAddr, the runtime's address of that
// port; while that is unknown, the query port on the players' host.
func probeAddr(s spawner.Server, g spawner.Game, queryAddr string) string {
	switch {
	case s.Address == "":
		return ""
	case g.ProbePort() == g.Port:
		return net.JoinHostPort(s.Address, strconv.Itoa(cmp.Or(s.Port, g.Port)))
	case queryAddr != "":
		return queryAddr
	}
	return net.JoinHostPort(s.Address, strconv.Itoa(g.ProbePort()))
}

// queryAddrOf is where server id, of game g, answers its queries when
// that is not its players' address (an A2S query port): asked of the
// runtime the first time, then kept in the fleet. It is "" for a game
// queried on the players' port, and while the runtime cannot say.
func (m *Manager) queryAddrOf(ctx context.Context, id string, srv spawner.Server, g spawner.Game) string {
	if g.ProbePort() == g.Port || srv.Address == "" || srv.TaskID == "" {
		return ""
	}
	if addr := m.fleet.queryAddr(id); addr != "" {
		return addr
	}
	addr, err := m.tasks.Address(ctx, spawner.Task{ID: srv.TaskID}, g.ProbePort())
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("query address; probing the query port on the players' host", "task", srv.TaskID, "err", err)
		}
		return ""
	}
	m.fleet.update(id, func(e *entry) { e.queryAddr = addr })
	return addr
}

// countsPlayers reports whether the player watchdog applies to g.
func countsPlayers(g spawner.Game) bool {
	return g.ProbeProtocol().CountsPlayers() && g.MinPlayers > 0
}

// playersSeen is what Server.Players records of a probe's answer: the
// players online, or -1 for a game whose protocol does not count them.
func playersSeen(g spawner.Game, ping spawner.Ping) int {
	if !g.ProbeProtocol().CountsPlayers() {
		return -1
	}
	return ping.Online
}
