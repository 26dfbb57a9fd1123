package bolt_test

import (
	"encoding/json"
	"fmt"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
)

// playerStore is one store with a way to read the players attribute as
// stored and to write one behind the store's back.
type playerStore struct {
	st       store
	rawGet   func(tb testing.TB, key string) (string, bool) // the attribute as JSON text or N, present
	rawWrite func(tb testing.TB, key, players string)       // a record of records.Full with players set raw
}

func playerStores(t *testing.T) map[string]func(t *testing.T) playerStore {
	endpoint := dynalite.Start(t).Endpoint()
	db := dynalite.NewClient(t, endpoint)
	var tables atomic.Int32
	return map[string]func(t *testing.T) playerStore{
		"bolt": func(t *testing.T) playerStore {
			dir := t.TempDir()
			st := openStore(t, dir)
			reopen := func(tb testing.TB, f func()) { // the raw file needs the store closed
				tb.Helper()
				if err := st.Close(); err != nil {
					tb.Fatalf("close: %v", err)
				}
				f()
				*st = *openStore(tb, dir)
			}
			return playerStore{
				st: st,
				rawGet: func(tb testing.TB, key string) (v string, ok bool) {
					reopen(tb, func() {
						var rec map[string]json.RawMessage
						if err := json.Unmarshal(rawGet(tb, dir, "servers", key), &rec); err != nil {
							tb.Fatalf("stored record is not JSON: %v", err)
						}
						var raw json.RawMessage
						raw, ok = rec["players"]
						v = string(raw)
					})
					return v, ok
				},
				rawWrite: func(tb testing.TB, key, players string) {
					reopen(tb, func() {
						rawPut(tb, dir, "servers", key, []byte(fmt.Sprintf(
							`{"taskId":%q,"userId":"1","channelId":"2","creationDate":1714595415123,"players":%s}`, key, players)))
					})
				},
			}
		},
		"dynamo": func(t *testing.T) playerStore {
			name := fmt.Sprintf("players-%d", tables.Add(1))
			table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig(endpoint), nil), name)
			if err := table.EnsureTable(ctxFor(t)); err != nil {
				t.Fatalf("ensure table: %v", err)
			}
			return playerStore{
				st: table,
				rawGet: func(tb testing.TB, key string) (string, bool) {
					out, err := db.GetItem(ctxFor(tb), &dynamodb.GetItemInput{
						TableName: aws.String(name),
						Key:       map[string]types.AttributeValue{"taskId": &types.AttributeValueMemberS{Value: key}},
					})
					if err != nil {
						tb.Fatalf("get item: %v", err)
					}
					av, ok := out.Item["players"]
					if !ok {
						return "", false
					}
					nv, isN := av.(*types.AttributeValueMemberN)
					if !isN {
						tb.Fatalf("players stored as %T, want a number (N)", av)
					}
					return nv.Value, true
				},
				rawWrite: func(tb testing.TB, key, players string) {
					_, err := db.PutItem(ctxFor(tb), &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]types.AttributeValue{
						"taskId": &types.AttributeValueMemberS{Value: key}, "userId": &types.AttributeValueMemberS{Value: "1"},
						"channelId": &types.AttributeValueMemberS{Value: "2"}, "creationDate": &types.AttributeValueMemberN{Value: "1714595415123"},
						"players": &types.AttributeValueMemberN{Value: players},
					}})
					if err != nil {
						tb.Fatalf("put item: %v", err)
					}
				},
			}
		},
	}
}

// Both stores keep the players the last probe saw under the same
// attribute, a number: a restart shows the last count, -1 (a game that
// does not count players) included, and absent means none seen.
func TestStoresKeepThePlayerCount(t *testing.T) {
	stores := playerStores(t)
	for _, kind := range []string{"bolt", "dynamo"} {
		t.Run(kind, func(t *testing.T) {
			for _, c := range []struct {
				name    string
				players int
				raw     string // "" means absent
				loaded  int
			}{
				{"counted", 7, "7", 7},
				{"not counted", -1, "-1", -1},
				{"none seen", 0, "", 0},
				{"a count no game has", spawner.MaxPlayers + 5, fmt.Sprint(spawner.MaxPlayers), spawner.MaxPlayers},
			} {
				t.Run(c.name, func(t *testing.T) {
					ps := stores[kind](t)
					srv := records.Full()
					srv.Players = c.players
					put(t, ps.st, srv)
					raw, ok := ps.rawGet(t, srv.Key())
					if ok != (c.raw != "") || raw != c.raw {
						t.Errorf("players stored as %q (present %v), want %q", raw, ok, c.raw)
					}
					srv.Players = c.loaded
					wantServers(t, ps.st, srv)
				})
			}
			t.Run("put refuses a count below -1", func(t *testing.T) {
				ps := stores[kind](t)
				srv := records.Full()
				srv.Players = -2
				if err := ps.st.Put(ctxFor(t), srv); err == nil {
					t.Errorf("Put of players -2 succeeded")
				}
			})
			t.Run("a stored count out of range is a problem naming players", func(t *testing.T) {
				ps := stores[kind](t)
				for i, v := range []string{"-2", fmt.Sprint(spawner.MaxPlayers + 1)} {
					ps.rawWrite(t, fmt.Sprintf("arn:bad-%d", i), v)
				}
				snap, err := ps.st.LoadAll(ctxFor(t))
				if err != nil || len(snap.Servers) != 0 || len(snap.Problems) != 2 {
					t.Fatalf("load = %v, %v, %v; want two problems", snap.Servers, snap.Problems, err)
				}
				for _, p := range snap.Problems {
					if !strings.Contains(p.Error(), "players is not a player count") {
						t.Errorf("problem %q does not name players", p)
					}
				}
			})
		})
	}
}
