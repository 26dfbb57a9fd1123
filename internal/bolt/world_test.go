package bolt_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

var _ worlds.Store = (*bolt.Store)(nil)

// A world is stored as the table's item, in its own bucket, and is read
// back whole after the file is closed and opened again (a restart).
func TestWorldsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	w := records.World()
	if err := st.PutWorld(wait.Context(t), w); err != nil {
		t.Fatalf("put world: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(rawGet(t, dir, "worlds", w.ID), &got); err != nil {
		t.Fatalf("stored world is not JSON: %v", err)
	}
	want := map[string]any{
		"taskId": "world/" + w.ID, "userId": w.Owner, "game": "paper", "name": "survival", "state": "asleep",
		"size": float64(3 << 30), "lastPlayed": float64(w.LastPlayed.UnixMilli()), "port": 25570.0, "statusVersion": "Paper 1.21.4",
		"statusProtocol": 769.0, "statusMax": 40.0, "creationDate": float64(w.CreatedAt.UnixMilli()), "storage": w.Storage,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored world = %v, want %v", got, want)
	}

	st = openStore(t, dir)
	snap, err := st.LoadAll(wait.Context(t))
	if err != nil || len(snap.Problems) != 0 || !reflect.DeepEqual(snap.Worlds, []spawner.World{w}) {
		t.Errorf("worlds after reopen = %+v, %v, %v", snap.Worlds, snap.Problems, err)
	}
}

// A world record that strayed into the servers bucket is neither a server
// nor a world, nor a problem: Put never writes one there. One in the
// worlds bucket whose taskId names another world is a problem: which id
// it has cannot be told.
func TestStrayWorldRecords(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	rec := func(key string) []byte {
		return []byte(`{"taskId":"` + key + `","userId":"8","game":"paper","name":"survival","state":"stored"}`)
	}
	rawPut(t, dir, "worlds", "good", rec("world/good"))
	rawPut(t, dir, "servers", "world/stray", rec("world/stray"))
	rawPut(t, dir, "worlds", "moved", rec("world/elsewhere"))

	st = openStore(t, dir)
	snap, err := st.LoadAll(wait.Context(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if want := []spawner.World{{ID: "good", Owner: "8", Game: "paper", Name: "survival", State: spawner.WorldStored}}; !reflect.DeepEqual(snap.Worlds, want) {
		t.Errorf("worlds = %+v, want only the good one", snap.Worlds)
	}
	if len(snap.Servers) != 0 || len(snap.Problems) != 1 || snap.Problems[0].Error() != `item "world/moved": taskId does not match the record's key` {
		t.Errorf("servers = %+v, problems %v; want the moved world's problem alone", snap.Servers, snap.Problems)
	}
}
