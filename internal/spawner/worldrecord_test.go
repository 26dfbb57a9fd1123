package spawner_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/records"
)

// A world's record reads back as the world, every field, under
// world/<id>; what is not known is left out of the record.
func TestWorldRecordRoundTrips(t *testing.T) {
	fresh := records.NewWorld("w1", "c-43")
	hosted := records.World()
	hosted.Host = "games.example.org"
	for _, w := range []spawner.World{records.World(), hosted, fresh} {
		rec, err := w.Record()
		if err != nil {
			t.Fatalf("Record of %s: %v", w.ID, err)
		}
		if key, _ := rec.Key(); key != "world/"+w.ID {
			t.Errorf("key = %q, want world/%s", key, w.ID)
		}
		got, err := rec.World(w.Key())
		if err != nil {
			t.Fatalf("World of %s: %v", w.ID, err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("read back\n%+v\nwant\n%+v", got, w)
		}
	}
	rec, _ := fresh.Record()
	for _, absent := range []string{"size", "lastPlayed", "port", "host", "statusVersion", "statusProtocol", "statusMax", "storage"} {
		if a, ok := rec[absent]; ok {
			t.Errorf("a new world's record holds %s = %+v", absent, a)
		}
	}
}

// A time loads back in UTC, truncated to the millisecond, as a server's.
func TestWorldRecordTimes(t *testing.T) {
	w := records.World()
	w.LastPlayed = time.Date(2026, 12, 3, 21, 4, 5, 678_912_345, time.FixedZone("CET", 3600))
	rec, _ := w.Record()
	got, err := rec.World(w.Key())
	if err != nil {
		t.Fatal(err)
	}
	if want := time.UnixMilli(w.LastPlayed.UnixMilli()).UTC(); got.LastPlayed != want {
		t.Errorf("lastPlayed = %v, want %v", got.LastPlayed, want)
	}
}

func TestWorldStorable(t *testing.T) {
	for want, change := range map[string]func(*spawner.World){
		"world: not a valid world or backup id: world id must be 1 to 64 characters long": func(w *spawner.World) { w.ID = "" },
		`world: not a valid world or backup id: world id "../x": only letters, digits, - and _ are allowed, starting with a letter or digit`: func(w *spawner.World) {
			w.ID = "../x"
		},
		"world w9: no owner": func(w *spawner.World) { w.Owner = "" },
		"world w9: no game":  func(w *spawner.World) { w.Game = "" },
		"world w9: not a valid world name: only a-z, 0-9 and - are allowed":    func(w *spawner.World) { w.Name = "Survival" },
		"world w9: not a valid world name: it must be 1 to 32 characters long": func(w *spawner.World) { w.Name = "" },
		`world w9: state "awake" is none of running, asleep, stored`:           func(w *spawner.World) { w.State = "awake" },
		`world w9: state "" is none of running, asleep, stored`:                func(w *spawner.World) { w.State = "" },
		"world w9: a negative size":                                            func(w *spawner.World) { w.Size = -1 },
		"world w9: port is not a TCP port":                                     func(w *spawner.World) { w.Port = 65536 },
		"world w9: status protocol is not a protocol number":                   func(w *spawner.World) { w.StatusProtocol = math.MaxInt32 + 1 },
		"world w9: status max is not a player count":                           func(w *spawner.World) { w.StatusMax = -1 },
		"world w9: last played before 1970":                                    func(w *spawner.World) { w.LastPlayed = time.Unix(-5, 0) },
		"world w9: created before 1970":                                        func(w *spawner.World) { w.CreatedAt = time.Unix(0, 0) },
	} {
		w := records.World()
		w.ID = "w9"
		change(&w)
		_, err := w.Record()
		if err == nil || err.Error() != want {
			t.Errorf("Record = %v, want %q", err, want)
		}
	}
	crowded := records.World()
	crowded.StatusMax = spawner.MaxPlayers + 1
	if _, err := crowded.Record(); err == nil || !strings.Contains(err.Error(), "status max is not a player count") {
		t.Errorf("Record of a world whose status max is over MaxPlayers = %v", err)
	}
	if _, err := (spawner.World{ID: "w9", Owner: "1", Game: "g", Name: "a", State: "x"}).Record(); err == nil {
		t.Error("a world of an unknown state is storable")
	}
	if err := (spawner.World{ID: "w9", Owner: "1", Game: "g", Name: "-", State: spawner.WorldStored}).Storable(); err != nil {
		t.Errorf("the barest world is refused: %v", err)
	}
}

// What makes a stored world malformed, said once for every store; a
// world's problem never shows a value, and names its key.
func TestWorldRecordMalformed(t *testing.T) {
	const key = "world/w9"
	good := func() spawner.Record {
		w := records.World()
		w.ID = "w9"
		r, err := w.Record()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for want, change := range map[string]func(spawner.Record){
		"userId is missing": func(r spawner.Record) { delete(r, "userId") },
		"game is empty":     func(r spawner.Record) { r["game"] = spawner.StringAttr("") },
		"name is missing":   func(r spawner.Record) { delete(r, "name") },
		"name is not a valid world name: only a-z, 0-9 and - are allowed": func(r spawner.Record) {
			r["name"] = spawner.StringAttr("../etc")
		},
		"state is missing":                    func(r spawner.Record) { delete(r, "state") },
		"state is not a known world state":    func(r spawner.Record) { r["state"] = spawner.StringAttr("ready") },
		"size is not a size in bytes":         func(r spawner.Record) { r["size"] = spawner.NumberAttr(-1) },
		"size is a string, want a number":     func(r spawner.Record) { r["size"] = spawner.StringAttr("3 GiB") },
		"lastPlayed is not a time after 1970": func(r spawner.Record) { r["lastPlayed"] = spawner.NumberAttr(-5) },
		"port is not a TCP port":              func(r spawner.Record) { r["port"] = spawner.NumberAttr(70000) },
		"statusProtocol is not a protocol number": func(r spawner.Record) {
			r["statusProtocol"] = spawner.NumberAttr(math.MaxInt32 + 1)
		},
		"statusMax is not a player count":          func(r spawner.Record) { r["statusMax"] = spawner.NumberAttr(-1) },
		"statusMax is a string, want a number":     func(r spawner.Record) { r["statusMax"] = spawner.StringAttr("20") },
		"statusVersion is a number, want a string": func(r spawner.Record) { r["statusVersion"] = spawner.NumberAttr(1) },
		"storage is a boolean, want a string":      func(r spawner.Record) { r["storage"] = spawner.BoolAttr(true) },
		"server is a number, want a string":        func(r spawner.Record) { r["server"] = spawner.NumberAttr(43) },
		"creationDate is not a whole number":       func(r spawner.Record) { r["creationDate"] = spawner.Attr{Kind: spawner.AttrNumber, Text: "soon"} },
		"taskId does not match the record's key":   func(r spawner.Record) { r["taskId"] = spawner.StringAttr("world/w8") },
	} {
		r := good()
		change(r)
		_, err := r.World(key)
		var re *spawner.RecordError
		if !errors.As(err, &re) || re.Key != key || re.Err.Error() != want {
			t.Errorf("World = %v, want a *RecordError for %s: %s", err, key, want)
		}
	}
	for _, bad := range []string{"world/", "world/..", "world/a/b", "world/-x"} {
		r := good()
		r["taskId"] = spawner.StringAttr(bad)
		_, err := r.World(bad)
		var re *spawner.RecordError
		if !errors.As(err, &re) || !errors.Is(err, spawner.ErrWorldID) {
			t.Errorf("World under %q = %v, want a *RecordError wrapping ErrWorldID", bad, err)
		}
	}
}

// A server's world is kept as worldId; a record without one (the
// original bot's, a game without a world) reads with none, and one whose
// worldId could name a path outside a world's is malformed.
func TestServerWorldID(t *testing.T) {
	srv := records.Full()
	srv.WorldID = "w1"
	rec, err := srv.Record()
	if err != nil {
		t.Fatal(err)
	}
	if rec["worldId"] != spawner.StringAttr("w1") {
		t.Errorf("worldId = %+v", rec["worldId"])
	}
	got, err := rec.Server(srv.Key())
	if err != nil || got.WorldID != "w1" {
		t.Errorf("read back world %q, %v", got.WorldID, err)
	}
	delete(rec, "worldId")
	if got, err := rec.Server(srv.Key()); err != nil || got.WorldID != "" {
		t.Errorf("a record without worldId read as world %q, %v", got.WorldID, err)
	}
	rec["worldId"] = spawner.StringAttr("../../etc")
	if _, err := rec.Server(srv.Key()); err == nil || err.Error() != `item "`+srv.Key()+`": worldId is not a world id` {
		t.Errorf("a record with worldId ../../etc = %v", err)
	}
	srv.WorldID = "a/b"
	if _, err := srv.Record(); !errors.Is(err, spawner.ErrWorldID) {
		t.Errorf("Record of a server of world a/b = %v, want ErrWorldID", err)
	}
}

// A world's key is no server's; its record is read at start with the
// others, and a malformed one is a problem naming its key.
func TestWorldKeys(t *testing.T) {
	if spawner.IsServerKey("world/w1") || !spawner.InSnapshot("world/w1") {
		t.Errorf("world/w1: IsServerKey %v, InSnapshot %v", spawner.IsServerKey("world/w1"), spawner.InSnapshot("world/w1"))
	}
	if got := spawner.DescribeKey("world/w1"); got != "world w1" {
		t.Errorf("DescribeKey = %q", got)
	}
	srv := spawner.Server{TaskID: "world/w1", Owner: "1", ChannelID: "2", CreatedAt: time.Now()}
	if err := srv.Storable(); err == nil || err.Error() != "server world/w1: the key is a world's" {
		t.Errorf("a server under world/w1: %v", err)
	}
	if key, err := spawner.WorldKey("w1"); key != "world/w1" || err != nil {
		t.Errorf("WorldKey = %q, %v", key, err)
	}
	for _, id := range []string{"", "..", "a/b"} {
		if _, err := spawner.WorldKey(id); !errors.Is(err, spawner.ErrWorldID) {
			t.Errorf("WorldKey(%q) = %v, want ErrWorldID", id, err)
		}
	}
}

func TestSnapshotAddsWorlds(t *testing.T) {
	var snap spawner.Snapshot
	w := records.World()
	rec, _ := w.Record()
	snap.Add(w.Key(), rec)
	snap.Add("world/bad", spawner.Record{spawner.KeyAttr: spawner.StringAttr("world/bad")})
	if !reflect.DeepEqual(snap.Worlds, []spawner.World{w}) {
		t.Errorf("worlds = %+v, want %+v", snap.Worlds, w)
	}
	if len(snap.Servers) != 0 || len(snap.GameProblems) != 0 {
		t.Errorf("a world's record made a server or a game problem: %+v", snap)
	}
	if got := spawner.ErrorLines(snap.Problems); got != `item "world/bad": userId is missing` {
		t.Errorf("problems = %s", got)
	}
}
