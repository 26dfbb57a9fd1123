package dynamo_test

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

var _ worlds.Store = (*dynamo.Table)(nil)

// Worlds live beside servers, games and cooldowns, under "world/<id>",
// with the server record's attributes for what they share, and LoadAll
// mistakes them for none of those.
func TestWorldsLiveBesideServers(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	ctx := wait.Context(t)
	asleep, running := records.World(), records.NewWorld("w2", "c-43")
	srv := records.Pending()
	srv.WorldID = running.ID
	if err := table.Put(ctx, srv); err != nil {
		t.Fatalf("put server: %v", err)
	}
	if err := table.PutGame(ctx, "paper", []byte(`{"name":"paper"}`)); err != nil {
		t.Fatalf("put game: %v", err)
	}
	for _, w := range []spawner.World{asleep, running} {
		if err := table.PutWorld(ctx, w); err != nil {
			t.Fatalf("put world %s: %v", w.ID, err)
		}
	}

	item := getRaw(t, db, "world/w2")
	want := map[string]types.AttributeValue{
		"taskId": s("world/w2"), "userId": s("444444444444444444"), "game": s("valheim"), "name": s("valheim"),
		"state": s("running"), "creationDate": n("1764615600000"), "server": s("c-43"),
	}
	if !reflect.DeepEqual(item, want) {
		t.Errorf("stored item = %#v, want %#v", item, want)
	}
	snap := loadAll(t, table)
	if len(snap.Problems)+len(snap.GameProblems) != 0 {
		t.Fatalf("problems: %v %v", snap.Problems, snap.GameProblems)
	}
	if len(snap.Servers) != 1 || !reflect.DeepEqual(snap.Servers[0], srv) || len(snap.Games) != 1 {
		t.Errorf("servers = %+v, games %q; want the server of w2 and the game", snap.Servers, snap.Games)
	}
	wantWorlds(t, snap, asleep, running)

	// Replace, then remove; removing twice is not an error.
	running.State, running.Server, running.Size = spawner.WorldAsleep, "", 1234
	if err := table.PutWorld(ctx, running); err != nil {
		t.Fatalf("replace world: %v", err)
	}
	for range 2 {
		if err := table.DeleteWorld(ctx, asleep.ID); err != nil {
			t.Fatalf("delete world: %v", err)
		}
	}
	snap = loadAll(t, table)
	wantWorlds(t, snap, running)
	if len(snap.Servers) != 1 || len(snap.Games) != 1 {
		t.Errorf("worlds touched the servers or games: %+v %q", snap.Servers, snap.Games)
	}
}

// A malformed world item is a problem naming its key, never a server nor
// fatal, and shows no value; the good world beside it loads.
func TestMalformedWorldItemsAreProblems(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	good := map[string]types.AttributeValue{"taskId": s("world/good"), "userId": s("111"), "game": s("paper"), "name": s("survival"), "state": s("stored")}
	putRaw(t, db, good)
	for key, change := range map[string]func(map[string]types.AttributeValue){
		"world/exploded": func(m map[string]types.AttributeValue) { m["state"] = s("exploded") },
		"world/..":       func(map[string]types.AttributeValue) {},
		"world/nameless": func(m map[string]types.AttributeValue) { delete(m, "name") },
	} {
		item := map[string]types.AttributeValue{}
		for k, v := range good {
			item[k] = v
		}
		item["taskId"] = s(key)
		change(item)
		putRaw(t, db, item)
	}

	snap := loadAll(t, table)
	wantWorlds(t, snap, spawner.World{ID: "good", Owner: "111", Game: "paper", Name: "survival", State: spawner.WorldStored})
	got := map[string]string{}
	for _, p := range snap.Problems {
		got[p.Error()] = ""
	}
	want := map[string]string{
		`item "world/exploded": state is not a known world state`: "",
		`item "world/..": the key names no world: not a valid world or backup id: world id "..": only letters, digits, - and _ are allowed, starting with a letter or digit`: "",
		`item "world/nameless": name is missing`: "",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems = %v, want %v", snap.Problems, want)
	}
	if len(snap.Servers) != 0 || len(snap.GameProblems) != 0 {
		t.Errorf("servers = %+v, game problems %v; want none from world items", snap.Servers, snap.GameProblems)
	}
}

func TestPutWorldRefusesWhatCannotLoadBack(t *testing.T) {
	t.Parallel()
	table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig("http://127.0.0.1:1"), nil), tableName) // never called
	ctx := wait.Context(t)
	for name, change := range map[string]func(*spawner.World){
		"no id":         func(w *spawner.World) { w.ID = "" },
		"a path as id":  func(w *spawner.World) { w.ID = "../w" },
		"no owner":      func(w *spawner.World) { w.Owner = "" },
		"a bad name":    func(w *spawner.World) { w.Name = "My World" },
		"unknown state": func(w *spawner.World) { w.State = "awake" },
	} {
		w := records.World()
		change(&w)
		if err := table.PutWorld(ctx, w); err == nil {
			t.Errorf("PutWorld of a world with %s succeeded", name)
		}
	}
	for _, id := range []string{"", "..", "a/b"} {
		if err := table.DeleteWorld(ctx, id); err == nil {
			t.Errorf("DeleteWorld(%q) succeeded", id)
		}
	}
	srv := records.Full()
	srv.TaskID = "world/sneaky"
	if err := table.Put(ctx, srv); err == nil {
		t.Errorf("Put of a server keyed like a world succeeded")
	}
}

// wantWorlds wants exactly worlds in snap, in any order.
func wantWorlds(tb testing.TB, snap spawner.Snapshot, want ...spawner.World) {
	tb.Helper()
	got := map[string]spawner.World{}
	for _, w := range snap.Worlds {
		got[w.ID] = w
	}
	byID := map[string]spawner.World{}
	for _, w := range want {
		byID[w.ID] = w
	}
	if len(got) != len(snap.Worlds) || !reflect.DeepEqual(got, byID) {
		tb.Errorf("worlds\n%+v\nwant\n%+v", snap.Worlds, want)
	}
}
