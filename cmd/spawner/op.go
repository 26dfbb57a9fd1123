package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/rcon"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// rconRunner is /server op's RCON: rcon.Run, with a refused password told
// as spawner.ErrRCONAuth, which the Discord answer names.
var rconRunner lifecycle.RCON = lifecycle.RCONFunc(func(ctx context.Context, addr, password, command string) (string, error) {
	reply, err := rcon.Run(ctx, addr, password, command)
	if errors.Is(err, rcon.ErrAuth) {
		return "", fmt.Errorf("rcon %s: %w", addr, spawner.ErrRCONAuth)
	}
	return reply, err
})
