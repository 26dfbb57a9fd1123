package bolt_test

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/records"
)

var november = spawner.Month{Year: 2026, Month: time.November}

// at is a time in November 2026, UTC.
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC)
}

// played is a Fargate session of member's from start, lasting d (0: still
// running).
func played(id, member string, start time.Time, d time.Duration) spawner.Session {
	s := spawner.Session{
		ID: id, Owner: member, Game: "minecraft", Variant: "official", StartedAt: start,
		CPU: 1024, Memory: 2048, Capacity: spawner.CapacityFargate, Region: "eu-west-3", PublicIP: true,
	}
	if d > 0 {
		s.EndedAt = start.Add(d)
	}
	return s
}

func putSessions(tb testing.TB, st store, sessions ...spawner.Session) {
	tb.Helper()
	for _, s := range sessions {
		if err := st.PutSession(ctxFor(tb), s); err != nil {
			tb.Fatalf("put session %s: %v", s.ID, err)
		}
	}
}

// wantSessions reads the sessions of [from, to) and wants exactly want, in
// any order, with no problem.
func wantSessions(tb testing.TB, st store, from, to time.Time, want ...spawner.Session) {
	tb.Helper()
	got, problems, err := st.Sessions(ctxFor(tb), from, to)
	if err != nil || len(problems) != 0 {
		tb.Fatalf("sessions: %v (problems %v)", err, problems)
	}
	byID := func(s []spawner.Session) { sort.Slice(s, func(i, j int) bool { return s[i].ID < s[j].ID }) }
	byID(got)
	byID(want)
	if len(got)+len(want) != 0 && !reflect.DeepEqual(got, want) {
		tb.Errorf("sessions of [%v, %v)\n%+v\nwant\n%+v", from, to, got, want)
	}
}

// sessionContract is what both stores must do alike with sessions and
// reports, one case per behaviour.
var sessionContract = []struct {
	name string
	run  func(t *testing.T, st store)
}{
	{"sessions are read by the month they ran in", func(t *testing.T, st store) {
		crossing := played("c-oct", "1", time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), 2*time.Hour)
		inside := played("c-nov", "2", at(10, 20, 0), 90*time.Minute)
		running := played("c-run", "1", at(30, 23, 30), 0)
		before := played("c-sep", "1", time.Date(2026, 9, 30, 22, 0, 0, 0, time.UTC), time.Hour)
		after := played("c-dec", "2", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Hour)
		endsAtStart := played("c-edge", "2", time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), time.Hour)
		docker := spawner.Session{ID: "c-dock", Owner: "3", StartedAt: at(2, 18, 0), EndedAt: at(2, 19, 0), Capacity: spawner.CapacityDocker}
		putSessions(t, st, crossing, inside, running, before, after, endsAtStart, docker)
		wantSessions(t, st, november.Start(), november.End(), crossing, inside, running, docker)
	}},
	{"times load back in UTC, truncated to the millisecond", func(t *testing.T, st store) {
		s := played("c-ms", "1", time.Date(2026, 11, 2, 3, 4, 5, 678_912_345, time.FixedZone("CET", 3600)), time.Hour)
		putSessions(t, st, s)
		s.StartedAt = time.UnixMilli(s.StartedAt.UnixMilli()).UTC()
		s.EndedAt = time.UnixMilli(s.EndedAt.UnixMilli()).UTC()
		wantSessions(t, st, november.Start(), november.End(), s)
	}},
	{"a session put again when it ends replaces the running one", func(t *testing.T, st store) {
		running := played("c-1", "1", at(5, 20, 0), 0)
		putSessions(t, st, running)
		ended := running
		ended.EndedAt = at(5, 21, 0)
		putSessions(t, st, ended, ended)
		wantSessions(t, st, november.Start(), november.End(), ended)
	}},
	{"sessions and reports are not in the start snapshot", func(t *testing.T, st store) {
		put(t, st, records.Full())
		putSessions(t, st, played("c-1", "1", at(5, 20, 0), time.Hour))
		if err := st.PutReport(ctxFor(t), november, at(30, 0, 0)); err != nil {
			t.Fatalf("put report: %v", err)
		}
		wantServers(t, st, records.Full()) // and no problem
		wantSessions(t, st, november.Start(), november.End(), played("c-1", "1", at(5, 20, 0), time.Hour))
	}},
	{"put session refuses what sessions could not read back", func(t *testing.T, st store) {
		for name, change := range map[string]func(*spawner.Session){
			"no id":           func(s *spawner.Session) { s.ID = "" },
			"no owner":        func(s *spawner.Session) { s.Owner = "" },
			"no start":        func(s *spawner.Session) { s.StartedAt = time.Time{} },
			"an early end":    func(s *spawner.Session) { s.EndedAt = s.StartedAt.Add(-time.Minute) },
			"an EC2 capacity": func(s *spawner.Session) { s.Capacity = "EC2" },
			"a negative size": func(s *spawner.Session) { s.Memory = -1 },
		} {
			s := played("c-1", "1", at(5, 20, 0), time.Hour)
			change(&s)
			if err := st.PutSession(ctxFor(t), s); err == nil {
				t.Errorf("PutSession of a session with %s succeeded", name)
			}
		}
		wantSessions(t, st, november.Start(), november.End())
	}},
	{"prune removes the sessions that ended before the cutoff", func(t *testing.T, st store) {
		cutoff := at(15, 0, 0)
		old := played("c-old", "1", at(1, 20, 0), time.Hour)
		straddling := played("c-str", "1", at(14, 23, 30), time.Hour)
		running := played("c-run", "1", at(2, 20, 0), 0)
		putSessions(t, st, old, straddling, running)
		for i, want := range []int{1, 0} { // idempotent
			n, err := st.PruneSessions(ctxFor(t), cutoff)
			if err != nil || n != want {
				t.Fatalf("prune #%d = %d, %v; want %d", i+1, n, err, want)
			}
		}
		wantSessions(t, st, november.Start(), november.End(), straddling, running)
	}},
	{"a report sent is recorded, read back and released", func(t *testing.T, st store) {
		ctx := ctxFor(t)
		if _, sent, err := st.Report(ctx, november); sent || err != nil {
			t.Fatalf("report of a month never sent: sent %v, %v", sent, err)
		}
		sentAt := time.Date(2026, 12, 1, 0, 3, 4, 567_890_000, time.UTC)
		for range 2 {
			if err := st.PutReport(ctx, november, sentAt); err != nil {
				t.Fatalf("put report: %v", err)
			}
		}
		got, sent, err := st.Report(ctx, november)
		if !sent || err != nil || !got.Equal(time.UnixMilli(sentAt.UnixMilli())) {
			t.Errorf("report = %v, sent %v, %v; want sent at %v", got, sent, err, sentAt)
		}
		if _, sent, _ := st.Report(ctx, november.Prev()); sent {
			t.Error("October's report reads as sent")
		}
		for range 2 {
			if err := st.DeleteReport(ctx, november); err != nil {
				t.Fatalf("delete report: %v", err)
			}
		}
		if _, sent, err := st.Report(ctx, november); sent || err != nil {
			t.Errorf("report after delete: sent %v, %v", sent, err)
		}
		if err := st.PutReport(ctx, spawner.Month{}, sentAt); err == nil {
			t.Error("PutReport of no month succeeded")
		}
	}},
}

func TestSessionContract(t *testing.T) {
	stores := subjects(t)
	for _, kind := range []string{"bolt", "dynamo"} {
		t.Run(kind, func(t *testing.T) {
			for _, c := range sessionContract {
				t.Run(c.name, func(t *testing.T) { c.run(t, stores[kind](t).st) })
			}
		})
	}
}

// malformedSessions are session records another writer might have left,
// each with the problem both stores must report for it, word for word.
var malformedSessions = []struct {
	key    string
	change func(map[string]any)
	says   string
}{
	{"session/no-user", func(m map[string]any) { delete(m, "userId") }, "userId is missing"},
	{"session/start-text", func(m map[string]any) { m["startedAt"] = "yesterday" }, "startedAt is a string, want a number"},
	{"session/no-capacity", func(m map[string]any) { delete(m, "capacity") }, "capacity is missing"},
	{"session/ec2", func(m map[string]any) { m["capacity"] = "EC2" }, "capacity is not a known capacity"},
	{"session/backwards", func(m map[string]any) { m["endedAt"] = num("1700000000000") }, "endedAt is before startedAt"},
	{"session/cpu-list", func(m map[string]any) { m["cpu"] = []any{num("1")} }, "cpu is a list, want a number"},
	{"session/huge", func(m map[string]any) { m["memory"] = num("99999999999") }, "memory is not a task size"},
}

// goodSession is a session record both stores read: November the 5th,
// 20:00 to 21:00 UTC.
func goodSession(key string) map[string]any {
	return map[string]any{
		"taskId": key, "userId": "8", "startedAt": num(fmt.Sprint(at(5, 20, 0).UnixMilli())),
		"endedAt": num(fmt.Sprint(at(5, 21, 0).UnixMilli())), "capacity": "FARGATE_SPOT", "expiresAt": num("1900000000"),
	}
}

// TestContractMalformedSessions: both stores skip the same malformed
// sessions with the same problems, never fatal, read the good one beside
// them, never show them at start, and leave them when pruning.
func TestContractMalformedSessions(t *testing.T) {
	stores := subjects(t)
	for _, kind := range []string{"bolt", "dynamo"} {
		t.Run(kind, func(t *testing.T) {
			sub := stores[kind](t)
			for _, m := range malformedSessions {
				rec := goodSession(m.key)
				m.change(rec)
				sub.raw(t, m.key, rec)
			}
			sub.raw(t, "session/good", goodSession("session/good"))

			sessions, problems, err := sub.st.Sessions(ctxFor(t), november.Start(), november.End())
			if err != nil {
				t.Fatalf("sessions: %v", err)
			}
			want := []spawner.Session{{ID: "good", Owner: "8", StartedAt: at(5, 20, 0), EndedAt: at(5, 21, 0), Capacity: spawner.CapacityFargateSpot}}
			if !reflect.DeepEqual(sessions, want) {
				t.Errorf("sessions\n%+v\nwant\n%+v", sessions, want)
			}
			got := problemsByKey(t, problems)
			for _, m := range malformedSessions {
				if w := fmt.Sprintf("item %q: %s", m.key, m.says); got[m.key] != w {
					t.Errorf("problem for %s = %q, want %q", m.key, got[m.key], w)
				}
				delete(got, m.key)
			}
			for key, p := range got {
				t.Errorf("problem for a good record %s: %s", key, p)
			}
			if snap := loadAll(t, sub.st); len(snap.Servers) != 0 {
				t.Errorf("sessions read at start as servers: %+v", snap.Servers)
			}
			if n, err := sub.st.PruneSessions(ctxFor(t), at(30, 0, 0)); err != nil || n != 1 {
				t.Errorf("prune = %d, %v; want the good one alone", n, err)
			}
			if _, problems, _ := sub.st.Sessions(ctxFor(t), november.Start(), november.End()); len(problems) != len(malformedSessions) {
				t.Errorf("after prune, %d problems, want the %d malformed left as they were", len(problems), len(malformedSessions))
			}
		})
	}
}

// A malformed report record is an error naming it, not a report unsent:
// the monthly report is not sent twice on a damaged record.
func TestContractMalformedReport(t *testing.T) {
	stores := subjects(t)
	for _, kind := range []string{"bolt", "dynamo"} {
		t.Run(kind, func(t *testing.T) {
			sub := stores[kind](t)
			sub.raw(t, "report/2026-11", map[string]any{"taskId": "report/2026-11", "sentAt": "early"})
			_, _, err := sub.st.Report(ctxFor(t), november)
			if err == nil || !strings.Contains(err.Error(), `item "report/2026-11": sentAt is a string, want a number`) {
				t.Errorf("Report of a malformed record = %v", err)
			}
		})
	}
}
