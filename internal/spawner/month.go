package spawner

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Month is a calendar month in UTC: what /server cost and the monthly
// report count. The zero Month is no month, before every other.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf is the month t falls in, in UTC.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	return Month{Year: t.Year(), Month: t.Month()}
}

// ParseMonth reads a month written YYYY-MM ("2026-11"), the year from
// 2000 to 9999. The error says what is wrong, quoting s.
func ParseMonth(s string) (Month, error) {
	year, month, ok := strings.Cut(s, "-")
	y, yerr := strconv.Atoi(year)
	m, merr := strconv.Atoi(month)
	switch {
	case !ok || len(year) != 4 || len(month) != 2 || yerr != nil || merr != nil || y < 2000:
		return Month{}, fmt.Errorf("month %q: want YYYY-MM, like 2026-11", s)
	case m < 1 || m > 12:
		return Month{}, fmt.Errorf("month %q: there is no month %d", s, m)
	}
	return Month{Year: y, Month: time.Month(m)}, nil
}

// String is the month written YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// IsZero reports whether m is no month.
func (m Month) IsZero() bool { return m == Month{} }

// Start is the month's first instant, in UTC.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// End is the next month's first instant: the month is [Start, End).
func (m Month) End() time.Time { return m.Start().AddDate(0, 1, 0) }

// Prev is the month before m.
func (m Month) Prev() Month { return MonthOf(m.Start().AddDate(0, -1, 0)) }

// Next is the month after m.
func (m Month) Next() Month { return MonthOf(m.End()) }

// Before reports whether m comes before o. The zero Month comes before
// every other.
func (m Month) Before(o Month) bool {
	if m.Year != o.Year {
		return m.Year < o.Year
	}
	return m.Month < o.Month
}

// ReportKeyPrefix starts the key of the record that says a month's report
// was sent: "report/<YYYY-MM>".
const ReportKeyPrefix = "report/"

// ReportKey is the key of month's report record: ReportKeyPrefix+"YYYY-MM".
// The zero Month is refused: "report: no month".
func ReportKey(month Month) (string, error) {
	if month.IsZero() {
		return "", errors.New("report: no month")
	}
	return ReportKeyPrefix + month.String(), nil
}

// The attribute of a report's record (taskId ReportKeyPrefix+"YYYY-MM");
// its expiresAt is a session's.
const attrSentAt = "sentAt" // number, Unix ms: when the report was posted

// ReportRecord is the record that says month's report was sent at sentAt,
// kept as long as a session (its expiresAt is 13 months after sentAt). The
// zero Month, or a time Report could not read back (not after 1970), is
// refused; the error reads "report <month>: ...".
func ReportRecord(month Month, sentAt time.Time) (Record, error) {
	key, err := ReportKey(month)
	if err != nil {
		return nil, err
	}
	if sentAt.UnixMilli() <= 0 {
		return nil, fmt.Errorf("report %s: no time it was sent", month)
	}
	return Record{
		KeyAttr:       StringAttr(key),
		attrSentAt:    NumberAttr(sentAt.UnixMilli()),
		attrExpiresAt: NumberAttr(ExpiresAt(sentAt).Unix()),
	}, nil
}

// Report reads r, stored under key (ReportKeyPrefix+"YYYY-MM"), as the
// record of a report sent: its month and when it was sent. A key that is
// not a month, or a sentAt missing, not a number or not a time after 1970,
// is a *RecordError naming key.
func (r Record) Report(key string) (month Month, sentAt time.Time, err error) {
	d := reader{rec: r}
	month, perr := ParseMonth(strings.TrimPrefix(key, ReportKeyPrefix))
	sentAt = d.time(attrSentAt, true)
	d.number(attrExpiresAt, false)
	if perr != nil {
		d.err = errors.New("the key names no month (want " + ReportKeyPrefix + "YYYY-MM)")
	}
	if d.err != nil {
		return Month{}, time.Time{}, &RecordError{Key: key, Err: d.err}
	}
	return month, sentAt, nil
}
