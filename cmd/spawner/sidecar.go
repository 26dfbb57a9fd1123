package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mineral-contest/spawner/internal/backup"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// The ECS companion of a game with a world: container "world" of the
// game's task (deploy/terraform/games.tf), the bot's own image running
// `spawner world sidecar` as root, with the task's volume "world" at
// WORLD_PATH and the game's world path on the same volume. The game
// depends on the companion being HEALTHY (`spawner world ready`), so it
// starts on its world or not at all; at the stop ECS stops the game first,
// then sends the companion SIGTERM, and kills it stopTimeout (120 s) later.

// Exit statuses of `spawner world sidecar`, which the bot reads from the
// companion's container once the task stopped.
// 0 says the world was pulled, then pushed after SIGTERM.
const (
	// sidecarPushFailed: the world was pulled and the game may have run,
	// but its push failed or was cut: what was played since the newest
	// backup is lost; the older backups are untouched.
	sidecarPushFailed = 1
	// sidecarBadConfig: WORLD_S3_BUCKET, WORLD_ID or WORLD_PATH is missing
	// or malformed; nothing was pulled, the game never started.
	sidecarBadConfig = 2
	// sidecarPullFailed: the pull failed or was cut short by SIGTERM; the
	// game never started, nothing was pushed, the backups are untouched.
	sidecarPullFailed = 3
)

// sidecarPushTimeout bounds the push: ECS kills the companion 120 s after
// its SIGTERM (its stopTimeout, Fargate's longest); the push is cut a
// little before, so that its failure is told and its upload aborted.
const sidecarPushTimeout = 110 * time.Second

// readyMarkerName is the file, in the companion's own temporary folder
// (TMPDIR, else /tmp: never the shared volume, which the game sees), whose
// existence says the pull is done.
const readyMarkerName = "spawner-world-ready"

// exitStatusError is an error that ends the process with code.
type exitStatusError struct {
	code int
	error
}

func (e exitStatusError) Unwrap() error { return e.error }

// sidecarConfig is what the companion reads from its environment.
type sidecarConfig struct {
	worldID, dir, marker string
}

// readSidecarConfig reads WORLD_S3_BUCKET, WORLD_ID and WORLD_PATH and
// reports every problem at once, each naming its variable.
func readSidecarConfig(getenv func(string) string) (sidecarConfig, error) {
	c := sidecarConfig{worldID: getenv("WORLD_ID"), dir: getenv("WORLD_PATH"), marker: readyMarker(getenv)}
	var errs []error
	if getenv("WORLD_S3_BUCKET") == "" {
		errs = append(errs, errors.New("WORLD_S3_BUCKET: required, not set: the bucket of the worlds' backups"))
	}
	switch err := spawner.ValidWorldID(c.worldID); {
	case c.worldID == "":
		errs = append(errs, errors.New("WORLD_ID: required, not set: the id of the world, which the bot sets in the task's overrides"))
	case err != nil:
		errs = append(errs, fmt.Errorf("WORLD_ID: %w", err))
	}
	switch {
	case c.dir == "":
		errs = append(errs, errors.New("WORLD_PATH: required, not set: the folder of the task's world volume, like /world"))
	case !filepath.IsAbs(c.dir) || filepath.Clean(c.dir) == "/":
		errs = append(errs, fmt.Errorf("WORLD_PATH: must be an absolute folder other than /, like /world, got %q", c.dir))
	}
	return c, errors.Join(errs...)
}

// readyMarker is the path of the ready marker.
func readyMarker(getenv func(string) string) string {
	tmp := getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	return filepath.Join(tmp, readyMarkerName)
}

// worldSidecar is `spawner world sidecar`. It pulls the world's newest
// backup into WORLD_PATH, then marks itself ready and waits for ctx to end
// (SIGTERM or SIGINT), then pushes WORLD_PATH as a new backup (reason
// stop) without pruning, within sidecarPushTimeout, whatever other signal
// comes meanwhile. It never pushes after a pull that failed or did not
// finish, and never returns before ctx ends after a pull that succeeded.
// It logs plain text lines to stderr.
func worldSidecar(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	c, err := readSidecarConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "spawner: world sidecar: configuration:\n%v\n", err)
		return exitStatusError{sidecarBadConfig, err}
	}
	// A marker left by an earlier run would say ready before this pull.
	if err := os.Remove(c.marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Error("pull not begun: the ready marker cannot be reset; the game will not start", "marker", c.marker, "err", err)
		return exitStatusError{sidecarPullFailed, err}
	}
	store, err := worldStore(ctx, getenv)
	if err != nil {
		log.Error("pull not begun: the game will not start", "err", err)
		return exitStatusError{sidecarPullFailed, err}
	}
	k := &backup.Keeper{Store: store, Log: log}

	log.Info("pulling the world's newest backup", "world", c.worldID, "path", c.dir, "bucket", getenv("WORLD_S3_BUCKET"))
	start := time.Now()
	b, err := k.Pull(ctx, c.worldID, c.dir)
	if err != nil {
		log.Error("pull failed: the game will not start, nothing will be pushed, the backups are untouched", "err", err)
		return exitStatusError{sidecarPullFailed, err}
	}
	// worldReady only asks whether it exists: no one else needs to read it.
	if err := os.WriteFile(c.marker, []byte(b.ID+"\n"), 0o600); err != nil {
		log.Error("pulled, but the ready marker cannot be written: the game will not start, nothing will be pushed", "marker", c.marker, "err", err)
		return exitStatusError{sidecarPullFailed, err}
	}
	if b.ID == "" {
		log.Info("ready: a new world, empty; waiting for the stop to push it", "seconds", seconds(time.Since(start)))
	} else {
		log.Info("ready: pulled; waiting for the stop to push it", "backup", b.ID, "content_bytes", b.ContentSize, "seconds", seconds(time.Since(start)))
	}

	<-ctx.Done()
	log.Info("stop asked: pushing the world", "timeout", sidecarPushTimeout.String())
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sidecarPushTimeout)
	defer cancel()
	start = time.Now()
	pushed, err := k.PushWithoutPrune(pctx, c.worldID, c.dir)
	if err != nil {
		if pctx.Err() != nil {
			err = fmt.Errorf("cut after %v: %w", sidecarPushTimeout, err)
		}
		log.Error("push failed: the world was not saved; its older backups are untouched", "seconds", seconds(time.Since(start)), "err", err)
		return exitStatusError{sidecarPushFailed, err}
	}
	log.Info("pushed: the world is saved", "backup", pushed.ID, "bytes", pushed.Size, "content_bytes", pushed.ContentSize,
		"sha256", pushed.SHA256, "seconds", seconds(time.Since(start)))
	return nil
}

// seconds is d in seconds, to the millisecond, for the logs.
func seconds(d time.Duration) float64 { return d.Round(time.Millisecond).Seconds() }

// worldReady is `spawner world ready`, the companion's health check: nil
// once the pull is done, an error (exit 1) before. It reads one file's
// metadata and nothing else.
func worldReady(getenv func(string) string, stderr io.Writer) error {
	if _, err := os.Stat(readyMarker(getenv)); err != nil {
		fmt.Fprintln(stderr, "spawner: world not ready: the pull is not done")
		return errors.New("world not ready")
	}
	return nil
}
