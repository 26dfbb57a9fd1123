package dynalite

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a dynalite. Pointing the
// daemon at the proxy instead of dynalite lets a test make DynamoDB
// unreachable (Down) and reachable again (Up) while dynalite keeps its
// tables and items.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{} // both sides of every open pair
	done  bool
	wg    sync.WaitGroup
}

// Proxy starts a proxy to the instance, up, on a port of its own, closed
// when tb's cleanups run. Call it from the test's goroutine.
func (i *Instance) Proxy(tb testing.TB) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("dynalite proxy: listen: %v", err)
	}
	p := &Proxy{ln: ln, upstream: i.Addr(), conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(p.close)
	return p
}

// Endpoint is the proxy's URL, "http://127.0.0.1:PORT", to give the daemon
// in place of the instance's.
func (p *Proxy) Endpoint() string { return "http://" + p.ln.Addr().String() }

// Down makes DynamoDB unreachable through the proxy: every open connection
// is cut (reset) and every new one is reset as soon as it is accepted, so
// a client sees a connection error at once rather than a hang. Idempotent.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		reset(c)
	}
}

// Up lets connections through again. Idempotent.
func (p *Proxy) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // listener closed
		}
		p.mu.Lock()
		if p.down || p.done {
			p.mu.Unlock()
			reset(c)
			continue
		}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.pipe(c)
	}
}

// pipe copies between the client c and a fresh connection to dynalite
// until either side closes or Down cuts both.
func (p *Proxy) pipe(c net.Conn) {
	defer p.wg.Done()
	u, err := net.Dial("tcp", p.upstream)
	if err != nil {
		reset(c)
		return
	}
	p.mu.Lock()
	if p.down || p.done {
		// Down came while dialling.
		p.mu.Unlock()
		reset(c)
		reset(u)
		return
	}
	p.conns[c] = struct{}{}
	p.conns[u] = struct{}{}
	p.mu.Unlock()

	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			_ = c.Close()
			_ = u.Close()
		})
	}
	var copies sync.WaitGroup
	copies.Add(2)
	go func() {
		defer copies.Done()
		_, _ = io.Copy(u, c)
		closeBoth()
	}()
	go func() {
		defer copies.Done()
		_, _ = io.Copy(c, u)
		closeBoth()
	}()
	copies.Wait()

	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// close stops the proxy and waits for its goroutines.
func (p *Proxy) close() {
	p.mu.Lock()
	p.done = true
	for c := range p.conns {
		reset(c)
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	p.wg.Wait()
}

// reset closes c with an RST instead of a FIN, so the peer gets
// "connection reset" rather than what could pass for a clean end.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
