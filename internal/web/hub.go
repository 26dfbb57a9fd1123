package web

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Fleet gives the current state of every live server, one event of type
// spawner.EventSnapshot each, with Time the time of the server's latest
// change. The hub calls it without holding any lock, once per new client.
type Fleet interface {
	Snapshot() []spawner.Event
}

// HubOptions tunes a Hub. Zero values take the defaults named on each field.
//
// A link counts by what it says, not how it is spelled (see Signer). The
// links made for one member (Scope.Holder, or the member of a member scope)
// count together: /server dashboard hands out a new link each time, and
// that gives no more connections. A link that names no member counts by
// its scope.
type HubOptions struct {
	Fleet        Fleet         // required
	Buffer       int           // events queued per client before it is dropped; 64
	MaxClients   int           // connections in total; 1000
	MaxPerToken  int           // connections per link; 8
	MaxPerMember int           // connections of every link made for one member; 16
	PingInterval time.Duration // time between pings; 30s
	WriteTimeout time.Duration // bound on one write or ping; 10s
	Logger       *slog.Logger  // slog.Default() when nil

	// OnClients is called with the number of connected clients each time it
	// changes (a gauge). OnDropped is called once per client dropped because
	// it could not keep up (a counter). Both are called under the hub's lock:
	// they must be quick and must not call the hub (a Prometheus Set or Inc).
	OnClients func(n int)
	OnDropped func()
}

// ErrTooMany is returned when a connection would pass a cap: the handler
// answers 429 before any upgrade.
var ErrTooMany = errors.New("too many connections")

// StatusLinkExpired is the close code of a connection whose token expired
// while it was open (a code of the application's range, 4000-4999).
const StatusLinkExpired websocket.StatusCode = 4001

// ErrHubClosed is returned once the hub is closed.
var ErrHubClosed = errors.New("event hub closed")

// Hub fans the events of the lifecycle out to WebSocket clients, each seeing
// only its scope. Publish never blocks; a client that falls behind is
// dropped without slowing the others.
type Hub struct {
	opt    HubOptions
	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	clients   map[*client]struct{}
	perLink   map[string]int // by claims.link
	perMember map[string]int // by Scope.holder
	total     int            // reserved slots, connected or upgrading
}

type client struct {
	scope  Scope
	server string        // when set, only this server
	send   chan *message // bounded
	slow   chan struct{}
	once   sync.Once
}

// NewHub returns a running hub. Close it to end every connection.
func NewHub(opt HubOptions) *Hub {
	if opt.Buffer <= 0 {
		opt.Buffer = 64
	}
	if opt.MaxClients <= 0 {
		opt.MaxClients = 1000
	}
	if opt.MaxPerToken <= 0 {
		opt.MaxPerToken = 8
	}
	if opt.MaxPerMember <= 0 {
		opt.MaxPerMember = 16
	}
	if opt.PingInterval <= 0 {
		opt.PingInterval = 30 * time.Second
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 10 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.OnClients == nil {
		opt.OnClients = func(int) {}
	}
	if opt.OnDropped == nil {
		opt.OnDropped = func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		opt:       opt,
		ctx:       ctx,
		cancel:    cancel,
		clients:   make(map[*client]struct{}),
		perLink:   make(map[string]int),
		perMember: make(map[string]int),
	}
}

func (c *client) wants(e *spawner.Event) bool {
	if c.server != "" && e.Server != c.server {
		return false
	}
	return c.scope.Covers(e.Server, e.Owner)
}

// Publish sends e to every client whose scope covers it. It never blocks
// on a client: one whose buffer is full is dropped. It may be called from
// any goroutine, also while holding the caller's own locks, and after Close
// (it then does nothing).
func (h *Hub) Publish(e spawner.Event) {
	data, err := encodeEvent(e)
	if err != nil {
		h.opt.Logger.Error("encode event", "server", e.Server, "err", err)
		return
	}
	msg := &message{data: data, server: e.Server, time: e.Time}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if !c.wants(&e) {
			continue
		}
		select {
		case c.send <- msg:
		default:
			h.dropLocked(c)
		}
	}
}

// dropLocked removes a client that cannot keep up; its connection's
// goroutine sees c.slow and closes it with StatusPolicyViolation.
func (h *Hub) dropLocked(c *client) {
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	c.once.Do(func() { close(c.slow) })
	h.opt.OnDropped()
}

// Clients returns the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// reserve takes a connection slot for a link (its identity, claims.link)
// held by member (Scope.holder), or returns ErrTooMany or ErrHubClosed. The
// returned release gives it back.
func (h *Hub) reserve(link, member string) (release func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	if h.total >= h.opt.MaxClients || h.perLink[link] >= h.opt.MaxPerToken || h.perMember[member] >= h.opt.MaxPerMember {
		return nil, ErrTooMany
	}
	h.total++
	h.perLink[link]++
	h.perMember[member]++
	h.wg.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.total--
			if h.perLink[link]--; h.perLink[link] <= 0 {
				delete(h.perLink, link)
			}
			if h.perMember[member]--; h.perMember[member] <= 0 {
				delete(h.perMember, member)
			}
			h.mu.Unlock()
			h.wg.Done()
		})
	}, nil
}

func (h *Hub) add(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
	h.opt.OnClients(len(h.clients)) // under the lock, so the gauge's values stay in order
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	h.opt.OnClients(len(h.clients)) // under the lock, so the gauge's values stay in order
}

// message is one encoded event, shared by every client it goes to.
type message struct {
	data   []byte
	server string
	time   time.Time
}

// session is an accepted client between its registration and its loop.
type session struct {
	conn     *websocket.Conn
	c        *client
	snapshot [][]byte
	seen     map[string]time.Time // the snapshot's time of each server
	check    int                  // queued changes that may predate the snapshot
	left     time.Duration        // until the token expires; the connection ends then (0: never)
}

// open registers a client for conn and reads the snapshot of its scope. It
// registers first, then reads: a change made meanwhile is queued and sent
// after the snapshot, and one older than the snapshot is skipped.
func (h *Hub) open(conn *websocket.Conn, scope Scope, server string) *session {
	c := &client{
		scope:  scope,
		server: server,
		send:   make(chan *message, h.opt.Buffer),
		slow:   make(chan struct{}),
	}
	h.add(c)
	s := &session{conn: conn, c: c, seen: make(map[string]time.Time)}
	for _, e := range h.opt.Fleet.Snapshot() {
		if !c.wants(&e) {
			continue
		}
		e.Type = spawner.EventSnapshot
		msg, err := encodeEvent(e)
		if err != nil {
			h.opt.Logger.Error("encode snapshot", "server", e.Server, "err", err)
			continue
		}
		s.seen[e.Server] = e.Time
		s.snapshot = append(s.snapshot, msg)
	}
	s.check = len(c.send)
	if s.check == 0 {
		s.seen = nil
	}
	return s
}

// serve runs one accepted connection until the client leaves, is dropped,
// stops answering pings, or the hub closes. It runs on a goroutine that
// reserve counted in the hub's WaitGroup; the reader goroutine of CloseRead
// ends with the connection, before serve returns. Nothing in it encodes or
// decodes, so that its stack, one per client, stays small.
func (h *Hub) serve(s *session) {
	conn, c := s.conn, s.c
	defer h.remove(c)
	// ctx ends when the peer closes or the connection breaks; the hub's
	// closing is watched apart, so that clients are told it is going away.
	ctx := conn.CloseRead(context.Background())
	if err := h.sendSnapshot(ctx, s); err != nil {
		h.end(conn)
		return
	}
	ping := time.NewTicker(h.opt.PingInterval)
	defer ping.Stop()
	// A token expires for an open connection too: a link that leaked, or
	// a member who lost the role, sees nothing past its expiry.
	var expired <-chan time.Time
	if s.left > 0 {
		t := time.NewTimer(s.left)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-c.slow: // before anything queued: the client is gone
			h.drop(conn)
			return
		default:
		}
		select {
		case msg := <-c.send:
			if err := h.forward(ctx, s, msg); err != nil {
				h.end(conn)
				return
			}
		case <-c.slow:
			h.drop(conn)
			return
		case <-expired:
			conn.Close(StatusLinkExpired, "link expired")
			return
		case <-ping.C:
			if err := h.ping(ctx, conn); err != nil {
				h.end(conn)
				return
			}
		case <-ctx.Done():
			h.end(conn)
			return
		case <-h.ctx.Done():
			h.end(conn)
			return
		}
	}
}

// sendSnapshot writes the snapshot open read, then lets it go.
func (h *Hub) sendSnapshot(ctx context.Context, s *session) error {
	for _, msg := range s.snapshot {
		if err := h.write(ctx, s.conn, msg); err != nil {
			return err
		}
	}
	s.snapshot = nil
	return nil
}

// forward writes a queued change, unless it is older than the snapshot
// already sent.
func (h *Hub) forward(ctx context.Context, s *session, msg *message) error {
	if s.predatesSnapshot(msg) {
		return nil
	}
	return h.write(ctx, s.conn, msg.data)
}

// predatesSnapshot tells whether msg, the next queued change, is older than
// the snapshot's state of its server. Only the changes queued before the
// snapshot was read can be; past them, the snapshot's times are let go.
func (s *session) predatesSnapshot(msg *message) bool {
	if s.check <= 0 {
		return false
	}
	s.check--
	t, ok := s.seen[msg.server]
	if s.check == 0 {
		s.seen = nil // past the changes that could predate the snapshot
	}
	return ok && msg.time.Before(t)
}

// ping asks the peer to answer within WriteTimeout.
func (h *Hub) ping(ctx context.Context, conn *websocket.Conn) error {
	pctx, cancel := context.WithTimeout(ctx, h.opt.WriteTimeout)
	defer cancel()
	return conn.Ping(pctx)
}

func (h *Hub) drop(conn *websocket.Conn) {
	h.opt.Logger.Info("event client dropped: too slow")
	conn.Close(websocket.StatusPolicyViolation, "too slow to keep up with events")
}

func (h *Hub) write(ctx context.Context, conn *websocket.Conn, msg []byte) error {
	wctx, cancel := context.WithTimeout(ctx, h.opt.WriteTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, msg)
}

// end closes conn after its loop stopped: going away when the hub closes,
// at once otherwise (the peer left or is dead).
func (h *Hub) end(conn *websocket.Conn) {
	if h.ctx.Err() != nil {
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	conn.CloseNow()
}

// Close ends every connection and waits for their goroutines. Later
// connections are refused with 503. It is idempotent.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}
