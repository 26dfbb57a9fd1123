package dynamo_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// Cooldowns live beside servers and games, under "cooldown/<member id>",
// and LoadAll mistakes them for neither.
func TestCooldownsLiveBesideServersAndGames(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	ctx := wait.Context(t)
	srv := records.Full()
	if err := table.Put(ctx, srv); err != nil {
		t.Fatalf("put server: %v", err)
	}
	if err := table.PutGame(ctx, "paper", []byte(`{"name":"paper"}`)); err != nil {
		t.Fatalf("put game: %v", err)
	}
	since := time.Date(2025, 6, 1, 18, 0, 0, 123_456_789, time.UTC)
	for _, member := range []string{"111", "222"} {
		if err := table.PutCooldown(ctx, member, since); err != nil {
			t.Fatalf("put cooldown: %v", err)
		}
	}

	item := getRaw(t, db, "cooldown/111")
	want := map[string]types.AttributeValue{"taskId": s("cooldown/111"), "startedAt": n("1748800800123")}
	if !reflect.DeepEqual(item, want) {
		t.Errorf("stored item = %#v, want %#v", item, want)
	}
	snap := loadAll(t, table)
	if len(snap.Problems)+len(snap.GameProblems) != 0 || len(snap.Servers) != 1 || snap.Servers[0].Key() != srv.Key() {
		t.Errorf("servers = %+v (problems %v %v), want only the server", snap.Servers, snap.Problems, snap.GameProblems)
	}
	if len(snap.Games) != 1 {
		t.Errorf("games = %q; want only the game", snap.Games)
	}
	ms := since.Truncate(time.Millisecond)
	if !reflect.DeepEqual(snap.Cooldowns, map[string]time.Time{"111": ms, "222": ms}) {
		t.Errorf("cooldowns = %v; want both, from %v", snap.Cooldowns, ms)
	}

	// Replace, then remove; removing twice is not an error.
	later := ms.Add(time.Hour)
	if err := table.PutCooldown(ctx, "111", later); err != nil {
		t.Fatalf("replace cooldown: %v", err)
	}
	for range 2 {
		if err := table.DeleteCooldown(ctx, "222"); err != nil {
			t.Fatalf("delete cooldown: %v", err)
		}
	}
	if got := loadAll(t, table).Cooldowns; !reflect.DeepEqual(got, map[string]time.Time{"111": later}) {
		t.Errorf("after replace and delete cooldowns = %v", got)
	}
	if servers, _ := load(t, table); len(servers) != 1 {
		t.Errorf("cooldowns touched the servers: %+v", servers)
	}
}

// A cooldown item whose key names no member, which only a table can hold
// (the other malformed cooldowns are the contract's), is a problem naming
// its key, never a server nor fatal; the good one loads.
func TestMalformedCooldownItemsAreProblems(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("cooldown/good"), "startedAt": n("1700000000000")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("cooldown/"), "startedAt": n("1700000000000")})

	snap := loadAll(t, table)
	if !reflect.DeepEqual(snap.Cooldowns, map[string]time.Time{"good": time.UnixMilli(1700000000000).UTC()}) {
		t.Errorf("cooldowns = %v, want only the good one", snap.Cooldowns)
	}
	if len(snap.Problems) != 1 || snap.Problems[0].Error() != `item "cooldown/": the cooldown names no member` {
		t.Errorf("problems = %v, want the cooldown of no member", snap.Problems)
	}
	if len(snap.Servers) != 0 {
		t.Errorf("servers = %+v; want none from cooldown items", snap.Servers)
	}
}

// A table an older bot wrote has no cooldown item: none is running.
func TestOriginalTableHasNoCooldowns(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	putRaw(t, db, map[string]types.AttributeValue{
		"taskId": s(records.TaskARN), "creationDate": n("1700000000123"), "channelId": s("987654321098765432"),
		"typeServer": s("official"), "userId": s("123456789012345678"),
	})
	if snap := loadAll(t, table); len(snap.Problems) != 0 || len(snap.Cooldowns) != 0 {
		t.Errorf("cooldowns = %v, problems %v; want none", snap.Cooldowns, snap.Problems)
	}
}

func TestPutCooldownRefusesWhatCannotLoadBack(t *testing.T) {
	t.Parallel()
	table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig("http://127.0.0.1:1"), nil), tableName) // never called
	ctx := wait.Context(t)
	if err := table.PutCooldown(ctx, "", time.Now()); err == nil {
		t.Errorf("PutCooldown of no member succeeded")
	}
	for _, at := range []time.Time{{}, time.Unix(0, 0), time.Unix(-5, 0)} {
		if err := table.PutCooldown(ctx, "111", at); err == nil {
			t.Errorf("PutCooldown from %v succeeded", at)
		}
	}
	if err := table.DeleteCooldown(ctx, ""); err == nil {
		t.Errorf("DeleteCooldown of no member succeeded")
	}
	srv := records.Full()
	srv.TaskID = "cooldown/sneaky"
	if err := table.Put(ctx, srv); err == nil {
		t.Errorf("Put of a server keyed like a cooldown succeeded")
	}
}
