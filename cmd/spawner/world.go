package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mineral-contest/spawner/internal/backup"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/metrics"
)

const worldUsage = `usage: spawner world pull|push <world id> <folder>
       spawner world sidecar|ready
  pull     fill the empty <folder> with the world's newest backup (nothing for a new world)
  push     back <folder> up as the world's newest backup, then keep WORLD_BACKUPS_KEEP
  sidecar  the ECS companion: pull WORLD_ID into WORLD_PATH, mark ready, wait for SIGTERM, push (no prune)
  ready    exit 0 once the companion's pull is done, 1 before (its health check)
Backups are in WORLD_S3_BUCKET (AWS_ENDPOINT_URL_S3 honoured), else in SPAWNER_DATA_DIR/backups.`

// worldCommand is `spawner world pull|push|sidecar|ready`: a world's
// backups moved in and out of a folder, by hand or by the companion
// container of a game with a world (sidecar.go).
func worldCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 1 && args[0] == "sidecar" {
		return worldSidecar(ctx, getenv, stderr)
	}
	if len(args) == 1 && args[0] == "ready" {
		return worldReady(getenv, stderr)
	}
	if len(args) != 3 || (args[0] != "pull" && args[0] != "push") {
		fmt.Fprintln(stderr, worldUsage)
		return usageError{errors.New("world: want pull or push, a world id and a folder; or sidecar; or ready")}
	}
	keep, err := worldKeep(getenv("WORLD_BACKUPS_KEEP"))
	if err != nil {
		fmt.Fprintf(stderr, "spawner: %v\n", err)
		return usageError{err}
	}
	store, err := worldStore(ctx, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "spawner: %v\n", err)
		return err
	}
	k := &backup.Keeper{Store: store, Keep: keep, Log: slog.New(slog.NewTextHandler(stderr, nil))}
	op, worldID, dir := args[0], args[1], args[2]
	if op == "pull" {
		b, err := k.Pull(ctx, worldID, dir)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "spawner: %v\n", err)
			return err
		case b.ID == "":
			fmt.Fprintf(stdout, "world %s has no backup yet: %s stays empty\n", worldID, dir)
		default:
			fmt.Fprintf(stdout, "world %s: backup %s of %s pulled into %s (%d bytes)\n", worldID, b.ID, b.Time.Format("2006-01-02 15:04:05Z"), dir, b.ContentSize)
		}
		return nil
	}
	b, err := k.Push(ctx, worldID, dir)
	if err != nil && !errors.Is(err, backup.ErrPrune) {
		fmt.Fprintf(stderr, "spawner: %v\n", err)
		return err
	}
	if err != nil {
		fmt.Fprintf(stderr, "spawner: %v\n", err) // the backup is there: only a warning
	}
	fmt.Fprintf(stdout, "world %s: %s pushed as backup %s (%d bytes, sha256 %s)\n", worldID, dir, b.ID, b.Size, b.SHA256)
	return nil
}

// worldKeep reads WORLD_BACKUPS_KEEP: 1 to 100, 5 when unset.
func worldKeep(v string) (int, error) {
	if v == "" {
		return backup.DefaultKeep, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, fmt.Errorf("WORLD_BACKUPS_KEEP=%q: want a number of backups from 1 to 100", v)
	}
	return n, nil
}

// worldStore is the S3 bucket WORLD_S3_BUCKET when set, else the folder
// SPAWNER_DATA_DIR/backups.
func worldStore(ctx context.Context, getenv func(string) string) (backup.Store, error) {
	bucket := getenv("WORLD_S3_BUCKET")
	if bucket == "" {
		dataDir := getenv("SPAWNER_DATA_DIR")
		if dataDir == "" {
			dataDir = config.DefaultDataDir
		}
		return backup.NewLocal(filepath.Join(dataDir, "backups")), nil
	}
	var opts []func(*awsconfig.LoadOptions) error
	if region := getenv("AWS_REGION"); region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	endpoint := getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = getenv("AWS_ENDPOINT_URL")
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if endpoint != "" {
			// A custom endpoint (MinIO, a test's fake) serves buckets by path.
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	return backup.NewS3(client, bucket, backup.S3Options{})
}

// worldBucket is the store of the worlds' backups in WORLD_S3_BUCKET,
// through the bot's AWS configuration (AWS_ENDPOINT_URL_S3, else
// AWS_ENDPOINT_URL, honoured, by path). Nothing is dialled.
func worldBucket(ctx context.Context, cfg *config.Config, met *metrics.Metrics) (*backup.S3, error) {
	awsCfg, err := loadAWS(ctx, cfg, met)
	if err != nil {
		return nil, err
	}
	endpoint := awsEndpoint(cfg, cfg.S3Endpoint)
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if endpoint != nil {
			o.BaseEndpoint = endpoint
			o.UsePathStyle = true
		}
	})
	return backup.NewS3(client, cfg.WorldBucket, backup.S3Options{})
}
