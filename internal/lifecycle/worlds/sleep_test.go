package worlds

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// records is a Store that keeps the last record of each world and counts
// the writes.
type records struct {
	mu   sync.Mutex
	last map[string]spawner.World
	puts int
}

func (r *records) PutWorld(_ context.Context, w spawner.World) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last[w.ID] = w
	r.puts++
	return nil
}

func (r *records) DeleteWorld(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.last, id)
	return nil
}

func (r *records) get(id string) (spawner.World, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[id], r.puts
}

// saver is a Content whose Saved always works.
type saver struct{ Content }

func (saver) Saved(_ context.Context, w spawner.World, _ time.Time) (spawner.Backup, error) {
	return spawner.Backup{ID: "b1", WorldID: w.ID, ContentSize: 10}, nil
}

func (saver) Backups(context.Context, string) ([]spawner.Backup, error) { return nil, nil }

func newSleepPart(ws ...spawner.World) (*Worlds, *records) {
	r := &records{last: map[string]spawner.World{}}
	p := New(r, saver{}, func() time.Time { return t0 }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.Load(ws)
	return p, r
}

// A world whose ready server got a host port keeps it: its end leaves it
// asleep on that port, while one that holds none is stored. The ports of
// the worlds running and asleep are the ones the runtime must keep.
func TestAWorldKeepsItsPortAndSleeps(t *testing.T) {
	ctx := context.Background()
	p, r := newSleepPart(
		spawner.World{ID: "a", Owner: "o", Game: "paper", Name: "a", State: spawner.WorldStored},
		spawner.World{ID: "b", Owner: "o", Game: "valheim", Name: "b", State: spawner.WorldStored},
		spawner.World{ID: "z", Owner: "o", Game: "paper", Name: "z", State: spawner.WorldAsleep, Port: 25570},
	)
	for _, id := range []string{"a", "b"} {
		if _, err := p.ClaimID(id, "s-"+id); err != nil {
			t.Fatalf("ClaimID %s: %v", id, err)
		}
	}
	if _, ok := p.Played(ctx, "a", "someone-else", "h", 1); ok {
		t.Errorf("Played by a server that does not play the world changed it")
	}
	if before, ok := p.Played(ctx, "a", "s-a", "games.example.org", 25566); !ok || before.Port != 0 {
		t.Fatalf("Played = %+v, %v", before, ok)
	}
	if rec, _ := r.get("a"); rec.Port != 25566 || rec.Host != "games.example.org" {
		t.Errorf("record after Played %+v, want the port and host", rec)
	}
	_, puts := r.get("a")
	p.Played(ctx, "a", "s-a", "games.example.org", 25566)
	if _, again := r.get("a"); again != puts {
		t.Errorf("the same address recorded again")
	}
	if got := p.Ports(); !slices.Equal(got, []int{25566, 25570}) {
		t.Errorf("Ports = %v, want the running world's and the asleep one's", got)
	}

	for _, id := range []string{"a", "b"} {
		if s, found := p.Ended(ctx, id, "s-"+id, t0, true); !found || s.Err != nil {
			t.Fatalf("Ended %s: %+v", id, s)
		}
	}
	if a, _ := r.get("a"); a.State != spawner.WorldAsleep || a.Port != 25566 || a.Server != "" {
		t.Errorf("a world with a port after its end: %+v, want asleep on it", a)
	}
	if b, _ := r.get("b"); b.State != spawner.WorldStored || b.Port != 0 {
		t.Errorf("a world without a port after its end: %+v, want stored", b)
	}
	if got := p.Asleep(); len(got) != 2 || got[0].ID != "a" || got[1].ID != "z" {
		t.Errorf("Asleep = %+v, want a and z", got)
	}
}

// The status a game answered (version, protocol, maximum of players) is
// recorded when it changed, not at every ping; an answer that says
// neither a version nor a protocol changes nothing; a maximum larger than
// a store keeps is kept as the most it keeps.
func TestStatusRecordedWhenItChanges(t *testing.T) {
	ctx := context.Background()
	p, r := newSleepPart(spawner.World{ID: "a", Owner: "o", Game: "paper", Name: "a", State: spawner.WorldRunning, Server: "s1"})
	p.Status(ctx, "a", "s1", spawner.Ping{Version: "Paper 1.21.4", Protocol: 769, Max: 40})
	p.Status(ctx, "a", "s1", spawner.Ping{Version: "Paper 1.21.4", Protocol: 769, Max: 40, Online: 3})
	p.Status(ctx, "a", "s1", spawner.Ping{Max: 12})
	p.Status(ctx, "a", "s2", spawner.Ping{Version: "Paper 1.20", Protocol: 700, Max: 10})
	rec, puts := r.get("a")
	if puts != 1 || rec.StatusVersion != "Paper 1.21.4" || rec.StatusProtocol != 769 || rec.StatusMax != 40 {
		t.Errorf("record %+v after %d writes, want the status once", rec, puts)
	}
	p.Status(ctx, "a", "s1", spawner.Ping{Version: "Paper 1.21.4", Protocol: 769, Max: 60})
	if rec, puts = r.get("a"); puts != 2 || rec.StatusMax != 60 {
		t.Errorf("record %+v after %d writes, want the new maximum recorded", rec, puts)
	}
	p.Status(ctx, "a", "s1", spawner.Ping{Version: "Paper 1.21.4", Protocol: 769, Max: 1 << 40})
	if rec, _ = r.get("a"); rec.StatusMax != spawner.MaxPlayers {
		t.Errorf("a huge maximum recorded as %d, want %d", rec.StatusMax, spawner.MaxPlayers)
	}
}

// A port is taken from an asleep world only while it still holds that
// port and nobody wakes it; the world is then stored or stays asleep.
func TestUnport(t *testing.T) {
	ctx := context.Background()
	asleep := func(id string, port int) spawner.World {
		return spawner.World{ID: id, Owner: "o", Game: "paper", Name: id, State: spawner.WorldAsleep, Port: port, LastPlayed: t0}
	}
	p, r := newSleepPart(asleep("old", 25570), asleep("lost", 25571), asleep("woken", 25572))
	if w, ok := p.Unport(ctx, "old", 25570, true); !ok || w.State != spawner.WorldStored || w.Port != 0 {
		t.Errorf("Unport to stored = %+v, %v", w, ok)
	}
	if w, ok := p.Unport(ctx, "lost", 25571, false); !ok || w.State != spawner.WorldAsleep || w.Port != 0 {
		t.Errorf("Unport of a port taken = %+v, %v; want asleep without a port", w, ok)
	}
	if _, ok := p.Unport(ctx, "lost", 25571, true); ok {
		t.Errorf("a port taken away twice")
	}
	if _, err := p.ClaimID("woken", "s1"); err != nil {
		t.Fatal(err)
	}
	if !p.Woken("woken", "s1") || p.Woken("woken", "s2") {
		t.Errorf("Woken does not tell the wake of an asleep world")
	}
	if _, ok := p.Unport(ctx, "woken", 25572, true); ok {
		t.Errorf("the port of a world being woken was taken away")
	}
	if rec, _ := r.get("old"); rec.State != spawner.WorldStored {
		t.Errorf("record %+v, want stored", rec)
	}
	if got := p.Ports(); !slices.Equal(got, []int{25572}) {
		t.Errorf("Ports = %v, want the woken world's alone", got)
	}
	if _, err := p.ClaimID("nope", "s3"); refused(err) != spawner.RefusedNoWorld {
		t.Errorf("ClaimID of no world: %v", err)
	}
}

func TestOverslept(t *testing.T) {
	w := spawner.World{LastPlayed: t0, CreatedAt: t0.Add(-time.Hour)}
	if Overslept(w, t0.Add(time.Hour-time.Second), time.Hour) || !Overslept(w, t0.Add(time.Hour), time.Hour) {
		t.Errorf("Overslept does not count from the last play")
	}
	w.LastPlayed = time.Time{}
	if !Overslept(w, t0, time.Hour) {
		t.Errorf("a world never played does not count from its making")
	}
}
