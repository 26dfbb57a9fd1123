package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

var t0 = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)

// fakeFleet is the lifecycle's view of live servers, set by the test.
type fakeFleet struct {
	mu     sync.Mutex
	events []spawner.Event
	during func() // run inside the next Snapshot, once, to race a change with it
}

func (f *fakeFleet) Snapshot() []spawner.Event {
	f.mu.Lock()
	during := f.during
	f.during = nil
	out := slices.Clone(f.events)
	f.mu.Unlock()
	if during != nil {
		during()
	}
	return out
}

func (f *fakeFleet) Set(events ...spawner.Event) {
	f.mu.Lock()
	f.events = events
	f.mu.Unlock()
}

type world struct {
	srv     *httptest.Server
	hub     *Hub
	signer  *Signer
	clock   *clock
	fleet   *fakeFleet
	dropped atomic.Int64
}

func newWorld(tb testing.TB, opt HubOptions, servers ...spawner.Event) *world {
	tb.Helper()
	w := &world{clock: &clock{t: t0}, fleet: &fakeFleet{}}
	w.fleet.Set(servers...)
	w.signer = NewSigner([]byte("test secret"), w.clock.Now)
	opt.Fleet = w.fleet
	opt.OnDropped = func() { w.dropped.Add(1) }
	opt.Logger = slog.New(slog.DiscardHandler)
	w.hub = NewHub(opt)
	w.srv = httptest.NewServer(Handler(HandlerOptions{Signer: w.signer, Hub: w.hub}))
	tb.Cleanup(func() {
		w.hub.Close()
		w.srv.Close()
	})
	return w
}

func (w *world) url(path string) string {
	return "ws" + strings.TrimPrefix(w.srv.URL, "http") + path
}

// dial opens the feed for token; server narrows it when set.
func (w *world) dial(tb testing.TB, token, server string) (*websocket.Conn, *http.Response, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := w.url("/events?token=" + token)
	if server != "" {
		u += "&server=" + server
	}
	c, resp, err := websocket.Dial(ctx, u, nil)
	if c != nil {
		c.SetReadLimit(1 << 20)
		tb.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func (w *world) mustDial(tb testing.TB, scope Scope, server string) *websocket.Conn {
	tb.Helper()
	c, _, err := w.dial(tb, w.signer.Sign(scope, time.Hour), server)
	if err != nil {
		tb.Fatalf("dial %v: %v", scope, err)
	}
	return c
}

func read(tb testing.TB, c *websocket.Conn) spawner.Event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		tb.Fatalf("waiting for an event: %v", err)
	}
	var e spawner.Event
	if err := json.Unmarshal(data, &e); err != nil {
		tb.Fatalf("decode event %s: %v", data, err)
	}
	return e
}

// waitFor polls cond until it holds, failing with what it waited for after
// a bounded time.
func snap(server, owner string, state spawner.State) spawner.Event {
	return spawner.Event{Type: spawner.EventSnapshot, Server: server, Owner: owner, State: state, Time: t0}
}

func change(server, owner string, state spawner.State, at time.Duration) spawner.Event {
	return spawner.Event{Type: spawner.EventState, Server: server, Owner: owner, State: state, Time: t0.Add(at)}
}

func TestFeedRefusesBadTokensBeforeUpgrade(t *testing.T) {
	w := newWorld(t, HubOptions{}, snap("a", "u1", spawner.StateReady), snap("c", "u2", spawner.StateReady))
	other := NewSigner([]byte("not the secret"), w.clock.Now)
	expired := w.signer.Sign(FleetScope(), time.Minute)
	w.clock.Add(2 * time.Minute)
	for _, tc := range []struct {
		name, token, server string
		status              int
		body                string
	}{
		{"missing", "", "", 401, "invalid"},
		{"garbage", "abc.def", "", 401, "invalid"},
		{"forged", other.Sign(FleetScope(), time.Hour), "", 401, "invalid"},
		{"expired", expired, "", 401, "expired"},
		{"other server", w.signer.Sign(ServerScope("a"), time.Hour), "c", 403, "does not cover"},
		{"other member", w.signer.Sign(MemberScope("u1"), time.Hour), "c", 403, "does not cover"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := w.dial(t, tc.token, tc.server)
			if err == nil {
				c.CloseNow()
				t.Fatal("upgraded")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("response %v, err %v; want status %d", resp, err, tc.status)
			}
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), tc.body) {
				t.Fatalf("body %q does not say %q", body, tc.body)
			}
			if w.hub.Clients() != 0 {
				t.Fatalf("%d clients connected after a refusal", w.hub.Clients())
			}
		})
	}
}

func TestFeedScopesSeeExactlyTheirServers(t *testing.T) {
	w := newWorld(t, HubOptions{},
		snap("a", "u1", spawner.StateReady), snap("b", "u1", spawner.StateBooting), snap("c", "u2", spawner.StateReady))
	clients := map[string]*websocket.Conn{
		"server:a":  w.mustDial(t, ServerScope("a"), ""),
		"member:u1": w.mustDial(t, MemberScope("u1"), ""),
		"member:u2": w.mustDial(t, MemberScope("u2"), ""),
		"fleet":     w.mustDial(t, FleetScope(), ""),
		"fleet, a":  w.mustDial(t, FleetScope(), "a"),
	}
	want := map[string][]string{
		"server:a":  {"snapshot a", "snapshot end", "state c?", "ready a", "stopped a"},
		"member:u1": {"snapshot a", "snapshot b", "snapshot end", "ready b", "ready a", "stopped a"},
		"member:u2": {"snapshot c", "snapshot end", "stopping c", "stopped c"},
		"fleet":     {"snapshot a", "snapshot b", "snapshot c", "snapshot end", "stopping c", "ready b", "ready a", "stopped a", "stopped c"},
		"fleet, a":  {"snapshot a", "snapshot end", "ready a", "stopped a"},
	}
	// Snapshots first, in the fleet's order.
	got := map[string][]string{}
	for name, c := range clients {
		n := 0
		for _, s := range want[name] {
			if strings.HasPrefix(s, "snapshot ") && s != "snapshot end" {
				n++
			}
		}
		for range n {
			e := read(t, c)
			got[name] = append(got[name], string(e.Type)+" "+e.Server)
		}
		got[name] = append(got[name], "snapshot end")
	}
	w.hub.Publish(change("c", "u2", spawner.StateStopping, time.Second))
	w.hub.Publish(change("b", "u1", spawner.StateReady, 2*time.Second))
	w.hub.Publish(change("a", "u1", spawner.StateReady, 3*time.Second))
	w.hub.Publish(change("a", "u1", spawner.StateStopped, 4*time.Second)) // last for a's viewers
	w.hub.Publish(change("c", "u2", spawner.StateStopped, 5*time.Second)) // last for c's viewers
	for name, c := range clients {
		for {
			e := read(t, c)
			got[name] = append(got[name], string(e.State)+" "+e.Server)
			if e.State == spawner.StateStopped && (e.Server == "c" || name != "fleet" && name != "member:u2") {
				break
			}
		}
	}
	want["server:a"] = slices.DeleteFunc(want["server:a"], func(s string) bool { return s == "state c?" })
	for name := range clients {
		if !slices.Equal(got[name], want[name]) {
			t.Errorf("%s saw\n  %v\nwant\n  %v", name, got[name], want[name])
		}
	}
}

func TestFeedSnapshotThenChangesInOrder(t *testing.T) {
	w := newWorld(t, HubOptions{}, snap("a", "u1", spawner.StateBooting))
	// A change made while the snapshot is read, older than it, is skipped;
	// a newer one follows it.
	w.fleet.during = func() {
		w.hub.Publish(change("a", "u1", spawner.StateRunning, -time.Second))
		w.hub.Publish(change("a", "u1", spawner.StateReady, time.Second))
	}
	// The dial may return before the hub reads the snapshot: the hook
	// stays armed until that read, which consumes it.
	c := w.mustDial(t, FleetScope(), "")
	first := read(t, c)
	if first.Type != spawner.EventSnapshot || first.Server != "a" || first.State != spawner.StateBooting {
		t.Fatalf("first event %+v; want the snapshot of a, booting", first)
	}
	if e := read(t, c); e.State != spawner.StateReady {
		t.Fatalf("second event %+v; want ready (the older running skipped)", e)
	}
	for i := range 50 {
		n := i
		w.hub.Publish(spawner.Event{Type: spawner.EventPlayers, Server: "a", Owner: "u1", State: spawner.StateReady,
			Time: t0.Add(time.Duration(2+i) * time.Second), Players: &n})
	}
	for i := range 50 {
		e := read(t, c)
		if e.Type != spawner.EventPlayers || e.Players == nil || *e.Players != i {
			t.Fatalf("event %d: %+v; want players=%d", i, e, i)
		}
	}
}

func TestFeedDropsSlowClientOnly(t *testing.T) {
	w := newWorld(t, HubOptions{Buffer: 8}, snap("a", "u1", spawner.StateReady))
	fast := w.mustDial(t, FleetScope(), "")
	slow := w.mustDial(t, FleetScope(), "")
	read(t, fast)
	read(t, slow)
	// Big events fill the slow client's socket buffers quickly; the fast
	// client reads each batch before the next, so it never falls behind.
	pad := strings.Repeat("x", 16<<10)
	seq := 0
	publish := func(n int) {
		for range n {
			p := seq
			seq++
			w.hub.Publish(spawner.Event{Type: spawner.EventPlayers, Server: "a", Owner: "u1", State: spawner.StateReady,
				Time: t0.Add(time.Duration(p) * time.Millisecond), Title: pad, Players: &p})
		}
	}
	next := 0
	readFast := func() {
		for next < seq {
			e := read(t, fast)
			if e.Players == nil || *e.Players != next {
				t.Fatalf("fast client got %v; want players=%d", e.Players, next)
			}
			next++
		}
	}
	for w.dropped.Load() == 0 {
		if seq > 100000 {
			t.Fatal("the slow client was never dropped")
		}
		publish(4)
		readFast()
	}
	wait.For(t, "the slow client to leave the hub", func() bool { return w.hub.Clients() == 1 })
	for range 5 {
		publish(4)
		readFast()
	}
	// The slow client, reading at last, finds its connection closed for
	// policy violation after what was already sent.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, _, err := slow.Read(ctx)
		if err == nil {
			continue
		}
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("slow client ended with %v; want policy violation", err)
		}
		break
	}
	if got := w.dropped.Load(); got != 1 {
		t.Fatalf("dropped %d clients; want 1", got)
	}
}

func TestFeedCaps(t *testing.T) {
	w := newWorld(t, HubOptions{MaxClients: 3, MaxPerToken: 2})
	tokA := w.signer.Sign(MemberScope("u1"), time.Hour)
	tokB := w.signer.Sign(MemberScope("u2"), time.Hour)
	tokC := w.signer.Sign(FleetScope(), time.Hour)
	mustOpen := func(token string) *websocket.Conn {
		t.Helper()
		c, _, err := w.dial(t, token, "")
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		return c
	}
	mustRefuse := func(token, why string) {
		t.Helper()
		c, resp, err := w.dial(t, token, "")
		if err == nil {
			c.CloseNow()
			t.Fatalf("%s: upgraded", why)
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s: %v; want 429", why, err)
		}
	}
	a1 := mustOpen(tokA)
	mustOpen(tokA)
	mustRefuse(tokA, "third on one token")
	mustOpen(tokB)
	mustRefuse(tokC, "fourth in total")
	a1.Close(websocket.StatusNormalClosure, "")
	wait.For(t, "a slot freed by a client leaving", func() bool {
		c, _, err := w.dial(t, tokC, "")
		if err != nil {
			return false
		}
		c.CloseNow()
		return true
	})
}

func TestFeedClosesDeadConnection(t *testing.T) {
	w := newWorld(t, HubOptions{PingInterval: 20 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	// A client that never reads never answers a ping.
	w.mustDial(t, FleetScope(), "")
	wait.For(t, "the client to be connected", func() bool { return w.hub.Clients() == 1 })
	wait.For(t, "the dead client to be closed", func() bool { return w.hub.Clients() == 0 })
	// One that reads answers pings and stays.
	live := w.mustDial(t, FleetScope(), "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, _, err := live.Read(ctx); done <- err }()
	wait.For(t, "the live client to be connected", func() bool { return w.hub.Clients() == 1 })
	w.hub.Publish(change("a", "u1", spawner.StateReady, 0))
	if err := <-done; err != nil {
		t.Fatalf("a client that answers pings was closed: %v", err)
	}
	cancel()
}

func TestHubLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	fleet := &fakeFleet{}
	fleet.Set(snap("a", "u1", spawner.StateReady))
	signer := NewSigner([]byte("s"), nil)
	hub := NewHub(HubOptions{Fleet: fleet})
	srv := httptest.NewServer(Handler(HandlerOptions{Signer: signer, Hub: hub}))
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/events?token="
	dial := func(scope Scope) *websocket.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, url+signer.Sign(scope, time.Hour), nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		read(t, c)
		return c
	}
	// Clients that leave.
	for i := range 20 {
		c := dial(MemberScope("u1"))
		if i%2 == 0 {
			c.Close(websocket.StatusNormalClosure, "bye")
		} else {
			c.CloseNow()
		}
	}
	wait.For(t, "every client that left to be gone", func() bool { return hub.Clients() == 0 })
	// Clients still there when the hub closes are told it is going away.
	var stay []*websocket.Conn
	for range 5 {
		stay = append(stay, dial(FleetScope()))
	}
	results := make(chan error, len(stay))
	for _, c := range stay {
		go func() {
			_, _, err := c.Read(context.Background())
			results <- err
		}()
	}
	hub.Close()
	for range stay {
		if err := <-results; websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client ended with %v; want going away", err)
		}
	}
	srv.Close()
	http.DefaultClient.CloseIdleConnections()
	wait.For(t, fmt.Sprintf("goroutines back to %d", before), func() bool { return runtime.NumGoroutine() <= before })
	if c, _, err := websocket.Dial(context.Background(), url, nil); err == nil || errors.Is(err, context.Canceled) {
		c.CloseNow()
		t.Fatal("dialled a closed server")
	}
}

func TestEventJSONCarriesNoSecret(t *testing.T) {
	n := 3
	e := spawner.Event{Type: spawner.EventWarning, Server: "a", Owner: "u1", State: spawner.StateReady, Time: t0,
		Game: "minecraft", Title: "Minecraft", Variant: "vanilla", Address: "203.0.113.7:25565", Players: &n, Min: 2,
		StopsAt: t0.Add(time.Hour), Steps: map[spawner.State]time.Time{spawner.StateReady: t0},
		Warning: "players", K: 1, N: 2, Cause: spawner.CausePlayers}
	data, err := encodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for k := range fields {
		for _, bad := range []string{"token", "password", "secret", "rcon", "key"} {
			if strings.Contains(strings.ToLower(k), bad) {
				t.Errorf("event field %q may carry a secret", k)
			}
		}
	}
	for _, k := range []string{"type", "server", "state", "time"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("event lacks %q: %s", k, data)
		}
	}
}

func TestFeedRefusesOtherOrigins(t *testing.T) {
	w := newWorld(t, HubOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, w.url("/events?token="+w.signer.Sign(FleetScope(), time.Hour)), &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"https://elsewhere.example"}},
	})
	if err == nil {
		c.CloseNow()
		t.Fatal("a page of another origin opened the feed")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("response %v, err %v; want 403", resp, err)
	}
	wait.For(t, "the refused connection's slot to be given back", func() bool {
		w.hub.mu.Lock()
		defer w.hub.mu.Unlock()
		return w.hub.total == 0
	})
}
