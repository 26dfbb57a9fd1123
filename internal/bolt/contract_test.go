package bolt_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync/atomic"
	"testing"
	"time"

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
	Load(ctx context.Context) ([]spawner.Server, []error, error)
	Put(ctx context.Context, s spawner.Server) error
	Delete(ctx context.Context, key string) error
	LoadGames(ctx context.Context) (map[string][]byte, []error, error)
	PutGame(ctx context.Context, name string, doc []byte) error
	DeleteGame(ctx context.Context, name string) error
	Check(ctx context.Context) error
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
		bare := spawner.Server{TaskARN: full.TaskARN, Owner: full.Owner, ChannelID: full.ChannelID, CreatedAt: full.CreatedAt}
		put(t, st, bare)
		wantServers(t, st, bare)
	}},
	{"a creation moves to its task", func(t *testing.T, st store) {
		srv := records.Pending()
		put(t, st, srv)
		moved := srv
		moved.TaskARN = records.TaskARN
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
			"no key":        func(s *spawner.Server) { s.TaskARN, s.CreationID = "", "" },
			"no owner":      func(s *spawner.Server) { s.Owner = "" },
			"no channel":    func(s *spawner.Server) { s.ChannelID = "" },
			"no time":       func(s *spawner.Server) { s.CreatedAt = time.Time{} },
			"a game's key":  func(s *spawner.Server) { s.TaskARN = spawner.GameKeyPrefix + "x" },
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
	{"check passes on a healthy store", func(t *testing.T, st store) {
		if err := st.Check(ctxFor(t)); err != nil {
			t.Errorf("Check: %v", err)
		}
	}},
}

func TestContract(t *testing.T) {
	stores := map[string]func(t *testing.T) store{
		"bolt": func(t *testing.T) store { return openStore(t, t.TempDir()) },
	}
	// One dynalite for every case, a fresh table each.
	var tables atomic.Int32
	var db dynamo.DynamoAPI
	stores["dynamo"] = func(t *testing.T) store {
		table := dynamo.New(db, fmt.Sprintf("contract-%d", tables.Add(1)))
		if err := table.EnsureTable(ctxFor(t)); err != nil {
			t.Fatalf("ensure table: %v", err)
		}
		return table
	}
	db = dynamo.NewClient(dynalite.AWSConfig(dynalite.Start(t).Endpoint()), nil)
	for _, kind := range []string{"bolt", "dynamo"} {
		t.Run(kind, func(t *testing.T) {
			for _, c := range contract {
				t.Run(c.name, func(t *testing.T) { c.run(t, stores[kind](t)) })
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

// wantServers loads st and wants exactly servers, in any order, with no problem.
func wantServers(tb testing.TB, st store, servers ...spawner.Server) {
	tb.Helper()
	got, problems, err := st.Load(ctxFor(tb))
	if err != nil || len(problems) != 0 {
		tb.Fatalf("load: %v (problems %v)", err, problems)
	}
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
	games, problems, err := st.LoadGames(ctxFor(tb))
	if err != nil || len(problems) != 0 {
		tb.Fatalf("load games: %v (problems %v)", err, problems)
	}
	got := make(map[string]string, len(games))
	for name, doc := range games {
		got[name] = string(doc)
	}
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("games = %q, want %q", got, want)
	}
}
