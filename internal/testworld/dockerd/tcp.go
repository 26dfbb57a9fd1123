package dockerd

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// TCPHost is a "tcp://127.0.0.1:<port>" address where the engine's API
// answers, as docker-compose.yaml's socket proxy serves it to the bot: a
// client given it is, like the bot in its container, not on the engine's
// local socket. Each connection is forwarded to the socket as it is. The
// listener and every connection through it are closed when tb's cleanups
// run, which wait for their goroutines.
func (e *Engine) TCPHost(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("dockerd: TCP listener: %v", err)
	}
	f := &forwarder{ln: ln, socket: strings.TrimPrefix(e.host, "unix://"), conns: map[net.Conn]bool{}}
	f.wg.Add(1)
	go f.serve()
	tb.Cleanup(f.close)
	return "tcp://" + ln.Addr().String()
}

// forwarder copies bytes between TCP clients and the engine's socket.
type forwarder struct {
	ln     net.Listener
	socket string
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool // open connections, both sides
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		up, err := net.Dial("unix", f.socket)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !f.track(c, up) {
			return
		}
		f.wg.Add(2)
		go f.pipe(c, up)
		go f.pipe(up, c)
	}
}

// track records an open pair; false (both closed) once the forwarder is.
func (f *forwarder) track(a, b net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		_ = a.Close()
		_ = b.Close()
		return false
	}
	f.conns[a], f.conns[b] = true, true
	return true
}

// pipe copies src to dst, then closes both, so the other direction ends too.
func (f *forwarder) pipe(dst, src net.Conn) {
	defer f.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	f.mu.Lock()
	delete(f.conns, dst)
	delete(f.conns, src)
	f.mu.Unlock()
}

func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	_ = f.ln.Close()
	for c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
