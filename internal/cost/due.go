package cost

import (
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// ReportDue is the month whose report is due at now, and whether it is:
// the month before now's (in UTC), unless lastSent, the latest month whose
// report was sent (the zero Month when none was), is that month or a
// later one.
//
// So the report goes out on the first of the month, once: a restart later
// that day finds it sent; a bot that was down on the first sends it when
// it comes back within the month; a month whose next month passed without
// the bot is not reported.
func ReportDue(now time.Time, lastSent spawner.Month) (spawner.Month, bool) {
	past := spawner.MonthOf(now).Prev()
	return past, lastSent.Before(past)
}

// MonthRefusal is why /server cost's month option was refused; MonthOK
// when it was not.
type MonthRefusal int

const (
	MonthOK        MonthRefusal = iota
	MonthMalformed              // not YYYY-MM
	MonthAhead                  // a month to come
	MonthForgotten              // older than the sessions kept
)

// AskedMonth is the month /server cost's option names at now: the current
// month when option is empty, else option read as YYYY-MM (spaces around
// it ignored). A month to come is refused, and so is one that started
// before spawner.SessionCutoff(now), whose sessions are no longer all kept.
func AskedMonth(option string, now time.Time) (spawner.Month, MonthRefusal) {
	option = strings.TrimSpace(option)
	if option == "" {
		return spawner.MonthOf(now), MonthOK
	}
	m, err := spawner.ParseMonth(option)
	switch {
	case err != nil:
		return spawner.Month{}, MonthMalformed
	case spawner.MonthOf(now).Before(m):
		return m, MonthAhead
	case m.Start().Before(spawner.SessionCutoff(now)):
		return m, MonthForgotten
	}
	return m, MonthOK
}

// OldestMonth is the oldest month AskedMonth accepts at now.
func OldestMonth(now time.Time) spawner.Month {
	m := spawner.MonthOf(spawner.SessionCutoff(now))
	if m.Start().Before(spawner.SessionCutoff(now)) {
		m = m.Next()
	}
	return m
}
