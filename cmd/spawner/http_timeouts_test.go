package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/web"
)

// oneServer is a web.Fleet of one server.
type oneServer spawner.Event

func (o oneServer) Snapshot() []spawner.Event { return []spawner.Event{spawner.Event(o)} }

// The bot's HTTP server closes a kept-alive connection that stays idle,
// while a live page's feed, pinged, stays open across several idle
// periods, also through a proxy that closes what is idle as long.
func TestHTTPServerClosesIdleConnectionsNotFeeds(t *testing.T) {
	t.Parallel()
	if d := defaultHTTPTimeouts; d.idle <= 0 || d.readHeader <= 0 || feedPingInterval*2 > d.idle {
		t.Fatalf("timeouts %+v with pings every %v: want an idle timeout, a header timeout, and pings well within the idle timeout", d, feedPingInterval)
	}
	timeouts := httpTimeouts{readHeader: time.Second, idle: 300 * time.Millisecond}
	srv := oneServer{Type: spawner.EventSnapshot, Server: "a", Owner: "u1", State: spawner.StateReady, Time: time.Now()}
	hub := web.NewHub(web.HubOptions{Fleet: srv, PingInterval: timeouts.idle / 4})
	signer := web.NewSigner([]byte("a WEB_SECRET for the timeouts"), nil)
	hs := newHTTPServer(web.Handler(web.HandlerOptions{Signer: signer, Hub: hub}), timeouts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() {
		hub.Close()
		hs.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	addr := ln.Addr().String()

	// A live page's feed, reading (and so answering pings) all along,
	// through a proxy with the same idle timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	proxy := idleProxy(t, addr, timeouts.idle)
	feed, _, err := websocket.Dial(ctx, "ws://"+proxy+"/events?token="+signer.Sign(web.MemberScope("u1"), time.Hour), nil)
	if err != nil {
		t.Fatalf("dial the feed: %v", err)
	}
	defer feed.CloseNow()
	events := make(chan string, 8)
	readErr := make(chan error, 1)
	go func() {
		for {
			_, b, err := feed.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			events <- string(b)
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case e := <-events:
			return e
		case err := <-readErr:
			t.Fatalf("the feed closed while waiting for %s: %v", what, err)
		case <-ctx.Done():
			t.Fatalf("no %s on the feed", what)
		}
		return ""
	}
	next("the snapshot")

	// Three kept-alive connections in a row, each closed by the server
	// once idle: the feed lives through as many idle periods.
	for i := range 3 {
		idle := keptAlive(t, addr)
		start := time.Now()
		if err := idle.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := idle.Read(make([]byte, 1))
		elapsed := time.Since(start)
		idle.Close()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("connection %d: a kept-alive connection was still open after 10s idle (idle timeout %v)", i+1, timeouts.idle)
		case n > 0 || !errors.Is(err, io.EOF):
			t.Fatalf("connection %d: read %d bytes, %v; want the server to close it", i+1, n, err)
		case elapsed < timeouts.idle/2:
			t.Fatalf("connection %d: closed after %v, before the idle timeout %v", i+1, elapsed, timeouts.idle)
		}
	}
	select {
	case err := <-readErr:
		t.Fatalf("the feed closed during the idle periods: %v", err)
	default:
	}
	hub.Publish(spawner.Event{Type: spawner.EventState, Server: "a", Owner: "u1", State: spawner.StateStopping, Time: time.Now()})
	if e := next("the change after the idle periods"); !strings.Contains(e, `"stopping"`) {
		t.Fatalf("the feed sent %s; want the stopping change", e)
	}
}

// keptAlive makes one HTTP/1.1 request on a new connection to addr, reads
// the whole answer and returns the connection, kept alive and idle.
func keptAlive(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET /assets/app.css HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		tb.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		tb.Fatalf("read the answer: %v", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Close || br.Buffered() > 0 {
		tb.Fatalf("answer %d (close %v, %d bytes more), %v; want 200, kept alive", resp.StatusCode, resp.Close, br.Buffered(), err)
	}
	return conn
}

// idleProxy relays TCP connections to addr and closes one that carries
// nothing from either side for idle, as a reverse proxy's read timeout
// does (nginx: proxy_read_timeout). It returns its address.
func idleProxy(tb testing.TB, addr string, idle time.Duration) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var relays sync.WaitGroup
	relay := func(dst, src net.Conn) {
		defer relays.Done()
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, 4096)
		for {
			if err := src.SetReadDeadline(time.Now().Add(idle)); err != nil {
				return // src is closed already
			}
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	relays.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			relays.Add(2)
			go relay(up, c)
			go relay(c, up)
		}
	})
	tb.Cleanup(func() { ln.Close(); relays.Wait() })
	return ln.Addr().String()
}
