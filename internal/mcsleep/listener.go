// Package mcsleep answers for an asleep Minecraft world on its port, with
// the Java protocol spoken through github.com/Tnze/go-mc's packet layer: a
// Server List Ping gets a status saying the world sleeps (0 players, the
// version of its last real status), and a login gets a Disconnect whose
// reason says the server is starting, after asking a Waker to wake the
// world. A status ping never wakes anything.
//
// What a client sends is hostile until parsed: every connection has one
// deadline for its whole exchange, every packet a size bound, connections
// are bounded per remote address and in all, and a panic is contained at
// the connection. An idle listener costs one goroutine, its accept loop.
package mcsleep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mcnet "github.com/Tnze/go-mc/net"
	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/backoff"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// Waker wakes an asleep world when a player logs in to it. Wake must
// return fast (the player waits on it): it checks the rules, starts the
// slow work (closing this listener, starting a server on the port) in a
// goroutine of its own, and says whether the wake was accepted; refused,
// reason says why in the guild's language, to be shown to the player
// ("" for a generic reason). It must return once ctx is done, and must not
// close the listener that called it, nor call a Set's Listen, Close or
// CloseAll, before returning: they wait for it.
// The listener calls Wake at most once at a time per world, and not again
// after an accepted wake until Release.
type Waker interface {
	Wake(ctx context.Context, worldID, player string) (accepted bool, reason string)
}

// WakeFunc is a function that is a Waker.
type WakeFunc func(ctx context.Context, worldID, player string) (accepted bool, reason string)

// Wake calls f.
func (f WakeFunc) Wake(ctx context.Context, worldID, player string) (bool, string) {
	return f(ctx, worldID, player)
}

// World is what a listener shows of an asleep world.
type World struct {
	ID string // the world's id, given to the Waker
	// Version and Protocol are the version name and protocol number of the
	// world's last real status, echoed so that clients of that version list
	// the world as compatible. Without a protocol (0), the client's own is
	// echoed; without a name, the status says the world is asleep.
	Version  string
	Protocol int
	// MaxPlayers is the maximum of the world's last status; DefaultMaxPlayers
	// when 0.
	MaxPlayers int
}

// DefaultMaxPlayers is the maximum a status shows for a world whose last
// status is unknown: a vanilla server's default.
const DefaultMaxPlayers = 20

// Config is what a listener needs besides its world.
type Config struct {
	Waker Waker     // required
	Lang  text.Lang // the guild's language: what players read
	// Limits bound one listener; the zero value is the defaults.
	Limits Limits
	// Gate, when set, bounds the connections of every listener sharing it.
	Gate *Gate
	// Wakes, when set, rate-limits wakes by login. A Set gives its
	// listeners one of its own; a listener without one never refuses a
	// wake for its rate.
	Wakes *WakeLimiter
}

// ErrPortTaken is the cause of Listen's error when the port is held by
// another process (a game server, or anything else). It is
// spawner.ErrPortTaken, which a runtime's refusal to publish a game on a
// world's kept port wraps too: a caller tells the port lost by one test.
var ErrPortTaken = spawner.ErrPortTaken

// Listener answers for one asleep world on one TCP port. Its methods are
// safe for concurrent use.
type Listener struct {
	cfg    Config
	ln     net.Listener
	ctx    context.Context // ends at Close: bounds the Waker's calls
	cancel context.CancelFunc
	done   chan struct{} // closed when the accept loop returned

	mu     sync.Mutex
	world  World
	conns  map[net.Conn]netip.Addr
	byAddr map[netip.Addr]int
	waking bool
	closed bool
	wg     sync.WaitGroup // the connections' goroutines

	wakeMu sync.Mutex // one Waker call at a time

	pings, logins, wakes, refused, malformed atomic.Int64
}

// Listen starts answering for world w on addr ("host:port"; port 0 picks
// one, see Addr). It fails when w has no id, cfg has no Waker or its limits
// are out of range, and when the port cannot be bound: a port held by
// another process is an error wrapping ErrPortTaken. The caller owns the
// listener and closes it.
func Listen(addr string, w World, cfg Config) (*Listener, error) {
	if w.ID == "" {
		return nil, errors.New("listen for an asleep world: no world id")
	}
	if cfg.Waker == nil {
		return nil, fmt.Errorf("listen for asleep world %s: no waker", w.ID)
	}
	if err := cfg.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("listen for asleep world %s: %w", w.ID, err)
	}
	cfg.Limits = cfg.Limits.withDefaults()
	ln, err := bind(addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for asleep world %s: %w", addr, w.ID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		cfg:    cfg,
		ln:     ln,
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		world:  w,
		conns:  make(map[net.Conn]netip.Addr),
		byAddr: make(map[netip.Addr]int),
	}
	go l.accept()
	return l, nil
}

// bind listens on addr as every listener does: TCP, on the address
// family addr names (both when its host is empty), with the system's
// SO_REUSEADDR, so the port can be bound again the moment it is let go,
// whatever connections linger in TIME_WAIT. A port held by another process
// is an error wrapping ErrPortTaken.
func bind(addr string) (net.Listener, error) {
	// Binding a port waits on nothing: no caller's context to bound it.
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%w (%v)", ErrPortTaken, err)
	}
	return ln, err
}

// CanListen reports whether an asleep world's listener could bind addr
// now: nil when it can (the port is bound as Listen binds it, and let go
// at once), an error wrapping ErrPortTaken when another process holds it
// (a listener of this process included), another error when addr cannot
// be bound at all. It is a moment's answer: Listen is the one that holds
// the port.
func CanListen(addr string) error {
	ln, err := bind(addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln.Close()
}

// Addr is the address the listener is bound to, with the port picked when
// Listen was given 0.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// World is the world the listener answers for.
func (l *Listener) World() World {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.world
}

// SetWorld changes what the status shows (version, maximum) from the next
// ping on; the id stays the one the listener was started with.
func (l *Listener) SetWorld(w World) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.ID = l.world.ID
	l.world = w
}

// Waking reports whether a wake was accepted and not released: logins are
// then told the server is starting, without a call to the Waker.
func (l *Listener) Waking() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waking
}

// Release ends the wake under way (it failed and the world is back asleep
// on this listener): the next login calls the Waker again. Idempotent.
func (l *Listener) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waking = false
}

// Close stops listening (the port is free when it returns, for a game
// server to bind at once), drops every open connection, ends any Waker call
// under way (its context) and waits for the listener's goroutines.
// Idempotent; safe to call from any goroutine but the Waker's call.
func (l *Listener) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		_ = l.ln.Close()
		for c := range l.conns {
			_ = c.Close()
		}
		l.cancel()
	}
	l.mu.Unlock()
	<-l.done
	l.wg.Wait()
}

// Stats counts what a listener did since it started.
type Stats struct {
	Pings     int64 // status answers sent
	Logins    int64 // login disconnects sent
	Wakes     int64 // wakes the Waker accepted
	Refused   int64 // connections closed unanswered because a bound was reached
	Malformed int64 // connections dropped for what they sent
	Open      int   // connections open now
}

// Stats returns the listener's counts.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	open := len(l.conns)
	l.mu.Unlock()
	return Stats{
		Pings:     l.pings.Load(),
		Logins:    l.logins.Load(),
		Wakes:     l.wakes.Load(),
		Refused:   l.refused.Load(),
		Malformed: l.malformed.Load(),
		Open:      open,
	}
}

// accept is the listener's one goroutine while no client is connected.
func (l *Listener) accept() {
	defer close(l.done)
	wait := backoff.Backoff{Min: 5 * time.Millisecond, Max: time.Second}
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, or a connection reset while
			// queued: wait a little rather than spin.
			if backoff.Sleep(l.ctx, wait.Next()) != nil {
				return
			}
			continue
		}
		wait.Reset()
		addr := remoteAddr(c)
		if !l.admit(c, addr) {
			l.refused.Add(1)
			_ = c.Close()
			continue
		}
		go l.serve(c, addr)
	}
}

// remoteAddr is the IP a connection comes from, IPv4 in IPv6 unmapped so
// that one host counts once.
func remoteAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// admit registers c, or reports false when the listener is closed or a
// bound is reached (its own, then the shared gate's).
func (l *Listener) admit(c net.Conn, addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.cfg.Limits
	if l.closed || len(l.conns) >= lim.MaxConns || l.byAddr[addr] >= lim.MaxPerAddress {
		return false
	}
	if l.cfg.Gate != nil && !l.cfg.Gate.enter(addr) {
		return false
	}
	l.conns[c] = addr
	l.byAddr[addr]++
	l.wg.Add(1)
	return true
}

func (l *Listener) forget(c net.Conn, addr netip.Addr) {
	_ = c.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
	if l.cfg.Gate != nil {
		l.cfg.Gate.leave(addr)
	}
}

// serve speaks with one client: a handshake, then a status exchange or a
// login, within one deadline. It is the connection's boundary: whatever the
// client sends, it returns, never panics.
func (l *Listener) serve(c net.Conn, addr netip.Addr) {
	defer l.wg.Done()
	defer l.forget(c, addr)
	defer func() {
		if r := recover(); r != nil {
			l.malformed.Add(1)
		}
	}()
	_ = c.SetDeadline(time.Now().Add(l.cfg.Limits.Exchange))
	p, err := readFrame(c, MaxPacket)
	if err != nil {
		l.countErr(err)
		return
	}
	h, err := ParseHandshake(p)
	if err != nil {
		l.countErr(err)
		return
	}
	mc := mcnet.WrapConn(c)
	if h.Intent == IntentStatus {
		err = l.status(mc, h)
	} else {
		err = l.login(mc, h)
	}
	l.countErr(err)
}

func (l *Listener) countErr(err error) {
	if errors.Is(err, ErrMalformed) {
		l.malformed.Add(1)
	}
}

// Status-state packet ids, serverbound and clientbound alike.
const (
	idStatus = 0x00
	idPing   = 0x01
)

// status answers a status request, then a ping, as a vanilla server: the
// connection ends after the pong.
func (l *Listener) status(mc *mcnet.Conn, h Handshake) error {
	answered := false
	for {
		p, err := readFrame(mc.Socket, MaxPacket)
		if err != nil {
			return err
		}
		switch {
		case p.ID == idStatus && !answered && len(p.Data) == 0:
			if err := mc.WritePacket(pk.Marshal(idStatus, pk.String(l.statusJSON(h.Protocol)))); err != nil {
				return err
			}
			l.pings.Add(1)
			answered = true
		case p.ID == idPing && len(p.Data) == 8:
			return mc.WritePacket(pk.Packet{ID: idPing, Data: p.Data}) // the pong echoes the ping's number
		default:
			return fmt.Errorf("%w: packet 0x%02x of %d bytes in the status state", ErrMalformed, p.ID, len(p.Data))
		}
	}
}

// component is a chat component as the game reads it in JSON.
type component struct {
	Text  string      `json:"text"`
	Color string      `json:"color,omitempty"`
	Extra []component `json:"extra,omitempty"`
}

// statusJSON is the status of the asleep world for a client of protocol.
func (l *Listener) statusJSON(protocol int32) []byte {
	l.mu.Lock()
	w, waking := l.world, l.waking
	l.mu.Unlock()
	var st struct {
		Version struct {
			Name     string `json:"name"`
			Protocol int    `json:"protocol"`
		} `json:"version"`
		Players struct {
			Max    int `json:"max"`
			Online int `json:"online"`
		} `json:"players"`
		Description component `json:"description"`
	}
	st.Version.Name, st.Version.Protocol = w.Version, w.Protocol
	if st.Version.Name == "" {
		st.Version.Name = l.cfg.Lang.SleepVersion()
	}
	if st.Version.Protocol == 0 {
		st.Version.Protocol = int(protocol)
	}
	st.Players.Max = w.MaxPlayers
	if st.Players.Max <= 0 {
		st.Players.Max = DefaultMaxPlayers
	}
	line1, line2 := l.cfg.Lang.SleepAsleep()
	color := "aqua"
	if waking {
		line1, line2 = l.cfg.Lang.SleepWaking()
		color = "yellow"
	}
	st.Description = component{Extra: []component{
		{Text: line1, Color: "gray"},
		{Text: "\n"},
		{Text: line2, Color: color},
	}}
	b, _ := json.Marshal(st) // plain strings and ints: cannot fail
	return b
}

// Login-state packet ids.
const idLoginDisconnect = 0x00

// login reads the Login Start, decides, and says why in a Disconnect.
func (l *Listener) login(mc *mcnet.Conn, h Handshake) error {
	p, err := readFrame(mc.Socket, MaxPacket)
	if err != nil {
		return err
	}
	ls, err := ParseLoginStart(p, h.Protocol)
	if err != nil {
		return err
	}
	reason := l.decide(ls.Name)
	msg, _ := json.Marshal(component{Text: reason})
	if err := mc.WritePacket(pk.Marshal(idLoginDisconnect, pk.String(msg))); err != nil {
		return err
	}
	l.logins.Add(1)
	return nil
}

// decide is what a login of player does to the world, as the reason the
// player reads: a wake accepted or under way, refused by the rate, or
// refused by the Waker.
func (l *Listener) decide(player string) string {
	lang := l.cfg.Lang
	if !spawner.LoginName(player) {
		return lang.SleepBadPlayer()
	}
	l.wakeMu.Lock()
	defer l.wakeMu.Unlock()
	if l.Waking() {
		return lang.SleepStarting()
	}
	id := l.World().ID
	if l.cfg.Wakes != nil {
		if wait := l.cfg.Wakes.take(id); wait > 0 {
			return lang.SleepRateLimited(wait)
		}
	}
	accepted, reason := l.callWaker(id, player)
	if !accepted {
		if l.cfg.Wakes != nil {
			l.cfg.Wakes.refund(id)
		}
		return lang.SleepRefused(reason)
	}
	l.wakes.Add(1)
	l.mu.Lock()
	l.waking = true
	l.mu.Unlock()
	return lang.SleepStarting()
}

// callWaker calls the Waker within WakeTimeout; a Waker that panics
// refused, without a reason to tell.
func (l *Listener) callWaker(id, player string) (accepted bool, reason string) {
	defer func() {
		if r := recover(); r != nil {
			accepted, reason = false, ""
		}
	}()
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.Limits.WakeTimeout)
	defer cancel()
	return l.cfg.Waker.Wake(ctx, id, player)
}
