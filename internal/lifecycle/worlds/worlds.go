package worlds

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Worlds owns the worlds: their records as the table has them, which one
// each server plays, the backup, restore or deletion under way of each,
// and how many backups each has (kept up to date by every operation, so
// that a list never reads the archives). It is safe for concurrent use;
// it never holds its lock across a call to its Store or its Content.
type Worlds struct {
	store   Store
	content Content
	now     func() time.Time
	log     *slog.Logger

	mu     sync.Mutex
	worlds map[string]*kept // by world id
}

// kept is a world and what the part knows of it beside its record.
type kept struct {
	w spawner.World
	// recorded is false for a world made for a creation whose record is
	// not written yet: it has no storage either, and is forgotten when
	// that creation ends before its task started.
	recorded bool
	// before is the world as it was before a creation claimed it, to put
	// back when that creation ends before its task started.
	before  spawner.World
	busy    op  // the backup, restore or deletion under way; "" for none
	backups int // how many complete backups it has
}

// op is an operation on a world that excludes the others.
type op string

const (
	opBackup  op = "backup"
	opRestore op = "restore"
	opDelete  op = "delete"
	opSave    op = "save" // the save of a world whose server ended during a restart
)

// New returns the part, talking to store and content, with now as its
// clock. A nil content means the bot keeps no worlds: Enabled is false.
func New(store Store, content Content, now func() time.Time, log *slog.Logger) *Worlds {
	return &Worlds{store: store, content: content, now: now, log: log, worlds: make(map[string]*kept)}
}

// Enabled reports whether the bot keeps worlds (a Content is wired).
func (p *Worlds) Enabled() bool { return p.content != nil && p.store != nil }

// Load replaces the worlds by those read from the table at start.
func (p *Worlds) Load(ws []spawner.World) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.worlds = make(map[string]*kept, len(ws))
	for _, w := range ws {
		p.worlds[w.ID] = &kept{w: w, recorded: true}
	}
}

// Get returns world id.
func (p *Worlds) Get(id string) (spawner.World, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.worlds[id]
	if !ok {
		return spawner.World{}, false
	}
	return k.w, true
}

// Event is world id as the events of its server show it; nil for none.
func (p *Worlds) Event(id string) *spawner.EventWorld {
	if id == "" {
		return nil
	}
	w, ok := p.Get(id)
	if !ok {
		return nil
	}
	return &spawner.EventWorld{Name: w.Name, Owner: w.Owner, State: w.State, Size: w.Size}
}

// List returns the worlds by may act on (their own; every world for an
// admin), by game then name then owner, with their counts of backups.
// Address is left for the caller, who knows the servers.
func (p *Worlds) List(by spawner.Actor) []spawner.WorldInfo {
	p.mu.Lock()
	out := make([]spawner.WorldInfo, 0, len(p.worlds))
	for _, k := range p.worlds {
		if k.recorded && (by.Admin || k.w.Owner == by.UserID) {
			out = append(out, spawner.WorldInfo{World: k.w, Backups: k.backups})
		}
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b spawner.WorldInfo) int {
		return cmp.Or(cmp.Compare(a.Game, b.Game), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Owner, b.Owner))
	})
	return out
}

// Claim chooses the world of game a creation by owner plays, and gives it
// to server (its creation id): the owner's world called name, made new
// when missing; name empty, the owner's most recently played world of the
// game, or a new world named after the game (NameFor). A world plays one
// server at a time: one running is refused with spawner.RefusedWorldRunning,
// one being backed up, restored or deleted with spawner.RefusedWorldBusy.
// A new world exists in memory only until Prepare records it. Claim does
// no I/O; Unclaim undoes it.
func (p *Worlds) Claim(owner, game, name, server string) (spawner.World, error) {
	if name != "" {
		if err := spawner.ValidWorldName(name); err != nil {
			return spawner.World{}, &spawner.Refusal{Code: spawner.RefusedWorldName, Name: name}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.chooseLocked(owner, game, name)
	if k == nil {
		if name == "" {
			name = NameFor(game)
		}
		now := p.now()
		k = &kept{w: spawner.World{ID: newWorldID(), Owner: owner, Game: game, Name: name, State: spawner.WorldStored, CreatedAt: now}}
		p.worlds[k.w.ID] = k
	}
	switch {
	case k.busy != "":
		return spawner.World{}, &spawner.Refusal{Code: spawner.RefusedWorldBusy, Name: k.w.Name}
	case k.w.State == spawner.WorldRunning || k.w.Server != "":
		return spawner.World{}, &spawner.Refusal{Code: spawner.RefusedWorldRunning, Name: k.w.Name}
	}
	k.before = k.w
	k.w.State, k.w.Server = spawner.WorldRunning, server
	return k.w, nil
}

// chooseLocked is the owner's world of game called name, or for no name
// their most recently played one (the newest made among those never
// played); nil when there is none. The caller holds p.mu.
func (p *Worlds) chooseLocked(owner, game, name string) *kept {
	var best *kept
	for _, k := range p.worlds {
		if k.w.Owner != owner || k.w.Game != game || (name != "" && k.w.Name != name) {
			continue
		}
		if best == nil || playedLater(k.w, best.w) {
			best = k
		}
	}
	return best
}

// playedLater reports whether a was played more recently than b.
func playedLater(a, b spawner.World) bool {
	if !a.LastPlayed.Equal(b.LastPlayed) {
		return a.LastPlayed.After(b.LastPlayed)
	}
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID < b.ID
}

// Unclaim gives world id back when the creation of server that claimed it
// was refused or ended before its task started: a world made new and not
// recorded is forgotten, another is as it was before the claim. It
// reports the world as it is now (false: forgotten or not claimed by server).
func (p *Worlds) Unclaim(id, server string) (spawner.World, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.worlds[id]
	if !ok || k.w.Server != server {
		return spawner.World{}, false
	}
	if !k.recorded {
		delete(p.worlds, id)
		return spawner.World{}, false
	}
	k.w.State, k.w.Server = k.before.State, ""
	if k.w.State == spawner.WorldRunning {
		k.w.State = spawner.WorldStored
	}
	return k.w, true
}

// Orphans returns the worlds recorded running whose server alive does not
// know (the bot stopped between the end of their server and their save),
// each now busy saving until Settled.
func (p *Worlds) Orphans(alive func(server string) bool) []spawner.World {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []spawner.World
	for _, k := range p.worlds {
		if k.recorded && k.busy == "" && k.w.State == spawner.WorldRunning && (k.w.Server == "" || !alive(k.w.Server)) {
			k.busy = opSave
			out = append(out, k.w)
		}
	}
	slices.SortFunc(out, func(a, b spawner.World) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Storages returns the storage of every world, for PruneStorage.
func (p *Worlds) Storages() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := make(map[string]bool, len(p.worlds))
	for _, k := range p.worlds {
		if k.w.Storage != "" {
			keep[k.w.Storage] = true
		}
	}
	return keep
}

// Prune removes the storages no world names (Content.PruneStorage), once
// at start before any creation, and logs them.
func (p *Worlds) Prune(ctx context.Context) {
	removed, err := p.content.PruneStorage(ctx, p.Storages())
	if err != nil {
		p.log.Warn("prune world storages no world names", "err", err)
	}
	if len(removed) > 0 {
		p.log.Info("removed world storages no world names", "storages", strings.Join(removed, ","))
	}
}

// Count reads how many backups each world has, once at start, for List.
func (p *Worlds) Count(ctx context.Context) {
	p.mu.Lock()
	ids := make([]string, 0, len(p.worlds))
	for id := range p.worlds {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		_, _ = p.countBackups(ctx, id)
	}
}

// countBackups refreshes the count of world id's backups, and returns its
// backups.
func (p *Worlds) countBackups(ctx context.Context, id string) ([]spawner.Backup, error) {
	bs, err := p.content.Backups(ctx, id)
	if err != nil {
		p.log.Warn("list a world's backups", "world", id, "err", err)
		return nil, err
	}
	p.mu.Lock()
	if k, ok := p.worlds[id]; ok {
		k.backups = len(bs)
	}
	p.mu.Unlock()
	return bs, nil
}

// newWorldID is a new world's id: 16 random bytes, hex.
func newWorldID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return hex.EncodeToString(b)
}

// NameFor is the name of a new world of game when the member named none:
// the game's name made a world name (spawner.ValidWorldName): lowercase,
// every run of other characters one '-', none at either end, at most 32
// characters; "world" when nothing is left.
func NameFor(game string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(game) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
		default:
			dash = true
		}
	}
	name := b.String()
	if len(name) > 32 {
		name = strings.TrimRight(name[:32], "-")
	}
	if name == "" {
		return "world"
	}
	return name
}
