package bolt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// store is what the daemon asks of either store: the dynamo table and the
// embedded one must answer it the same way.
type store interface {
	LoadAll(ctx context.Context) (spawner.Snapshot, error)
	Put(ctx context.Context, s spawner.Server) error
	Delete(ctx context.Context, key string) error
	PutGame(ctx context.Context, name string, doc []byte) error
	DeleteGame(ctx context.Context, name string) error
	PutCooldown(ctx context.Context, member string, since time.Time) error
	DeleteCooldown(ctx context.Context, member string) error
	PutWorld(ctx context.Context, w spawner.World) error
	DeleteWorld(ctx context.Context, id string) error
	Check(ctx context.Context) error

	PutSession(ctx context.Context, s spawner.Session) error
	Sessions(ctx context.Context, from, to time.Time) ([]spawner.Session, []error, error)
	PruneSessions(ctx context.Context, before time.Time) (int, error)
	PutReport(ctx context.Context, month spawner.Month, sentAt time.Time) error
	Report(ctx context.Context, month spawner.Month) (time.Time, bool, error)
	DeleteReport(ctx context.Context, month spawner.Month) error
}

var (
	_ store = (*bolt.Store)(nil)
	_ store = (*dynamo.Table)(nil)
)

// contract is what both stores must do alike, one case per behaviour.
var contract = []struct {
	name string
	run  func(t *testing.T, st store)
}{
	{"put then load round-trips every stored field", func(t *testing.T, st store) {
		full, pending := records.Full(), records.Pending()
		full.Players = 9
		put(t, st, full, pending)
		wantServers(t, st, full, pending)
	}},
	{"times load back in UTC, truncated to the millisecond", func(t *testing.T, st store) {
		srv := records.Pending()
		srv.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 678_912_345, time.FixedZone("CET", 3600))
		srv.StopsAt = srv.CreatedAt.Add(time.Hour)
		put(t, st, srv)
		srv.CreatedAt = time.UnixMilli(srv.CreatedAt.UnixMilli()).UTC()
		srv.StopsAt = time.UnixMilli(srv.StopsAt.UnixMilli()).UTC()
		wantServers(t, st, srv)
	}},
	{"put replaces the whole record", func(t *testing.T, st store) {
		full := records.Full()
		put(t, st, full)
		bare := spawner.Server{TaskID: full.TaskID, Owner: full.Owner, ChannelID: full.ChannelID, CreatedAt: full.CreatedAt}
		put(t, st, bare)
		wantServers(t, st, bare)
	}},
	{"a creation moves to its task", func(t *testing.T, st store) {
		srv := records.Pending()
		put(t, st, srv)
		moved := srv
		moved.TaskID = records.TaskARN
		put(t, st, moved)
		if err := st.Delete(ctxFor(t), srv.Key()); err != nil {
			t.Fatalf("delete %s: %v", srv.Key(), err)
		}
		wantServers(t, st, moved)
	}},
	{"delete is idempotent", func(t *testing.T, st store) {
		put(t, st, records.Full(), records.Pending())
		for range 2 {
			if err := st.Delete(ctxFor(t), records.TaskARN); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}
		if err := st.Delete(ctxFor(t), "never-there"); err != nil {
			t.Errorf("delete of a key never stored: %v", err)
		}
		wantServers(t, st, records.Pending())
	}},
	{"put refuses what load could not read back", func(t *testing.T, st store) {
		for name, change := range map[string]func(*spawner.Server){
			"no key":        func(s *spawner.Server) { s.TaskID, s.CreationID = "", "" },
			"no owner":      func(s *spawner.Server) { s.Owner = "" },
			"no channel":    func(s *spawner.Server) { s.ChannelID = "" },
			"no time":       func(s *spawner.Server) { s.CreatedAt = time.Time{} },
			"a game's key":  func(s *spawner.Server) { s.TaskID = spawner.GameKeyPrefix + "x" },
			"a cooldown's":  func(s *spawner.Server) { s.TaskID = spawner.CooldownKeyPrefix + "x" },
			"a session's":   func(s *spawner.Server) { s.TaskID = spawner.SessionKeyPrefix + "x" },
			"a report's":    func(s *spawner.Server) { s.TaskID = spawner.ReportKeyPrefix + "2026-11" },
			"before 1970":   func(s *spawner.Server) { s.CreatedAt = time.Unix(-5, 0) },
			"at 1970 exact": func(s *spawner.Server) { s.CreatedAt = time.Unix(0, 0) },
		} {
			srv := records.Full()
			change(&srv)
			if err := st.Put(ctxFor(t), srv); err == nil {
				t.Errorf("Put of a server with %s succeeded", name)
			}
		}
		wantServers(t, st)
	}},
	{"games are stored, replaced and removed apart from servers", func(t *testing.T, st store) {
		ctx := ctxFor(t)
		put(t, st, records.Full())
		for name, doc := range map[string]string{"valheim": `{"name":"valheim"}`, "paper": `{"name":"paper"}`} {
			if err := st.PutGame(ctx, name, []byte(doc)); err != nil {
				t.Fatalf("put game %s: %v", name, err)
			}
		}
		if err := st.PutGame(ctx, "valheim", []byte(`{"name":"valheim","title":"V"}`)); err != nil {
			t.Fatalf("replace game: %v", err)
		}
		wantGames(t, st, map[string]string{"valheim": `{"name":"valheim","title":"V"}`, "paper": `{"name":"paper"}`})
		wantServers(t, st, records.Full())
		for range 2 {
			if err := st.DeleteGame(ctx, "paper"); err != nil {
				t.Fatalf("delete game: %v", err)
			}
		}
		wantGames(t, st, map[string]string{"valheim": `{"name":"valheim","title":"V"}`})
		if err := st.Delete(ctx, records.TaskARN); err != nil {
			t.Fatalf("delete server: %v", err)
		}
		wantGames(t, st, map[string]string{"valheim": `{"name":"valheim","title":"V"}`})
	}},
	{"put game refuses what load games could not read back", func(t *testing.T, st store) {
		for _, c := range []struct{ name, doc string }{{"", `{}`}, {"x", `{`}, {"y", ``}} {
			if err := st.PutGame(ctxFor(t), c.name, []byte(c.doc)); err == nil {
				t.Errorf("PutGame(%q, %q) succeeded", c.name, c.doc)
			}
		}
		if err := st.DeleteGame(ctxFor(t), ""); err == nil {
			t.Errorf("DeleteGame of no name succeeded")
		}
		wantGames(t, st, map[string]string{})
	}},
	{"cooldowns are stored, replaced and removed apart from servers and games", func(t *testing.T, st store) {
		ctx := ctxFor(t)
		put(t, st, records.Full())
		if err := st.PutGame(ctx, "paper", []byte(`{"name":"paper"}`)); err != nil {
			t.Fatalf("put game: %v", err)
		}
		since := time.Date(2025, 1, 2, 3, 4, 5, 678_912_345, time.FixedZone("CET", 3600))
		for _, member := range []string{"111", "222"} {
			if err := st.PutCooldown(ctx, member, since); err != nil {
				t.Fatalf("put cooldown: %v", err)
			}
		}
		ms := time.UnixMilli(since.UnixMilli()).UTC()
		wantCooldowns(t, st, map[string]time.Time{"111": ms, "222": ms})
		wantServers(t, st, records.Full())
		wantGames(t, st, map[string]string{"paper": `{"name":"paper"}`})
		if err := st.PutCooldown(ctx, "111", ms.Add(time.Hour)); err != nil {
			t.Fatalf("replace cooldown: %v", err)
		}
		for range 2 {
			if err := st.DeleteCooldown(ctx, "222"); err != nil {
				t.Fatalf("delete cooldown: %v", err)
			}
		}
		wantCooldowns(t, st, map[string]time.Time{"111": ms.Add(time.Hour)})
		if err := st.Delete(ctx, records.TaskARN); err != nil {
			t.Fatalf("delete server: %v", err)
		}
		wantCooldowns(t, st, map[string]time.Time{"111": ms.Add(time.Hour)})
	}},
	{"put cooldown refuses what load cooldowns could not read back", func(t *testing.T, st store) {
		ctx := ctxFor(t)
		if err := st.PutCooldown(ctx, "", time.Now()); err == nil {
			t.Errorf("PutCooldown of no member succeeded")
		}
		for _, at := range []time.Time{{}, time.Unix(0, 0), time.Unix(-5, 0)} {
			if err := st.PutCooldown(ctx, "111", at); err == nil {
				t.Errorf("PutCooldown from %v succeeded", at)
			}
		}
		if err := st.DeleteCooldown(ctx, ""); err == nil {
			t.Errorf("DeleteCooldown of no member succeeded")
		}
		wantCooldowns(t, st, map[string]time.Time{})
	}},
	{"worlds are stored, replaced and removed apart from servers, games and cooldowns", func(t *testing.T, st store) {
		ctx := ctxFor(t)
		srv := records.Full()
		srv.WorldID = "w2"
		put(t, st, srv)
		if err := st.PutCooldown(ctx, "111", time.UnixMilli(1700000000000)); err != nil {
			t.Fatalf("put cooldown: %v", err)
		}
		asleep, running := records.World(), records.NewWorld("w2", "c-42")
		for _, w := range []spawner.World{asleep, running} {
			if err := st.PutWorld(ctx, w); err != nil {
				t.Fatalf("put world %s: %v", w.ID, err)
			}
		}
		wantWorlds(t, st, asleep, running)
		wantServers(t, st, srv)
		running.State, running.Server, running.LastPlayed = spawner.WorldAsleep, "", time.UnixMilli(1764619200000).UTC()
		if err := st.PutWorld(ctx, running); err != nil {
			t.Fatalf("replace world: %v", err)
		}
		for range 2 {
			if err := st.DeleteWorld(ctx, asleep.ID); err != nil {
				t.Fatalf("delete world: %v", err)
			}
		}
		wantWorlds(t, st, running)
		if err := st.Delete(ctx, srv.Key()); err != nil {
			t.Fatalf("delete server: %v", err)
		}
		if err := st.DeleteCooldown(ctx, "111"); err != nil {
			t.Fatalf("delete cooldown: %v", err)
		}
		wantWorlds(t, st, running)
	}},
	{"put world refuses what load could not read back", func(t *testing.T, st store) {
		ctx := ctxFor(t)
		for name, change := range map[string]func(*spawner.World){
			"no id":         func(w *spawner.World) { w.ID = "" },
			"a path as id":  func(w *spawner.World) { w.ID = "../w" },
			"no owner":      func(w *spawner.World) { w.Owner = "" },
			"no game":       func(w *spawner.World) { w.Game = "" },
			"a bad name":    func(w *spawner.World) { w.Name = "My World" },
			"unknown state": func(w *spawner.World) { w.State = "awake" },
			"a bad port":    func(w *spawner.World) { w.Port = -1 },
		} {
			w := records.World()
			change(&w)
			if err := st.PutWorld(ctx, w); err == nil {
				t.Errorf("PutWorld of a world with %s succeeded", name)
			}
		}
		for _, id := range []string{"", "..", "a/b"} {
			if err := st.DeleteWorld(ctx, id); err == nil {
				t.Errorf("DeleteWorld(%q) succeeded", id)
			}
		}
		srv := records.Full()
		srv.TaskID = spawner.WorldKeyPrefix + "x"
		if err := st.Put(ctx, srv); err == nil {
			t.Errorf("Put of a server keyed like a world succeeded")
		}
		srv = records.Full()
		srv.WorldID = "../w"
		if err := st.Put(ctx, srv); err == nil {
			t.Errorf("Put of a server of world ../w succeeded")
		}
		wantWorlds(t, st)
		wantServers(t, st)
	}},
	{"check passes on a healthy store", func(t *testing.T, st store) {
		if err := st.Check(ctxFor(t)); err != nil {
			t.Errorf("Check: %v", err)
		}
	}},
}

func TestContract(t *testing.T) {
	stores := subjects(t)
	for _, kind := range []string{"bolt", "dynamo"} {
		t.Run(kind, func(t *testing.T) {
			for _, c := range contract {
				t.Run(c.name, func(t *testing.T) { c.run(t, stores[kind](t).st) })
			}
		})
	}
}

func ctxFor(tb testing.TB) context.Context { tb.Helper(); return wait.Context(tb) }

func put(tb testing.TB, st store, servers ...spawner.Server) {
	tb.Helper()
	for _, s := range servers {
		if err := st.Put(ctxFor(tb), s); err != nil {
			tb.Fatalf("put %s: %v", s.Key(), err)
		}
	}
}

// loadAll reads st whole, wanting no problem.
func loadAll(tb testing.TB, st store) spawner.Snapshot {
	tb.Helper()
	snap, err := st.LoadAll(ctxFor(tb))
	if err != nil || len(snap.Problems) != 0 || len(snap.GameProblems) != 0 {
		tb.Fatalf("load: %v (problems %v, game problems %v)", err, snap.Problems, snap.GameProblems)
	}
	return snap
}

// wantServers loads st and wants exactly servers, in any order, with no problem.
func wantServers(tb testing.TB, st store, servers ...spawner.Server) {
	tb.Helper()
	got := loadAll(tb, st).Servers
	byKey := func(s []spawner.Server) { sort.Slice(s, func(i, j int) bool { return s[i].Key() < s[j].Key() }) }
	byKey(got)
	byKey(servers)
	if len(got) == 0 && len(servers) == 0 {
		return
	}
	if !reflect.DeepEqual(got, servers) {
		tb.Errorf("loaded\n%+v\nwant\n%+v", got, servers)
	}
}

// wantGames loads st's games and wants exactly want, with no problem.
func wantGames(tb testing.TB, st store, want map[string]string) {
	tb.Helper()
	games := loadAll(tb, st).Games
	got := make(map[string]string, len(games))
	for name, doc := range games {
		got[name] = string(doc)
	}
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("games = %q, want %q", got, want)
	}
}

// wantCooldowns loads st's cooldowns and wants exactly want, with no problem.
func wantCooldowns(tb testing.TB, st store, want map[string]time.Time) {
	tb.Helper()
	got := loadAll(tb, st).Cooldowns
	if len(got) != 0 || len(want) != 0 {
		if !reflect.DeepEqual(got, want) {
			tb.Errorf("cooldowns = %v, want %v", got, want)
		}
	}
}

// wantWorlds loads st's worlds and wants exactly want, in any order, with
// no problem.
func wantWorlds(tb testing.TB, st store, want ...spawner.World) {
	tb.Helper()
	got := loadAll(tb, st).Worlds
	byID := func(w []spawner.World) { sort.Slice(w, func(i, j int) bool { return w[i].ID < w[j].ID }) }
	byID(got)
	byID(want)
	if len(got)+len(want) != 0 && !reflect.DeepEqual(got, want) {
		tb.Errorf("worlds\n%+v\nwant\n%+v", got, want)
	}
}

// subject is one store under contract, with a way to write a record
// behind its back, as another writer (the original bot, a hand edit, a
// bug) might have.
type subject struct {
	st store
	// raw stores attrs as the record under key, in the store's own format:
	// a string, a json.Number, a bool, a []any and a map[string]any each as
	// that store keeps one.
	raw func(tb testing.TB, key string, attrs map[string]any)
}

// subjects makes a fresh store of each kind per call: an embedded store
// in a folder of its own, or a table of its own in one dynalite.
func subjects(t *testing.T) map[string]func(t *testing.T) subject {
	var tables atomic.Int32
	endpoint := dynalite.Start(t).Endpoint()
	db := dynalite.NewClient(t, endpoint)
	return map[string]func(t *testing.T) subject{
		"bolt": func(t *testing.T) subject {
			dir := t.TempDir()
			h := &boltHandle{Store: openStore(t, dir)}
			return subject{st: h, raw: func(tb testing.TB, key string, attrs map[string]any) {
				tb.Helper()
				v, err := json.Marshal(attrs)
				if err != nil {
					tb.Fatal(err)
				}
				if err := h.Close(); err != nil { // the raw file needs the store closed
					tb.Fatalf("close: %v", err)
				}
				bucket, name := bucketOf(key)
				rawPut(tb, dir, bucket, name, v)
				h.Store = openStore(tb, dir)
			}}
		},
		"dynamo": func(t *testing.T) subject {
			name := fmt.Sprintf("contract-%d", tables.Add(1))
			table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig(endpoint), nil), name)
			if err := table.EnsureTable(ctxFor(t)); err != nil {
				t.Fatalf("ensure table: %v", err)
			}
			return subject{st: table, raw: func(tb testing.TB, key string, attrs map[string]any) {
				tb.Helper()
				item := make(map[string]types.AttributeValue, len(attrs))
				for k, v := range attrs {
					item[k] = attributeValue(v)
				}
				_, err := db.PutItem(ctxFor(tb), &dynamodb.PutItemInput{TableName: aws.String(name), Item: item})
				if err != nil {
					tb.Fatalf("put item %s: %v", key, err)
				}
			}}
		},
	}
}

// boltHandle is an embedded store that its subject's raw closes and opens
// again around a write to the file.
type boltHandle struct{ *bolt.Store }

// bucketOf is where the embedded store keeps the record of key.
func bucketOf(key string) (bucket, name string) {
	if name, ok := strings.CutPrefix(key, spawner.GameKeyPrefix); ok {
		return "games", name
	}
	if name, ok := strings.CutPrefix(key, spawner.CooldownKeyPrefix); ok {
		return "cooldowns", name
	}
	if name, ok := strings.CutPrefix(key, spawner.WorldKeyPrefix); ok {
		return "worlds", name
	}
	if name, ok := strings.CutPrefix(key, spawner.SessionKeyPrefix); ok {
		return "sessions", name
	}
	if name, ok := strings.CutPrefix(key, spawner.ReportKeyPrefix); ok {
		return "reports", name
	}
	return "servers", key
}

// attributeValue is v as DynamoDB keeps it.
func attributeValue(v any) types.AttributeValue {
	switch v := v.(type) {
	case string:
		return &types.AttributeValueMemberS{Value: v}
	case json.Number:
		return &types.AttributeValueMemberN{Value: string(v)}
	case bool:
		return &types.AttributeValueMemberBOOL{Value: v}
	case []any:
		l := &types.AttributeValueMemberL{}
		for _, e := range v {
			l.Value = append(l.Value, attributeValue(e))
		}
		return l
	case map[string]any:
		m := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
		for k, e := range v {
			m.Value[k] = attributeValue(e)
		}
		return m
	}
	panic(fmt.Sprintf("no DynamoDB type for %T", v))
}

type num = json.Number

// malformed are records another writer might have left, each with the
// problem both stores must report for it, word for word; the rules are
// spawner.Record's, so the two stores cannot differ. A value never shows
// in a problem: the token is a secret.
var malformed = []struct {
	key    string
	change func(map[string]any) // of a good record of its kind
	says   string
}{
	{"no-user", func(m map[string]any) { delete(m, "userId") }, "userId is missing"},
	{"user-number", func(m map[string]any) { m["userId"] = num("8") }, "userId is a number, want a string"},
	{"user-empty", func(m map[string]any) { m["userId"] = "" }, "userId is empty"},
	{"no-channel", func(m map[string]any) { delete(m, "channelId") }, "channelId is missing"},
	{"channel-list", func(m map[string]any) { m["channelId"] = []any{"1"} }, "channelId is a list, want a string"},
	{"no-date", func(m map[string]any) { delete(m, "creationDate") }, "creationDate is missing"},
	{"date-string", func(m map[string]any) { m["creationDate"] = "2024-05-01" }, "creationDate is a string, want a number"},
	{"date-fraction", func(m map[string]any) { m["creationDate"] = num("1700000000000.5") }, "creationDate is not a whole number"},
	{"date-zero", func(m map[string]any) { m["creationDate"] = num("0") }, "creationDate is not a time after 1970"},
	{"token-number", func(m map[string]any) { m["token"] = num("424242") }, "token is a number, want a string"},
	{"locale-map", func(m map[string]any) { m["locale"] = map[string]any{"fr": "oui"} }, "locale is a map, want a string"},
	{"port-string", func(m map[string]any) { m["port"] = "25565" }, "port is a string, want a number"},
	{"port-range", func(m map[string]any) { m["port"] = num("70000") }, "port is not a TCP port"},
	{"state-unknown", func(m map[string]any) { m["state"] = "exploded" }, "state is not a known state"},
	{"running-before-1970", func(m map[string]any) { m["runningDate"] = num("-5") }, "runningDate is not a time after 1970"},
	{"stop-string", func(m map[string]any) { m["stopAt"] = "later" }, "stopAt is a string, want a number"},
	{"warned-string", func(m map[string]any) { m["runtimeWarned"] = "yes" }, "runtimeWarned is a string, want a boolean"},
	{"warnings-many", func(m map[string]any) { m["warnings"] = num("1001") }, "warnings is not a small whole number"},
	{"extensions-negative", func(m map[string]any) { m["extensions"] = num("-1") }, "extensions is not a small whole number"},
	{"players-below", func(m map[string]any) { m["players"] = num("-2") }, "players is not a player count"},
	{"rcon-number", func(m map[string]any) { m["rconPassword"] = num("5150") }, "rconPassword is a number, want a string"},
	{"template-bool", func(m map[string]any) { m["gameTemplate"] = true }, "gameTemplate is a boolean, want a string"},
	{"creation/c-1", func(m map[string]any) { m["creationId"] = "c-2" }, "creationId does not match the key's creation id"},
	{"game/broken", func(m map[string]any) { m["template"] = `{"name":` }, "template is not JSON"},
	{"game/none", func(m map[string]any) { delete(m, "template") }, "template is missing"},
	{"game/numbered", func(m map[string]any) { m["template"] = num("12") }, "template is a number, want a string"},
	{"game/stamped", func(m map[string]any) { m["updatedAt"] = "yesterday" }, "updatedAt is a string, want a number"},
	{"cooldown/text", func(m map[string]any) { m["startedAt"] = "a moment ago" }, "startedAt is a string, want a number"},
	{"cooldown/none", func(m map[string]any) { delete(m, "startedAt") }, "startedAt is missing"},
	{"cooldown/old", func(m map[string]any) { m["startedAt"] = num("-5") }, "startedAt is not a time after 1970"},
	{"world/ownerless", func(m map[string]any) { delete(m, "userId") }, "userId is missing"},
	{"world/exploded", func(m map[string]any) { m["state"] = "exploded" }, "state is not a known world state"},
	{"world/shouting", func(m map[string]any) { m["name"] = "SURVIVAL" }, "name is not a valid world name: only a-z, 0-9 and - are allowed"},
	{"world/negative", func(m map[string]any) { m["size"] = num("-1") }, "size is not a size in bytes"},
	{"world/sized", func(m map[string]any) { m["size"] = "3 GiB" }, "size is a string, want a number"},
	{"world/far", func(m map[string]any) { m["port"] = num("70000") }, "port is not a TCP port"},
	{"world/protocol", func(m map[string]any) { m["statusProtocol"] = num("1e10") }, "statusProtocol is not a protocol number"},
	{"world/crowded", func(m map[string]any) { m["statusMax"] = num("1e7") }, "statusMax is not a player count"},
	{"world/listed", func(m map[string]any) { m["storage"] = []any{"v"} }, "storage is a list, want a string"},
	{"world/-dash", func(map[string]any) {}, `the key names no world: not a valid world or backup id: world id "-dash": only letters, digits, - and _ are allowed, starting with a letter or digit`},
	{"arn:world-bad", func(m map[string]any) { m["worldId"] = "../../etc" }, "worldId is not a world id"},
	{"arn:woken-bad", func(m map[string]any) { m["wokenBy"] = "player:<@&1>" }, "wokenBy is not who woke a world"},
}

// goodRecord is a record of key's kind that both stores read.
func goodRecord(key string) map[string]any {
	switch bucket, _ := bucketOf(key); bucket {
	case "games":
		return map[string]any{"taskId": key, "template": `{"name":"x"}`, "updatedAt": num("1700000000000")}
	case "cooldowns":
		return map[string]any{"taskId": key, "startedAt": num("1700000000000")}
	case "worlds":
		return map[string]any{"taskId": key, "userId": "8", "game": "paper", "name": "survival", "state": "asleep", "creationDate": num("1700000000000")}
	}
	return map[string]any{"taskId": key, "userId": "8", "channelId": "9", "creationDate": num("1700000000000"), "token": "never-in-errors"}
}

// TestContractMalformedRecords: both stores skip the same malformed
// records with the same problems, never fatal, and read the same good
// records beside them, an original bot's and a JavaScript float among them.
func TestContractMalformedRecords(t *testing.T) {
	stores := subjects(t)
	for _, kind := range []string{"bolt", "dynamo"} {
		t.Run(kind, func(t *testing.T) {
			sub := stores[kind](t)
			for _, m := range malformed {
				rec := goodRecord(m.key)
				m.change(rec)
				sub.raw(t, m.key, rec)
			}
			goodRecords(t, sub)

			snap, err := sub.st.LoadAll(ctxFor(t))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			got := problemsByKey(t, snap.Problems)
			for key, p := range problemsByKey(t, snap.GameProblems) {
				if !strings.HasPrefix(key, spawner.GameKeyPrefix) {
					t.Errorf("game problem for %s: %s", key, p)
				}
				got[key] = p
			}
			for _, m := range malformed {
				if want := fmt.Sprintf("item %q: %s", m.key, m.says); got[m.key] != want {
					t.Errorf("problem for %s = %q, want %q", m.key, got[m.key], want)
				}
				delete(got, m.key)
			}
			for key, p := range got {
				t.Errorf("problem for a good record %s: %s", key, p)
			}
			wantGood(t, snap)
		})
	}
}

// goodRecords writes, behind sub's back, records both stores must read.
func goodRecords(tb testing.TB, sub subject) {
	tb.Helper()
	sub.raw(tb, records.TaskARN, map[string]any{ // the original bot's, to the letter
		"taskId": records.TaskARN, "publicIpAddress": "198.51.100.20", "token": "d41d8cd98f00b204",
		"creationDate": num("1700000000123"), "channelId": "987654321098765432",
		"typeServer": "official", "userId": "123456789012345678",
	})
	float := goodRecord("float-date") // as a JavaScript writer may store a time
	float["creationDate"] = num("1.7e12")
	sub.raw(tb, "float-date", float)
	zeroes := goodRecord("zeroes") // an optional 0 is not known, as when absent
	for _, attr := range []string{"port", "runningDate", "readyDate", "stopAt", "warnings", "extensions", "players"} {
		zeroes[attr] = num("0")
	}
	sub.raw(tb, "zeroes", zeroes)
	sub.raw(tb, "game/good", goodRecord("game/good"))
	sub.raw(tb, "cooldown/good", goodRecord("cooldown/good"))
	sub.raw(tb, "world/good", goodRecord("world/good"))
	played := goodRecord("world/played") // an optional 0 is not known, as when absent
	for _, attr := range []string{"size", "lastPlayed", "port", "statusProtocol", "statusMax"} {
		played[attr] = num("0")
	}
	sub.raw(tb, "world/played", played)
}

// wantGood checks snap holds exactly what goodRecords wrote.
func wantGood(tb testing.TB, snap spawner.Snapshot) {
	tb.Helper()
	want := []spawner.Server{
		{TaskID: records.TaskARN, Address: "198.51.100.20", Token: "d41d8cd98f00b204", CreatedAt: time.UnixMilli(1700000000123).UTC(),
			ChannelID: "987654321098765432", Variant: "official", Owner: "123456789012345678"},
		{TaskID: "float-date", Owner: "8", ChannelID: "9", CreatedAt: time.UnixMilli(1.7e12).UTC(), Token: "never-in-errors"},
		{TaskID: "zeroes", Owner: "8", ChannelID: "9", CreatedAt: time.UnixMilli(1700000000000).UTC(), Token: "never-in-errors"},
	}
	sort.Slice(snap.Servers, func(i, j int) bool { return snap.Servers[i].Key() < snap.Servers[j].Key() })
	sort.Slice(want, func(i, j int) bool { return want[i].Key() < want[j].Key() })
	if !reflect.DeepEqual(snap.Servers, want) {
		tb.Errorf("servers\n%+v\nwant\n%+v", snap.Servers, want)
	}
	if !reflect.DeepEqual(snap.Games, map[string][]byte{"good": []byte(`{"name":"x"}`)}) {
		tb.Errorf("games = %q, want only good", snap.Games)
	}
	if !reflect.DeepEqual(snap.Cooldowns, map[string]time.Time{"good": time.UnixMilli(1700000000000).UTC()}) {
		tb.Errorf("cooldowns = %v, want only good", snap.Cooldowns)
	}
	world := func(id string) spawner.World {
		return spawner.World{ID: id, Owner: "8", Game: "paper", Name: "survival", State: spawner.WorldAsleep, CreatedAt: time.UnixMilli(1700000000000).UTC()}
	}
	worlds := append([]spawner.World(nil), snap.Worlds...)
	sort.Slice(worlds, func(i, j int) bool { return worlds[i].ID < worlds[j].ID })
	if want := []spawner.World{world("good"), world("played")}; !reflect.DeepEqual(worlds, want) {
		tb.Errorf("worlds\n%+v\nwant\n%+v", worlds, want)
	}
}

// problemsByKey indexes problems by the key each names, checking each is
// a *spawner.RecordError and shows no secret.
func problemsByKey(tb testing.TB, problems []error) map[string]string {
	tb.Helper()
	byKey := make(map[string]string, len(problems))
	for _, p := range problems {
		var re *spawner.RecordError
		if !errors.As(p, &re) {
			tb.Errorf("problem %v is not a *spawner.RecordError", p)
			continue
		}
		if _, twice := byKey[re.Key]; twice {
			tb.Errorf("two problems for %s", re.Key)
		}
		byKey[re.Key] = p.Error()
		for _, secret := range []string{"never-in-errors", "424242", "5150"} {
			if strings.Contains(p.Error(), secret) {
				tb.Errorf("problem %q shows a value", p)
			}
		}
	}
	return byKey
}
