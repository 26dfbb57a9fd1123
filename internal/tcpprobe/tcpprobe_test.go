package tcpprobe_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/tcpprobe"
)

func TestProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The kernel completes the handshake into the backlog: accepting is
	// the port being open, whether the game has called Accept or not.
	if err := tcpprobe.Probe(ctx, addr); err != nil {
		t.Errorf("probe of a listening port = %v, want nil", err)
	}
	got, err := tcpprobe.Pinger{}.Ping(ctx, addr)
	if err != nil || got.Online != 0 || got.Max != 0 {
		t.Errorf("ping of a listening port = %+v, %v; want up with no player count", got, err)
	}

	_ = ln.Close()
	err = tcpprobe.Probe(ctx, addr)
	if err == nil {
		t.Fatal("probe of a closed port succeeded")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("probe of a closed port waited for the timeout: %v", err)
	}
}

func TestProbeHonoursDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := tcpprobe.Probe(ctx, "127.0.0.1:1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("probe with an expired context = %v, want context.DeadlineExceeded", err)
	}
}
