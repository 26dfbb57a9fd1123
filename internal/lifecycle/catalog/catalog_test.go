package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

var errBoom = errors.New("service unavailable")

// store is a function-field fake of the table's templates.
type store struct {
	PutGameFn    func(ctx context.Context, name string, doc []byte) error
	DeleteGameFn func(ctx context.Context, name string) error
}

func (s *store) PutGame(ctx context.Context, name string, doc []byte) error {
	return s.PutGameFn(ctx, name, doc)
}
func (s *store) DeleteGame(ctx context.Context, name string) error { return s.DeleteGameFn(ctx, name) }

// checker is a function-field fake of the runtime's look at a template.
type checker struct {
	CheckGameFn func(ctx context.Context, g spawner.Game) error
}

func (c *checker) CheckGame(ctx context.Context, g spawner.Game) error { return c.CheckGameFn(ctx, g) }

// docs is a table of templates behind a store fake.
type docs struct {
	mu   sync.Mutex
	docs map[string][]byte
}

func (d *docs) fake() *store {
	if d.docs == nil {
		d.docs = map[string][]byte{}
	}
	return &store{
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

func (d *docs) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(maps.Keys(d.docs))
}

// ecs knows the task definitions valheim and factorio, each with a
// container of its name.
var ecs = &checker{CheckGameFn: func(_ context.Context, g spawner.Game) error {
	switch {
	case g.TaskDefinition != "valheim" && g.TaskDefinition != "factorio":
		return &spawner.Problem{Var: "taskDefinition", Err: fmt.Errorf("task definition %q: no ACTIVE revision", g.TaskDefinition)}
	case g.Container != "" && g.Container != g.TaskDefinition:
		return &spawner.Problem{Var: "container", Err: fmt.Errorf("task definition %q has no container named %q", g.TaskDefinition, g.Container)}
	}
	return nil
}}

func minecraft() spawner.Game {
	return spawner.Game{
		Name: "minecraft", Title: "Minecraft", TaskDefinition: "minecraft-server", Container: "minecraft", Port: 25565,
		MinPlayers: 4, WarningCount: 3, CheckInterval: 5 * time.Minute, MaxDuration: 90 * time.Minute,
		MaxDurationWarning: 10 * time.Minute, ReadyTimeout: 10 * time.Minute,
	}
}

func newCatalog(s Store) *Catalog {
	return New(spawner.Catalog{minecraft()}, s, ecs, spawner.DefaultLimits())
}

func valheim(minPlayers int, checkInterval string) []byte {
	return fmt.Appendf(nil, `{"name": "valheim", "title": "Valheim", "taskDefinition": "valheim", "container": "valheim",
		"port": 2456, "protocol": "a2s", "queryPort": 2457,
		"minPlayers": %d, "warnings": 1, "checkInterval": %q, "maxDuration": "3h", "readyTimeout": "15m"}`, minPlayers, checkInterval)
}

var factorio = []byte(`{"name": "factorio", "title": "Factorio", "taskDefinition": "factorio", "container": "factorio",
	"port": 34197, "protocol": "tcp", "minPlayers": 2, "checkInterval": "1m", "maxDuration": "4h"}`)

func keys(err error) []string {
	var problems spawner.TemplateErrors
	if !errors.As(err, &problems) {
		return nil
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.Key)
	}
	return out
}

func TestAddNamesEveryProblemAndStoresNothing(t *testing.T) {
	d := &docs{}
	c := newCatalog(d.fake())
	bad := []byte(`{"name": "Bad Name", "title": "X", "taskDefinition": "nosuch", "container": "c",
		"port": 70000, "protocol": "quake", "maxDuration": "forever", "colour": "red"}`)
	_, _, err := c.Add(context.Background(), bad)
	got := keys(err)
	for _, want := range []string{"name", "port", "protocol", "maxDuration", "colour", "taskDefinition"} {
		if !slices.Contains(got, want) {
			t.Errorf("Add = %v: no problem names %q", err, want)
		}
	}
	// A family the runtime knows, a container it does not hold.
	_, _, err = c.Add(context.Background(), bytes.Replace(valheim(1, "1m"), []byte(`"container": "valheim"`), []byte(`"container": "server"`), 1))
	if got := keys(err); !slices.Equal(got, []string{"container"}) {
		t.Errorf("Add with a container not in the family = %v, want one problem on container", err)
	}
	if n := d.names(); len(n) != 0 || len(c.Games()) != 1 {
		t.Errorf("stored %v and offered %d games after refusals", n, len(c.Games()))
	}
}

func TestAddReplaceRemove(t *testing.T) {
	ctx := context.Background()
	d := &docs{}
	c := newCatalog(d.fake())
	snapshot := c.Games()
	if _, replaced, err := c.Add(ctx, valheim(1, "1m")); err != nil || replaced {
		t.Fatalf("Add = %v, %v; want added", replaced, err)
	}
	if _, replaced, err := c.Add(ctx, factorio); err != nil || replaced {
		t.Fatalf("Add factorio = %v, %v; want added", replaced, err)
	}
	var names []string
	for _, g := range c.Games() {
		names = append(names, g.Name)
	}
	if want := []string{"minecraft", "factorio", "valheim"}; !slices.Equal(names, want) {
		t.Errorf("games = %v, want %v (default first, then by name)", names, want)
	}
	if len(snapshot) != 1 {
		t.Errorf("a snapshot taken before changed: %d games", len(snapshot))
	}
	if _, replaced, err := c.Add(ctx, valheim(3, "2m")); err != nil || !replaced {
		t.Fatalf("Add again = %v, %v; want replaced", replaced, err)
	}
	if g, _ := c.Games().Lookup("valheim"); g.MinPlayers != 3 {
		t.Errorf("replaced game has minPlayers %d, want 3", g.MinPlayers)
	}
	for _, name := range []string{"minecraft", "", "terraria"} {
		var r *spawner.Refusal
		if _, err := c.Remove(ctx, name); !errors.As(err, &r) || r.Code != spawner.RefusedUnknownGame {
			t.Errorf("Remove(%q) = %v, want refused", name, err)
		}
	}
	if g, err := c.Remove(ctx, "valheim"); err != nil || g.Name != "valheim" {
		t.Fatalf("Remove = %v, %v", g.Name, err)
	}
	if _, ok := c.Games().Lookup("valheim"); ok {
		t.Errorf("valheim still offered after its removal")
	}
	if got := d.names(); !slices.Equal(got, []string{"factorio"}) {
		t.Errorf("stored templates = %v, want factorio", got)
	}
}

func TestStoreFails(t *testing.T) {
	ctx := context.Background()
	d := &docs{}
	s := d.fake()
	c := newCatalog(s)
	if _, _, err := c.Add(ctx, factorio); err != nil {
		t.Fatal(err)
	}
	s.PutGameFn = func(context.Context, string, []byte) error { return errBoom }
	s.DeleteGameFn = func(context.Context, string) error { return errBoom }
	if _, _, err := c.Add(ctx, valheim(1, "1m")); !errors.Is(err, ErrStore) || !errors.Is(err, errBoom) {
		t.Errorf("Add with the table down = %v, want ErrStore", err)
	}
	if _, ok := c.Games().Lookup("valheim"); ok {
		t.Errorf("a game the table refused is offered")
	}
	if _, err := c.Remove(ctx, "factorio"); !errors.Is(err, ErrStore) {
		t.Errorf("Remove with the table down = %v, want ErrStore", err)
	}
	if _, ok := c.Games().Lookup("factorio"); !ok {
		t.Errorf("a game the table kept is no longer offered")
	}
	none := New(spawner.Catalog{minecraft()}, nil, nil, spawner.DefaultLimits())
	if _, _, err := none.Add(ctx, factorio); !errors.Is(err, ErrStore) {
		t.Errorf("Add with no template store = %v, want ErrStore", err)
	}
}

// TestLoadReportsMalformedOnce: the start is retried; a malformed stored
// template, or one that could not be read, is returned once, not at every
// attempt, and skipped.
func TestLoadReportsMalformedOnce(t *testing.T) {
	stored := map[string][]byte{
		"broken":   []byte(`{"name": "broken", "port": "x"}`),
		"renamed":  factorio, // stored under another name
		"factorio": factorio,
	}
	unreadable := errors.New("item game/?: no name")
	c := newCatalog((&docs{}).fake())
	var told []string
	for range 3 {
		for _, b := range c.Load(maps.Clone(stored), []error{unreadable}) {
			told = append(told, b.Name)
		}
	}
	if slices.Sort(told); !slices.Equal(told, []string{"", "broken", "renamed"}) {
		t.Errorf("told %q over three loads, want each bad template once", told)
	}
	for name, offered := range map[string]bool{"factorio": true, "broken": false, "renamed": false} {
		if _, ok := c.Games().Lookup(name); ok != offered {
			t.Errorf("%s offered = %v, want %v", name, ok, offered)
		}
	}
}

// TestLoadWithoutStore: with no table of templates, nothing stored is
// offered.
func TestLoadWithoutStore(t *testing.T) {
	c := newCatalog(nil)
	if bad := c.Load(map[string][]byte{"factorio": factorio}, nil); len(bad) != 0 {
		t.Errorf("Load with no store told %+v", bad)
	}
	if _, ok := c.Games().Lookup("factorio"); ok {
		t.Errorf("a template is offered though no store keeps templates")
	}
}

// TestOfKeepsTheRecordsRules: a server follows the template its record
// kept, whatever becomes of the game since; one without a template follows
// its game in the catalog, else the default.
func TestOfKeepsTheRecordsRules(t *testing.T) {
	ctx := context.Background()
	d := &docs{}
	c := newCatalog(d.fake())
	g, _, err := c.Add(ctx, valheim(2, "1m"))
	if err != nil {
		t.Fatal(err)
	}
	srv := spawner.Server{Game: "valheim", GameTemplate: g.Template}
	if _, _, err := c.Add(ctx, valheim(10, "30m")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Remove(ctx, "valheim"); err != nil {
		t.Fatal(err)
	}
	if got := c.Of(srv); got.Name != "valheim" || got.MinPlayers != 2 || got.CheckInterval != time.Minute || got.ProbePort() != 2457 {
		t.Errorf("Of a server of the removed template = %+v, want its own rules", got)
	}
	if got := c.Of(spawner.Server{Game: "valheim"}); got.Name != "minecraft" {
		t.Errorf("Of a server of a game gone, with no template kept = %s, want the default", got.Name)
	}
	if got := c.Of(spawner.Server{Game: "minecraft"}); got.Name != "minecraft" || got.MinPlayers != 4 {
		t.Errorf("Of a server of the default game = %+v", got)
	}
}

// TestAddWithAByteOrderMark: a template saved by Windows Notepad (a UTF-8
// byte order mark first) is read as any other: stored without the mark,
// and its problems, the runtime's included, named.
func TestAddWithAByteOrderMark(t *testing.T) {
	d := &docs{}
	c := newCatalog(d.fake())
	bom := []byte("\uFEFF")
	if _, _, err := c.Add(context.Background(), append(bom, valheim(1, "1m")...)); err != nil {
		t.Fatalf("Add with a byte order mark: %v", err)
	}
	if doc := d.docs["valheim"]; !bytes.Equal(doc, valheim(1, "1m")) {
		t.Errorf("stored %q, want the template without its mark", doc)
	}
	bad := bytes.Replace(valheim(1, "1ms"), []byte(`"container": "valheim"`), []byte(`"container": "server"`), 1)
	_, _, err := c.Add(context.Background(), append(bom, bad...))
	if got := keys(err); !slices.Contains(got, "checkInterval") || !slices.Contains(got, "container") {
		t.Errorf("Add of a bad template with a byte order mark = %v, want its checkInterval and its container named", err)
	}
}
