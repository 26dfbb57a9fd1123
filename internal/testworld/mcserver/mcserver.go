// Package mcserver is a fake Minecraft server for tests: it answers the
// Server List Ping (handshake, status request, ping/pong) as a vanilla
// server does, with a player count the test sets, and can be slow or
// silent. It is built on github.com/Tnze/go-mc's network layer.
//
// A Fleet runs many of them on the same port, one per loopback IP, so each
// fake ECS task can have its own address as in production.
package mcserver

import (
	"encoding/json"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/Tnze/go-mc/data/packetid"
	mcnet "github.com/Tnze/go-mc/net"
	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/testworld/accept"
)

// Defaults of a new Server's status.
const (
	DefaultVersion    = "1.20.2"
	DefaultProtocol   = 764
	DefaultMaxPlayers = 20
)

// Server answers Server List Pings on one address. Its setters may be
// called from any goroutine at any time; they apply to the next answer.
type Server struct {
	ln   *mcnet.Listener
	addr string

	mu      sync.Mutex
	online  int
	max     int
	version string
	motd    string
	delay   time.Duration
	silent  bool
	hostile bool
	pings   int
	closed  bool
	closing chan struct{}
	loop    *accept.Loop
}

// Listen starts a server on addr ("127.2.0.5:0", or a fixed port on a
// loopback IP of the test's own; every 127.x.y.z is bound as is, Linux
// routes all of 127.0.0.0/8 to the loopback interface). It answers with 0
// of DefaultMaxPlayers players online and version DefaultVersion, and is
// closed when tb's cleanups run. Listen fails tb when addr cannot be bound,
// so call it from the test's goroutine.
func Listen(tb testing.TB, addr string) *Server {
	tb.Helper()
	s, err := listen(addr)
	if err != nil {
		tb.Fatalf("mcserver: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server on addr as Listen does, for a program rather than
// a test (the responder run inside test containers): the caller closes it.
func Start(addr string) (*Server, error) { return listen(addr) }

func listen(addr string) (*Server, error) {
	ln, err := mcnet.ListenMC(addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		ln:      ln,
		addr:    ln.Addr().String(),
		max:     DefaultMaxPlayers,
		version: DefaultVersion,
		motd:    "spawner test server",
		closing: make(chan struct{}),
	}
	s.loop = accept.Serve(ln, ln.Accept, func(c mcnet.Conn) net.Conn { return c.Socket }, s.handle)
	return s, nil
}

// Addr is the "ip:port" the server listens on, with the port picked when
// Listen was given 0.
func (s *Server) Addr() string { return s.addr }

// Port is the port the server listens on.
func (s *Server) Port() int {
	return s.ln.Addr().(*net.TCPAddr).Port
}

// SetPlayers sets the players online and the maximum the status reports.
func (s *Server) SetPlayers(online, maximum int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.online, s.max = online, maximum
}

// SetMOTD sets the description (message of the day) the status reports.
func (s *Server) SetMOTD(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.motd = text
}

// SetVersion sets the version name the status reports.
func (s *Server) SetVersion(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = name
}

// SetDelay makes the server wait d before each answer (the status and the
// pong), as a distant server would; the latency a client measures is then
// at least d.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetSilent makes the server accept connections and read what comes but
// never answer, as a game still booting behind an open port; false makes
// it answer again (connections already silenced stay so).
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

// SetNegativeLength makes the server answer a status request with a
// status string of length -1, the answer that once made go-mc's reader
// panic (makeslice: len out of range); false answers normally again.
func (s *Server) SetNegativeLength(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hostile = on
}

// Pings is the number of status requests answered so far.
func (s *Server) Pings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

// Conns is the number of connections open now, answered or not: a test can
// wait on it to know a client reached a silent server.
func (s *Server) Conns() int { return s.loop.Open() }

// Close stops listening, drops every open connection and waits for the
// server's goroutines. Idempotent; after it, connections to Addr are refused.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.loop.Close()
}

// handle speaks the status protocol on one connection, as a vanilla
// server: handshake, then at most a status request and a ping.
func (s *Server) handle(conn mcnet.Conn) {
	var p pk.Packet
	if err := conn.ReadPacket(&p); err != nil {
		return
	}
	var (
		protocol, intent pk.VarInt
		host             pk.String
		port             pk.UnsignedShort
	)
	if p.ID != 0x00 || p.Scan(&protocol, &host, &port, &intent) != nil || intent != 1 {
		return // not a status handshake; a login is not served here
	}

	s.mu.Lock()
	silent := s.silent
	s.mu.Unlock()
	if silent {
		// Read (and drop) until the client gives up or the server closes.
		for conn.ReadPacket(&p) == nil {
		}
		return
	}

	for range 2 {
		if err := conn.ReadPacket(&p); err != nil {
			return
		}
		if !s.wait() {
			return
		}
		switch packetid.ServerboundPacketID(p.ID) {
		case packetid.ServerboundStatusRequest:
			s.mu.Lock()
			hostile := s.hostile
			s.mu.Unlock()
			answer := pk.Marshal(packetid.ClientboundStatusResponse, pk.String(s.status(int(protocol))))
			if hostile {
				answer = pk.Marshal(packetid.ClientboundStatusResponse, pk.VarInt(-1))
			}
			if conn.WritePacket(answer) != nil {
				return
			}
			s.mu.Lock()
			s.pings++
			s.mu.Unlock()
		case packetid.ServerboundStatusPingRequest:
			var payload pk.Long
			if p.Scan(&payload) != nil {
				return
			}
			_ = conn.WritePacket(pk.Marshal(packetid.ClientboundStatusPongResponse, payload))
			return // vanilla closes after the pong
		default:
			return
		}
	}
}

// wait sleeps the configured delay; false when the server closed meanwhile.
func (s *Server) wait() bool {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closing:
		return false
	}
}

// status is the JSON a vanilla server sends, players sample left out.
func (s *Server) status(clientProtocol int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st struct {
		Version struct {
			Name     string `json:"name"`
			Protocol int    `json:"protocol"`
		} `json:"version"`
		Players struct {
			Max    int `json:"max"`
			Online int `json:"online"`
		} `json:"players"`
		Description struct {
			Text string `json:"text"`
		} `json:"description"`
		EnforcesSecureChat bool `json:"enforcesSecureChat"`
	}
	st.Version.Name = s.version
	st.Version.Protocol = DefaultProtocol
	st.Players.Max = s.max
	st.Players.Online = s.online
	st.Description.Text = s.motd
	_ = clientProtocol // a vanilla server reports its own protocol whatever the client's
	b, _ := json.Marshal(st)
	return b
}

// Fleet is many Servers on the same port, one per loopback IP, created on
// demand: the test world gives each fake ECS task its own IP and the daemon
// pings ip:port as in production. Its methods are safe for concurrent use.
type Fleet struct {
	tb testing.TB

	mu      sync.Mutex
	port    int
	servers map[string]*Server
}

// NewFleet returns an empty fleet whose servers listen on port; with port
// 0 the first Start picks a free port on its IP and every later server
// uses the same. All servers are closed when tb's cleanups run.
func NewFleet(tb testing.TB, port int) *Fleet {
	tb.Helper()
	f := &Fleet{tb: tb, port: port, servers: make(map[string]*Server)}
	tb.Cleanup(func() {
		f.mu.Lock()
		servers := f.servers
		f.servers = map[string]*Server{}
		f.mu.Unlock()
		for _, s := range servers {
			s.Close()
		}
	})
	return f
}

// Port is the fleet's port: the one given to NewFleet, or the one picked
// by the first Start when 0 was given (0 until then).
func (f *Fleet) Port() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.port
}

// Start returns the server on ip, starting it when there is none. It may be
// called from any goroutine (a fake AWS handler): when the address cannot be
// bound it marks the test failed (tb.Errorf) and returns nil.
func (f *Fleet) Start(ip string) *Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.servers[ip]; ok {
		return s
	}
	s, err := listen(net.JoinHostPort(ip, strconv.Itoa(f.port)))
	if err != nil {
		f.tb.Errorf("mcserver fleet: start %s: %v", ip, err)
		return nil
	}
	if f.port == 0 {
		f.port = s.Port()
	}
	f.servers[ip] = s
	return s
}

// Get returns the server on ip, or nil when none runs there.
func (f *Fleet) Get(ip string) *Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.servers[ip]
}

// Stop closes the server on ip, if any, so pings to it are refused.
// Idempotent; a later Start on ip starts a fresh server.
func (f *Fleet) Stop(ip string) {
	f.mu.Lock()
	s := f.servers[ip]
	delete(f.servers, ip)
	f.mu.Unlock()
	if s != nil {
		s.Close()
	}
}
