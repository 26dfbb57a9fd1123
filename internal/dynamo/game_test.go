package dynamo_test

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

func TestGamesLiveBesideServersWithoutMixingUp(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	ctx := wait.Context(t)
	srv := records.Full()
	if err := table.Put(ctx, srv); err != nil {
		t.Fatalf("put server: %v", err)
	}
	valheim := []byte(`{"name":"valheim","title":"Valheim","protocol":"a2s"}`)
	if err := table.PutGame(ctx, "valheim", valheim); err != nil {
		t.Fatalf("put game: %v", err)
	}
	if err := table.PutGame(ctx, "paper", []byte(`{"name":"paper"}`)); err != nil {
		t.Fatalf("put game: %v", err)
	}

	item := getRaw(t, db, "game/valheim")
	if got, ok := item["template"].(*types.AttributeValueMemberS); !ok || got.Value != string(valheim) {
		t.Errorf("stored template = %#v, want the document as a string", item["template"])
	}
	if _, ok := item["updatedAt"].(*types.AttributeValueMemberN); !ok {
		t.Errorf("stored updatedAt = %#v, want a number", item["updatedAt"])
	}

	servers, problems := load(t, table)
	if len(problems) != 0 || len(servers) != 1 || servers[0].Key() != srv.Key() {
		t.Errorf("Load = %+v (problems %v), want only the server, no template as a server", servers, problems)
	}
	snap := loadAll(t, table)
	if len(snap.GameProblems) != 0 {
		t.Fatalf("game problems: %v", snap.GameProblems)
	}
	want := map[string][]byte{"valheim": valheim, "paper": []byte(`{"name":"paper"}`)}
	if !reflect.DeepEqual(snap.Games, want) {
		t.Errorf("games = %q, want %q", snap.Games, want)
	}

	// Replace, then remove; removing twice is not an error.
	replaced := []byte(`{"name":"valheim","title":"Valheim+"}`)
	if err := table.PutGame(ctx, "valheim", replaced); err != nil {
		t.Fatalf("replace game: %v", err)
	}
	if err := table.DeleteGame(ctx, "paper"); err != nil {
		t.Fatalf("delete game: %v", err)
	}
	if err := table.DeleteGame(ctx, "paper"); err != nil {
		t.Errorf("delete a game not there: %v", err)
	}
	if games := loadAll(t, table).Games; !reflect.DeepEqual(games, map[string][]byte{"valheim": replaced}) {
		t.Errorf("after replace and delete games = %q", games)
	}
	if servers, _ := load(t, table); len(servers) != 1 {
		t.Errorf("deleting a game touched the servers: %+v", servers)
	}
}

// A game item whose key names no game, which only a table can hold (the
// other malformed templates are the contract's), is a problem of games,
// never a server's.
func TestMalformedGameItemsAreProblems(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("game/good"), "template": s(`{"name":"good"}`), "updatedAt": n("1700000000000")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("game/"), "template": s(`{}`)})

	snap := loadAll(t, table)
	if !reflect.DeepEqual(snap.Games, map[string][]byte{"good": []byte(`{"name":"good"}`)}) {
		t.Errorf("games = %q, want only the good one", snap.Games)
	}
	if len(snap.GameProblems) != 1 || snap.GameProblems[0].Error() != `item "game/": the game has no name` {
		t.Errorf("game problems = %v, want the game with no name", snap.GameProblems)
	}
	if len(snap.Servers) != 0 || len(snap.Problems) != 0 {
		t.Errorf("servers = %+v, problems %v; want none from game items", snap.Servers, snap.Problems)
	}
}

func TestPutGameRefusesWhatCannotLoadBack(t *testing.T) {
	t.Parallel()
	table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig("http://127.0.0.1:1"), nil), tableName) // never called
	for name, doc := range map[string][]byte{"": []byte(`{}`), "x": []byte(`{`), "y": nil} {
		if err := table.PutGame(wait.Context(t), name, doc); err == nil {
			t.Errorf("PutGame(%q, %q) succeeded", name, doc)
		}
	}
	srv := records.Full()
	srv.TaskID = "game/sneaky"
	if err := table.Put(wait.Context(t), srv); err == nil {
		t.Errorf("Put of a server keyed like a game succeeded")
	}
}

func TestOriginalTableLoadsUnchangedWithGamesBeside(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	original := map[string]types.AttributeValue{
		"taskId": s(records.TaskARN), "publicIpAddress": s("198.51.100.20"), "token": s("d41d8cd98f00b204"),
		"creationDate": n("1700000000123"), "channelId": s("987654321098765432"),
		"typeServer": s("official"), "userId": s("123456789012345678"),
	}
	putRaw(t, db, original)
	if err := table.PutGame(wait.Context(t), "valheim", []byte(`{}`)); err != nil {
		t.Fatalf("put game: %v", err)
	}
	servers, problems := load(t, table)
	if len(problems) != 0 || len(servers) != 1 {
		t.Fatalf("Load = %+v, %v", servers, problems)
	}
	got := servers[0]
	if got.StopsAt != (spawner.Server{}).StopsAt || got.Extensions != 0 || got.RCONPassword != "" || got.GameTemplate != nil {
		t.Errorf("an original item loaded with new fields set: %+v", got)
	}
	if !reflect.DeepEqual(getRaw(t, db, records.TaskARN), original) {
		t.Errorf("loading changed the original item")
	}
}
