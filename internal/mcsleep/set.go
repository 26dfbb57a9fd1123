package mcsleep

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"
)

// ErrClosed is the cause of Set.Listen's error once the set is closed.
var ErrClosed = errors.New("asleep worlds' listeners are closed")

// SetConfig is what a Set needs: the Config its listeners share, and the
// rate of wakes by login.
type SetConfig struct {
	Config
	// WakeEvery and WakeBurst are the rate of wakes of one world by login
	// (see NewWakeLimiter): DefaultWakeEvery and DefaultWakeBurst when zero.
	// Ignored when Config.Wakes is set.
	WakeEvery time.Duration
	WakeBurst int
	// Now is the clock of the rate limit; time.Now when nil.
	Now func() time.Time
}

// Set owns the listeners of every asleep world, one per world id, so the
// daemon has one owner for them: it opens, replaces and closes them, and
// shares one Gate and one WakeLimiter between them (the limiter outlives
// the listeners: a world's listener ends at each wake). Its methods are
// safe for concurrent use; close a Set's listeners through the Set.
type Set struct {
	cfg Config

	ops sync.Mutex // Listen, Close, CloseAll one at a time

	mu        sync.Mutex
	listeners map[string]*Listener
	closed    bool
}

// NewSet returns an empty set. It fails when cfg has no Waker, or when its
// limits or its wake rate are out of range, naming the field. A nil Gate
// is a gate of DefaultGateMax connections, DefaultGatePerAddress per
// address.
func NewSet(cfg SetConfig) (*Set, error) {
	if cfg.Waker == nil {
		return nil, errors.New("asleep worlds: no waker")
	}
	if err := cfg.Limits.Validate(); err != nil {
		return nil, err
	}
	if cfg.Gate == nil {
		cfg.Gate = NewGate(DefaultGateMax, DefaultGatePerAddress)
	}
	if cfg.Wakes == nil {
		every, burst := cfg.WakeEvery, cfg.WakeBurst
		if every == 0 {
			every = DefaultWakeEvery
		}
		if burst == 0 {
			burst = DefaultWakeBurst
		}
		w, err := NewWakeLimiter(every, burst, cfg.Now)
		if err != nil {
			return nil, err
		}
		cfg.Wakes = w
	}
	return &Set{cfg: cfg.Config, listeners: make(map[string]*Listener)}, nil
}

// Listen makes sure world w is answered for on addr. A listener already
// there for w on that address is kept (its status updated from w); one on
// another address is closed first. The errors are Listen's (ErrPortTaken
// for a port another process holds), or ErrClosed after CloseAll.
func (s *Set) Listen(addr string, w World) (*Listener, error) {
	s.ops.Lock()
	defer s.ops.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("listen for asleep world %s: %w", w.ID, ErrClosed)
	}
	old := s.listeners[w.ID]
	s.mu.Unlock()
	if old != nil {
		if sameAddr(old.Addr(), addr) {
			old.SetWorld(w)
			return old, nil
		}
		s.remove(w.ID, old)
	}
	l, err := Listen(addr, w, s.cfg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.listeners[w.ID] = l
	s.mu.Unlock()
	return l, nil
}

// sameAddr reports whether a bound address is what addr asks for: the same
// port, and the same host unless addr's is empty or unspecified.
func sameAddr(bound net.Addr, addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return false
	}
	bHost, bPort, err := net.SplitHostPort(bound.String())
	if err != nil || bPort != port {
		return false
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		bip := net.ParseIP(bHost)
		return bip != nil && bip.IsUnspecified()
	}
	hip, bip := net.ParseIP(host), net.ParseIP(bHost)
	return hip != nil && bip != nil && hip.Equal(bip)
}

// Get returns the listener of world id, or nil when there is none.
func (s *Set) Get(id string) *Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listeners[id]
}

// Worlds returns the ids of the worlds listened for, sorted.
func (s *Set) Worlds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.listeners))
	for id := range s.listeners {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Release ends the wake under way of world id (see Listener.Release),
// reporting whether the world has a listener.
func (s *Set) Release(id string) bool {
	l := s.Get(id)
	if l != nil {
		l.Release()
	}
	return l != nil
}

// Close closes the listener of world id, freeing its port at once, and
// reports whether there was one. Idempotent. It must not be called from a
// Waker's call for the same world (Close waits for that call).
func (s *Set) Close(id string) bool {
	s.ops.Lock()
	defer s.ops.Unlock()
	l := s.Get(id)
	if l != nil {
		s.remove(id, l)
	}
	return l != nil
}

// remove closes l and forgets it as world id's. The caller holds ops.
func (s *Set) remove(id string, l *Listener) {
	s.mu.Lock()
	if s.listeners[id] == l {
		delete(s.listeners, id)
	}
	s.mu.Unlock()
	l.Close()
}

// CloseAll closes every listener and refuses new ones. Idempotent.
func (s *Set) CloseAll() {
	s.ops.Lock()
	defer s.ops.Unlock()
	s.mu.Lock()
	s.closed = true
	all := s.listeners
	s.listeners = make(map[string]*Listener)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range all {
		wg.Go(l.Close)
	}
	wg.Wait()
}

// Stats adds up the counts of the listeners open now.
func (s *Set) Stats() Stats {
	s.mu.Lock()
	all := make([]*Listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		all = append(all, l)
	}
	s.mu.Unlock()
	var t Stats
	for _, l := range all {
		st := l.Stats()
		t.Pings += st.Pings
		t.Logins += st.Logins
		t.Wakes += st.Wakes
		t.Refused += st.Refused
		t.Malformed += st.Malformed
		t.Open += st.Open
	}
	return t
}
