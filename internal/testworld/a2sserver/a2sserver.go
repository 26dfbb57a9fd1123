// Package a2sserver is a fake Steam game server for tests: it answers
// A2S_INFO over UDP as a current Source server does, with an
// S2C_CHALLENGE first (which can be turned off), a player count the test
// sets, and it can go silent. It encodes replies itself, byte by byte from
// Valve's description, so the client is not tested against its own code.
package a2sserver

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
)

// Defaults of a new Server's answer.
const (
	DefaultName       = "spawner test server"
	DefaultMap        = "Dedicated"
	DefaultFolder     = "valheim"
	DefaultGame       = "Valheim"
	DefaultAppID      = 892970
	DefaultMaxPlayers = 10
	DefaultVersion    = "0.218.15"
)

// Server answers A2S_INFO on one UDP address. Its setters may be called
// from any goroutine at any time; they apply to the next answer.
type Server struct {
	conn *net.UDPConn
	addr string

	mu        sync.Mutex
	players   int
	max       int
	bots      int
	name      string
	version   string
	challenge bool
	silent    bool
	requests  int
	answers   int
	key       [4]byte
	closed    bool
	wg        sync.WaitGroup
}

// Listen starts a server on addr ("127.0.0.1:0", or any loopback address
// of the test's own). It answers with a challenge first, 0 of
// DefaultMaxPlayers players, and is closed when tb's cleanups run. Listen
// fails tb when addr cannot be bound, so call it from the test's goroutine.
func Listen(tb testing.TB, addr string) *Server {
	tb.Helper()
	udp, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		tb.Fatalf("a2sserver: %v", err)
	}
	conn, err := net.ListenUDP("udp", udp)
	if err != nil {
		tb.Fatalf("a2sserver: %v", err)
	}
	s := &Server{
		conn:      conn,
		addr:      conn.LocalAddr().String(),
		max:       DefaultMaxPlayers,
		name:      DefaultName,
		version:   DefaultVersion,
		challenge: true,
	}
	_, _ = rand.Read(s.key[:])
	s.wg.Add(1)
	go s.serve()
	tb.Cleanup(s.Close)
	return s
}

// Addr is the "ip:port" the server listens on (the query port).
func (s *Server) Addr() string { return s.addr }

// Port is the UDP port the server listens on.
func (s *Server) Port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// SetPlayers sets the players online (bots included) and the maximum.
func (s *Server) SetPlayers(online, maximum int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.players, s.max = online, maximum
}

// SetBots sets how many of the players are bots.
func (s *Server) SetBots(bots int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bots = bots
}

// SetName sets the server name the answer carries.
func (s *Server) SetName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.name = name
}

// SetChallenge says whether a request without the right challenge gets an
// S2C_CHALLENGE (true, the default, as current servers do) or the info
// reply at once (false, as older servers do).
func (s *Server) SetChallenge(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.challenge = on
}

// SetSilent makes the server read requests and never answer, as a game
// still booting or a firewalled port; false makes it answer again.
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

// Requests is the number of A2S_INFO requests received, answered or not,
// challenged or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Queries is the number of info replies sent: queries answered in full.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answers
}

// Close stops the server and waits for its goroutine. Idempotent; after
// it, queries to Addr go unanswered (or are refused by the kernel).
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	_ = s.conn.Close()
	s.wg.Wait()
}

var request = append([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x54}, "Source Engine Query\x00"...)

func (s *Server) serve() {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if reply := s.answer(buf[:n]); reply != nil {
			_, _ = s.conn.WriteToUDP(reply, from)
		}
	}
}

// answer returns the reply to one datagram, or nil to stay silent.
func (s *Server) answer(req []byte) []byte {
	if !bytes.HasPrefix(req, request) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.silent {
		return nil
	}
	if s.challenge && !bytes.Equal(req[len(request):], s.key[:]) {
		return append([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x41}, s.key[:]...)
	}
	s.answers++
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x49, 17})
	for _, str := range []string{s.name, DefaultMap, DefaultFolder, DefaultGame} {
		b.WriteString(str)
		b.WriteByte(0)
	}
	_ = binary.Write(&b, binary.LittleEndian, uint16(DefaultAppID&0xFFFF)) // the short id; the full one is in the EDF
	b.Write([]byte{byte(s.players), byte(s.max), byte(s.bots), 'd', 'l', 0, 0})
	b.WriteString(s.version)
	b.WriteByte(0)
	b.WriteByte(0x80 | 0x01) // EDF: game port, game id
	_ = binary.Write(&b, binary.LittleEndian, uint16(s.Port()-1))
	_ = binary.Write(&b, binary.LittleEndian, uint64(DefaultAppID))
	return b.Bytes()
}
