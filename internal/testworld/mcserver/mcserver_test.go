package mcserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/Tnze/go-mc/bot"

	"github.com/mineral-contest/spawner/internal/mcping"
	"github.com/mineral-contest/spawner/internal/testworld/mcserver"
)

func ping(tb testing.TB, addr string) error {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := mcping.Pinger{Timeout: 3 * time.Second}.Ping(ctx, addr)
	return err
}

// TestAnswersGoMCBot checks the responder against go-mc's own client, which
// expects what a vanilla server sends.
func TestAnswersGoMCBot(t *testing.T) {
	srv := mcserver.Listen(t, "127.4.0.1:0")
	srv.SetPlayers(5, 12)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	status, delay, err := bot.PingAndListContext(ctx, srv.Addr())
	if err != nil {
		t.Fatalf("go-mc ping: %v", err)
	}
	var st struct {
		Version struct {
			Name     string `json:"name"`
			Protocol int    `json:"protocol"`
		} `json:"version"`
		Players struct {
			Max    int `json:"max"`
			Online int `json:"online"`
		} `json:"players"`
		Description json.RawMessage `json:"description"`
	}
	if err := json.Unmarshal(status, &st); err != nil {
		t.Fatalf("status %q: %v", status, err)
	}
	if st.Players.Online != 5 || st.Players.Max != 12 || st.Version.Name != mcserver.DefaultVersion ||
		st.Version.Protocol != mcserver.DefaultProtocol || len(st.Description) == 0 {
		t.Errorf("status = %s, want 5/12 players, version %s (%d), a description", status, mcserver.DefaultVersion, mcserver.DefaultProtocol)
	}
	if delay <= 0 {
		t.Errorf("go-mc measured latency %v", delay)
	}
}

func TestListenBindsAnyLoopbackIP(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "127.9.8.7", "127.255.0.254"} {
		srv := mcserver.Listen(t, ip+":0")
		if host := srv.Addr()[:len(ip)]; host != ip {
			t.Errorf("Listen(%s:0).Addr() = %s", ip, srv.Addr())
		}
		if err := ping(t, srv.Addr()); err != nil {
			t.Errorf("ping %s: %v", srv.Addr(), err)
		}
	}
}

func TestCloseDropsSilentConnections(t *testing.T) {
	srv := mcserver.Listen(t, "127.0.0.1:0")
	srv.SetSilent(true)
	done := make(chan error, 1)
	go func() {
		_, err := mcping.Pinger{Timeout: time.Minute}.Ping(context.Background(), srv.Addr())
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Conns() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the ping to reach the silent server")
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("ping of a silent server that closed succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ping still hanging 5s after the server closed")
	}
	srv.Close() // idempotent
	if err := ping(t, srv.Addr()); err == nil {
		t.Error("ping after Close succeeded")
	}
}

func TestSilentThenAnswering(t *testing.T) {
	srv := mcserver.Listen(t, "127.0.0.1:0")
	srv.SetSilent(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := (mcping.Pinger{Timeout: 100 * time.Millisecond}).Ping(ctx, srv.Addr()); err == nil {
		t.Fatal("silent server answered")
	}
	srv.SetSilent(false)
	if err := ping(t, srv.Addr()); err != nil {
		t.Errorf("ping once the server is no longer silent: %v", err)
	}
	if srv.Pings() != 1 {
		t.Errorf("Pings() = %d, want 1 (the silent try does not count)", srv.Pings())
	}
}

func TestFleetSharesOnePortAcrossIPs(t *testing.T) {
	fleet := mcserver.NewFleet(t, 0)
	if fleet.Port() != 0 {
		t.Fatalf("Port() = %d before any server", fleet.Port())
	}
	ips := []string{"127.3.0.1", "127.3.0.2", "127.3.1.200"}
	for i, ip := range ips {
		srv := fleet.Start(ip)
		if srv == nil {
			t.Fatalf("start %s failed", ip)
		}
		srv.SetPlayers(i, 10)
	}
	port := fleet.Port()
	if port == 0 {
		t.Fatal("Port() still 0 after Start")
	}
	for i, ip := range ips {
		srv := fleet.Get(ip)
		if srv == nil || srv.Addr() != ip+":"+strconv.Itoa(port) {
			t.Fatalf("Get(%s) = %v, want a server on %s:%d", ip, srv, ip, port)
		}
		if fleet.Start(ip) != srv {
			t.Errorf("Start(%s) again started another server", ip)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := mcping.Pinger{}.Ping(ctx, fmt.Sprintf("%s:%d", ip, port))
		cancel()
		if err != nil || got.Online != i {
			t.Errorf("ping %s:%d = %+v, %v; want %d online (its own server)", ip, port, got, err, i)
		}
	}
	if fleet.Get("127.3.9.9") != nil {
		t.Error("Get of an IP never started returned a server")
	}

	fleet.Stop(ips[0])
	fleet.Stop(ips[0]) // idempotent
	if fleet.Get(ips[0]) != nil {
		t.Error("Get after Stop returned a server")
	}
	if err := ping(t, fmt.Sprintf("%s:%d", ips[0], port)); err == nil {
		t.Error("ping of a stopped server succeeded")
	}
	if err := ping(t, fmt.Sprintf("%s:%d", ips[1], port)); err != nil {
		t.Errorf("stopping one server broke another: %v", err)
	}
	if fleet.Start(ips[0]) == nil {
		t.Fatal("restart after Stop failed")
	}
	if err := ping(t, fmt.Sprintf("%s:%d", ips[0], port)); err != nil {
		t.Errorf("ping of the restarted server: %v", err)
	}
}

func TestFleetOnAFixedPort(t *testing.T) {
	// Pick a port free on a fresh loopback IP, then give it to the fleet.
	probe := mcserver.Listen(t, "127.5.0.1:0")
	port := probe.Port()
	probe.Close()

	fleet := mcserver.NewFleet(t, port)
	if fleet.Port() != port {
		t.Fatalf("Port() = %d, want %d", fleet.Port(), port)
	}
	srv := fleet.Start("127.5.0.1")
	if srv == nil {
		t.Fatal("start failed")
	}
	if err := ping(t, srv.Addr()); err != nil || srv.Addr() != "127.5.0.1:"+strconv.Itoa(port) {
		t.Errorf("server on %s: ping %v", srv.Addr(), err)
	}
}

// recordTB records Errorf, to see Fleet.Start report a failure.
type recordTB struct {
	testing.TB
	errs chan string
}

func (r *recordTB) Errorf(format string, args ...any) { r.errs <- fmt.Sprintf(format, args...) }

func TestFleetStartReportsBindFailure(t *testing.T) {
	tb := &recordTB{TB: t, errs: make(chan string, 1)}
	fleet := mcserver.NewFleet(tb, 0)
	if srv := fleet.Start("192.0.2.1"); srv != nil { // TEST-NET-1: not on this machine
		t.Fatalf("Start on an address not on this machine returned %s", srv.Addr())
	}
	select {
	case msg := <-tb.errs:
		if msg == "" {
			t.Error("empty failure message")
		}
	default:
		t.Error("Start failed without marking the test failed")
	}
}
