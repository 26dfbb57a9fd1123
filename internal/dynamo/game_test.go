package dynamo_test

import (
	"errors"
	"reflect"
	"strings"
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
	games, problems, err := table.LoadGames(ctx)
	if err != nil || len(problems) != 0 {
		t.Fatalf("LoadGames: %v (problems %v)", err, problems)
	}
	want := map[string][]byte{"valheim": valheim, "paper": []byte(`{"name":"paper"}`)}
	if !reflect.DeepEqual(games, want) {
		t.Errorf("LoadGames = %q, want %q", games, want)
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
	games, _, err = table.LoadGames(ctx)
	if err != nil || !reflect.DeepEqual(games, map[string][]byte{"valheim": replaced}) {
		t.Errorf("after replace and delete LoadGames = %q, %v", games, err)
	}
	if servers, _ := load(t, table); len(servers) != 1 {
		t.Errorf("deleting a game touched the servers: %+v", servers)
	}
}

func TestMalformedGameItemsAreProblems(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("game/good"), "template": s(`{"name":"good"}`), "updatedAt": n("1700000000000")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("game/notjson"), "template": s(`{"name":`)})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("game/none")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("game/number"), "template": n("12")})
	putRaw(t, db, map[string]types.AttributeValue{"taskId": s("game/"), "template": s(`{}`)})

	games, problems, err := table.LoadGames(wait.Context(t))
	if err != nil {
		t.Fatalf("LoadGames: %v", err)
	}
	if !reflect.DeepEqual(games, map[string][]byte{"good": []byte(`{"name":"good"}`)}) {
		t.Errorf("games = %q, want only the good one", games)
	}
	bad := map[string]string{"game/notjson": "not JSON", "game/none": "template is missing", "game/number": "want a string", "game/": "no name"}
	if len(problems) != len(bad) {
		t.Errorf("problems = %v, want one per bad item %v", problems, bad)
	}
	for _, p := range problems {
		var ie *dynamo.ItemError
		if !errors.As(p, &ie) || !strings.Contains(p.Error(), bad[ie.Key]) || bad[ie.Key] == "" {
			t.Errorf("problem %q does not name its key and what is wrong", p)
		}
	}
	if servers, problems := load(t, table); len(servers) != 0 || len(problems) != 0 {
		t.Errorf("Load = %+v, %v; want no server and no problem from game items", servers, problems)
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
	srv.TaskARN = "game/sneaky"
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
