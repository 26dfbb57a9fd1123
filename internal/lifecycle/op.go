package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// RCON runs one command in a game server through Minecraft RCON. A
// password the game refuses is an error wrapping spawner.ErrRCONAuth;
// no error may carry the password.
type RCON interface {
	Run(ctx context.Context, addr, password, command string) (reply string, err error)
}

// RCONFunc makes a function such as rcon.Run an RCON.
type RCONFunc func(ctx context.Context, addr, password, command string) (string, error)

// Run calls f.
func (f RCONFunc) Run(ctx context.Context, addr, password, command string) (string, error) {
	return f(ctx, addr, password, command)
}

// DefaultRCONTimeout bounds one /server op: the address lookup and the
// RCON exchange.
const DefaultRCONTimeout = 10 * time.Second

// rconPassword is a fresh password for the RCON of a server of game g, or
// "" when g has none: 24 random bytes, hex.
func rconPassword(g spawner.Game) string {
	if g.RCON == nil {
		return ""
	}
	return newID(24)
}

// taskEnv is the container environment of server s of game g in variant
// v: the game's, the variant's, the admin token and the RCON password.
func taskEnv(g spawner.Game, v spawner.Variant, s spawner.Server) map[string]string {
	env := g.Environment(v, s.Token)
	if g.RCON != nil && g.RCON.PasswordEnv != "" && s.RCONPassword != "" {
		env[g.RCON.PasswordEnv] = s.RCONPassword
	}
	return env
}

// Op makes player an operator in the game of the server whose task id is
// id, by running "op <player>" through its RCON, on behalf of by: its
// owner or an admin. It returns what the game replied.
//
// It is refused (a *spawner.Refusal, and no RCON call is made) for no
// such server, not the owner, a game without RCON, a server not ready or
// ending, and a player name Minecraft would not accept (spaces, line
// breaks, ';', '/', any character but ASCII letters, digits and _), so a
// name can never carry a second command. An RCON failure is returned as
// an error; a refused password wraps spawner.ErrRCONAuth. The password is
// never logged nor returned.
func (m *Manager) Op(ctx context.Context, by spawner.Actor, id, player string) (string, error) {
	_, _, game, err := m.fleet.owned(by, id)
	switch {
	case err != nil:
		return "", err
	case game.RCON == nil || m.rcon == nil:
		return "", &spawner.Refusal{Code: spawner.RefusedNoRCON}
	}
	if err := spawner.ValidPlayerName(player); err != nil {
		return "", &spawner.Refusal{Code: spawner.RefusedPlayerName, Name: player}
	}
	_, srv, err := m.control(by, id)
	if err != nil {
		return "", err
	}
	if srv.RCONPassword == "" { // created before its game had RCON
		return "", &spawner.Refusal{Code: spawner.RefusedNoRCON}
	}

	ctx, cancel := context.WithTimeout(ctx, DefaultRCONTimeout)
	defer cancel()
	addr, err := m.rconAddr(ctx, srv, game)
	log := m.log.With("task", srv.TaskID, "user", srv.Owner, "by", by.UserID, "rcon", addr)
	if err != nil {
		log.Warn("op through RCON: no address", "player", player, "err", err)
		return "", fmt.Errorf("op %s: %w", player, err)
	}
	reply, err := m.rcon.Run(ctx, addr, srv.RCONPassword, "op "+player)
	if err != nil {
		log.Warn("op through RCON failed", "player", player, "err", err)
		return "", fmt.Errorf("op %s: %w", player, err)
	}
	log.Info("op through RCON", "player", player)
	return reply, nil
}

// PrivateAddresser is a Tasks whose ports only the bot may use (RCON) are
// reached at another address than the one players use: a runtime that
// publishes them on a private host address. Without it, a game's port is
// reached where the runtime's Address says (a runtime whose network opens
// RCON to the bot alone).
type PrivateAddresser interface {
	// PrivateAddress is "host:port" where the bot reaches TCP port port of
	// task t.
	PrivateAddress(ctx context.Context, t spawner.Task, port int) (string, error)
}

// rconAddr is where the bot reaches the RCON of srv. Under a runtime with
// private addresses it is the runtime's private address of the port, and
// an error when it has none: the password is never sent to the players'
// address there. Otherwise it is the runtime's address of the game's RCON
// port, or, when the runtime cannot say, that port on the server's address.
func (m *Manager) rconAddr(ctx context.Context, srv spawner.Server, game spawner.Game) (string, error) {
	port := game.RCON.Port
	pa, private := m.tasks.(PrivateAddresser)
	switch {
	case private && srv.TaskID == "":
		return "", errors.New("RCON address: the server has no task")
	case private:
		tasks, err := m.tasks.DescribeTasks(ctx, []string{srv.TaskID})
		t, found := taskByID(tasks, srv.TaskID)
		switch {
		case err != nil:
			return "", fmt.Errorf("describe task for its RCON address: %w", err)
		case !found:
			return "", errors.New("describe task for its RCON address: the task is gone")
		}
		addr, err := pa.PrivateAddress(ctx, t, port)
		if err != nil {
			return "", fmt.Errorf("RCON address: %w", err)
		}
		return addr, nil
	case srv.TaskID != "":
		addr, err := m.tasks.Address(ctx, spawner.Task{ID: srv.TaskID}, port)
		if err == nil {
			return addr, nil
		}
		if ctx.Err() == nil {
			m.log.Warn("the task's RCON address; using the game's port on the server's address", "task", srv.TaskID, "err", err)
		}
	}
	return net.JoinHostPort(srv.Address, strconv.Itoa(port)), nil
}
