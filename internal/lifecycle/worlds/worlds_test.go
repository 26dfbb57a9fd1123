package worlds

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

var t0 = time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)

func TestNameFor(t *testing.T) {
	for game, want := range map[string]string{
		"minecraft":       "minecraft",
		"Valheim Plus":    "valheim-plus",
		"--paper__1.21--": "paper-1-21",
		"éé":              "world",
		"a-very-long-game-name-that-goes-on-and-on": "a-very-long-game-name-that-goes",
	} {
		got := NameFor(game)
		if got != want || spawner.ValidWorldName(got) != nil {
			t.Errorf("NameFor(%q) = %q, want %q", game, got, want)
		}
	}
}

func refused(err error) spawner.RefusalCode {
	var r *spawner.Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return -1
}

// With no name, a member plays their most recently played world of the
// game; a name picks theirs of that name, or a new one; another member's
// world of the same name is never theirs.
func TestClaimChoosesTheWorld(t *testing.T) {
	p := New(nil, nil, func() time.Time { return t0 }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.Load([]spawner.World{
		{ID: "old", Owner: "a", Game: "paper", Name: "old", State: spawner.WorldStored, LastPlayed: t0.Add(-48 * time.Hour)},
		{ID: "new", Owner: "a", Game: "paper", Name: "new", State: spawner.WorldStored, LastPlayed: t0.Add(-time.Hour)},
		{ID: "other", Owner: "a", Game: "valheim", Name: "x", State: spawner.WorldStored, LastPlayed: t0},
		{ID: "bobs", Owner: "b", Game: "paper", Name: "old", State: spawner.WorldStored, LastPlayed: t0},
	})
	w, err := p.Claim("a", "paper", "", "s1")
	if err != nil || w.ID != "new" || w.State != spawner.WorldRunning || w.Server != "s1" {
		t.Fatalf("Claim with no name = %+v, %v; want the newest played, running s1", w, err)
	}
	if _, err := p.Claim("a", "paper", "new", "s2"); refused(err) != spawner.RefusedWorldRunning {
		t.Errorf("a second claim of a running world: %v", err)
	}
	if w, err := p.Claim("a", "paper", "old", "s3"); err != nil || w.ID != "old" {
		t.Errorf("Claim by name = %+v, %v", w, err)
	}
	w, err = p.Claim("c", "paper", "", "s4")
	if err != nil || w.Name != "paper" || w.Owner != "c" || w.ID == "" {
		t.Fatalf("a first world = %+v, %v; want a new one named after the game", w, err)
	}
	if infos := p.List(spawner.Actor{UserID: "c"}); len(infos) != 0 {
		t.Errorf("a world not yet recorded is listed: %+v", infos)
	}
	if _, ok := p.Unclaim(w.ID, "s4"); ok {
		t.Errorf("a new world given back is still there")
	}
	if got, ok := p.Unclaim("new", "s1"); !ok || got.State != spawner.WorldStored || got.Server != "" {
		t.Errorf("Unclaim = %+v, want stored again", got)
	}
	if n := len(p.List(spawner.Actor{UserID: "x", Admin: true})); n != 4 {
		t.Errorf("an admin lists %d worlds, want 4", n)
	}
}

// A world busy with a backup, restore or deletion is refused to a
// creation and to another operation.
func TestBusyWorld(t *testing.T) {
	p := New(nil, nil, func() time.Time { return t0 }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.Load([]spawner.World{{ID: "w", Owner: "a", Game: "paper", Name: "w", State: spawner.WorldStored}})
	if _, err := p.begin(spawner.Actor{UserID: "a"}, "w", opRestore); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Claim("a", "paper", "w", "s1"); refused(err) != spawner.RefusedWorldBusy {
		t.Errorf("creation during a restore: %v", err)
	}
	if err := p.Delete(context.Background(), spawner.Actor{UserID: "a"}, "w"); refused(err) != spawner.RefusedWorldBusy {
		t.Errorf("delete during a restore: %v", err)
	}
	p.done("w")
	if _, err := p.Claim("a", "paper", "w", "s1"); err != nil {
		t.Errorf("creation after the restore: %v", err)
	}
}

// memRecords is a Store that keeps the worlds' records in memory.
type memRecords map[string]spawner.World

func (r memRecords) PutWorld(_ context.Context, w spawner.World) error { r[w.ID] = w; return nil }
func (r memRecords) DeleteWorld(_ context.Context, id string) error    { delete(r, id); return nil }

// The save at the end of a server waits for a /world backup under way;
// when its context ends first, the world is no longer running, its save
// failed, and the backup under way still holds it.
func TestSaveGivesUpWaitingWithItsContext(t *testing.T) {
	store := memRecords{}
	p := New(store, nil, func() time.Time { return t0 }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.Load([]spawner.World{{ID: "w", Owner: "a", Game: "paper", Name: "w", State: spawner.WorldRunning, Server: "s1"}})
	if _, err := p.begin(spawner.Actor{UserID: "a"}, "w", opBackup); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, found := p.Ended(ctx, "w", "s1", t0, true)
	if !found || !errors.Is(s.Err, context.Canceled) || s.Backup != nil {
		t.Fatalf("Ended = %+v, %v; want a save that failed with its context", s, found)
	}
	if w := store["w"]; w.State != spawner.WorldStored || w.Server != "" {
		t.Errorf("record after the end %+v, want stored, no server", w)
	}
	if _, err := p.begin(spawner.Actor{UserID: "a"}, "w", opBackup); refused(err) != spawner.RefusedWorldBusy {
		t.Errorf("another backup while the first runs: %v", err)
	}
	p.done("w")
	if _, err := p.begin(spawner.Actor{UserID: "a"}, "w", opBackup); err != nil {
		t.Errorf("a backup after the first: %v", err)
	}
}
