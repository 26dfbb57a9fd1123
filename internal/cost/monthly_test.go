package cost_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// quiet is the tests' logger: what Monthly logs is not what they check.
var quiet = slog.New(slog.DiscardHandler)

// posts records the reports posted to the log channel.
type posts struct {
	mu   sync.Mutex
	got  []cost.Report
	fail error // the next post fails with it, once
}

func (p *posts) post(_ context.Context, r cost.Report) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.fail; err != nil {
		p.fail = nil
		return err
	}
	p.got = append(p.got, r)
	return nil
}

func (p *posts) months() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.got {
		out = append(out, r.Month.String())
	}
	return out
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func openBolt(tb testing.TB, dir string) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(dir)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	return st
}

// putParis stores the sessions of the hand computation (estimate_test.go).
func putParis(tb testing.TB, st *bolt.Store) {
	tb.Helper()
	for _, s := range paris() {
		if err := st.PutSession(context.Background(), s); err != nil {
			tb.Fatalf("put session: %v", err)
		}
	}
}

// The report arrives once: on the first at midnight, not again after a
// restart later that day, not again later in the month, and the next
// month's on the next first.
func TestMonthlyReportOnceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	st := openBolt(t, dir)
	ctx := wait.Context(t)
	putParis(t, st)
	var p posts
	clk := &clock{t: time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC)}
	monthly := func(st cost.Store) *cost.Monthly {
		return &cost.Monthly{Log: quiet, Store: st, Pricing: cost.Pricing{Rates: cost.DefaultRates()}, Post: p.post, Now: clk.now}
	}
	m := monthly(st)
	for range 2 {
		if err := m.Look(ctx); err != nil {
			t.Fatalf("look: %v", err)
		}
	}
	if got := p.months(); !slicesEqual(got, "2026-11") {
		t.Fatalf("posted %v, want November's once", got)
	}
	if r := p.got[0]; r.Created != 5 || r.Estimate.Total.Servers != 6 {
		t.Errorf("November's report: %d created, %d sessions; want 5 and 6", r.Created, r.Estimate.Total.Servers)
	}

	// A restart on the first: a new process on the same file.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openBolt(t, dir)
	t.Cleanup(func() { _ = st.Close() })
	clk.set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	m = monthly(st)
	for _, day := range []int{1, 15, 31} {
		clk.set(time.Date(2026, 12, day, 9, 0, 0, 0, time.UTC))
		if err := m.Look(ctx); err != nil {
			t.Fatalf("look on the %d: %v", day, err)
		}
	}
	clk.set(time.Date(2027, 1, 1, 0, 0, 5, 0, time.UTC))
	if err := m.Look(ctx); err != nil {
		t.Fatalf("look in January: %v", err)
	}
	if got := p.months(); !slicesEqual(got, "2026-11", "2026-12") {
		t.Errorf("posted %v, want November's then December's, once each", got)
	}
}

func slicesEqual(got []string, want ...string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}

// A bot that was down on the first sends the report when it comes back.
func TestMonthlyDownOnTheFirst(t *testing.T) {
	st := openBolt(t, t.TempDir())
	t.Cleanup(func() { _ = st.Close() })
	putParis(t, st)
	var p posts
	m := &cost.Monthly{Log: quiet, Store: st, Post: p.post, Now: func() time.Time { return time.Date(2026, 12, 14, 18, 0, 0, 0, time.UTC) }}
	if sent, err := m.SendDue(wait.Context(t)); !sent || err != nil {
		t.Fatalf("SendDue = %v, %v", sent, err)
	}
	if got := p.months(); !slicesEqual(got, "2026-11") {
		t.Errorf("posted %v, want November's", got)
	}
}

// A post that fails leaves the report due: it goes out at the next look.
func TestMonthlyPostFails(t *testing.T) {
	st := openBolt(t, t.TempDir())
	t.Cleanup(func() { _ = st.Close() })
	putParis(t, st)
	p := posts{fail: errors.New("discord: 503")}
	m := &cost.Monthly{Log: quiet, Store: st, Post: p.post, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 1, 0, 0, time.UTC) }}
	ctx := wait.Context(t)
	if sent, err := m.SendDue(ctx); sent || err == nil || !strings.Contains(err.Error(), "discord: 503") {
		t.Fatalf("SendDue = %v, %v; want the post's failure", sent, err)
	}
	if _, sent, _ := st.Report(ctx, november); sent {
		t.Fatal("a report that failed to post is recorded as sent")
	}
	if sent, err := m.SendDue(ctx); !sent || err != nil {
		t.Fatalf("SendDue again = %v, %v", sent, err)
	}
	if got := p.months(); !slicesEqual(got, "2026-11") {
		t.Errorf("posted %v, want November's once", got)
	}
}

// fakeStore answers what the test sets and records the prunes.
type fakeStore struct {
	cost.Store
	reportErr error
	mu        sync.Mutex
	prunes    []time.Time
	looks     int
}

func (f *fakeStore) Report(context.Context, spawner.Month) (time.Time, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.looks++
	return time.Time{}, f.reportErr == nil, f.reportErr
}

func (f *fakeStore) PruneSessions(_ context.Context, before time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prunes = append(f.prunes, before)
	return 2, nil
}

func (f *fakeStore) counts() (looks, prunes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.looks, len(f.prunes)
}

// A report record that cannot be read posts nothing: better no report
// than two.
func TestMonthlyDamagedRecord(t *testing.T) {
	var p posts
	st := &fakeStore{reportErr: &spawner.RecordError{Key: "report/2026-11", Err: errors.New("sentAt is missing")}}
	m := &cost.Monthly{Log: quiet, Store: st, Post: p.post, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 1, 0, 0, time.UTC) }}
	if sent, err := m.SendDue(wait.Context(t)); sent || err == nil || !strings.Contains(err.Error(), "report/2026-11") {
		t.Errorf("SendDue = %v, %v; want the record's problem", sent, err)
	}
	if len(p.months()) != 0 {
		t.Errorf("posted %v", p.months())
	}
}

// Sessions are pruned at the first look and once a day after, 13 months
// back.
func TestMonthlyPrunesDaily(t *testing.T) {
	st := &fakeStore{}
	clk := &clock{t: time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)}
	m := &cost.Monthly{Log: quiet, Store: st, Now: clk.now}
	ctx := wait.Context(t)
	for _, after := range []time.Duration{0, time.Hour, 23 * time.Hour, 24 * time.Hour, 25 * time.Hour} {
		clk.set(time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC).Add(after))
		if err := m.Look(ctx); err != nil {
			t.Fatalf("look: %v", err)
		}
	}
	want := []time.Time{time.Date(2025, 11, 7, 13, 0, 0, 0, time.UTC), time.Date(2025, 11, 8, 13, 0, 0, 0, time.UTC)}
	if len(st.prunes) != 2 || !st.prunes[0].Equal(want[0]) || !st.prunes[1].Equal(want[1]) {
		t.Errorf("pruned before %v, want %v", st.prunes, want)
	}
}

// Run looks at once and at every tick, and returns when its context ends.
func TestMonthlyRun(t *testing.T) {
	st := &fakeStore{}
	m := &cost.Monthly{Log: quiet, Store: st, Every: time.Millisecond, Now: func() time.Time { return time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC) }}
	ctx, cancel := context.WithCancel(wait.Context(t))
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	wait.For(t, "three looks", func() bool { looks, _ := st.counts(); return looks >= 3 })
	cancel()
	if err := wait.Returns(t, "Run", done); err != nil {
		t.Errorf("Run = %v, want nil once its context ends", err)
	}
	if _, prunes := st.counts(); prunes != 1 {
		t.Errorf("%d prunes within a day, want 1", prunes)
	}
}

// A month in which no server ran is recorded and not posted: a new bot's
// first start says nothing of a month it did not see, and the next start
// does not look again.
func TestMonthlyNothingRan(t *testing.T) {
	st := openBolt(t, t.TempDir())
	t.Cleanup(func() { _ = st.Close() })
	ctx := wait.Context(t)
	// Only sessions of other months.
	for _, s := range paris() {
		if s.ID == "X" {
			if err := st.PutSession(ctx, s); err != nil {
				t.Fatalf("put session: %v", err)
			}
		}
	}
	var p posts
	m := &cost.Monthly{Log: quiet, Store: st, Post: p.post, Now: func() time.Time { return time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC) }}
	if sent, err := m.SendDue(ctx); sent || err != nil {
		t.Fatalf("SendDue = %v, %v; want nothing sent, no error", sent, err)
	}
	if len(p.months()) != 0 {
		t.Errorf("posted %v for a month without servers", p.months())
	}
	if _, sent, err := st.Report(ctx, november); !sent || err != nil {
		t.Errorf("November's report recorded = %v, %v; want recorded, so it is not looked for again", sent, err)
	}
}
