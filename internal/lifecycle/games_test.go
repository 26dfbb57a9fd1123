package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// templates is the table's game templates, behind a mockGames.
type templates struct {
	mu   sync.Mutex
	docs map[string][]byte
}

// stored is what the table's LoadAll reads of the templates.
func (d *templates) stored() map[string][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.docs)
}

func (d *templates) fake() *mockGames {
	return &mockGames{
		PutGameFn: func(_ context.Context, name string, doc []byte) error {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.docs[name] = slices.Clone(doc)
			return nil
		},
		DeleteGameFn: func(_ context.Context, name string) error {
			d.mu.Lock()
			defer d.mu.Unlock()
			delete(d.docs, name)
			return nil
		},
	}
}

// withGames gives the world the templates docs, which the table's
// LoadAll reads with the servers (one table holds both), and a runtime
// that knows the task definitions valheim and factorio.
func withGames(docs map[string][]byte) option {
	d := &templates{docs: docs}
	if d.docs == nil {
		d.docs = map[string][]byte{}
	}
	return func(o *Options) {
		o.Games = d.fake()
		if s, ok := o.Store.(*mockStore); ok {
			loadAll := s.LoadAllFn
			s.LoadAllFn = func(ctx context.Context) (spawner.Snapshot, error) {
				snap, err := loadAll(ctx)
				snap.Games = d.stored()
				return snap, err
			}
		}
		o.GameChecker = &mockChecker{CheckGameFn: func(_ context.Context, g spawner.Game) error {
			if g.TaskDefinition != "valheim" && g.TaskDefinition != "factorio" {
				return &spawner.Problem{Var: "taskDefinition", Err: fmt.Errorf("task definition %q: no ACTIVE revision", g.TaskDefinition)}
			}
			return nil
		}}
	}
}

func valheimTemplate(minPlayers int, checkInterval string) []byte {
	return fmt.Appendf(nil, `{"name": "valheim", "title": "Valheim", "taskDefinition": "valheim", "container": "valheim",
		"port": 2456, "protocol": "a2s", "queryPort": 2457, "cpu": 2048, "memory": 8192, "capacityProvider": "FARGATE",
		"ports": [{"port": 2456, "proto": "udp"}, {"port": 2457, "proto": "udp"}],
		"minPlayers": %d, "warnings": 1, "checkInterval": %q, "maxDuration": "3h", "readyTimeout": "15m"}`, minPlayers, checkInterval)
}

var factorioTemplate = []byte(`{"name": "factorio", "title": "Factorio", "taskDefinition": "factorio", "container": "factorio",
	"port": 34197, "protocol": "tcp", "minPlayers": 2, "checkInterval": "1m", "maxDuration": "4h"}`)

// readyGameServer creates owner's server of game and lets it boot to ready.
func (w *world) readyGameServer(owner, game string, players int) spawner.Server {
	w.tb.Helper()
	w.cluster.startIn(spawner.TaskRunning)
	w.players.answer(players)
	req, _ := w.request(owner, "")
	req.Game = game
	if err := w.m.Create(req); err != nil {
		w.tb.Fatalf("Create %s for %s: %v\n%s", game, owner, err, w)
	}
	w.waitWorkers()
	srv, ok := w.serverOf(owner)
	if !ok || srv.State != spawner.StateReady {
		w.tb.Fatalf("server of %s not ready: %+v\n%s", owner, srv, w)
	}
	return srv
}

// TestGamesManagedByAdmins: only an admin adds or removes a game; a game
// added is offered at once, one removed no longer is.
func TestGamesManagedByAdmins(t *testing.T) {
	w := newWorld(t, withGames(nil))
	w.recover()
	member := spawner.Actor{UserID: alice}
	if _, err := w.m.AddGame(w.ctx, member, valheimTemplate(1, "1m")); !errors.Is(err, ErrAdminsOnly) {
		t.Errorf("AddGame by a member = %v, want ErrAdminsOnly", err)
	}
	if replaced, err := w.m.AddGame(w.ctx, admin, valheimTemplate(1, "1m")); err != nil || replaced {
		t.Fatalf("AddGame by an admin = %v, %v", replaced, err)
	}
	if _, err := w.m.RemoveGame(w.ctx, member, "valheim"); !errors.Is(err, ErrAdminsOnly) {
		t.Errorf("RemoveGame by a member = %v, want ErrAdminsOnly", err)
	}
	if _, ok := w.m.Catalog().Lookup("valheim"); !ok {
		t.Fatalf("valheim not offered after AddGame")
	}
	if _, err := w.m.RemoveGame(w.ctx, admin, "valheim"); err != nil {
		t.Fatalf("RemoveGame: %v", err)
	}
	err := w.m.Create(spawner.CreateRequest{Owner: alice, Game: "valheim"})
	if r := refusalOf(t, "Create of a removed game", err, spawner.RefusedUnknownGame); r.Name != "valheim" {
		t.Errorf("refusal names the game %q, want valheim", r.Name)
	}
}

func TestServerOfTemplateRunsWithItsGameAndKeepsItsRulesAcrossRestart(t *testing.T) {
	w := newWorld(t, withGames(nil))
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, valheimTemplate(2, "1m")); err != nil {
		t.Fatal(err)
	}
	srv := w.readyGameServer(alice, "valheim", 5)
	valheim, _ := w.m.Catalog().Lookup("valheim")

	specs := w.cluster.runs.all()
	spec := specs[len(specs)-1]
	if spec.TaskDefinition != "valheim" || spec.Container != "valheim" || spec.CPU != 2048 || spec.Memory != 8192 || spec.CapacityProvider != "FARGATE" {
		t.Errorf("RunTask spec = %+v, want valheim's definition, container, cpu, memory and capacity provider", spec)
	}
	if want := []spawner.PortSpec{{Port: 2456, Proto: "udp"}, {Port: 2457, Proto: "udp"}}; !slices.Equal(spec.Ports, want) {
		t.Errorf("ports = %v, want %v", spec.Ports, want)
	}
	pings := w.players.pings.all()
	if last := pings[len(pings)-1]; last.proto != spawner.ProtocolA2S || !strings.HasSuffix(last.addr, ":2457") {
		t.Errorf("probed %s at %s, want a2s on the query port 2457", last.proto, last.addr)
	}
	if ready := w.expectSaid(srv, "ready", alice); ready.content != text.En.Ready(valheim, srv, srv.StopTime(valheim)) {
		t.Errorf("the ready message is not valheim's:\n%s", ready.content)
	}

	// The template is made stricter, then removed; the daemon restarts.
	if _, err := w.m.AddGame(w.ctx, admin, valheimTemplate(10, "30m")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.m.RemoveGame(w.ctx, admin, "valheim"); err != nil {
		t.Fatal(err)
	}
	w.cancel()
	w.restart()
	w.recover()
	seen := len(w.guild.posts(srv.ChannelID))
	w.players.answer(3) // enough for 2, not for 10
	w.advanceAndPass(time.Minute, false)
	if said := w.guild.purposes(srv.ChannelID, seen); len(said) != 0 {
		t.Errorf("with 3 players and its own minimum of 2, said %q", said)
	}
	w.players.answer(1)
	w.advanceAndPass(time.Minute, false) // its own check interval, not 30m
	if said := w.guild.purposes(srv.ChannelID, seen); len(said) != 1 || !strings.HasPrefix(said[0], "warn-players-1-") {
		t.Fatalf("after a check with 1 player: said %q, want warning 1\n%s", said, w)
	}
	w.advanceAndPass(time.Minute, false)
	if _, ok := w.serverOf(alice); ok {
		t.Errorf("server still tracked after its own single warning\n%s", w)
	}
}

func TestTCPGameHasNoPlayerWatchdog(t *testing.T) {
	w := newWorld(t, withGames(nil))
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, factorioTemplate); err != nil {
		t.Fatal(err)
	}
	srv := w.readyGameServer(alice, "factorio", 0)
	factorio, _ := w.m.Catalog().Lookup("factorio")
	if ready := w.expectSaid(srv, "ready", alice); ready.content != text.En.Ready(factorio, srv, srv.StopTime(factorio)) {
		t.Errorf("the ready message is not factorio's:\n%s", ready.content)
	}
	w.players.silence()
	pings := len(w.players.pinged())
	seen := len(w.guild.posts(srv.ChannelID))
	for range 30 {
		w.advanceAndPass(time.Minute, false)
	}
	if n := len(w.players.pinged()); n != pings {
		t.Errorf("a tcp game was pinged %d times by the player watchdog", n-pings)
	}
	if said := w.guild.purposes(srv.ChannelID, seen); len(said) != 0 {
		t.Errorf("said %q to a tcp game's owner", said)
	}
	if got, ok := w.serverOf(alice); !ok || got.Players != -1 {
		t.Errorf("server = %+v, %v; want tracked with players not counted (-1)", got, ok)
	}
}

func TestMalformedStoredTemplateIsReportedAndSkipped(t *testing.T) {
	w := newWorld(t, withGames(map[string][]byte{"broken": []byte(`{"name": "broken", "port": "x"}`), "factorio": factorioTemplate}))
	failing := failing(2)
	w.tasks.ListOwnedTasksFn = func(ctx context.Context) ([]spawner.Task, error) {
		if failing() {
			return nil, errBoom
		}
		return w.cluster.ListOwnedTasks(ctx)
	}
	// Recover is retried at start while the runtime or the table fail; the
	// malformed template is told in the log channel once, not at every attempt.
	for attempt := 1; attempt <= 2; attempt++ {
		if err := w.m.Recover(w.ctx); !errors.Is(err, errBoom) {
			t.Fatalf("Recover attempt %d = %v, want the runtime's failure", attempt, err)
		}
	}
	w.recover()
	if got := w.guild.logged("bad-template/broken/"); len(got) != 1 {
		t.Errorf("log channel lines about the broken template after 3 attempts = %d, want 1\n%s", len(got), w)
	}
	if _, ok := w.m.Catalog().Lookup("broken"); ok {
		t.Errorf("a malformed template is offered")
	}
	if _, ok := w.m.Catalog().Lookup("factorio"); !ok {
		t.Errorf("the good template is not offered")
	}
}

func TestGameWithoutVariants(t *testing.T) {
	w := newWorld(t, withGames(nil))
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, factorioTemplate); err != nil {
		t.Fatal(err)
	}
	srv := w.readyGameServer(alice, "factorio", 0)
	if srv.Variant != "" || srv.Game != "factorio" {
		t.Errorf("server = game %q variant %q, want factorio without variant", srv.Game, srv.Variant)
	}
	err := w.m.Create(spawner.CreateRequest{Owner: bob, Game: "factorio", Variant: "official"})
	if r := refusalOf(t, "Create with a variant the game lacks", err, spawner.RefusedUnknownVariant); r.Name != "official" {
		t.Errorf("refusal names the variant %q, want official", r.Name)
	}
}

// Under a runtime that publishes the game's ports on host ports, players
// get the address the runtime gives for the game port, and the A2S probe
// asks the one it gives for the query port, after a restart too.
func TestA2SProbeUsesTheHostPortsOfTheTask(t *testing.T) {
	w := newWorld(t, withGames(nil))
	w.cluster.mapPorts("", map[int]int{2456: 30000, 2457: 30001})
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, valheimTemplate(2, "1m")); err != nil {
		t.Fatal(err)
	}
	srv := w.readyGameServer(alice, "valheim", 5)
	if srv.Port != 30000 {
		t.Errorf("server port = %d, want the host port 30000", srv.Port)
	}
	lastPing := func() string {
		p := w.players.pinged()
		return p[len(p)-1]
	}
	if got := lastPing(); !strings.HasSuffix(got, ":30001") {
		t.Errorf("probed %s, want the host port of the query port, 30001", got)
	}
	w.cancel()
	w.restart()
	w.recover()
	w.clock.Advance(time.Minute)
	before := len(w.players.pinged())
	w.pass(true)
	if len(w.players.pinged()) == before || !strings.HasSuffix(lastPing(), ":30001") {
		t.Errorf("after a restart, probed %v, want the host port 30001", w.players.pinged()[before:])
	}
}
