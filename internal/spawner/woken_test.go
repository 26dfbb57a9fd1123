package spawner_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/records"
)

// Who woke a server's world is kept in its record as wokenBy, with its
// kind, and reads back; a server that woke nothing has none.
func TestServerWokenByRoundTrips(t *testing.T) {
	for want, by := range map[string]spawner.WokenBy{
		"player:Steve_2":            {Player: "Steve_2"},
		"member:100000000000000001": {Member: "100000000000000001"},
	} {
		srv := records.Pending()
		srv.WokenBy = by
		rec, err := srv.Record()
		if err != nil {
			t.Fatalf("Record woken by %+v: %v", by, err)
		}
		if got := rec["wokenBy"]; got != spawner.StringAttr(want) {
			t.Errorf("wokenBy stored as %+v, want %q", got, want)
		}
		got, err := rec.Server(srv.Key())
		if err != nil || !reflect.DeepEqual(got, srv) {
			t.Errorf("read back %+v, %v; want %+v", got, err, srv)
		}
	}
	if rec, _ := records.Pending().Record(); rec["wokenBy"] != (spawner.Attr{}) {
		t.Errorf("a server that woke nothing holds wokenBy %+v", rec["wokenBy"])
	}
}

// A waker a record cannot hold is refused on write with why, and a
// wokenBy that names nobody is malformed on read, naming the attribute
// and never its value.
func TestServerWokenByRefused(t *testing.T) {
	for _, tc := range []struct {
		by   spawner.WokenBy
		want string
	}{
		{spawner.WokenBy{Player: "Steve", Member: "1"}, "both a player and a member"},
		{spawner.WokenBy{Player: "Steve\n@everyone"}, "a player's name is 1 to 16 letters, digits or _"},
		{spawner.WokenBy{Player: strings.Repeat("a", 17)}, "a player's name is 1 to 16 letters, digits or _"},
		{spawner.WokenBy{Member: "<@&1>"}, "a member's id is 1 to 20 digits"},
	} {
		srv := records.Pending()
		srv.WokenBy = tc.by
		_, err := srv.Record()
		if want := "server creation/c-43: wokenBy is not who woke a world: " + tc.want; !errors.Is(err, spawner.ErrWokenBy) || err.Error() != want {
			t.Errorf("Record woken by %q = %v, want %q", tc.by, err, want)
		}
	}
	for _, bad := range []spawner.Attr{
		spawner.StringAttr("Steve"), spawner.StringAttr("robot:1"), spawner.StringAttr("player:"),
		spawner.StringAttr("player:Ste ve"), spawner.StringAttr("member:Steve"), spawner.StringAttr("member:"),
	} {
		rec, _ := records.Pending().Record()
		rec["wokenBy"] = bad
		_, err := rec.Server("creation/c-43")
		var re *spawner.RecordError
		if !errors.As(err, &re) || re.Err.Error() != "wokenBy is not who woke a world" {
			t.Errorf("Server with wokenBy %q = %v, want a *RecordError naming wokenBy", bad.Text, err)
		}
	}
	rec, _ := records.Pending().Record()
	rec["wokenBy"] = spawner.NumberAttr(7)
	if _, err := rec.Server("creation/c-43"); err == nil || !strings.Contains(err.Error(), "wokenBy is a number, want a string") {
		t.Errorf("Server with a numeric wokenBy = %v", err)
	}
}
