package cost_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/spawner"
)

func TestMonthlyReport(t *testing.T) {
	const od = spawner.CapacityFargate
	s := func(id, member string, start time.Time, d time.Duration) spawner.Session {
		return fargate(id, member, "minecraft", od, 1024, 2048, true, start, d)
	}
	sessions := []spawner.Session{
		// Three at once on the 10th from 21:00 to 21:30; the fourth starts
		// as the first ends, which is not at once.
		s("a", "ana", at(10, 20, 0), 90*time.Minute),
		s("b", "ben", at(10, 21, 0), time.Hour),
		s("c", "cid", at(10, 20, 30), 2*time.Hour),
		s("d", "ana", at(10, 21, 30), 10*time.Minute),
		// Longest, but started in October: counted in time, not created.
		s("o", "ola", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), 14*time.Hour),
		s("e", "eve", at(20, 8, 0), 3*time.Hour),
		s("f", "fay", at(21, 8, 0), time.Minute),
		s("g", "gus", at(22, 8, 0), 2*time.Minute),
		s("h", "hal", at(23, 8, 0), 3*time.Minute),
	}
	r := cost.MonthlyReport(november, sessions, cost.Pricing{Rates: cost.DefaultRates()}, december.Start())

	var top []string
	for _, l := range r.Top {
		top = append(top, l.Key)
	}
	// ola 2 h in November (00:00 to 02:00), ana 1 h 40, eve 3 h, cid 2 h,
	// ben 1 h; hal, gus and fay less.
	if got, want := top, []string{"eve", "cid", "ola", "ana", "ben"}; !slices.Equal(got, want) {
		t.Errorf("top = %v, want %v", got, want)
	}
	if r.Created != 8 {
		t.Errorf("created = %d, want 8: the session from October is not November's", r.Created)
	}
	if r.Longest.ID != "e" || r.LongestTime != 3*time.Hour {
		t.Errorf("longest = %s (%v), want e (3h)", r.Longest.ID, r.LongestTime)
	}
	if r.Peak != 3 || !r.PeakAt.Equal(at(10, 21, 0)) {
		t.Errorf("peak = %d at %v, want 3 at 21:00 on the 10th", r.Peak, r.PeakAt)
	}
	if r.Estimate.Total.Servers != 9 {
		t.Errorf("estimate counts %d sessions, want 9", r.Estimate.Total.Servers)
	}

	empty := cost.MonthlyReport(november, nil, cost.Pricing{Rates: cost.DefaultRates()}, december.Start())
	if empty.Created != 0 || empty.Peak != 0 || empty.Longest.ID != "" || len(empty.Top) != 0 {
		t.Errorf("a month without servers: %+v", empty)
	}
}

// The report goes out once, on the first, or when the bot comes back
// within the month.
func TestReportDue(t *testing.T) {
	oct, nov := spawner.Month{Year: 2026, Month: time.October}, november
	for _, c := range []struct {
		name     string
		now      time.Time
		lastSent spawner.Month
		month    spawner.Month
		due      bool
	}{
		{"the first, none ever sent", time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC), spawner.Month{}, nov, true},
		{"the first, October's sent", time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC), oct, nov, true},
		{"a restart later on the first", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), nov, nov, false},
		{"down on the first, back on the 14th", time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC), oct, nov, true},
		{"the last minute of November", time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC), oct, oct, false},
		{"down all of December, back in January", time.Date(2027, 1, 3, 9, 0, 0, 0, time.UTC), oct, december, true},
		{"a record from the future", time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), december, nov, false},
	} {
		month, due := cost.ReportDue(c.now, c.lastSent)
		if month != c.month || due != c.due {
			t.Errorf("%s: ReportDue = %v, %v; want %v, %v", c.name, month, due, c.month, c.due)
		}
	}
}

func TestAskedMonth(t *testing.T) {
	now := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		option string
		month  string
		why    cost.MonthRefusal
	}{
		{"", "2026-12", cost.MonthOK},
		{" 2026-11 ", "2026-11", cost.MonthOK},
		{"2025-12", "2025-12", cost.MonthOK}, // 13 months before December 7th is November 7th
		{"2025-11", "2025-11", cost.MonthForgotten},
		{"2027-01", "2027-01", cost.MonthAhead},
		{"novembre", "0000-00", cost.MonthMalformed},
		{"2026-13", "0000-00", cost.MonthMalformed},
	} {
		m, why := cost.AskedMonth(c.option, now)
		if m.String() != c.month || why != c.why {
			t.Errorf("AskedMonth(%q) = %v, %v; want %s, %v", c.option, m, why, c.month, c.why)
		}
	}
	if got := cost.OldestMonth(now); got.String() != "2025-12" {
		t.Errorf("OldestMonth = %v, want 2025-12", got)
	}
	if got := cost.OldestMonth(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)); got.String() != "2025-11" {
		t.Errorf("OldestMonth on the first = %v, want 2025-11", got)
	}
}
