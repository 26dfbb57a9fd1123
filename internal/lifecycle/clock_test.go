package lifecycle

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var _ Clock = (*fakeClock)(nil)

// fakeClock is a Clock whose time moves only when the test calls Advance.
// A channel returned by After fires once Advance has brought the time to
// its deadline; BlockUntil lets a test wait until the code under test is
// waiting on the clock, so no test sleeps to wait for a tick.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(start time.Time) *fakeClock { return &fakeClock{now: start} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the time once the clock reaches
// now+d; at once when d <= 0.
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock forward by d and fires every After whose deadline is reached.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}

// AdvanceTo moves the clock forward to t (never backward).
func (c *fakeClock) AdvanceTo(t time.Time) {
	if d := t.Sub(c.Now()); d > 0 {
		c.Advance(d)
	}
}

// Waiters is how many After channels have not fired yet.
func (c *fakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// NextDeadline is the earliest deadline of the After channels not fired
// yet, and false when there is none.
func (c *fakeClock) NextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for _, w := range c.waiters {
		if next.IsZero() || w.at.Before(next) {
			next = w.at
		}
	}
	return next, !next.IsZero()
}

// waitTimeout bounds every wait of these tests; reaching it fails the test.
const waitTimeout = 10 * time.Second

// BlockUntil waits until at least n After channels are pending (n
// goroutines waiting on the clock), failing the test after waitTimeout.
// dumps, when given, are printed on failure.
func (c *fakeClock) BlockUntil(tb testing.TB, n int, dumps ...fmt.Stringer) {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("%d goroutine(s) waiting on the fake clock", n), func() bool { return c.Waiters() >= n }, dumps...)
}

// waitFor polls cond until it holds, failing the test with what it waited
// for and the dumps after waitTimeout.
func waitFor(tb testing.TB, what string, cond func() bool, dumps ...fmt.Stringer) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("timed out after %v waiting for %s", waitTimeout, what)
			for _, d := range dumps {
				msg += "\n" + d.String()
			}
			tb.Fatal(msg)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFakeClock(t *testing.T) {
	start := time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)
	c := newFakeClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	select {
	case <-c.After(0):
	default:
		t.Fatal("After(0) did not fire at once")
	}
	a := c.After(time.Minute)
	b := c.After(2 * time.Minute)
	c.BlockUntil(t, 2)
	c.Advance(59 * time.Second)
	select {
	case <-a:
		t.Fatal("After(1m) fired after 59s")
	default:
	}
	c.Advance(time.Second)
	select {
	case got := <-a:
		if want := start.Add(time.Minute); !got.Equal(want) {
			t.Fatalf("After(1m) sent %v, want %v", got, want)
		}
	default:
		t.Fatal("After(1m) did not fire after 1m")
	}
	if n := c.Waiters(); n != 1 {
		t.Fatalf("Waiters() = %d after the first fired, want 1", n)
	}
	if d, ok := c.NextDeadline(); !ok || !d.Equal(start.Add(2*time.Minute)) {
		t.Fatalf("NextDeadline() = %v, %v", d, ok)
	}
	c.AdvanceTo(start.Add(time.Hour))
	select {
	case <-b:
	default:
		t.Fatal("After(2m) did not fire after AdvanceTo(+1h)")
	}

	// A goroutine that starts waiting later is seen by BlockUntil.
	fired := make(chan struct{})
	go func() {
		<-c.After(time.Second)
		close(fired)
	}()
	c.BlockUntil(t, 1)
	c.Advance(time.Second)
	select {
	case <-fired:
	case <-time.After(waitTimeout):
		t.Fatal("the waiting goroutine was not woken")
	}
}
