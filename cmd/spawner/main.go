// Command spawner is the Discord bot daemon that starts temporary game
// servers on AWS ECS Fargate, or in the host's Docker engine, for the
// members of one guild.
//
//	spawner [run]   the daemon (default)
//	spawner check   report every configuration problem, change nothing
//	spawner health  exit 0 when the daemon's /healthz answers (for container healthchecks)
//	spawner world   a world's backups in and out of a folder; the ECS companion (world sidecar|ready)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/joho/godotenv"
)

func main() {
	// A .env in the working directory is read first; variables already set win.
	if err := godotenv.Load(); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "spawner: read .env: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	os.Exit(exitCode(err))
}

// exitCode maps run's error to the process status: 0 ok, 2 bad usage or
// configuration, the code of an exitStatusError (`world sidecar`), 1 anything
// else.
func exitCode(err error) int {
	var ue usageError
	var es exitStatusError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &es):
		return es.code
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}
