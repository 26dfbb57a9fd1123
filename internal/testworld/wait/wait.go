// Package wait holds the bounded waits the tests share, so that a test
// that hangs fails in a known time and says what it was waiting for.
package wait

import (
	"context"
	"testing"
	"time"
)

// ContextTimeout bounds a Context: longer than any test's work on a loaded
// 2-core machine, shorter than go test's own timeout.
const ContextTimeout = 30 * time.Second

// ForTimeout bounds a For.
const ForTimeout = 15 * time.Second

// Context returns a context that ends when tb ends or after
// ContextTimeout, whichever comes first.
func Context(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ContextTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// For polls cond until it holds, and fails tb, naming what, when it still
// does not after ForTimeout. Call it from the test's goroutine.
func For(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(ForTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", ForTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Returns waits for the error a call sends on done, typically once its
// context was cancelled, and fails tb, naming what, when none comes within
// ForTimeout: the call did not stop. Call it from the test's goroutine.
func Returns(tb testing.TB, what string, done <-chan error) error {
	tb.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(ForTimeout):
		tb.Fatalf("%s still running %v after it was told to stop", what, ForTimeout)
		return nil
	}
}
