package dynamo_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// Cooldowns live beside servers and games, under "cooldown/<member id>",
// and neither Load nor LoadGames mistakes them for their own items.
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
	if servers, problems := load(t, table); len(problems) != 0 || len(servers) != 1 || servers[0].Key() != srv.Key() {
		t.Errorf("Load = %+v (problems %v), want only the server", servers, problems)
	}
	if games, problems, err := table.LoadGames(ctx); err != nil || len(problems) != 0 || len(games) != 1 {
		t.Errorf("LoadGames = %q, %v, %v; want only the game", games, problems, err)
	}
	got, problems, err := table.LoadCooldowns(ctx)
	ms := since.Truncate(time.Millisecond)
	if err != nil || len(problems) != 0 || !reflect.DeepEqual(got, map[string]time.Time{"111": ms, "222": ms}) {
		t.Errorf("LoadCooldowns = %v, %v, %v; want both, from %v", got, problems, err, ms)
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
	if got, _, err := table.LoadCooldowns(ctx); err != nil || !reflect.DeepEqual(got, map[string]time.Time{"111": later}) {
		t.Errorf("after replace and delete LoadCooldowns = %v, %v", got, err)
	}
	if servers, _ := load(t, table); len(servers) != 1 {
		t.Errorf("cooldowns touched the servers: %+v", servers)
	}
}

// A cooldown item that cannot be read is a problem naming its key, never
// a server's problem nor fatal; the good ones load.
func TestMalformedCooldownItemsAreProblems(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("cooldown/good"), "startedAt": n("1700000000000")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("cooldown/text"), "startedAt": s("a moment ago")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("cooldown/none")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("cooldown/old"), "startedAt": n("-5")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("cooldown/"), "startedAt": n("1700000000000")})

	got, problems, err := table.LoadCooldowns(wait.Context(t))
	if err != nil {
		t.Fatalf("LoadCooldowns: %v", err)
	}
	if !reflect.DeepEqual(got, map[string]time.Time{"good": time.UnixMilli(1700000000000).UTC()}) {
		t.Errorf("cooldowns = %v, want only the good one", got)
	}
	bad := map[string]string{"cooldown/text": "startedAt is S, want a number", "cooldown/none": "startedAt is missing", "cooldown/old": "not a time after 1970", "cooldown/": "no member"}
	if len(problems) != len(bad) {
		t.Errorf("problems = %v, want one per bad item %v", problems, bad)
	}
	for _, p := range problems {
		var ie *dynamo.ItemError
		if !errors.As(p, &ie) || bad[ie.Key] == "" || !strings.Contains(p.Error(), bad[ie.Key]) {
			t.Errorf("problem %q does not name its key and what is wrong", p)
		}
	}
	if servers, problems := load(t, table); len(servers) != 0 || len(problems) != 0 {
		t.Errorf("Load = %+v, %v; want no server and no problem from cooldown items", servers, problems)
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
	got, problems, err := table.LoadCooldowns(wait.Context(t))
	if err != nil || len(problems) != 0 || len(got) != 0 {
		t.Errorf("LoadCooldowns = %v, %v, %v; want none", got, problems, err)
	}
}

func TestPutCooldownRefusesWhatCannotLoadBack(t *testing.T) {
	t.Parallel()
	db := dynalite.NewClient(t, "http://127.0.0.1:1") // never called
	table := dynamo.New(db, tableName)
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
