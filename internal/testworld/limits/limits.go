// Package limits holds the bounds the tests' world gives the daemon: its
// servers live seconds, so the floors of spawner.DefaultLimits are lowered
// (the ceilings are kept). Only tests, and the binary the tests build with
// -tags testworld, use them; no admin can reach them.
package limits

import (
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// World returns spawner.DefaultLimits with the floors the tests' world
// needs: checks every 300 ms, polls every 20 ms, servers of a few seconds.
// Each floor is still above 1 ms, so a test can show a value below it
// refused.
func World() spawner.Limits {
	l := spawner.DefaultLimits()
	l.CheckInterval.Min = 100 * time.Millisecond
	l.MaxDuration.Min = time.Second
	l.MaxDurationWarning.Min = 100 * time.Millisecond
	l.ReadyTimeout.Min = 100 * time.Millisecond
	l.ExtendDuration.Min = time.Second
	l.PollInterval.Min = 10 * time.Millisecond
	return l
}
