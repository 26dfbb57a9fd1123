// Package backoff is the one way the daemon waits between two tries of
// something that failed for a reason that passes: a capped exponential
// backoff, Min, 2×Min, 4×Min... up to Max.
//
// It only counts and computes; the caller keeps its loop, its clock (a
// real timer, or an injected one in tests) and its logs. Failures tells it
// where it is in a run of failures, so that it can log the first one, one
// in ten, or the recovery, each in its own words.
package backoff

import (
	"context"
	"time"
)

// Backoff is the wait before each try of a run of failures. Set Min and Max,
// then call Next after each failure and Reset after a success. The zero
// value never waits. A Backoff is not safe for concurrent use: one loop owns
// it.
type Backoff struct {
	// Min is the first wait; each next one is twice the one before.
	Min time.Duration
	// Max caps every wait, Min included.
	Max time.Duration

	failures int
}

// Next records a failure and returns how long to wait before trying again.
func (b *Backoff) Next() time.Duration {
	d := max(b.Min, 0)
	for i := 0; i < b.failures && d < b.Max; i++ {
		if d > b.Max-d { // doubling would pass Max, or overflow
			d = b.Max
		} else {
			d += d
		}
	}
	b.failures++
	return min(d, b.Max)
}

// Reset records a success: the next failure starts a new run, waiting Min.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures is how many times Next was called since the last Reset: 1 just
// after the first failure of a run, 0 when the last try worked.
func (b *Backoff) Failures() int { return b.failures }

// Sleep waits d, or until ctx ends, whichever comes first; it returns
// ctx.Err() when ctx ended first, nil otherwise. A loop that stops when
// ctx ends treats that as done, not as an error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
