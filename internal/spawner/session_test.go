package spawner_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

func session() spawner.Session {
	start := time.Date(2026, 11, 3, 20, 0, 0, 0, time.UTC)
	return spawner.Session{
		ID: "c-42", Owner: "111111111111111111", Game: "minecraft", Variant: "official",
		StartedAt: start, EndedAt: start.Add(90 * time.Minute),
		CPU: 1024, Memory: 2048, Capacity: spawner.CapacityFargateSpot, Region: "eu-west-3", PublicIP: true,
	}
}

// A session's record reads back as the session, under session/<id>, with
// a time to live 13 months after its end (its start while it runs).
func TestSessionRecordRoundTrips(t *testing.T) {
	running := session()
	running.EndedAt = time.Time{}
	docker := spawner.Session{ID: "c-7", Owner: "9", StartedAt: session().StartedAt, Capacity: spawner.CapacityDocker}
	for _, s := range []spawner.Session{session(), running, docker} {
		rec, err := s.Record()
		if err != nil {
			t.Fatalf("Record of %s: %v", s.ID, err)
		}
		if key, _ := rec.Key(); key != "session/"+s.ID {
			t.Errorf("key = %q, want session/%s", key, s.ID)
		}
		want := spawner.NumberAttr(s.Until(s.StartedAt).AddDate(0, 13, 0).Unix())
		if rec["expiresAt"] != want {
			t.Errorf("%s: expiresAt = %+v, want %+v", s.ID, rec["expiresAt"], want)
		}
		got, err := rec.Session(s.Key())
		if err != nil {
			t.Fatalf("Session of %s: %v", s.ID, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Errorf("read back\n%+v\nwant\n%+v", got, s)
		}
	}
}

func TestSessionStorable(t *testing.T) {
	for want, change := range map[string]func(*spawner.Session){
		"session: empty id":           func(s *spawner.Session) { s.ID = "" },
		"session c-42: no owner":      func(s *spawner.Session) { s.Owner = "" },
		"session c-42: no start time": func(s *spawner.Session) { s.StartedAt = time.Time{} },
		"session c-42: it ended before it started": func(s *spawner.Session) {
			s.EndedAt = s.StartedAt.Add(-time.Second)
		},
		`session c-42: capacity "EC2" is none of FARGATE, FARGATE_SPOT, docker`: func(s *spawner.Session) { s.Capacity = "EC2" },
		"session c-42: cpu is not a task size":                                  func(s *spawner.Session) { s.CPU = -1 },
		"session c-42: memory is not a task size":                               func(s *spawner.Session) { s.Memory = spawner.MaxSessionMemory + 1 },
	} {
		s := session()
		change(&s)
		if _, err := s.Record(); err == nil || err.Error() != want {
			t.Errorf("Record = %v, want %q", err, want)
		}
	}
}

// What makes a stored session malformed, said once for every store.
func TestSessionRecordMalformed(t *testing.T) {
	good := func() spawner.Record { r, _ := session().Record(); return r }
	for want, change := range map[string]func(spawner.Record){
		"userId is missing":                    func(r spawner.Record) { delete(r, "userId") },
		"startedAt is a string, want a number": func(r spawner.Record) { r["startedAt"] = spawner.StringAttr("today") },
		"endedAt is before startedAt":          func(r spawner.Record) { r["endedAt"] = spawner.NumberAttr(1) },
		"capacity is missing":                  func(r spawner.Record) { delete(r, "capacity") },
		"capacity is not a known capacity":     func(r spawner.Record) { r["capacity"] = spawner.StringAttr("EC2") },
		"cpu is not a task size":               func(r spawner.Record) { r["cpu"] = spawner.NumberAttr(-5) },
		"publicIp is a string, want a boolean": func(r spawner.Record) { r["publicIp"] = spawner.StringAttr("yes") },
		"expiresAt is not a whole number":      func(r spawner.Record) { r["expiresAt"] = spawner.Attr{Kind: spawner.AttrNumber, Text: "soon"} },
	} {
		r := good()
		change(r)
		_, err := r.Session("session/c-42")
		var re *spawner.RecordError
		if !errors.As(err, &re) || re.Key != "session/c-42" || re.Err.Error() != want {
			t.Errorf("Session = %v, want a *RecordError for session/c-42: %s", err, want)
		}
	}
	if _, err := good().Session("session/"); err == nil || !strings.Contains(err.Error(), "no id") {
		t.Errorf("Session under a key without id = %v", err)
	}
}

func TestSessionOverlaps(t *testing.T) {
	s := session() // 20:00 to 21:30 on 3 November
	running := s
	running.EndedAt = time.Time{}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 3, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		s        spawner.Session
		from, to time.Time
		want     bool
	}{
		{s, at(19, 0), at(20, 0), false}, // ends as it starts
		{s, at(19, 0), at(20, 1), true},
		{s, at(21, 30), at(22, 0), false},
		{s, at(21, 29), at(22, 0), true},
		{running, at(23, 0), at(23, 30), true},
		{running, at(18, 0), at(19, 0), false},
	} {
		if got := c.s.Overlaps(c.from, c.to); got != c.want {
			t.Errorf("%v–%v overlaps [%v, %v) = %v, want %v", c.s.StartedAt, c.s.EndedAt, c.from, c.to, got, c.want)
		}
	}
}

func TestSessionKeysAreNotServers(t *testing.T) {
	for _, key := range []string{"session/c-1", "report/2026-11"} {
		if spawner.IsServerKey(key) || spawner.InSnapshot(key) {
			t.Errorf("%s: IsServerKey %v, InSnapshot %v; want neither", key, spawner.IsServerKey(key), spawner.InSnapshot(key))
		}
		srv := spawner.Server{TaskID: key, Owner: "1", ChannelID: "2", CreatedAt: time.Now()}
		if err := srv.Storable(); err == nil {
			t.Errorf("a server under %s is storable", key)
		}
		var snap spawner.Snapshot
		snap.Add(key, spawner.Record{spawner.KeyAttr: spawner.StringAttr(key)})
		if len(snap.Servers)+len(snap.Problems) != 0 {
			t.Errorf("a snapshot took the record of %s: %+v", key, snap)
		}
	}
	if got := spawner.DescribeKey("session/c-1"); got != "session c-1" {
		t.Errorf("DescribeKey = %q", got)
	}
	if got := spawner.DescribeKey("report/2026-11"); got != "report 2026-11" {
		t.Errorf("DescribeKey = %q", got)
	}
}

func TestParseMonth(t *testing.T) {
	for in, want := range map[string]string{
		"2026-11": "",
		"2026-1":  `month "2026-1": want YYYY-MM, like 2026-11`,
		"26-11":   `month "26-11": want YYYY-MM, like 2026-11`,
		"2026-13": `month "2026-13": there is no month 13`,
		"2026-00": `month "2026-00": there is no month 0`,
		"1999-12": `month "1999-12": want YYYY-MM, like 2026-11`,
		"":        `month "": want YYYY-MM, like 2026-11`,
		"2026/11": `month "2026/11": want YYYY-MM, like 2026-11`,
		"+026-11": `month "+026-11": want YYYY-MM, like 2026-11`,
	} {
		m, err := spawner.ParseMonth(in)
		switch {
		case want == "" && (err != nil || m.String() != in):
			t.Errorf("ParseMonth(%q) = %v, %v", in, m, err)
		case want != "" && (err == nil || err.Error() != want):
			t.Errorf("ParseMonth(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestMonth(t *testing.T) {
	jan := spawner.MonthOf(time.Date(2027, 1, 31, 23, 59, 0, 0, time.FixedZone("CET", 3600)))
	if jan.String() != "2027-01" {
		t.Fatalf("MonthOf a CET time = %v, want the month in UTC", jan)
	}
	if got := jan.Prev(); got.String() != "2026-12" {
		t.Errorf("Prev = %v", got)
	}
	if got := jan.Prev().Next(); got != jan {
		t.Errorf("Prev().Next() = %v", got)
	}
	if !jan.End().Equal(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)) || !jan.Start().Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Start, End = %v, %v", jan.Start(), jan.End())
	}
	if !(spawner.Month{}).Before(jan) || !jan.Prev().Before(jan) || jan.Before(jan) {
		t.Error("Before is not the months' order")
	}
}

func TestReportRecord(t *testing.T) {
	month := spawner.Month{Year: 2026, Month: time.November}
	sent := time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC)
	rec, err := spawner.ReportRecord(month, sent)
	if err != nil {
		t.Fatal(err)
	}
	gotMonth, gotSent, err := rec.Report("report/2026-11")
	if err != nil || gotMonth != month || !gotSent.Equal(sent) {
		t.Errorf("Report = %v, %v, %v", gotMonth, gotSent, err)
	}
	if _, err := spawner.ReportRecord(spawner.Month{}, sent); err == nil {
		t.Error("a report of no month was made")
	}
	if _, _, err := rec.Report("report/nov"); err == nil || !strings.Contains(err.Error(), "names no month") {
		t.Errorf("Report under a key without a month = %v", err)
	}
	delete(rec, "sentAt")
	if _, _, err := rec.Report("report/2026-11"); err == nil || !strings.Contains(err.Error(), "sentAt is missing") {
		t.Errorf("Report without sentAt = %v", err)
	}
}
