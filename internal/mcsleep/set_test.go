package mcsleep

import (
	"errors"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/text"
)

// clock is a settable time for the wake rate.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var t0 = time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)

func newSet(tb testing.TB, cfg SetConfig) *Set {
	tb.Helper()
	s, err := NewSet(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.CloseAll)
	return s
}

// sleepAgain is what the daemon does after a wake: it closes the world's
// listener for the game server, and listens again on the same port once the
// world sleeps again.
func sleepAgain(tb testing.TB, s *Set, w World, addr string) {
	tb.Helper()
	if !s.Close(w.ID) {
		tb.Fatalf("no listener for %s to close", w.ID)
	}
	if _, err := s.Listen(addr, w); err != nil {
		tb.Fatal(err)
	}
}

// TestWakesByLoginAreRateLimited: a world woken once by a login, asleep
// again, cannot be woken by a login before the rate allows; the player reads
// when to come back, and nothing starts; a refused wake uses no allowance.
func TestWakesByLoginAreRateLimited(t *testing.T) {
	clk := &clock{now: t0}
	w := &waker{}
	s := newSet(t, SetConfig{Config: Config{Waker: w, Lang: text.En}, WakeEvery: 30 * time.Minute, WakeBurst: 1, Now: clk.Now})
	world := World{ID: "w1", Version: "1.20.2", Protocol: 764}
	l, err := s.Listen("127.0.0.1:0", world)
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()

	w.set(func(w *waker) { w.refuse = "You don't have a role that allows this." })
	join(t, addr, "Alex")
	w.set(func(w *waker) { w.refuse = "" })
	if got := join(t, addr, "Alex"); got != text.En.SleepStarting() {
		t.Fatalf("login after a refusal read %q, want the wake (a refusal uses no allowance)", got)
	}
	sleepAgain(t, s, world, addr)

	for _, step := range []struct {
		after time.Duration
		want  string
	}{
		{0, text.En.SleepRateLimited(30 * time.Minute)},
		{10 * time.Minute, text.En.SleepRateLimited(20 * time.Minute)},
		{20 * time.Minute, text.En.SleepStarting()},
	} {
		clk.Add(step.after)
		if got := join(t, addr, "Steve"); got != step.want {
			t.Errorf("login %s later read %q, want %q", step.after, got, step.want)
		}
	}
	if !strings.Contains(text.En.SleepRateLimited(20*time.Minute), "about 20 minutes") {
		t.Errorf("rate-limited reason %q does not say when", text.En.SleepRateLimited(20*time.Minute))
	}
	if calls := w.Calls(); len(calls) != 3 {
		t.Errorf("waker calls %v, want 3 (refused, woken, woken again once allowed)", calls)
	}
}

// TestWakeLimiter: a burst, then one wake per period; a refund gives one
// back; a world's allowance does not touch another's; quiet worlds are
// forgotten.
func TestWakeLimiter(t *testing.T) {
	clk := &clock{now: t0}
	wl, err := NewWakeLimiter(10*time.Minute, 2, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if wait := wl.take("a"); wait != 0 {
			t.Fatalf("wake %d of a burst of 2: wait %s, want 0", i+1, wait)
		}
	}
	if wait := wl.take("a"); wait != 10*time.Minute {
		t.Errorf("third wake: wait %s, want 10m", wait)
	}
	if wl.take("b") != 0 {
		t.Error("another world was limited by the first")
	}
	wl.refund("a")
	if wl.take("a") != 0 {
		t.Error("a refunded wake was not allowed")
	}
	clk.Add(4 * time.Minute)
	if wait := wl.take("a"); wait != 6*time.Minute {
		t.Errorf("4 minutes later: wait %s, want 6m", wait)
	}
	clk.Add(time.Hour)
	wl.take("c")
	wl.mu.Lock()
	kept := len(wl.buckets)
	wl.mu.Unlock()
	if kept != 1 {
		t.Errorf("%d buckets kept after an hour, want only c's", kept)
	}
	for _, bad := range []struct {
		every time.Duration
		burst int
		want  string
	}{
		{time.Second, 1, "every 1s: must be 1m to 24h"},
		{time.Hour, 0, "burst 0: must be 1 to 10"},
	} {
		if _, err := NewWakeLimiter(bad.every, bad.burst, nil); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("NewWakeLimiter(%s, %d) = %v, want %q", bad.every, bad.burst, err, bad.want)
		}
	}
}

// TestSetOwnsTheListeners: one listener per world; listening again on the
// same address keeps it and updates its status; on another address moves
// it (the old port is freed); CloseAll frees every port and refuses more.
func TestSetOwnsTheListeners(t *testing.T) {
	s := newSet(t, SetConfig{Config: Config{Waker: &waker{}}})
	a, err := s.Listen("127.0.0.1:0", World{ID: "a", Version: "1.20.1"})
	if err != nil {
		t.Fatal(err)
	}
	same, err := s.Listen(a.Addr().String(), World{ID: "a", Version: "1.20.4", Protocol: 765})
	if err != nil || same != a {
		t.Fatalf("listen again on the same address: %v, %v; want the same listener", same, err)
	}
	if st, _ := ping(t, a.Addr().String()); st.Version.Name != "1.20.4" || st.Version.Protocol != 765 {
		t.Errorf("status after update: %+v", st.Version)
	}
	moved, err := s.Listen("127.0.0.1:0", World{ID: "a"})
	if err != nil || moved == a {
		t.Fatalf("listen on another address: %v, %v; want a new listener", moved, err)
	}
	free(t, a.Addr().String())
	b, err := s.Listen("127.0.0.1:0", World{ID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Worlds(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("worlds %v, want [a b]", got)
	}
	if s.Get("b") != b || s.Get("c") != nil {
		t.Error("Get does not return each world's listener")
	}
	if !s.Release("a") || s.Release("c") {
		t.Error("Release does not report whether the world has a listener")
	}
	if !s.Close("b") || s.Close("b") {
		t.Error("Close does not report whether there was a listener")
	}
	free(t, b.Addr().String())
	s.CloseAll()
	s.CloseAll()
	free(t, moved.Addr().String())
	if _, err := s.Listen("127.0.0.1:0", World{ID: "c"}); !errors.Is(err, ErrClosed) {
		t.Errorf("listen after CloseAll: %v, want ErrClosed", err)
	}
	if len(s.Worlds()) != 0 {
		t.Errorf("worlds after CloseAll: %v", s.Worlds())
	}
}

// free fails when addr cannot be bound at once.
func free(tb testing.TB, addr string) {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("%s is not free: %v", addr, err)
	}
	ln.Close()
}

// listenerGoroutines counts the goroutines running a Listener's code, and
// those of them serving a connection.
func listenerGoroutines() (all, serving int) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "mcsleep.(*Listener)") {
			all++
		}
		if strings.Contains(g, "mcsleep.(*Listener).serve") {
			serving++
		}
	}
	return all, serving
}

// TestIdleListenersCostOneGoroutineEach: an asleep world nobody pings holds
// its accept loop and nothing more; every goroutine ends at CloseAll.
func TestIdleListenersCostOneGoroutineEach(t *testing.T) {
	s := newSet(t, SetConfig{Config: Config{Waker: &waker{}}})
	const n = 20
	for i := range n {
		l, err := s.Listen("127.0.0.1:0", World{ID: "w" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ping(t, l.Addr().String())
	}
	waitFor(t, "every ping's goroutine to end", func() bool { _, serving := listenerGoroutines(); return serving == 0 })
	if all, serving := listenerGoroutines(); all != n || serving != 0 {
		t.Errorf("%d goroutines of listeners (%d serving) for %d idle listeners, want %d (0 serving)", all, serving, n, n)
	}
	s.CloseAll()
	// CloseAll returns once each accept loop said it returned; the
	// goroutine itself is gone a moment later.
	waitFor(t, "every listener's goroutine to end after CloseAll", func() bool { all, _ := listenerGoroutines(); return all == 0 })
}

// TestNewSetRefusesBadConfig names the field out of range.
func TestNewSetRefusesBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  SetConfig
		want string
	}{
		{SetConfig{}, "no waker"},
		{SetConfig{Config: Config{Waker: &waker{}}, WakeEvery: time.Second}, "every 1s"},
		{SetConfig{Config: Config{Waker: &waker{}}, WakeBurst: 11}, "burst 11"},
		{SetConfig{Config: Config{Waker: &waker{}, Limits: Limits{MaxConns: 5000}}}, "MaxConns 5000"},
	} {
		if _, err := NewSet(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSet: %v, want an error with %q", err, c.want)
		}
	}
}
