package mcsleep

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limits bound what clients can make one listener do. The zero value of a
// field is its default; Validate names any field out of its range.
type Limits struct {
	// Exchange bounds a whole connection, from accept to the last answer:
	// a client that is slower is dropped. Default 5 s; 1 s to 30 s.
	Exchange time.Duration
	// MaxConns is the most connections one listener keeps open at once.
	// Default 64; 1 to 1024.
	MaxConns int
	// MaxPerAddress is the most connections one remote address keeps open
	// on one listener at once. Default 4; 1 to MaxConns.
	MaxPerAddress int
	// WakeTimeout bounds a call of the Waker: its context ends then.
	// Default 2 s; 100 ms to Exchange.
	WakeTimeout time.Duration
}

// Default limits.
const (
	DefaultExchange      = 5 * time.Second
	DefaultMaxConns      = 64
	DefaultMaxPerAddress = 4
	DefaultWakeTimeout   = 2 * time.Second
)

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	if l.Exchange == 0 {
		l.Exchange = DefaultExchange
	}
	if l.MaxConns == 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.MaxPerAddress == 0 {
		l.MaxPerAddress = min(DefaultMaxPerAddress, l.MaxConns)
	}
	if l.WakeTimeout == 0 {
		l.WakeTimeout = min(DefaultWakeTimeout, l.Exchange)
	}
	return l
}

// Validate reports every field of l (defaults applied) out of its range,
// naming the field and the range.
func (l Limits) Validate() error {
	l = l.withDefaults()
	var problems []string
	if l.Exchange < time.Second || l.Exchange > 30*time.Second {
		problems = append(problems, fmt.Sprintf("Exchange %s: must be 1s to 30s", l.Exchange))
	}
	if l.MaxConns < 1 || l.MaxConns > 1024 {
		problems = append(problems, fmt.Sprintf("MaxConns %d: must be 1 to 1024", l.MaxConns))
	}
	if l.MaxPerAddress < 1 || l.MaxPerAddress > l.MaxConns {
		problems = append(problems, fmt.Sprintf("MaxPerAddress %d: must be 1 to MaxConns (%d)", l.MaxPerAddress, l.MaxConns))
	}
	if l.WakeTimeout < 100*time.Millisecond || l.WakeTimeout > l.Exchange {
		problems = append(problems, fmt.Sprintf("WakeTimeout %s: must be 100ms to Exchange (%s)", l.WakeTimeout, l.Exchange))
	}
	if len(problems) > 0 {
		return fmt.Errorf("mcsleep limits: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Gate bounds the connections open across every listener that shares it,
// in all and per remote address, so that many asleep worlds on one host
// cannot be made to hold many times one listener's share. Its methods are
// safe for concurrent use.
type Gate struct {
	max, perAddress int

	mu   sync.Mutex
	open int
	by   map[netip.Addr]int
}

// Defaults of a Gate.
const (
	DefaultGateMax        = 256
	DefaultGatePerAddress = 16
)

// NewGate returns a gate admitting at most max connections at once, and at
// most perAddress from one remote address; a value under 1 is its default
// (DefaultGateMax, DefaultGatePerAddress).
func NewGate(max, perAddress int) *Gate {
	if max < 1 {
		max = DefaultGateMax
	}
	if perAddress < 1 {
		perAddress = DefaultGatePerAddress
	}
	return &Gate{max: max, perAddress: min(perAddress, max), by: make(map[netip.Addr]int)}
}

// enter admits a connection from addr, or reports false when a bound is
// reached. An admitted connection is left with leave.
func (g *Gate) enter(addr netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open >= g.max || g.by[addr] >= g.perAddress {
		return false
	}
	g.open++
	g.by[addr]++
	return true
}

func (g *Gate) leave(addr netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open--
	if g.by[addr]--; g.by[addr] <= 0 {
		delete(g.by, addr)
	}
}

// Open is the number of connections the gate holds now.
func (g *Gate) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// WakeLimiter rate-limits the wakes of each world by login, with a token
// bucket per world: Burst wakes at once, then one more every Every. It
// lives beside the listeners (a Set owns one) because a world's listener
// ends at each wake, while the limit must span them. Its state is kept in
// memory: a bot restart gives every world a full bucket. Its methods are
// safe for concurrent use.
type WakeLimiter struct {
	every time.Duration
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// Defaults of a WakeLimiter: two wakes at once, then one every 30 minutes,
// so a stranger cannot keep a world cycling between asleep and awake more
// than twice an hour, while friends who come back after a break can.
const (
	DefaultWakeEvery = 30 * time.Minute
	DefaultWakeBurst = 2
)

// NewWakeLimiter returns a limiter allowing burst wakes of a world at once
// and one more every every, reading the time from now (time.Now when nil).
// It fails when every is not 1 minute to 24 hours or burst not 1 to 10.
func NewWakeLimiter(every time.Duration, burst int, now func() time.Time) (*WakeLimiter, error) {
	if every < time.Minute || every > 24*time.Hour {
		return nil, fmt.Errorf("wake rate: every %s: must be 1m to 24h", every)
	}
	if burst < 1 || burst > 10 {
		return nil, fmt.Errorf("wake rate: burst %d: must be 1 to 10", burst)
	}
	if now == nil {
		now = time.Now
	}
	return &WakeLimiter{every: every, burst: burst, now: now, buckets: make(map[string]bucket)}, nil
}

// take uses one wake of world and reports 0, or reports how long until one
// is available and uses nothing.
func (w *WakeLimiter) take(world string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	b := w.fill(world, now)
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(w.every))
	}
	b.tokens--
	w.buckets[world] = b
	return 0
}

// refund gives back a wake taken for a wake that did not happen.
func (w *WakeLimiter) refund(world string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	b := w.fill(world, now)
	b.tokens = min(b.tokens+1, float64(w.burst))
	w.buckets[world] = b
}

// fill returns world's bucket as of now. A full bucket is not stored (a
// world never woken lately costs nothing), so buckets of worlds gone or
// quiet are dropped here as they fill.
func (w *WakeLimiter) fill(world string, now time.Time) bucket {
	for id, b := range w.buckets {
		if id != world && w.refilled(b, now) >= float64(w.burst) {
			delete(w.buckets, id)
		}
	}
	b, ok := w.buckets[world]
	if !ok {
		return bucket{tokens: float64(w.burst), at: now}
	}
	return bucket{tokens: min(w.refilled(b, now), float64(w.burst)), at: now}
}

func (w *WakeLimiter) refilled(b bucket, now time.Time) float64 {
	elapsed := now.Sub(b.at)
	if elapsed < 0 { // the clock went back: count no time
		elapsed = 0
	}
	return b.tokens + float64(elapsed)/float64(w.every)
}
