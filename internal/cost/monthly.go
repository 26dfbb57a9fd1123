package cost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Store is what Monthly needs of the store (the dynamo table or the
// embedded one): the sessions of a month, their pruning, and the record of
// the reports sent.
type Store interface {
	Sessions(ctx context.Context, from, to time.Time) ([]spawner.Session, []error, error)
	PruneSessions(ctx context.Context, before time.Time) (int, error)
	Report(ctx context.Context, month spawner.Month) (sentAt time.Time, sent bool, err error)
	PutReport(ctx context.Context, month spawner.Month, sentAt time.Time) error
	DeleteReport(ctx context.Context, month spawner.Month) error
}

// DefaultEvery is how often Monthly looks whether a report is due: the
// report goes out within this long of midnight UTC on the first.
const DefaultEvery = time.Hour

// PruneEvery is how often Monthly prunes the sessions past their 13 months.
const PruneEvery = 24 * time.Hour

// Monthly sends the past month's report once, on the first of the month
// (or when the bot comes back within the month), and prunes the sessions
// past their 13 months, at start and once a day. Its owner runs Run in a
// goroutine of its own and stops it by cancelling the context.
type Monthly struct {
	Store   Store
	Pricing Pricing
	// Post renders r and posts it to the log channel (text.CostReport);
	// an error leaves the report due, to be posted at the next look.
	Post  func(ctx context.Context, r Report) error
	Now   func() time.Time // time.Now when nil
	Log   *slog.Logger     // slog.Default() when nil
	Every time.Duration    // DefaultEvery when 0

	lastPrune time.Time // owned by Run's goroutine
}

// Run looks at once, then every Every, until ctx is done; it returns nil
// then. A look that fails is logged and tried again at the next one.
func (m *Monthly) Run(ctx context.Context) error {
	every := m.Every
	if every <= 0 {
		every = DefaultEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := m.Look(ctx); err != nil && ctx.Err() == nil {
			m.log().Warn("monthly report: will try again", "in", every, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Look prunes the sessions when a day has passed since the last prune (or
// none was made), then sends the past month's report if it is due.
func (m *Monthly) Look(ctx context.Context) error {
	now := m.now()
	var pruneErr error
	if m.lastPrune.IsZero() || now.Sub(m.lastPrune) >= PruneEvery {
		n, err := m.Store.PruneSessions(ctx, spawner.SessionCutoff(now))
		if err == nil {
			m.lastPrune = now
			if n > 0 {
				m.log().Info("pruned the sessions past their 13 months", "sessions", n)
			}
		}
		pruneErr = err
	}
	_, err := m.SendDue(ctx)
	return errors.Join(pruneErr, err)
}

// SendDue sends the past month's report when it is due (ReportDue), and
// tells whether it did. The report is recorded as sent before it is
// posted, and the record removed if posting fails: a restart, even in the
// middle, never posts it twice (a crash between the two loses it). A
// record of the report that cannot be read is an error, and nothing is
// posted. A month in which no server ran is recorded and not posted: the
// first start of a new bot, or of one that kept no sessions before, would
// otherwise say that nothing ran in a month it did not see.
func (m *Monthly) SendDue(ctx context.Context) (bool, error) {
	now := m.now()
	past := spawner.MonthOf(now).Prev()
	sentAt, sent, err := m.Store.Report(ctx, past)
	if err != nil {
		return false, fmt.Errorf("monthly report of %s: %w", past, err)
	}
	var last spawner.Month
	if sent {
		last = past
	}
	month, due := ReportDue(now, last)
	if !due {
		m.log().Debug("monthly report already sent", "month", past.String(), "sent_at", sentAt)
		return false, nil
	}
	sessions, problems, err := m.Store.Sessions(ctx, month.Start(), month.End())
	if err != nil {
		return false, fmt.Errorf("monthly report of %s: %w", month, err)
	}
	for _, p := range problems {
		m.log().Warn("monthly report: a session was skipped", "month", month.String(), "err", p)
	}
	report := MonthlyReport(month, sessions, m.Pricing, now)
	if err := m.Store.PutReport(ctx, month, now); err != nil {
		return false, fmt.Errorf("monthly report of %s: %w", month, err)
	}
	if report.Estimate.Total.Servers == 0 {
		m.log().Info("monthly report: no server ran in the month; nothing posted", "month", month.String())
		return false, nil
	}
	if err := m.Post(ctx, report); err != nil {
		if derr := m.Store.DeleteReport(context.WithoutCancel(ctx), month); derr != nil {
			return false, fmt.Errorf("monthly report of %s: post: %w; and it stays recorded as sent: %w", month, err, derr)
		}
		return false, fmt.Errorf("monthly report of %s: post: %w", month, err)
	}
	m.log().Info("monthly report sent", "month", month.String(), "servers", report.Created)
	return true, nil
}

func (m *Monthly) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func (m *Monthly) log() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}
