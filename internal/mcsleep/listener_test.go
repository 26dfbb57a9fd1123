package mcsleep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Tnze/go-mc/bot"
	"github.com/Tnze/go-mc/chat"
	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/mcping"
	"github.com/mineral-contest/spawner/internal/text"
)

// waker is a Waker that records its calls and answers as the test set it.
type waker struct {
	mu       sync.Mutex
	calls    []string // "world/player"
	refuse   string   // non-empty: refuse with this reason
	panics   bool
	blocking bool // wait for ctx to end, then refuse
}

func (w *waker) Wake(ctx context.Context, world, player string) (bool, string) {
	w.mu.Lock()
	w.calls = append(w.calls, world+"/"+player)
	refuse, panics, blocking := w.refuse, w.panics, w.blocking
	w.mu.Unlock()
	switch {
	case panics:
		panic("the waker broke")
	case blocking:
		<-ctx.Done()
		return false, ""
	case refuse != "":
		return false, refuse
	}
	return true, ""
}

func (w *waker) Calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

func (w *waker) set(f func(w *waker)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(w)
}

// listen starts a listener for w on a free loopback port, closed when the
// test ends.
func listen(tb testing.TB, w World, cfg Config) *Listener {
	tb.Helper()
	l, err := Listen("127.0.0.1:0", w, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(l.Close)
	return l
}

// sleepingStatus is what a client reads of a status.
type sleepingStatus struct {
	Version struct {
		Name     string `json:"name"`
		Protocol int    `json:"protocol"`
	} `json:"version"`
	Players struct {
		Max    int `json:"max"`
		Online int `json:"online"`
	} `json:"players"`
	Description chat.Message `json:"description"`
}

// ping does a Server List Ping with go-mc's client and returns the status
// it read and the description's text as the server list shows it.
func ping(tb testing.TB, addr string) (sleepingStatus, string) {
	tb.Helper()
	raw, _, err := bot.PingAndListTimeout(addr, 5*time.Second)
	if err != nil {
		tb.Fatalf("ping %s: %v", addr, err)
	}
	var st sleepingStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		tb.Fatalf("status %s: %v", raw, err)
	}
	return st, st.Description.ClearString()
}

// join logs in with go-mc's client as player and returns the reason of the
// Disconnect it got.
func join(tb testing.TB, addr, player string) string {
	tb.Helper()
	c := bot.NewClient()
	c.Auth.Name = player
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.JoinServerWithOptions(addr, bot.JoinOptions{Context: ctx})
	var d bot.DisconnectErr
	if !errors.As(err, &d) {
		tb.Fatalf("join %s as %s: %v, want a login Disconnect", addr, player, err)
	}
	return chat.Message(d).ClearString()
}

func lines(a, b string) string { return a + "\n" + b }

// TestStatusShowsTheWorldAsleep: the server list shows the world with 0
// players, its maximum, its last version and protocol (so a client of that
// version lists it as compatible), and a description in the guild's
// language saying it sleeps and that joining wakes it; pings never wake.
func TestStatusShowsTheWorldAsleep(t *testing.T) {
	for _, lang := range []text.Lang{text.En, text.Fr} {
		w := &waker{}
		l := listen(t, World{ID: "w1", Version: "Paper 1.20.4", Protocol: 765, MaxPlayers: 12}, Config{Waker: w, Lang: lang})
		for range 3 {
			st, desc := ping(t, l.Addr().String())
			if st.Players.Online != 0 || st.Players.Max != 12 {
				t.Errorf("players %+v, want 0 of 12", st.Players)
			}
			if st.Version.Name != "Paper 1.20.4" || st.Version.Protocol != 765 {
				t.Errorf("version %+v, want the world's last: Paper 1.20.4, 765", st.Version)
			}
			if want := lines(lang.SleepAsleep()); desc != want {
				t.Errorf("description %q, want %q", desc, want)
			}
		}
		// The daemon's own probe reads it too, as any server's status.
		p, err := mcping.Pinger{}.Ping(context.Background(), l.Addr().String())
		if err != nil || p.Online != 0 || p.Max != 12 {
			t.Errorf("mcping: %+v, %v", p, err)
		}
		if calls := w.Calls(); len(calls) != 0 {
			t.Errorf("pings called the waker: %v", calls)
		}
		if st := l.Stats(); st.Pings != 4 {
			t.Errorf("stats %+v, want 4 pings", st)
		}
	}
}

// TestStatusOfAWorldNeverSeen: a world whose last status is unknown echoes
// the client's protocol (so it is listed as compatible), names itself
// asleep, and shows a vanilla maximum.
func TestStatusOfAWorldNeverSeen(t *testing.T) {
	l := listen(t, World{ID: "w1"}, Config{Waker: &waker{}, Lang: text.Fr})
	st, _ := ping(t, l.Addr().String())
	if st.Version.Protocol != bot.ProtocolVersion || st.Version.Name != text.Fr.SleepVersion() || st.Players.Max != DefaultMaxPlayers {
		t.Errorf("status %+v, want protocol %d echoed, name %q, max %d", st, bot.ProtocolVersion, text.Fr.SleepVersion(), DefaultMaxPlayers)
	}
}

// TestLoginWakesOnce: a login wakes the world and reads that the server is
// starting; logins during the wake read the same and start nothing more;
// the list says the world wakes; once released, a login wakes it again.
func TestLoginWakesOnce(t *testing.T) {
	for _, lang := range []text.Lang{text.En, text.Fr} {
		w := &waker{}
		l := listen(t, World{ID: "w1", Version: "1.20.2", Protocol: 764}, Config{Waker: w, Lang: lang})
		addr := l.Addr().String()
		if got := join(t, addr, "Alex"); got != lang.SleepStarting() {
			t.Errorf("first login read %q, want %q", got, lang.SleepStarting())
		}
		if got := join(t, addr, "Steve"); got != lang.SleepStarting() {
			t.Errorf("login during the wake read %q, want %q", got, lang.SleepStarting())
		}
		if calls := w.Calls(); len(calls) != 1 || calls[0] != "w1/Alex" {
			t.Fatalf("waker calls %v, want one, by Alex", calls)
		}
		if _, desc := ping(t, addr); desc != lines(lang.SleepWaking()) {
			t.Errorf("description during the wake %q, want %q", desc, lines(lang.SleepWaking()))
		}
		l.Release()
		if got := join(t, addr, "Steve"); got != lang.SleepStarting() {
			t.Errorf("login after release read %q", got)
		}
		if calls := w.Calls(); len(calls) != 2 || calls[1] != "w1/Steve" {
			t.Errorf("waker calls after release %v, want a second one, by Steve", calls)
		}
	}
}

// TestConcurrentLoginsWakeOnce: many logins at once call the waker once.
func TestConcurrentLoginsWakeOnce(t *testing.T) {
	w := &waker{}
	l := listen(t, World{ID: "w1"}, Config{Waker: w, Limits: Limits{MaxPerAddress: 16}})
	var wg sync.WaitGroup
	reasons := make([]string, 8)
	for i := range reasons {
		wg.Go(func() { reasons[i] = join(t, l.Addr().String(), "p"+strconv.Itoa(i)) })
	}
	wg.Wait()
	for i, r := range reasons {
		if r != text.En.SleepStarting() {
			t.Errorf("login %d read %q", i, r)
		}
	}
	if calls := w.Calls(); len(calls) != 1 {
		t.Errorf("waker calls %v, want exactly one", calls)
	}
}

// TestRefusalSaysWhy: a refused wake shows the waker's reason, wakes
// nothing, and the next login asks again; a waker that says nothing, hangs
// or panics gives a generic refusal, and the listener goes on.
func TestRefusalSaysWhy(t *testing.T) {
	w := &waker{refuse: "All 3 server slots are taken. Try again when one is free."}
	l := listen(t, World{ID: "w1"}, Config{Waker: w, Lang: text.En, Limits: Limits{WakeTimeout: 100 * time.Millisecond}})
	addr := l.Addr().String()
	got := join(t, addr, "Alex")
	if want := text.En.SleepRefused(w.refuse); got != want {
		t.Errorf("refused login read %q, want %q", got, want)
	}
	if !strings.Contains(got, "All 3 server slots are taken") {
		t.Errorf("the reason %q does not carry the waker's", got)
	}
	if l.Waking() {
		t.Error("a refused wake left the listener waking")
	}
	generic := text.En.SleepRefused("")
	for _, c := range []struct {
		name string
		set  func(*waker)
	}{
		{"hangs", func(w *waker) { w.refuse, w.blocking = "", true }},
		{"panics", func(w *waker) { w.blocking, w.panics = false, true }},
	} {
		w.set(c.set)
		if got := join(t, addr, "Alex"); got != generic {
			t.Errorf("a waker that %s: login read %q, want %q", c.name, got, generic)
		}
	}
	w.set(func(w *waker) { w.panics = false })
	if got := join(t, addr, "Alex"); got != text.En.SleepStarting() {
		t.Errorf("after refusals, login read %q, want the wake", got)
	}
	if n := len(w.Calls()); n != 4 {
		t.Errorf("waker called %d times, want 4 (every login)", n)
	}
}

// TestBadPlayerNameWakesNothing: a name no account can have (a mention, a
// line break) is refused before the waker hears of it.
func TestBadPlayerNameWakesNothing(t *testing.T) {
	w := &waker{}
	l := listen(t, World{ID: "w1"}, Config{Waker: w})
	for _, name := range []string{"@everyone", "a b", "line\nbreak", "é"} {
		if got := join(t, l.Addr().String(), name); got != text.En.SleepBadPlayer() {
			t.Errorf("login as %q read %q", name, got)
		}
	}
	if calls := w.Calls(); len(calls) != 0 {
		t.Errorf("waker called for bad names: %v", calls)
	}
}

// frame is one packet as a client sends it.
func frame(id int32, fields ...pk.FieldEncoder) []byte {
	var b bytes.Buffer
	p := pk.Marshal(id, fields...)
	_ = p.Pack(&b, -1)
	return b.Bytes()
}

func handshake(protocol int32, intent int32) []byte {
	return frame(0x00, pk.VarInt(protocol), pk.String("localhost"), pk.UnsignedShort(25565), pk.VarInt(intent))
}

// dial opens a raw connection from the local address from ("" for any).
func dial(tb testing.TB, addr, from string) net.Conn {
	tb.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the server closes c without a byte within d.
func closedWithin(tb testing.TB, c net.Conn, d time.Duration) error {
	tb.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := c.Read(b[:])
	switch {
	case n > 0:
		return errors.New("the server answered")
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), isReset(err):
		return nil
	}
	return err
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestHostileInputIsDropped: malformed, oversized or unexpected packets end
// the connection at once without an answer, and the listener answers the
// next client as before.
func TestHostileInputIsDropped(t *testing.T) {
	w := &waker{}
	l := listen(t, World{ID: "w1"}, Config{Waker: w})
	addr := l.Addr().String()
	oversized := append([]byte{0x81, 0x10}, bytes.Repeat([]byte{0}, 10)...) // 2049 bytes announced
	cases := map[string][]byte{
		"legacy ping":              {0xFE, 0x01, 0xFA},
		"oversized packet":         oversized,
		"length not a VarInt":      {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
		"empty packet":             {0x00},
		"not a handshake":          frame(0x07, pk.VarInt(764)),
		"unknown intent":           handshake(764, 9),
		"negative host length":     frame(0x00, pk.VarInt(764), pk.VarInt(-1)),
		"host longer than packet":  frame(0x00, pk.VarInt(764), pk.VarInt(1<<20), pk.Byte('a')),
		"trailing bytes":           frame(0x00, pk.VarInt(764), pk.String("h"), pk.UnsignedShort(1), pk.VarInt(1), pk.Long(7)),
		"status request with data": append(handshake(764, 1), frame(0x00, pk.Long(1))...),
		"ping of 4 bytes":          append(handshake(764, 1), frame(0x01, pk.Int(1))...),
		"login packet not a start": append(handshake(764, 2), frame(0x03)...),
		"name longer than 16":      append(handshake(764, 2), frame(0x00, pk.String(strings.Repeat("a", 17)), pk.UUID{})...),
		"name negative length":     append(handshake(764, 2), frame(0x00, pk.VarInt(-5))...),
		"UUID cut short":           append(handshake(764, 2), frame(0x00, pk.String("Alex"), pk.Int(1))...),
		"signing data cut short":   append(handshake(759, 2), frame(0x00, pk.String("Alex"), pk.Boolean(true), pk.Long(1), pk.VarInt(500))...),
		"boolean of 2":             append(handshake(762, 2), frame(0x00, pk.String("Alex"), pk.Byte(2))...),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr, "")
			if _, err := c.Write(data); err != nil {
				t.Fatal(err)
			}
			// Well before the exchange's deadline: refused, not timed out.
			if err := closedWithin(t, c, 2*time.Second); err != nil {
				t.Errorf("sent %x: %v, want the connection closed without an answer", data, err)
			}
		})
	}
	if st, _ := ping(t, addr); st.Players.Online != 0 {
		t.Errorf("status after hostile input: %+v", st)
	}
	if calls := w.Calls(); len(calls) != 0 {
		t.Errorf("hostile input called the waker: %v", calls)
	}
	if st := l.Stats(); st.Malformed < int64(len(cases)) {
		t.Errorf("stats %+v, want at least %d malformed", st, len(cases))
	}
}

// TestSilentClientIsDropped: a client that connects and says nothing, or
// too slowly, is dropped at the exchange's deadline.
func TestSilentClientIsDropped(t *testing.T) {
	l := listen(t, World{ID: "w1"}, Config{Waker: &waker{}, Limits: Limits{Exchange: time.Second}})
	silent := dial(t, l.Addr().String(), "")
	slow := dial(t, l.Addr().String(), "")
	_, _ = slow.Write(handshake(764, 1)[:3])
	start := time.Now()
	for _, c := range []net.Conn{silent, slow} {
		if err := closedWithin(t, c, 5*time.Second); err != nil {
			t.Errorf("%v, want the connection dropped at the deadline", err)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("dropped after %s, want about 1s", d)
	}
}

// waitFor waits, bounded, until cond holds, failing with what it waited for.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConnectionBounds: beyond the connections allowed from one address,
// in all on one listener, and in all on a shared gate, a connection is
// closed at once; others are still answered, and a freed slot serves again.
func TestConnectionBounds(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		l := listen(t, World{ID: "w1"}, Config{Waker: &waker{}, Limits: Limits{MaxPerAddress: 2}})
		addr := l.Addr().String()
		held := []net.Conn{dial(t, addr, "127.0.0.1"), dial(t, addr, "127.0.0.1")}
		waitFor(t, "2 connections open", func() bool { return l.Stats().Open == 2 })
		if err := closedWithin(t, dial(t, addr, "127.0.0.1"), 2*time.Second); err != nil {
			t.Errorf("third connection from one address: %v, want it closed", err)
		}
		other := dial(t, addr, "127.0.0.2")
		if _, err := other.Write(append(handshake(764, 1), frame(0x00)...)); err != nil {
			t.Fatal(err)
		}
		_ = other.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := readFrame(other, 64<<10); err != nil {
			t.Errorf("another address was not answered: %v", err)
		}
		other.Close()
		held[0].Close()
		waitFor(t, "a slot freed", func() bool { return l.Stats().Open == 1 })
		if st, _ := ping(t, addr); st.Players.Online != 0 {
			t.Error("no answer once a slot was freed")
		}
		if st := l.Stats(); st.Refused != 1 {
			t.Errorf("stats %+v, want 1 refused", st)
		}
	})
	t.Run("per listener", func(t *testing.T) {
		l := listen(t, World{ID: "w1"}, Config{Waker: &waker{}, Limits: Limits{MaxConns: 2, MaxPerAddress: 2}})
		addr := l.Addr().String()
		dial(t, addr, "127.0.0.1")
		dial(t, addr, "127.0.0.2")
		waitFor(t, "2 connections open", func() bool { return l.Stats().Open == 2 })
		if err := closedWithin(t, dial(t, addr, "127.0.0.3"), 2*time.Second); err != nil {
			t.Errorf("third connection: %v, want it closed", err)
		}
	})
	t.Run("shared gate", func(t *testing.T) {
		gate := NewGate(3, 2)
		a := listen(t, World{ID: "a"}, Config{Waker: &waker{}, Gate: gate})
		b := listen(t, World{ID: "b"}, Config{Waker: &waker{}, Gate: gate})
		dial(t, a.Addr().String(), "127.0.0.1")
		dial(t, b.Addr().String(), "127.0.0.1")
		waitFor(t, "2 connections through the gate", func() bool { return gate.Open() == 2 })
		if err := closedWithin(t, dial(t, b.Addr().String(), "127.0.0.1"), 2*time.Second); err != nil {
			t.Errorf("third connection of one address across listeners: %v, want it closed", err)
		}
		dial(t, a.Addr().String(), "127.0.0.2")
		waitFor(t, "3 connections through the gate", func() bool { return gate.Open() == 3 })
		if err := closedWithin(t, dial(t, b.Addr().String(), "127.0.0.3"), 2*time.Second); err != nil {
			t.Errorf("fourth connection across listeners: %v, want it closed", err)
		}
	})
}

// TestCloseFreesThePort: once Close returns, the port can be bound again
// at once (a game server takes it), even with clients connected a moment
// before, and nothing answers on it meanwhile.
func TestCloseFreesThePort(t *testing.T) {
	w := &waker{}
	l, err := Listen("127.0.0.1:0", World{ID: "w1"}, Config{Waker: w})
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	ping(t, addr)
	join(t, addr, "Alex")
	held := dial(t, addr, "")
	waitFor(t, "a connection open", func() bool { return l.Stats().Open == 1 })
	l.Close()
	l.Close() // idempotent
	if err := closedWithin(t, held, 2*time.Second); err != nil {
		t.Errorf("connection open at Close: %v, want it dropped", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("something still accepts on the port after Close")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is not free after Close: %v", err)
	}
	ln.Close()
	again, err := Listen(addr, World{ID: "w1"}, Config{Waker: w})
	if err != nil {
		t.Fatalf("listen again on the same port: %v", err)
	}
	defer again.Close()
	ping(t, addr)
}

// TestPortTaken: a port another process holds is a clear error naming the
// address and the world, wrapping ErrPortTaken.
func TestPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Listen(ln.Addr().String(), World{ID: "w1"}, Config{Waker: &waker{}})
	if !errors.Is(err, ErrPortTaken) {
		t.Fatalf("err = %v, want ErrPortTaken", err)
	}
	for _, want := range []string{ln.Addr().String(), "w1", "port taken by another process"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// TestListenRefusesBadConfig names what is wrong.
func TestListenRefusesBadConfig(t *testing.T) {
	cases := []struct {
		w    World
		cfg  Config
		want string
	}{
		{World{}, Config{Waker: &waker{}}, "no world id"},
		{World{ID: "w1"}, Config{}, "no waker"},
		{World{ID: "w1"}, Config{Waker: &waker{}, Limits: Limits{Exchange: time.Hour}}, "Exchange 1h0m0s: must be 1s to 30s"},
		{World{ID: "w1"}, Config{Waker: &waker{}, Limits: Limits{MaxConns: 4, MaxPerAddress: 5}}, "MaxPerAddress 5: must be 1 to MaxConns (4)"},
		{World{ID: "w1"}, Config{Waker: &waker{}, Limits: Limits{WakeTimeout: time.Millisecond}}, "WakeTimeout 1ms"},
	}
	for _, c := range cases {
		_, err := Listen("127.0.0.1:0", c.w, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Listen(%+v, %+v) = %v, want an error with %q", c.w, c.cfg.Limits, err, c.want)
		}
	}
}

// TestCanListen: a free port can be listened on, and stays free after the
// question; one held by another process or by a listener is ErrPortTaken;
// once a listener that answered a ping and a login is closed, the port can
// be bound again at once, whatever connections linger in TIME_WAIT.
func TestCanListen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := CanListen(addr); !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), addr) {
		t.Errorf("CanListen of a port another process holds = %v, want ErrPortTaken naming %s", err, addr)
	}
	ln.Close()
	if err := CanListen(addr); err != nil {
		t.Fatalf("CanListen of a free port: %v", err)
	}
	l, err := Listen(addr, World{ID: "w1"}, Config{Waker: &waker{}})
	if err != nil {
		t.Fatalf("listen after CanListen: %v", err)
	}
	ping(t, addr)
	join(t, addr, "Alex")
	if err := CanListen(addr); !errors.Is(err, ErrPortTaken) {
		t.Errorf("CanListen of a listener's port = %v, want ErrPortTaken", err)
	}
	l.Close()
	if err := CanListen(addr); err != nil {
		t.Errorf("CanListen once the listener closed: %v", err)
	}
	if err := CanListen("127.0.0.1:99999"); err == nil || errors.Is(err, ErrPortTaken) {
		t.Errorf("CanListen of a port that cannot be: %v, want an error that is not ErrPortTaken", err)
	}
}
