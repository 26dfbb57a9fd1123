// Package accept is the connection bookkeeping the TCP game-protocol
// responders (mcserver, rconserver) share: an accept loop that runs every
// connection in a goroutine Close waits for, and a Close that drops the
// connections still open.
package accept

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Loop is the accept loop of one listener. Its methods are safe for
// concurrent use.
type Loop struct {
	ln     io.Closer
	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Serve starts accepting with accept, on ln, until ln is closed, and runs
// handle on each connection in its own goroutine. socket is the network
// connection under c: Close closes it to end a handler, and it is closed
// once handle returns.
func Serve[C any](ln io.Closer, accept func() (C, error), socket func(C) net.Conn, handle func(C)) *Loop {
	l := &Loop{ln: ln, open: make(map[net.Conn]struct{})}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // a transient accept error (a reset during accept)
			}
			conn := socket(c)
			l.mu.Lock()
			if l.closed {
				l.mu.Unlock()
				_ = conn.Close()
				return
			}
			l.open[conn] = struct{}{}
			l.wg.Add(1)
			l.mu.Unlock()
			go func() {
				defer l.wg.Done()
				defer func() {
					l.mu.Lock()
					delete(l.open, conn)
					l.mu.Unlock()
					_ = conn.Close()
				}()
				handle(c)
			}()
		}
	}()
	return l
}

// Open is the number of connections open now, handled or not.
func (l *Loop) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open)
}

// Close stops listening, drops every open connection and waits for the
// loop's goroutines. It is idempotent.
func (l *Loop) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	for c := range l.open {
		_ = c.Close()
	}
	l.mu.Unlock()
	_ = l.ln.Close()
	l.wg.Wait()
}
