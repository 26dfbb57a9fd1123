package lifecycle

import (
	"bytes"
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
)

// fakeGames is the table's templates.
type fakeGames struct {
	mu   sync.Mutex
	docs map[string][]byte
	puts int
}

var _ Games = (*fakeGames)(nil)

func newFakeGames() *fakeGames { return &fakeGames{docs: make(map[string][]byte)} }

// stored is what the table's LoadAll reads of the templates.
func (f *fakeGames) stored() map[string][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.docs)
}

func (f *fakeGames) PutGame(ctx context.Context, name string, doc []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	f.docs[name] = slices.Clone(doc)
	return nil
}

func (f *fakeGames) DeleteGame(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.docs, name)
	return nil
}

func (f *fakeGames) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.docs))
}

// fakeChecker knows the task definitions of a small ECS.
type fakeChecker map[string][]string // family → containers

func (c fakeChecker) CheckGame(ctx context.Context, g spawner.Game) error {
	containers, ok := c[g.TaskDefinition]
	switch {
	case !ok:
		return &spawner.Problem{Var: "taskDefinition", Err: fmt.Errorf("task definition %q: no ACTIVE revision", g.TaskDefinition)}
	case g.Container != "" && !slices.Contains(containers, g.Container):
		return &spawner.Problem{Var: "container", Err: fmt.Errorf("task definition %q has no container named %q", g.TaskDefinition, g.Container)}
	}
	return nil
}

// withGames gives the world a template store and an ECS that knows valheim and factorio.
func withGames(g *fakeGames) option {
	return func(o *Options) {
		o.Games = g
		o.GameChecker = fakeChecker{"valheim": {"valheim"}, "factorio": {"factorio"}}
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
	w.ecs.mu.Lock()
	w.ecs.startStatus = spawner.TaskRunning
	w.ecs.mu.Unlock()
	w.pinger.answer(players)
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

func TestAddGameNamesEveryProblemAndStoresNothing(t *testing.T) {
	games := newFakeGames()
	w := newWorld(t, withGames(games))
	w.recover()
	before := w.m.Catalog()
	bad := []byte(`{"name": "Bad Name", "title": "X", "taskDefinition": "nosuch", "container": "c",
		"port": 70000, "protocol": "quake", "maxDuration": "forever", "colour": "red"}`)
	_, err := w.m.AddGame(w.ctx, admin, bad)
	var problems spawner.TemplateErrors
	if !errors.As(err, &problems) {
		t.Fatalf("AddGame = %v, want template problems", err)
	}
	var keys []string
	for _, p := range problems {
		keys = append(keys, p.Key)
	}
	for _, want := range []string{"name", "port", "protocol", "maxDuration", "colour", "taskDefinition"} {
		if !slices.Contains(keys, want) {
			t.Errorf("problems %q name no %q", problems.Error(), want)
		}
	}
	// A family ECS knows, a container it does not hold.
	_, err = w.m.AddGame(w.ctx, admin, []byte(strings.Replace(string(valheimTemplate(1, "1m")), `"container": "valheim"`, `"container": "server"`, 1)))
	if !errors.As(err, &problems) || len(problems) != 1 || problems[0].Key != "container" {
		t.Errorf("AddGame with a container not in the family = %v, want one problem on container", err)
	}
	if _, err := w.m.AddGame(w.ctx, spawner.Actor{UserID: alice}, valheimTemplate(1, "1m")); !errors.Is(err, ErrAdminsOnly) {
		t.Errorf("AddGame by a member = %v, want ErrAdminsOnly", err)
	}
	if n := games.names(); len(n) != 0 || games.puts != 0 {
		t.Errorf("stored %v after refusals, want nothing", n)
	}
	if got := w.m.Catalog(); len(got) != len(before) {
		t.Errorf("catalog changed by refusals: %d games", len(got))
	}
}

func TestCatalogAddReplaceRemove(t *testing.T) {
	games := newFakeGames()
	w := newWorld(t, withGames(games))
	w.recover()
	snapshot := w.m.Catalog()

	replaced, err := w.m.AddGame(w.ctx, admin, valheimTemplate(1, "1m"))
	if err != nil || replaced {
		t.Fatalf("AddGame = %v, %v; want added", replaced, err)
	}
	if replaced, err = w.m.AddGame(w.ctx, admin, factorioTemplate); err != nil || replaced {
		t.Fatalf("AddGame factorio = %v, %v; want added", replaced, err)
	}
	var names []string
	for _, g := range w.m.Catalog() {
		names = append(names, g.Name)
	}
	if want := []string{"minecraft", "factorio", "valheim"}; !slices.Equal(names, want) {
		t.Errorf("catalog = %v, want %v (default first, then by name)", names, want)
	}
	if len(snapshot) != 1 {
		t.Errorf("a snapshot taken before changed: %d games", len(snapshot))
	}
	if replaced, err = w.m.AddGame(w.ctx, admin, valheimTemplate(3, "2m")); err != nil || !replaced {
		t.Fatalf("AddGame again = %v, %v; want replaced", replaced, err)
	}
	if g, _ := w.m.Catalog().Lookup("valheim"); g.MinPlayers != 3 {
		t.Errorf("replaced game has minPlayers %d, want 3", g.MinPlayers)
	}
	if _, err := w.m.RemoveGame(w.ctx, admin, "minecraft"); refusalCode(err) != spawner.RefusedUnknownGame {
		t.Errorf("RemoveGame of the default = %v, want refused", err)
	}
	if _, err := w.m.RemoveGame(w.ctx, admin, "valheim"); err != nil {
		t.Fatalf("RemoveGame: %v", err)
	}
	if _, ok := w.m.Catalog().Lookup("valheim"); ok {
		t.Errorf("valheim still offered after its removal")
	}
	if got := games.names(); !slices.Equal(got, []string{"factorio"}) {
		t.Errorf("stored templates = %v, want factorio", got)
	}
	if err := w.m.Create(spawner.CreateRequest{Owner: alice, Game: "valheim"}); refusalCode(err) != spawner.RefusedUnknownGame {
		t.Errorf("Create of a removed game = %v, want refused", err)
	}
}

func TestServerOfTemplateRunsWithItsGameAndKeepsItsRulesAcrossRestart(t *testing.T) {
	games := newFakeGames()
	w := newWorld(t, withGames(games))
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, valheimTemplate(2, "1m")); err != nil {
		t.Fatal(err)
	}
	srv := w.readyGameServer(alice, "valheim", 5)

	specs := w.ecs.runSpecs()
	spec := specs[len(specs)-1]
	if spec.TaskDefinition != "valheim" || spec.Container != "valheim" || spec.CPU != 2048 || spec.Memory != 8192 || spec.CapacityProvider != "FARGATE" {
		t.Errorf("RunTask spec = %+v, want valheim's definition, container, cpu, memory and capacity provider", spec)
	}
	if want := []spawner.PortSpec{{Port: 2456, Proto: "udp"}, {Port: 2457, Proto: "udp"}}; !slices.Equal(spec.Ports, want) {
		t.Errorf("ports = %v, want %v", spec.Ports, want)
	}
	w.pinger.mu.Lock()
	lastProto, lastAddr := w.pinger.protos[len(w.pinger.protos)-1], w.pinger.calls[len(w.pinger.calls)-1]
	w.pinger.mu.Unlock()
	if lastProto != spawner.ProtocolA2S || !strings.HasSuffix(lastAddr, ":2457") {
		t.Errorf("probed %s at %s, want a2s on the query port 2457", lastProto, lastAddr)
	}
	ready := w.chat.find(srv.ChannelID, "is ready")
	if len(ready) != 1 {
		t.Fatalf("ready messages = %d\n%s", len(ready), w)
	}
	w.mustContain("ready message", ready[0].content, "**Players online:** 5", "**Minimum players:** 2")

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
	seen := len(w.chat.messages(srv.ChannelID))
	w.pinger.answer(3) // enough for 2, not for 10
	w.advanceAndPass(time.Minute, false)
	if msgs := w.newMessages(srv.ChannelID, &seen); len(msgs) != 0 {
		t.Errorf("with 3 players and its own minimum of 2, said %q", msgs[0].content)
	}
	w.pinger.answer(1)
	w.advanceAndPass(time.Minute, false) // its own check interval, not 30m
	msgs := w.newMessages(srv.ChannelID, &seen)
	if len(msgs) != 1 {
		t.Fatalf("after a check with 1 player: %d messages, want a warning\n%s", len(msgs), w)
	}
	w.mustContain("warning", msgs[0].content, "warning **1/1**", "1 player(s) online, 2 needed")
	w.advanceAndPass(time.Minute, false)
	if _, ok := w.serverOf(alice); ok {
		t.Errorf("server still tracked after its own single warning\n%s", w)
	}
	if got, _ := w.serverOf(alice); got.Players != 0 {
		t.Errorf("players = %d", got.Players)
	}
}

func TestTCPGameHasNoPlayerWatchdog(t *testing.T) {
	games := newFakeGames()
	w := newWorld(t, withGames(games))
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, factorioTemplate); err != nil {
		t.Fatal(err)
	}
	srv := w.readyGameServer(alice, "factorio", 0)
	ready := w.chat.find(srv.ChannelID, "is ready")
	if len(ready) != 1 {
		t.Fatalf("ready messages = %d\n%s", len(ready), w)
	}
	w.mustContain("ready message", ready[0].content, "players are not counted for this game")
	if strings.Contains(ready[0].content, "Minimum players") {
		t.Errorf("ready message of a tcp game tells a minimum:\n%s", ready[0].content)
	}
	w.pinger.silence()
	pings := len(w.pinger.pings())
	seen := len(w.chat.messages(srv.ChannelID))
	for range 30 {
		w.advanceAndPass(time.Minute, false)
	}
	if n := len(w.pinger.pings()); n != pings {
		t.Errorf("a tcp game was pinged %d times by the player watchdog", n-pings)
	}
	if msgs := w.newMessages(srv.ChannelID, &seen); len(msgs) != 0 {
		t.Errorf("said %q to a tcp game's owner", msgs[0].content)
	}
	if got, ok := w.serverOf(alice); !ok || got.Players != -1 {
		t.Errorf("server = %+v, %v; want tracked with players not counted (-1)", got, ok)
	}
}

func TestMalformedStoredTemplateIsReportedAndSkipped(t *testing.T) {
	games := newFakeGames()
	games.docs["broken"] = []byte(`{"name": "broken", "port": "x"}`)
	games.docs["factorio"] = factorioTemplate
	w := newWorld(t, withGames(games))
	w.recover()
	if _, ok := w.m.Catalog().Lookup("broken"); ok {
		t.Errorf("a malformed template is offered")
	}
	if _, ok := w.m.Catalog().Lookup("factorio"); !ok {
		t.Errorf("the good template is not offered")
	}
	if got := w.chat.logsWith("broken", "port"); len(got) != 1 {
		t.Errorf("log channel lines about the broken template = %q, want 1\n%s", got, w)
	}
}

func TestGameWithoutVariants(t *testing.T) {
	games := newFakeGames()
	w := newWorld(t, withGames(games))
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, factorioTemplate); err != nil {
		t.Fatal(err)
	}
	srv := w.readyGameServer(alice, "factorio", 0)
	if srv.Variant != "" || srv.Game != "factorio" {
		t.Errorf("server = game %q variant %q, want factorio without variant", srv.Game, srv.Variant)
	}
	if err := w.m.Create(spawner.CreateRequest{Owner: bob, Game: "factorio", Variant: "official"}); refusalCode(err) != spawner.RefusedUnknownVariant {
		t.Errorf("Create with a variant the game lacks = %v, want refused", err)
	}
}

// Under the Docker runtime the game's ports are published on host ports
// the task tells: players get the host's game port, and the A2S probe asks
// the host port mapped to the query port, after a restart too.
func TestA2SProbeUsesTheHostPortsOfTheTask(t *testing.T) {
	games := newFakeGames()
	w := newWorld(t, withGames(games))
	mapped := func() {
		w.ecs.mu.Lock()
		defer w.ecs.mu.Unlock()
		for _, t := range w.ecs.tasks {
			t.Ports = map[int]int{2456: 30000, 2457: 30001}
		}
	}
	w.ecs.onCall("DescribeTasks", mapped)
	w.ecs.onCall("ListOwnedTasks", mapped)
	w.recover()
	if _, err := w.m.AddGame(w.ctx, admin, valheimTemplate(2, "1m")); err != nil {
		t.Fatal(err)
	}
	srv := w.readyGameServer(alice, "valheim", 5)
	if srv.Port != 30000 {
		t.Errorf("server port = %d, want the host port 30000", srv.Port)
	}
	ready := w.chat.find(srv.ChannelID, "is ready")
	if len(ready) != 1 || !strings.Contains(ready[0].content, ":30000`") {
		t.Fatalf("ready message = %+v, want the host's game port\n%s", ready, w)
	}
	lastPing := func() string {
		p := w.pinger.pings()
		return p[len(p)-1]
	}
	if got := lastPing(); !strings.HasSuffix(got, ":30001") {
		t.Errorf("probed %s, want the host port of the query port, 30001", got)
	}
	w.cancel()
	w.restart()
	w.recover()
	w.clock.Advance(time.Minute)
	before := len(w.pinger.pings())
	w.pass(true)
	if len(w.pinger.pings()) == before || !strings.HasSuffix(lastPing(), ":30001") {
		t.Errorf("after a restart, probed %v, want the host port 30001", w.pinger.pings()[before:])
	}
}

// TestAddGameWithAByteOrderMark: a template saved by Windows Notepad
// (a UTF-8 byte order mark first) is read as any other: stored without
// the mark, and its problems, the runtime's included, named.
func TestAddGameWithAByteOrderMark(t *testing.T) {
	games := newFakeGames()
	w := newWorld(t, withGames(games))
	w.recover()
	bom := []byte("\uFEFF")
	if _, err := w.m.AddGame(w.ctx, admin, append(bom, valheimTemplate(1, "1m")...)); err != nil {
		t.Fatalf("AddGame with a byte order mark: %v", err)
	}
	if doc := games.docs["valheim"]; !bytes.Equal(doc, valheimTemplate(1, "1m")) {
		t.Errorf("stored %q, want the template without its mark", doc)
	}
	bad := strings.Replace(string(valheimTemplate(1, "1ms")), `"container": "valheim"`, `"container": "server"`, 1)
	_, err := w.m.AddGame(w.ctx, admin, append(bom, bad...))
	var problems spawner.TemplateErrors
	if !errors.As(err, &problems) || !strings.Contains(err.Error(), "checkInterval: 1ms is below the minimum of 10s") || !strings.Contains(err.Error(), "container: ") {
		t.Errorf("AddGame of a bad template with a byte order mark = %v, want its checkInterval and its container named", err)
	}
}
