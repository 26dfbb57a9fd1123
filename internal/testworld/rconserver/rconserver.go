// Package rconserver is a fake Minecraft RCON server for tests: it checks
// a password (login type 3; a refusal answers request id -1), records the
// commands it runs (type 2) and answers them (type 0) as a vanilla server
// would, "op <name>" with "Made <name> a server operator". It frames
// packets itself from the protocol's description, so the client is not
// tested against its own code.
package rconserver

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/mineral-contest/spawner/internal/testworld/accept"
)

// maxPacket is the largest packet a vanilla server accepts.
const maxPacket = 1460

// Server is an RCON server on one TCP address. Its methods may be called
// from any goroutine.
type Server struct {
	ln       net.Listener
	password string

	mu       sync.Mutex
	commands []string
	logins   int
	failed   int
	loop     *accept.Loop
}

// Listen starts a server on addr ("127.0.0.1:0") that accepts password,
// closed when tb's cleanups run. It fails tb when addr cannot be bound,
// so call it from the test's goroutine.
func Listen(tb testing.TB, addr, password string) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("rconserver: %v", err)
	}
	s := &Server{ln: ln, password: password}
	s.loop = accept.Serve(ln, ln.Accept, func(c net.Conn) net.Conn { return c }, s.handle)
	tb.Cleanup(s.Close)
	return s
}

// Addr is the "ip:port" the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Commands returns the commands run so far, in order, after a good login.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Logins is the number of logins accepted.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// FailedLogins is the number of logins refused for a wrong password.
func (s *Server) FailedLogins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Close stops listening, drops open connections and waits for the
// server's goroutines. Idempotent.
func (s *Server) Close() { s.loop.Close() }

func (s *Server) handle(conn net.Conn) {
	authed := false
	for {
		id, typ, payload, err := readPacket(conn)
		if err != nil {
			return
		}
		switch {
		case typ == 3:
			s.mu.Lock()
			authed = payload == s.password
			if authed {
				s.logins++
			} else {
				s.failed++
			}
			s.mu.Unlock()
			if !authed {
				_ = writePacket(conn, -1, 2, "")
				return
			}
			_ = writePacket(conn, id, 2, "")
		case typ == 2 && authed:
			s.mu.Lock()
			s.commands = append(s.commands, payload)
			s.mu.Unlock()
			_ = writePacket(conn, id, 0, answer(payload))
		default:
			return
		}
	}
}

// answer is what a vanilla server replies to command.
func answer(command string) string {
	if name, ok := strings.CutPrefix(command, "op "); ok && name != "" && !strings.ContainsAny(name, " \n") {
		return "Made " + name + " a server operator"
	}
	return "Unknown or incomplete command, see below for error"
}

func readPacket(r io.Reader) (id, typ int32, payload string, err error) {
	var n int32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return 0, 0, "", err
	}
	if n < 10 || n > maxPacket {
		return 0, 0, "", errors.New("bad packet length")
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, 0, "", err
	}
	id = int32(binary.LittleEndian.Uint32(b[0:4]))
	typ = int32(binary.LittleEndian.Uint32(b[4:8]))
	return id, typ, string(b[8 : n-2]), nil
}

func writePacket(w io.Writer, id, typ int32, payload string) error {
	b := make([]byte, 4, 14+len(payload))
	binary.LittleEndian.PutUint32(b, uint32(10+len(payload)))
	b = binary.LittleEndian.AppendUint32(b, uint32(id))
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	b = append(b, payload...)
	b = append(b, 0, 0)
	_, err := w.Write(b)
	return err
}
