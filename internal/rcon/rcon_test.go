package rcon_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/rcon"
	"github.com/mineral-contest/spawner/internal/testworld/rconserver"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

const password = "s3cret-Hunter2"

func TestRunOp(t *testing.T) {
	srv := rconserver.Listen(t, "127.0.0.1:0", password)
	reply, err := rcon.Run(wait.Context(t), srv.Addr(), password, "op Steve_42")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if reply != "Made Steve_42 a server operator" {
		t.Errorf("reply = %q, want the server's confirmation", reply)
	}
	if got := srv.Commands(); !slices.Equal(got, []string{"op Steve_42"}) {
		t.Errorf("server ran %q, want exactly [op Steve_42]", got)
	}
}

func TestRunWrongPassword(t *testing.T) {
	srv := rconserver.Listen(t, "127.0.0.1:0", password)
	_, err := rcon.Run(wait.Context(t), srv.Addr(), "not-the-password", "op Steve")
	if !errors.Is(err, rcon.ErrAuth) {
		t.Fatalf("run with a wrong password = %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("the error shows the password: %v", err)
	}
	if n := len(srv.Commands()); n != 0 {
		t.Errorf("server ran %d commands after a refused login", n)
	}
	if srv.FailedLogins() != 1 || srv.Logins() != 0 {
		t.Errorf("logins = %d accepted, %d refused; want 0, 1", srv.Logins(), srv.FailedLogins())
	}
}

func TestRunClosedPort(t *testing.T) {
	srv := rconserver.Listen(t, "127.0.0.1:0", password)
	addr := srv.Addr()
	srv.Close()
	_, err := rcon.Run(wait.Context(t), addr, password, "op Steve")
	if err == nil || errors.Is(err, rcon.ErrAuth) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run against a closed port = %v, want a dial error", err)
	}
}

func TestRunSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	accepted := make(chan net.Conn, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if c, err := ln.Accept(); err == nil {
			accepted <- c // hold it open, say nothing
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		select {
		case c := <-accepted:
			_ = c.Close()
		default:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = rcon.Run(ctx, ln.Addr().String(), password, "op Steve")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run against a silent server = %v, want context.DeadlineExceeded", err)
	}
}

func TestRunHostileServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// A packet length of -1, then of 2 GiB.
			_, _ = c.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F})
			_ = c.Close()
		}
	}()
	_, err = rcon.Run(wait.Context(t), ln.Addr().String(), password, "op Steve")
	if err == nil || errors.Is(err, rcon.ErrAuth) {
		t.Errorf("run against a server sending a negative length = %v, want an error other than ErrAuth", err)
	}
}
