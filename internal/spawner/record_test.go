package spawner_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/records"
)

// A server's record reads back as the server, every field, under its key;
// what is not known is left out of the record.
func TestServerRecordRoundTrips(t *testing.T) {
	full := records.Full()
	full.Players = -1
	for _, srv := range []spawner.Server{full, records.Pending()} {
		rec, err := srv.Record()
		if err != nil {
			t.Fatalf("Record of %s: %v", srv.Key(), err)
		}
		got, err := rec.Server(srv.Key())
		if err != nil {
			t.Fatalf("Server of %s: %v", srv.Key(), err)
		}
		if !reflect.DeepEqual(got, srv) {
			t.Errorf("read back\n%+v\nwant\n%+v", got, srv)
		}
	}
	rec, _ := records.Pending().Record()
	for _, absent := range []string{"publicIpAddress", "token", "port", "runningDate", "warnings", "runtimeWarned", "stopAt", "players"} {
		if a, ok := rec[absent]; ok {
			t.Errorf("a pending server's record holds %s = %+v", absent, a)
		}
	}
}

func TestServerRecordBounds(t *testing.T) {
	srv := records.Full()
	srv.Players = spawner.MaxPlayers + 5
	srv.Warnings = -3
	rec, err := srv.Record()
	if err != nil {
		t.Fatal(err)
	}
	if got := rec["players"]; got != spawner.NumberAttr(spawner.MaxPlayers) {
		t.Errorf("players stored as %+v, want MaxPlayers", got)
	}
	if a, ok := rec["warnings"]; ok {
		t.Errorf("a negative warning count was stored: %+v", a)
	}
	srv.Owner = ""
	if _, err := srv.Record(); err == nil || !strings.Contains(err.Error(), "no owner") {
		t.Errorf("Record of a server without owner = %v, want Storable's refusal", err)
	}
}

func TestRecordKey(t *testing.T) {
	for _, c := range []struct {
		rec  spawner.Record
		want string // the error, "" for the key "k"
	}{
		{spawner.Record{spawner.KeyAttr: spawner.StringAttr("k")}, ""},
		{spawner.Record{}, "taskId is missing"},
		{spawner.Record{spawner.KeyAttr: spawner.StringAttr("")}, "taskId is empty"},
		{spawner.Record{spawner.KeyAttr: spawner.NumberAttr(12)}, "taskId is a number, want a string"},
		{spawner.Record{spawner.KeyAttr: {Kind: spawner.AttrNull}}, "taskId is null, want a string"},
	} {
		key, err := c.rec.Key()
		switch {
		case c.want == "" && (err != nil || key != "k"):
			t.Errorf("Key of %v = %q, %v; want k", c.rec, key, err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("Key of %v = %q, %v; want %q", c.rec, key, err, c.want)
		}
	}
}

// A snapshot sorts records by their key's kind, and so their problems: a
// game template's apart, since it is told as a template.
func TestSnapshotAdd(t *testing.T) {
	var snap spawner.Snapshot
	srv := records.Pending()
	rec, _ := srv.Record()
	snap.Add(srv.Key(), rec)
	game, _ := spawner.GameRecord("paper", []byte(`{"name":"paper"}`), time.UnixMilli(1700000000000))
	snap.Add("game/paper", game)
	since := time.UnixMilli(1700000000000).UTC()
	cooldown, _ := spawner.CooldownRecord("111", since)
	snap.Add("cooldown/111", cooldown)
	snap.Add("game/bad", spawner.Record{})
	snap.Add("cooldown/bad", spawner.Record{})
	snap.Add("arn:bad", spawner.Record{spawner.KeyAttr: spawner.StringAttr("arn:bad")})
	snap.Skip("game/garbage", errNotObject)
	snap.Skip("garbage", errNotObject)

	want := spawner.Snapshot{
		Servers:   []spawner.Server{srv},
		Games:     map[string][]byte{"paper": []byte(`{"name":"paper"}`)},
		Cooldowns: map[string]time.Time{"111": since},
	}
	if !reflect.DeepEqual(snap.Servers, want.Servers) || !reflect.DeepEqual(snap.Games, want.Games) || !reflect.DeepEqual(snap.Cooldowns, want.Cooldowns) {
		t.Errorf("snapshot = %+v, want %+v", snap, want)
	}
	wantProblems := []string{`item "cooldown/bad": startedAt is missing`, `item "arn:bad": userId is missing`, `item "garbage": not an object`}
	wantGame := []string{`item "game/bad": template is missing`, `item "game/garbage": not an object`}
	if got := spawner.ErrorLines(snap.Problems); got != strings.Join(wantProblems, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(wantProblems, "\n"))
	}
	if got := spawner.ErrorLines(snap.GameProblems); got != strings.Join(wantGame, "\n") {
		t.Errorf("game problems:\n%s\nwant:\n%s", got, strings.Join(wantGame, "\n"))
	}
}

var errNotObject = errors.New("not an object")

func TestGameAndCooldownRecordsRefuseWhatCannotReadBack(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  string
		want string
	}{
		{"", `{}`, "game: empty name"},
		{"x", `{`, "game x: the template is not JSON"},
		{"y", ``, "game y: the template is not JSON"},
	} {
		if _, err := spawner.GameRecord(c.name, []byte(c.doc), time.Now()); err == nil || err.Error() != c.want {
			t.Errorf("GameRecord(%q, %q) = %v, want %q", c.name, c.doc, err, c.want)
		}
	}
	for _, c := range []struct {
		member string
		since  time.Time
		want   string
	}{
		{"", time.Now(), "cooldown: empty member"},
		{"111", time.Time{}, "cooldown 111: no start time"},
		{"111", time.Unix(0, 0), "cooldown 111: no start time"},
	} {
		if _, err := spawner.CooldownRecord(c.member, c.since); err == nil || err.Error() != c.want {
			t.Errorf("CooldownRecord(%q, %v) = %v, want %q", c.member, c.since, err, c.want)
		}
	}
}
