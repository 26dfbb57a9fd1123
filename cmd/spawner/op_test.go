package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/rconserver"
)

// The RCON wired into the lifecycle tells a refused password as
// spawner.ErrRCONAuth, without the password, and runs the command otherwise.
func TestRCONRunner(t *testing.T) {
	t.Parallel()
	const password = "0123456789abcdef0123456789abcdef"
	rs := rconserver.Listen(t, "127.0.0.1:0", password)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	wrong := "fedcba9876543210fedcba9876543210"
	_, err := rconRunner.Run(ctx, rs.Addr(), wrong, "op Steve")
	if !errors.Is(err, spawner.ErrRCONAuth) {
		t.Fatalf("wrong password: err = %v, want ErrRCONAuth", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("the error shows the password: %v", err)
	}
	reply, err := rconRunner.Run(ctx, rs.Addr(), password, "op Steve")
	if err != nil || reply != "Made Steve a server operator" {
		t.Errorf("op = %q, %v", reply, err)
	}
	if got := rs.Commands(); len(got) != 1 || got[0] != "op Steve" {
		t.Errorf("commands run = %q, want [op Steve]", got)
	}
}
