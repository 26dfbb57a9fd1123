package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Games is the part of the table that keeps game templates, under the key
// "game/<name>" (dynamo.Table and bolt.Store satisfy it). Recover reads
// them with the rest of the table (Store.LoadAll).
type Games interface {
	// PutGame stores doc under name, replacing any template of that name.
	PutGame(ctx context.Context, name string, doc []byte) error
	// DeleteGame removes the template name; removing one absent is not an error.
	DeleteGame(ctx context.Context, name string) error
}

// GameChecker is the task runtime's look at a parsed template, changing
// nothing: ECS checks that the task definition family is known and holds
// the container. It returns nil when the runtime can run g; a
// *spawner.Problem whose Var names the template key to fix; or an error
// wrapping spawner.ErrUnreachable when the runtime did not answer.
type GameChecker interface {
	CheckGame(ctx context.Context, g spawner.Game) error
}

// ErrAdminsOnly is returned by AddGame and RemoveGame for a member who is
// not an admin; nothing changed.
var ErrAdminsOnly = errors.New("only admins manage games")

// ErrGameStore is wrapped by AddGame and RemoveGame when the template was
// valid but the table failed; nothing is offered that is not stored.
var ErrGameStore = errors.New("the game could not be saved")

// AddGame validates a game template and, when it has no problem, stores it
// and offers it for creation at once. It returns whether a game of that
// name was replaced. On problems it returns spawner.TemplateErrors naming
// every one with its key (the parser's and the runtime's together) and
// stores nothing. Servers already running keep the rules they started with.
// Only an admin may call it (ErrAdminsOnly).
func (m *Manager) AddGame(ctx context.Context, by spawner.Actor, data []byte) (replaced bool, err error) {
	if !by.Admin {
		return false, ErrAdminsOnly
	}
	if m.games == nil {
		return false, fmt.Errorf("add game: %w: no template store", ErrGameStore)
	}
	g, err := m.ValidateGame(ctx, data)
	if err != nil {
		return false, err
	}
	m.gamesMu.Lock() // one change of the catalog at a time, stored then offered
	defer m.gamesMu.Unlock()
	_, replaced = m.Catalog().Lookup(g.Name)
	if err := m.games.PutGame(ctx, g.Name, g.Template); err != nil {
		return false, fmt.Errorf("put game %s: %w: %w", g.Name, ErrGameStore, err)
	}
	m.setGame(g)
	m.log.Info("game template stored", "game", g.Name, "replaced", replaced, "by", by.UserID)
	return replaced, nil
}

// RemoveGame deletes the stored template name: it is no longer offered;
// servers running it keep their rules until they stop. The default game
// cannot be removed, and an unknown name is a *spawner.Refusal with
// RefusedUnknownGame. Only an admin may call it (ErrAdminsOnly).
func (m *Manager) RemoveGame(ctx context.Context, by spawner.Actor, name string) (spawner.Game, error) {
	if !by.Admin {
		return spawner.Game{}, ErrAdminsOnly
	}
	m.gamesMu.Lock()
	defer m.gamesMu.Unlock()
	g, ok := m.Catalog().Lookup(name)
	if !ok || name == "" || len(g.Template) == 0 || m.games == nil {
		return spawner.Game{}, &spawner.Refusal{Code: spawner.RefusedUnknownGame, Name: name}
	}
	if err := m.games.DeleteGame(ctx, g.Name); err != nil {
		return spawner.Game{}, fmt.Errorf("delete game %s: %w: %w", g.Name, ErrGameStore, err)
	}
	m.catMu.Lock()
	m.catalog = slices.DeleteFunc(slices.Clone(m.catalog), func(o spawner.Game) bool { return o.Name == g.Name && len(o.Template) > 0 })
	m.catMu.Unlock()
	m.log.Info("game template removed", "game", g.Name, "by", by.UserID)
	return g, nil
}

// ValidateGame parses a template with the default game's rules as defaults,
// within Options.Limits, and asks the runtime (Options.GameChecker) whether it can run it. It
// returns the game, or spawner.TemplateErrors with every problem found, or
// another error when the runtime could not be asked. It changes nothing.
func (m *Manager) ValidateGame(ctx context.Context, data []byte) (spawner.Game, error) {
	data = spawner.TrimBOM(data)
	g, err := spawner.ParseTemplateWithin(data, m.defaultGame(), m.cfg.Limits)
	var problems spawner.TemplateErrors
	if err != nil && !errors.As(err, &problems) {
		return spawner.Game{}, err
	}
	probe := g
	if err != nil {
		probe = runtimeKeys(data, problems)
	}
	if m.checker != nil && (probe.TaskDefinition != "" || probe.Image != "") {
		cerr := m.checker.CheckGame(ctx, probe)
		var p *spawner.Problem
		switch {
		case cerr == nil:
		case errors.As(cerr, &p) && p.Var != "":
			problems = append(problems, &spawner.TemplateError{Key: p.Var, Problem: p.Err.Error()})
		default:
			return spawner.Game{}, fmt.Errorf("check game: %w", cerr)
		}
	}
	if len(problems) > 0 {
		return spawner.Game{}, problems
	}
	return g, nil
}

// runtimeKeys reads the keys the runtime checks from a template that has
// other problems, so the answer names the runtime's problems too. A key
// the parser found wrong is left out.
func runtimeKeys(data []byte, problems spawner.TemplateErrors) spawner.Game {
	var keys struct {
		TaskDefinition string `json:"taskDefinition"`
		Container      string `json:"container"`
		Image          string `json:"image"`
	}
	if json.Unmarshal(data, &keys) != nil {
		return spawner.Game{}
	}
	for _, p := range problems {
		switch p.Key {
		case "taskDefinition", "container", "image":
			return spawner.Game{}
		}
	}
	return spawner.Game{TaskDefinition: keys.TaskDefinition, Container: keys.Container, Image: keys.Image}
}

// Catalog returns a snapshot of the games offered: the default game first,
// then the stored templates by name. It is safe for concurrent use; later
// changes do not show in a snapshot already taken.
func (m *Manager) Catalog() spawner.Catalog {
	m.catMu.RLock()
	defer m.catMu.RUnlock()
	return m.catalog
}

// defaultGame is the game built from the variables, whose rules are every
// template's defaults.
func (m *Manager) defaultGame() spawner.Game {
	g, _ := m.Catalog().Lookup("")
	return g
}

// setGame offers g, replacing a stored game of its name. The catalog is
// copied on write, so snapshots never change.
func (m *Manager) setGame(g spawner.Game) {
	m.catMu.Lock()
	defer m.catMu.Unlock()
	c := slices.Clone(m.catalog)
	i := slices.IndexFunc(c, func(o spawner.Game) bool { return o.Name == g.Name && len(o.Template) > 0 })
	if i >= 0 {
		c[i] = g
	} else {
		c = append(c, g)
		slices.SortStableFunc(c[1:], func(a, b spawner.Game) int { return strings.Compare(a.Name, b.Name) })
	}
	m.catalog = c
}

// loadGames puts the stored templates read at start into the catalog. A
// record that could not be read (problems) or a template that does not
// parse is reported in the log channel and skipped.
func (m *Manager) loadGames(ctx context.Context, docs map[string][]byte, problems []error) {
	if m.games == nil {
		return
	}
	for _, p := range problems {
		m.badTemplate(ctx, "", p)
	}
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		g, err := spawner.ParseTemplateWithin(docs[name], m.defaultGame(), m.cfg.Limits)
		if err == nil && g.Name != name {
			err = fmt.Errorf("stored as %q but named %q", name, g.Name)
		}
		if err != nil {
			m.badTemplate(ctx, name, err)
			continue
		}
		m.setGame(g)
	}
}

// badTemplate reports a stored template that cannot be offered, once per
// process: Recover is retried at start while ECS or the table fail, and
// the log channel would otherwise hear of it at every attempt.
func (m *Manager) badTemplate(ctx context.Context, name string, err error) {
	if _, told := m.badTemplates.LoadOrStore(name+"\x00"+err.Error(), true); told {
		return
	}
	m.log.Warn("skipped a malformed game template", "game", name, "problem", err.Error())
	_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogBadTemplate(name, err.Error()), Key: "bad-template/" + name + "/" + err.Error()})
}

// gameOf is the game whose rules server s follows: the template it was
// created from when its record kept one (so a replaced or removed template
// changes nothing for it), else its game in the catalog, else the default.
func (m *Manager) gameOf(s spawner.Server) spawner.Game {
	if len(s.GameTemplate) > 0 {
		if g, ok := m.kept.Load(string(s.GameTemplate)); ok {
			return g.(spawner.Game)
		}
		if g, err := spawner.ParseTemplateWithin(s.GameTemplate, m.defaultGame(), m.cfg.Limits); err == nil {
			m.kept.Store(string(s.GameTemplate), g)
			return g
		}
	}
	c := m.Catalog()
	g, ok := c.Lookup(s.Game)
	if !ok {
		g, _ = c.Lookup("")
	}
	return g
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
			ports = append(ports, spawner.PortSpec{Port: queryPort(g), Proto: "udp"})
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

// queryPort is the port g answers its protocol's queries on.
func queryPort(g spawner.Game) int {
	if g.Protocol == spawner.ProtocolA2S {
		if g.QueryPort != 0 {
			return g.QueryPort
		}
		return g.Port + 1
	}
	return g.Port
}

// probeAddr is where s is probed: its address and its game's query port,
// or under Docker the host port mapped to it (hostPorts, from the task).
func probeAddr(s spawner.Server, g spawner.Game, hostPorts map[int]int) string {
	if s.Address == "" {
		return ""
	}
	port := queryPort(g)
	if p, ok := hostPorts[port]; ok {
		port = p
	}
	if g.Protocol != spawner.ProtocolA2S && s.Port != 0 {
		port = s.Port // already the host's port under Docker
	}
	return net.JoinHostPort(s.Address, strconv.Itoa(port))
}

// hostPortsOf is the host port map last seen for server id's task.
func (m *Manager) hostPortsOf(id string) map[int]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[id]; ok {
		return e.hostPorts
	}
	return nil
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
