package docker_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// cutProxy forwards a unix socket to the engine's, and can cut every
// connection and refuse new ones, as an engine restart or a socket proxy
// hiccup would.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	dials int
	wg    sync.WaitGroup
}

func newCutProxy(tb testing.TB, target string) *cutProxy {
	tb.Helper()
	ln, err := net.Listen("unix", filepath.Join(tb.TempDir(), "proxy.sock"))
	if err != nil {
		tb.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: strings.TrimPrefix(target, "unix://"), conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(func() {
		_ = ln.Close()
		p.cut(true)
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) host() string { return "unix://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.dials++
		p.mu.Unlock()
		up, err := net.Dial("unix", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// cut closes every connection; down says whether new ones are refused.
func (p *cutProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// When the events stream breaks, Watch reconnects and still reports a
// container that died while it was disconnected.
func TestWatchReconnectsAndCatchesUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	proxy := newCutProxy(t, w.engine.Host())
	r, err := docker.New(w.cfg, client.WithHost(proxy.host()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	task := w.run(r, w.spec())

	ctx, cancel := context.WithCancel(context.Background())
	died := make(chan spawner.Task, 4)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Watch(ctx, func(t spawner.Task) { died <- t }) }()
	defer func() { cancel(); <-done }()

	// A first death proves the stream is connected.
	first := w.run(r, w.spec())
	if err := w.cli.ContainerKill(context.Background(), first.ID, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	waitDied(t, died, first.ID)

	proxy.cut(true)
	if err := w.cli.ContainerKill(context.Background(), task.ID, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	waitCh, errCh := w.cli.ContainerWait(context.Background(), task.ID, container.WaitConditionNotRunning)
	select {
	case <-waitCh:
	case err := <-errCh:
		t.Fatalf("wait for the killed container: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("the killed container still runs after 30s")
	}
	select {
	case got := <-died:
		t.Fatalf("watch reported %s while disconnected", got.ID)
	default:
	}
	proxy.setDown(false)
	waitDied(t, died, task.ID)
}

func waitDied(tb testing.TB, died <-chan spawner.Task, arn string) {
	tb.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got := <-died:
			if got.ID == arn && got.Stopped() {
				return
			}
		case <-timeout:
			tb.Fatalf("watch did not report the death of %s within 30s", arn[:12])
		}
	}
}
