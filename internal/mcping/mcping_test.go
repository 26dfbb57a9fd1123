package mcping_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	mcnet "github.com/Tnze/go-mc/net"
	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/mcping"
	"github.com/mineral-contest/spawner/internal/testworld/mcserver"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

func TestPingReportsPlayersAndVersion(t *testing.T) {
	srv := mcserver.Listen(t, "127.2.0.5:0")
	srv.SetPlayers(3, 10)
	srv.SetVersion("Paper 1.20.4")

	got, err := mcping.Pinger{}.Ping(wait.Context(t), srv.Addr())
	if err != nil {
		t.Fatalf("ping %s: %v", srv.Addr(), err)
	}
	if got.Online != 3 || got.Max != 10 || got.Version != "Paper 1.20.4" || got.Protocol != mcserver.DefaultProtocol {
		t.Errorf("ping = %+v, want 3/10 players on Paper 1.20.4, protocol %d", got, mcserver.DefaultProtocol)
	}
	if got.Latency <= 0 {
		t.Errorf("latency = %v, want > 0", got.Latency)
	}
	if n := srv.Pings(); n != 1 {
		t.Errorf("server answered %d status requests, want 1", n)
	}

	srv.SetPlayers(0, 10)
	got, err = mcping.Pinger{}.Ping(wait.Context(t), srv.Addr())
	if err != nil || got.Online != 0 {
		t.Errorf("after players left: ping = %+v, %v; want 0 online", got, err)
	}
}

func TestPingMeasuresLatency(t *testing.T) {
	srv := mcserver.Listen(t, "127.0.0.1:0")
	const delay = 150 * time.Millisecond
	srv.SetDelay(delay)
	got, err := mcping.Pinger{}.Ping(wait.Context(t), srv.Addr())
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	if got.Latency < delay {
		t.Errorf("latency = %v against a server answering after %v", got.Latency, delay)
	}
}

func TestPingSilentServerTimesOut(t *testing.T) {
	srv := mcserver.Listen(t, "127.0.0.1:0")
	srv.SetSilent(true)
	const timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := mcping.Pinger{Timeout: timeout}.Ping(wait.Context(t), srv.Addr())
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ping of a silent server = %v, want a timeout (context.DeadlineExceeded)", err)
	}
	// The server never answers nor closes: returning at all is the timeout.
	if took < timeout {
		t.Errorf("ping of a silent server returned after %v, before its %v timeout", took, timeout)
	}
	if srv.Pings() != 0 {
		t.Errorf("a silent server answered %d pings", srv.Pings())
	}
}

func TestPingHonoursCancel(t *testing.T) {
	srv := mcserver.Listen(t, "127.0.0.1:0")
	srv.SetSilent(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := mcping.Pinger{Timeout: time.Minute}.Ping(ctx, srv.Addr())
		done <- err
	}()
	// Wait until the ping is at the server, then cancel.
	wait.For(t, "the ping to connect", func() bool { return srv.Conns() > 0 })
	cancel()
	if err := wait.Returns(t, "the cancelled ping", done); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ping = %v, want context.Canceled", err)
	}
}

func TestPingClosedServerFails(t *testing.T) {
	srv := mcserver.Listen(t, "127.0.0.1:0")
	addr := srv.Addr()
	srv.Close()
	start := time.Now()
	_, err := mcping.Pinger{Timeout: 3 * time.Second}.Ping(wait.Context(t), addr)
	if err == nil {
		t.Fatal("ping of a closed server succeeded")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ping of a closed server waited %v for the timeout instead of failing: %v", time.Since(start), err)
	}
}

// rawServer answers each status handshake with answer(conn) and closes.
func rawServer(tb testing.TB, answer func(conn *mcnet.Conn)) string {
	tb.Helper()
	ln, err := mcnet.ListenMC("127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			var handshake, request pk.Packet
			if conn.ReadPacket(&handshake) == nil && conn.ReadPacket(&request) == nil {
				answer(&conn)
			}
			_ = conn.Close()
		}
	}()
	return ln.Addr().String()
}

func TestPingRejectsBadAnswers(t *testing.T) {
	cases := map[string]struct {
		answer func(conn *mcnet.Conn)
		want   string
	}{
		"status not JSON": {
			answer: func(conn *mcnet.Conn) {
				_ = conn.WritePacket(pk.Marshal(0x00, pk.String("<html>not a minecraft server</html>")))
				var p pk.Packet
				if conn.ReadPacket(&p) == nil {
					_ = conn.WritePacket(p) // echo the ping
				}
			},
			want: "JSON",
		},
		"closes after the handshake": {
			answer: func(*mcnet.Conn) {},
			want:   "status",
		},
		"wrong pong": {
			answer: func(conn *mcnet.Conn) {
				_ = conn.WritePacket(pk.Marshal(0x00, pk.String(`{"players":{"online":1,"max":2}}`)))
				var p pk.Packet
				if conn.ReadPacket(&p) == nil {
					_ = conn.WritePacket(pk.Marshal(0x01, pk.Long(42)))
				}
			},
			want: "pong",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			addr := rawServer(t, c.answer)
			_, err := mcping.Pinger{Timeout: 3 * time.Second}.Ping(wait.Context(t), addr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ping = %v, want an error about %s", err, c.want)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("ping waited for its timeout: %v", err)
			}
		})
	}
}

func TestPingRefusesAddressWithoutPort(t *testing.T) {
	if _, err := (mcping.Pinger{}).Ping(wait.Context(t), "127.0.0.1"); err == nil {
		t.Error("ping of an address without port succeeded")
	}
}

func TestManyConcurrentPings(t *testing.T) {
	srv := mcserver.Listen(t, "127.2.0.6:0")
	srv.SetPlayers(7, 50)
	const n = 200
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := mcping.Pinger{Timeout: 15 * time.Second}.Ping(wait.Context(t), srv.Addr())
			if err == nil && (got.Online != 7 || got.Max != 50) {
				err = errors.New("wrong players: " + got.Version)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed == 0 {
				t.Errorf("first failed ping: %v", err)
			}
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d concurrent pings failed", failed, n)
	}
	if got := srv.Pings(); got != n {
		t.Errorf("server answered %d status requests, want %d", got, n)
	}
}

// TestPingSurvivesNegativeStringLength: a status whose string length is
// negative makes go-mc's reader panic (makeslice: len out of range), which,
// uncontained, takes the daemon down. It must be a failed ping instead.
func TestPingSurvivesNegativeStringLength(t *testing.T) {
	addr := rawServer(t, func(conn *mcnet.Conn) {
		_ = conn.WritePacket(pk.Marshal(0x00, pk.VarInt(-1)))
	})
	_, err := mcping.Pinger{Timeout: 3 * time.Second}.Ping(wait.Context(t), addr)
	if !errors.Is(err, mcping.ErrBadAnswer) {
		t.Errorf("ping of a server sending a string of length -1 = %v, want ErrBadAnswer", err)
	}
}

func TestPingRefusesOversizedAnswer(t *testing.T) {
	huge := `{"description":"` + strings.Repeat("x", mcping.MaxReply) + `","players":{"online":1,"max":2}}`
	addr := rawServer(t, func(conn *mcnet.Conn) {
		_ = conn.WritePacket(pk.Marshal(0x00, pk.String(huge)))
	})
	_, err := mcping.Pinger{Timeout: 3 * time.Second}.Ping(wait.Context(t), addr)
	if !errors.Is(err, mcping.ErrBadAnswer) || !strings.Contains(err.Error(), "at most") {
		t.Errorf("ping of a server sending a %d-byte status = %v, want ErrBadAnswer naming the bound", len(huge), err)
	}
}

func TestPingRefusesStringLongerThanPacket(t *testing.T) {
	addr := rawServer(t, func(conn *mcnet.Conn) {
		_ = conn.WritePacket(pk.Marshal(0x00, pk.VarInt(1<<30), pk.Byte('{')))
	})
	_, err := mcping.Pinger{Timeout: 3 * time.Second}.Ping(wait.Context(t), addr)
	if !errors.Is(err, mcping.ErrBadAnswer) {
		t.Errorf("ping of a server claiming a 1 GiB status = %v, want ErrBadAnswer", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ping waited for its timeout: %v", err)
	}
}

// The status's protocol number is kept (an asleep world answers with it);
// one that is no 32-bit integer is dropped, never the players with it.
func TestParseStatusProtocol(t *testing.T) {
	for status, want := range map[string]int{
		`{"version":{"name":"1.21.4","protocol":769},"players":{"max":20,"online":2}}`:        769,
		`{"version":{"name":"1.21.4"},"players":{"max":20,"online":2}}`:                       0,
		`{"version":{"name":"1.21.4","protocol":"769"},"players":{"max":20,"online":2}}`:      0,
		`{"version":{"name":"1.21.4","protocol":7.5},"players":{"max":20,"online":2}}`:        0,
		`{"version":{"name":"1.21.4","protocol":4294967296},"players":{"max":20,"online":2}}`: 0,
		`{"version":{"name":"1.21.4","protocol":-1},"players":{"max":20,"online":2}}`:         -1,
	} {
		got, err := mcping.ParseStatus(status)
		if err != nil || got.Protocol != want || got.Online != 2 || got.Version != "1.21.4" {
			t.Errorf("ParseStatus(%s) = %+v, %v; want protocol %d, 2 online", status, got, err, want)
		}
	}
}
