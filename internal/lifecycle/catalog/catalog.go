// Package catalog is the games a member may start: the default game built
// from the variables, and the templates admins stored with /game add. It
// owns the games offered (changed stored first, then offered), and the
// games that running servers keep in their records, parsed once.
//
// A Catalog is safe for concurrent use; it has no goroutine of its own.
package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Store is the part of the table that keeps game templates, under the key
// "game/<name>" (dynamo.Table and bolt.Store satisfy it). The templates
// stored are read with the rest of the table at start, and given to Load.
type Store interface {
	// PutGame stores doc under name, replacing any template of that name.
	PutGame(ctx context.Context, name string, doc []byte) error
	// DeleteGame removes the template name; removing one absent is not an error.
	DeleteGame(ctx context.Context, name string) error
}

// Checker is the task runtime's look at a parsed template, changing
// nothing: a runtime of task definitions checks that the family is known
// and holds the container. It returns nil when the runtime can run g; a
// *spawner.Problem whose Var names the template key to fix; or an error
// wrapping spawner.ErrUnreachable when the runtime did not answer.
type Checker interface {
	CheckGame(ctx context.Context, g spawner.Game) error
}

// ErrStore is wrapped by Add and Remove when the template was valid but
// the table failed; nothing is offered that is not stored.
var ErrStore = errors.New("the game could not be saved")

// Catalog is the games offered, the default game first.
type Catalog struct {
	store   Store   // nil: only the games given to New are offered
	checker Checker // nil: the runtime is not asked
	limits  spawner.Limits

	mu     sync.RWMutex
	games  spawner.Catalog // copied on write: a snapshot never changes
	change sync.Mutex      // serialises the changes of stored templates

	// told holds the malformed templates Load already returned, so a
	// Load retried at start reports each once.
	told sync.Map
	// kept holds the games parsed from the templates servers keep in their
	// records (Of), by template text: parsed once, not at every status
	// edit or watchdog check.
	kept sync.Map
}

// New returns the catalog of offered, the default game first, whose
// templates are stored in store (nil: none can be added), checked by
// checker (nil: none) and parsed within limits.
func New(offered spawner.Catalog, store Store, checker Checker, limits spawner.Limits) *Catalog {
	return &Catalog{store: store, checker: checker, limits: limits, games: slices.Clone(offered)}
}

// Games returns a snapshot of the games offered: the default game first,
// then the stored templates by name. Later changes do not show in a
// snapshot already taken.
func (c *Catalog) Games() spawner.Catalog {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.games
}

// Default is the game built from the variables, whose rules are every
// template's defaults.
func (c *Catalog) Default() spawner.Game {
	g, _ := c.Games().Lookup("")
	return g
}

// Add validates a game template and, when it has no problem, stores it and
// offers it at once. It returns the game and whether a game of that name
// was replaced. On problems it returns spawner.TemplateErrors naming every
// one with its key (the parser's and the runtime's together) and stores
// nothing; a table that fails is an error wrapping ErrStore.
func (c *Catalog) Add(ctx context.Context, data []byte) (g spawner.Game, replaced bool, err error) {
	if c.store == nil {
		return spawner.Game{}, false, fmt.Errorf("add game: %w: no template store", ErrStore)
	}
	g, err = c.Validate(ctx, data)
	if err != nil {
		return spawner.Game{}, false, err
	}
	c.change.Lock() // one change of the catalog at a time, stored then offered
	defer c.change.Unlock()
	_, replaced = c.Games().Lookup(g.Name)
	if err := c.store.PutGame(ctx, g.Name, g.Template); err != nil {
		return spawner.Game{}, false, fmt.Errorf("put game %s: %w: %w", g.Name, ErrStore, err)
	}
	c.set(g)
	return g, replaced, nil
}

// Remove deletes the stored template name: it is no longer offered;
// servers running it keep their rules until they stop. The default game
// cannot be removed, and an unknown name is a *spawner.Refusal with
// RefusedUnknownGame; a table that fails is an error wrapping ErrStore.
func (c *Catalog) Remove(ctx context.Context, name string) (spawner.Game, error) {
	c.change.Lock()
	defer c.change.Unlock()
	g, ok := c.Games().Lookup(name)
	if !ok || name == "" || len(g.Template) == 0 || c.store == nil {
		return spawner.Game{}, &spawner.Refusal{Code: spawner.RefusedUnknownGame, Name: name}
	}
	if err := c.store.DeleteGame(ctx, g.Name); err != nil {
		return spawner.Game{}, fmt.Errorf("delete game %s: %w: %w", g.Name, ErrStore, err)
	}
	c.mu.Lock()
	c.games = slices.DeleteFunc(slices.Clone(c.games), func(o spawner.Game) bool { return o.Name == g.Name && len(o.Template) > 0 })
	c.mu.Unlock()
	return g, nil
}

// Validate parses a template with the default game's rules as defaults,
// within the limits, and asks the runtime (the Checker) whether it can run
// it. It returns the game, or spawner.TemplateErrors with every problem
// found, or another error when the runtime could not be asked. It changes
// nothing.
func (c *Catalog) Validate(ctx context.Context, data []byte) (spawner.Game, error) {
	data = spawner.TrimBOM(data)
	g, err := spawner.ParseTemplateWithin(data, c.Default(), c.limits)
	var problems spawner.TemplateErrors
	if err != nil && !errors.As(err, &problems) {
		return spawner.Game{}, err
	}
	probe := g
	if err != nil {
		probe = runtimeKeys(data, problems)
	}
	if c.checker != nil && (probe.TaskDefinition != "" || probe.Image != "") {
		cerr := c.checker.CheckGame(ctx, probe)
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

// set offers g, replacing a stored game of its name. The catalog is
// copied on write, so snapshots never change.
func (c *Catalog) set(g spawner.Game) {
	c.mu.Lock()
	defer c.mu.Unlock()
	games := slices.Clone(c.games)
	i := slices.IndexFunc(games, func(o spawner.Game) bool { return o.Name == g.Name && len(o.Template) > 0 })
	if i >= 0 {
		games[i] = g
	} else {
		games = append(games, g)
		slices.SortStableFunc(games[1:], func(a, b spawner.Game) int { return strings.Compare(a.Name, b.Name) })
	}
	c.games = games
}

// Bad is a stored template that cannot be offered: Name is its key's name
// ("" when the item could not even be read) and Err what is wrong.
type Bad struct {
	Name string
	Err  error
}

// Load puts the stored templates read at start (docs, by name) into the
// catalog; problems are the template records that could not be read. A
// record that could not be read or a template that does not parse is
// skipped, and returned among bad the first time only: the start is
// retried while the table or the runtime fail, and each is reported once.
// With no store, nothing stored is offered.
func (c *Catalog) Load(docs map[string][]byte, problems []error) (bad []Bad) {
	if c.store == nil {
		return nil
	}
	for _, p := range problems {
		bad = c.tell(bad, "", p)
	}
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		g, err := spawner.ParseTemplateWithin(docs[name], c.Default(), c.limits)
		if err == nil && g.Name != name {
			err = fmt.Errorf("stored as %q but named %q", name, g.Name)
		}
		if err != nil {
			bad = c.tell(bad, name, err)
			continue
		}
		c.set(g)
	}
	return bad
}

// tell adds a bad template to bad unless an earlier Load returned it.
func (c *Catalog) tell(bad []Bad, name string, err error) []Bad {
	if _, told := c.told.LoadOrStore(name+"\x00"+err.Error(), true); told {
		return bad
	}
	return append(bad, Bad{Name: name, Err: err})
}

// Of is the game whose rules server s follows: the template it was created
// from when its record kept one (so a replaced or removed template changes
// nothing for it), else its game in the catalog, else the default.
func (c *Catalog) Of(s spawner.Server) spawner.Game {
	if len(s.GameTemplate) > 0 {
		if g, ok := c.kept.Load(string(s.GameTemplate)); ok {
			return g.(spawner.Game)
		}
		if g, err := spawner.ParseTemplateWithin(s.GameTemplate, c.Default(), c.limits); err == nil {
			c.kept.Store(string(s.GameTemplate), g)
			return g
		}
	}
	games := c.Games()
	g, ok := games.Lookup(s.Game)
	if !ok {
		g, _ = games.Lookup("")
	}
	return g
}
