package main

// What worlds hold (worlds.Content), over the adapters: under Docker a
// volume per world (internal/docker) backed up into SPAWNER_DATA_DIR/backups
// or WORLD_S3_BUCKET (internal/backup); under ECS the world's backups in
// WORLD_S3_BUCKET alone, which the task's companion container pulls and
// pushes (sidecar.go). Archives go from one adapter to the other through
// pipes, never whole in memory.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/mineral-contest/spawner/internal/backup"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/metrics"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/web"
)

// worldParts are what the daemon needs for worlds, built from the
// configuration by newWorldContent.
type worldParts struct {
	// content is the lifecycle's WorldContent; nil where games with a
	// world cannot run (ECS without WORLD_S3_BUCKET).
	content worlds.Content
	// backups serves the downloads of the links content makes
	// (web.HandlerOptions.Backups); nil when the links are not the bot's
	// pages' (presigned S3 links, or none).
	backups web.BackupOpener
}

// newWorldContent builds where worlds' content and backups are kept:
//
//   - Docker: a volume per world; backups in WORLD_S3_BUCKET when set
//     (downloads are presigned S3 links), else in SPAWNER_DATA_DIR/backups
//     (downloads are signed links to the bot's pages, which need PUBLIC_URL
//     and HTTP_ADDR; without them /world download is refused).
//   - ECS: backups in WORLD_S3_BUCKET, pulled and pushed by the tasks'
//     companion. Without the bucket, no content: games with a world are
//     refused at /game add (ecsGames) and this is logged once here.
//
// It dials nothing. The local backups need no recovery at start: an
// unfinished backup is a temporary file, never listed, that the next
// backup of its world sweeps (backup.Local.Sweep); restores under Docker
// fill new volumes, never a folder (backup.Recover is for folders).
func newWorldContent(ctx context.Context, cfg *config.Config, rt *docker.Runtime, tasks *ecs.Tasks, met *metrics.Metrics, log *slog.Logger) (worldParts, error) {
	keeper := func(store backup.Store) *backup.Keeper {
		return &backup.Keeper{Store: store, Keep: cfg.WorldBackupsKeep, Log: log}
	}
	if cfg.Runtime == config.RuntimeECS {
		if cfg.WorldBucket == "" {
			log.Info("WORLD_S3_BUCKET is not set: games with a world cannot run on ECS, and /game add refuses them")
			return worldParts{}, nil
		}
		store, err := worldBucket(ctx, cfg, met)
		if err != nil {
			return worldParts{}, fmt.Errorf("WORLD_S3_BUCKET: %w", err)
		}
		c := &bucketContent{keeper: keeper(store), bucket: store, poll: cfg.PollInterval, stopWait: taskStopWait, log: log}
		if tasks != nil {
			c.tasks = tasks
		}
		return worldParts{content: c}, nil
	}
	if rt == nil {
		return worldParts{}, errors.New("worlds under Docker: no Docker runtime")
	}
	if cfg.WorldBucket != "" {
		store, err := worldBucket(ctx, cfg, met)
		if err != nil {
			return worldParts{}, fmt.Errorf("WORLD_S3_BUCKET: %w", err)
		}
		return worldParts{content: &volumeContent{rt: rt, keeper: keeper(store), link: s3Link(store), log: log}}, nil
	}
	store := backup.NewLocal(filepath.Join(cfg.DataDir, "backups"))
	k := keeper(store)
	if !webLinks(cfg) {
		log.Info("PUBLIC_URL or HTTP_ADDR is not set: /world download cannot give links to backups")
		return worldParts{content: &volumeContent{rt: rt, keeper: k, link: noLink, log: log}}, nil
	}
	link := pageLink(k, web.NewDownloads(newSigner(cfg), cfg.PublicURL))
	return worldParts{content: &volumeContent{rt: rt, keeper: k, link: link, log: log}, backups: store}, nil
}

// linker makes the download link of a backup (worlds.Content.Link).
type linker func(ctx context.Context, worldID, backupID string) (string, time.Time, error)

// noLink refuses every download: no link can be made.
func noLink(context.Context, string, string) (string, time.Time, error) {
	return "", time.Time{}, &spawner.Refusal{Code: spawner.RefusedNoDownload}
}

// pageLink makes signed links to the bot's pages (web.Downloads), which
// stream the archive from the keeper's store, for backups that exist.
func pageLink(k *backup.Keeper, d *web.Downloads) linker {
	return func(ctx context.Context, worldID, backupID string) (string, time.Time, error) {
		if err := listed(ctx, k, worldID, backupID); err != nil {
			return "", time.Time{}, err
		}
		url, expires := d.DownloadURL(worldID, backupID)
		return url, expires, nil
	}
}

// s3Link makes presigned links of the bucket, which work for
// backup.LinkLife.
func s3Link(store *backup.S3) linker {
	return func(ctx context.Context, worldID, backupID string) (string, time.Time, error) {
		expires := time.Now().Add(backup.LinkLife)
		url, err := store.Link(ctx, worldID, backupID, worldID+"-"+backupID+".tar.gz")
		if err != nil {
			return "", time.Time{}, fmt.Errorf("link to backup %s of world %s: %w", backupID, worldID, err)
		}
		return url, expires, nil
	}
}

// listed returns nil when the world has the backup, else an error
// wrapping spawner.ErrNotFound.
func listed(ctx context.Context, k *backup.Keeper, worldID, backupID string) error {
	list, err := k.List(ctx, worldID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(list, func(b spawner.Backup) bool { return b.ID == backupID }) {
		return fmt.Errorf("backup %s of world %s: %w", backupID, worldID, spawner.ErrNotFound)
	}
	return nil
}

// pruneBackups prunes the world's backups down to WORLD_BACKUPS_KEEP
// after a new one, sparing those named. A prune that fails is logged, not
// returned: the backup is made, and the next one prunes again.
func pruneBackups(ctx context.Context, k *backup.Keeper, log *slog.Logger, worldID string, spare ...string) {
	if err := k.Prune(ctx, worldID, spare...); err != nil {
		log.Warn("world backed up, but its older backups could not be pruned", "world", worldID, "err", err)
	}
}

// backUp writes a backup of the world from src and, unless it is the one
// a restore takes first, prunes the older ones. That one is left for the
// restore to prune once done (sparing it), so that the backup being
// restored, were it the oldest kept, is not pruned before it is read.
func backUp(ctx context.Context, k *backup.Keeper, log *slog.Logger, worldID string, why spawner.BackupReason, src backup.Source) (spawner.Backup, error) {
	b, err := k.Write(ctx, worldID, why, src)
	if err != nil {
		return spawner.Backup{}, err
	}
	if why != spawner.BackupBeforeRestore {
		pruneBackups(ctx, k, log, worldID)
	}
	return b, nil
}

// errReaderStopped is what the writer of a pipe meets when its reader
// stopped before the end.
var errReaderStopped = errors.New("the reader of the archive stopped before its end")

// piped is the Source of the tar stream produce writes, in a goroutine
// that the Source always waits for: the backup is complete only when both
// the reading and produce succeeded, so a producer that fails at its very
// end (a checksum checked once all was read) fails the backup.
func piped(produce func(ctx context.Context, w io.Writer) error) backup.Source {
	return func(ctx context.Context, a *backup.Archive) error {
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := produce(ctx, pw)
			_ = pw.CloseWithError(err) // nil: the reader sees the end; never fails
			done <- err
		}()
		err := backup.TarStream(pr, "")(ctx, a)
		if err == nil {
			// What follows the archive's end (padding) is not content,
			// but produce must get to its own end.
			_, err = io.Copy(io.Discard, pr)
		}
		_ = pr.CloseWithError(errReaderStopped) // unblocks produce; never fails
		perr := <-done
		if perr != nil && (err == nil || errors.Is(err, perr)) {
			return perr // produce failed first: the reading only saw the stream cut
		}
		return err // nil, or the reading failed first: produce's error follows from it
	}
}

// volumeContent is worlds.Content under Docker: a world's content is a
// volume of the engine; its backups are tar streams of that volume.
type volumeContent struct {
	rt     worldVolumes
	keeper *backup.Keeper
	link   linker
	log    *slog.Logger
}

// worldVolumes is what volumeContent needs of the Docker runtime.
type worldVolumes interface {
	NewWorldStorage(ctx context.Context, worldID string) (string, error)
	BackupWorld(ctx context.Context, storage string, w io.Writer) (int64, error)
	RestoreWorld(ctx context.Context, worldID string, rd io.Reader) (string, error)
	DeleteWorldStorage(ctx context.Context, storage string) error
	PruneWorldStorage(ctx context.Context, keep map[string]bool) ([]string, error)
}

var (
	_ worlds.Content = (*volumeContent)(nil)
	_ worldVolumes   = (*docker.Runtime)(nil)
)

// NewStorage makes a new volume for the world.
func (d *volumeContent) NewStorage(ctx context.Context, worldID string) (string, error) {
	return d.rt.NewWorldStorage(ctx, worldID)
}

// Backup streams the world's volume into a new backup.
func (d *volumeContent) Backup(ctx context.Context, w spawner.World, why spawner.BackupReason) (spawner.Backup, error) {
	if w.Storage == "" {
		return spawner.Backup{}, fmt.Errorf("back up world %s: it has no storage", w.ID)
	}
	return backUp(ctx, d.keeper, d.log, w.ID, why, piped(func(ctx context.Context, out io.Writer) error {
		_, err := d.rt.BackupWorld(ctx, w.Storage, out)
		return err
	}))
}

// Saved backs the world's volume up with reason stop: the server's
// container has exited, so the volume holds what the game saved as it
// quit.
func (d *volumeContent) Saved(ctx context.Context, w spawner.World, _ time.Time) (spawner.Backup, error) {
	return d.Backup(ctx, w, spawner.BackupStop)
}

// Backups lists the world's backups, newest first.
func (d *volumeContent) Backups(ctx context.Context, worldID string) ([]spawner.Backup, error) {
	return d.keeper.List(ctx, worldID)
}

// Restore fills a new volume with the backup's content, streamed and
// checked (its checksum last: a volume filled from an archive that does
// not match it is removed), then prunes the backups, sparing spare.
// w.Storage is left as it is.
func (d *volumeContent) Restore(ctx context.Context, w spawner.World, backupID, spare string) (string, error) {
	if err := listed(ctx, d.keeper, w.ID, backupID); err != nil {
		return "", fmt.Errorf("restore world %s: %w", w.ID, err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := d.keeper.RestoreTar(ctx, w.ID, backupID, pw)
		_ = pw.CloseWithError(err) // nil: the engine reads the end; never fails
		done <- err
	}()
	storage, err := d.rt.RestoreWorld(ctx, w.ID, pr)
	_ = pr.CloseWithError(errReaderStopped) // unblocks RestoreTar; never fails
	rerr := <-done
	switch {
	case err != nil:
		// When RestoreTar failed first (a checksum that does not match),
		// err says so: the engine read the stream cut with its error.
		return "", fmt.Errorf("restore world %s from backup %s: %w", w.ID, backupID, err)
	case rerr != nil:
		// RestoreWorld reads to the end, so this cannot happen; were it
		// to, the new volume is not trusted.
		return "", errors.Join(fmt.Errorf("restore world %s from backup %s: %w", w.ID, backupID, rerr), d.rt.DeleteWorldStorage(ctx, storage))
	}
	pruneBackups(ctx, d.keeper, d.log, w.ID, spare)
	return storage, nil
}

// DeleteStorage removes a volume no record names; "" is no volume.
func (d *volumeContent) DeleteStorage(ctx context.Context, storage string) error {
	if storage == "" {
		return nil
	}
	return d.rt.DeleteWorldStorage(ctx, storage)
}

// DeleteBackups removes every backup of the world.
func (d *volumeContent) DeleteBackups(ctx context.Context, worldID string) error {
	return d.keeper.DeleteWorld(ctx, worldID)
}

// Link is a link to the backup's archive for 15 minutes: a signed link
// to the bot's pages, a presigned S3 link, or a refusal.
func (d *volumeContent) Link(ctx context.Context, worldID, backupID string) (string, time.Time, error) {
	return d.link(ctx, worldID, backupID)
}

// PruneStorage removes the deployment's world volumes not in keep.
func (d *volumeContent) PruneStorage(ctx context.Context, keep map[string]bool) ([]string, error) {
	return d.rt.PruneWorldStorage(ctx, keep)
}

// bucketContent is worlds.Content under ECS: between its servers, a world's
// content is its newest backup in WORLD_S3_BUCKET, which the task's
// companion container pulls before the game starts and pushes once the
// game exited. The bot never reaches a running server's content.
type bucketContent struct {
	keeper *backup.Keeper
	bucket *backup.S3
	// tasks tells when the task of a world's server has stopped, and how
	// its companion fared; nil: Saved reads the bucket at once.
	tasks taskStops
	// poll is how often Saved looks at a stopping task (GAMESERVER_POLL_INTERVAL),
	// stopWait how long at most (taskStopWait).
	poll, stopWait time.Duration
	log            *slog.Logger
}

var _ worlds.Content = (*bucketContent)(nil)

// taskStops is what bucketContent needs of ECS to know when the task of a
// world's server has stopped: its companion pushes the world as the task
// stops, after the game exited, well after StopTask returned.
type taskStops interface {
	StoppingTask(ctx context.Context, creation string) (spawner.Task, bool, error)
	DescribeTasks(ctx context.Context, arns []string) ([]spawner.Task, error)
}

var _ taskStops = (*ecs.Tasks)(nil)

// taskStopWait bounds the wait for the task of a world's server to stop:
// ECS gives the game its stop timeout (120 s at most), then the companion
// its own while it pushes (120 s), and Fargate takes a while more to
// release the task.
const taskStopWait = 5 * time.Minute

// NewStorage makes nothing: a world's content is its backups.
func (e *bucketContent) NewStorage(context.Context, string) (string, error) { return "", nil }

// Backup of a world no server plays is a copy of its newest backup with
// the reason why (the content it would be pulled with), streamed and
// checked; of a world that has none (it never played), an empty backup,
// which is what its next server would start on. A running world's
// content is in its task: an error wrapping worlds.ErrLive.
func (e *bucketContent) Backup(ctx context.Context, w spawner.World, why spawner.BackupReason) (spawner.Backup, error) {
	if w.State == spawner.WorldRunning {
		return spawner.Backup{}, fmt.Errorf("back up world %s: %w: it is saved when its server stops", w.ID, worlds.ErrLive)
	}
	newest, err := e.keeper.Newest(ctx, w.ID)
	switch {
	case errors.Is(err, spawner.ErrNotFound):
		return backUp(ctx, e.keeper, e.log, w.ID, why, func(context.Context, *backup.Archive) error { return nil })
	case err != nil:
		return spawner.Backup{}, fmt.Errorf("back up world %s: %w", w.ID, err)
	}
	return backUp(ctx, e.keeper, e.log, w.ID, why, e.copyOf(w.ID, newest.ID))
}

// copyOf is the content of a backup of the world, read back and checked.
func (e *bucketContent) copyOf(worldID, backupID string) backup.Source {
	return piped(func(ctx context.Context, out io.Writer) error {
		return e.keeper.RestoreTar(ctx, worldID, backupID, out)
	})
}

// Saved waits until the task of the world's server (w.Server) has
// stopped, then returns the backup its companion pushed once the game had
// exited: the newest, begun at or after since; then prunes the older ones
// (the companion may not delete). A companion that exited with a failure,
// a task that does not stop within taskStopWait, or no such backup is an
// error saying why: the older backups are as they were.
func (e *bucketContent) Saved(ctx context.Context, w spawner.World, since time.Time) (spawner.Backup, error) {
	task, err := e.stopped(ctx, w.Server)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("saved world %s: %w", w.ID, err)
	}
	if task.WorldSaveFailed {
		return spawner.Backup{}, fmt.Errorf("world %s: not saved: %s (its log says why); the older backups are untouched", w.ID, task.StoppedReason)
	}
	list, err := e.keeper.List(ctx, w.ID)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("saved world %s: %w", w.ID, err)
	}
	if len(list) == 0 || list[0].Time.Before(since) {
		return spawner.Backup{}, fmt.Errorf("world %s: the save of its server did not arrive: no backup begun since %s came from the task's %q container (its log says why); the older backups are untouched",
			w.ID, since.UTC().Format(time.RFC3339), ecs.WorldContainer)
	}
	pruneBackups(ctx, e.keeper, e.log, w.ID)
	return list[0], nil
}

// stopped waits until the task of server (a creation id) has stopped, so
// that what its companion pushed as it stopped can be read, and returns
// it. It returns the zero Task when there is none to wait for: no runtime
// to ask, no server, or a task ECS no longer lists (stopped long ago). It
// looks every e.poll, for e.stopWait at most; a look that fails is tried
// again until then.
func (e *bucketContent) stopped(ctx context.Context, server string) (spawner.Task, error) {
	if e.tasks == nil || server == "" {
		return spawner.Task{}, nil
	}
	wctx, cancel := context.WithTimeout(ctx, e.stopWait)
	defer cancel()
	tick := time.NewTicker(e.poll)
	defer tick.Stop()
	var task spawner.Task
	for logged := false; ; {
		t, found, err := e.look(wctx, server, task.ID)
		switch {
		case err == nil && !found:
			return spawner.Task{}, nil
		case err == nil && t.Status == spawner.TaskStopped:
			return t, nil
		case err == nil:
			task = t
		case !logged && wctx.Err() == nil:
			e.log.Warn("look at the stopping task of a world's server; trying again", "server", server, "err", err)
			logged = true
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return spawner.Task{}, ctx.Err()
			}
			return spawner.Task{}, fmt.Errorf("its server's task %s did not stop within %v", task.ID, e.stopWait)
		case <-tick.C:
		}
	}
}

// look describes the task arn, or, before its ARN is known, finds the
// task of server among those asked to stop.
func (e *bucketContent) look(ctx context.Context, server, arn string) (spawner.Task, bool, error) {
	if arn == "" {
		return e.tasks.StoppingTask(ctx, server)
	}
	tasks, err := e.tasks.DescribeTasks(ctx, []string{arn})
	if err != nil || len(tasks) == 0 {
		return spawner.Task{}, false, err
	}
	return tasks[0], true, nil
}

// Backups lists the world's backups, newest first.
func (e *bucketContent) Backups(ctx context.Context, worldID string) ([]spawner.Backup, error) {
	return e.keeper.List(ctx, worldID)
}

// Restore makes a copy of the backup the world's newest (reason
// restored), so the next server pulls it; then prunes the backups,
// sparing spare. Its storage stays "".
func (e *bucketContent) Restore(ctx context.Context, w spawner.World, backupID, spare string) (string, error) {
	if _, err := e.keeper.Write(ctx, w.ID, spawner.BackupRestored, e.copyOf(w.ID, backupID)); err != nil {
		return "", fmt.Errorf("restore world %s from backup %s: %w", w.ID, backupID, err)
	}
	pruneBackups(ctx, e.keeper, e.log, w.ID, spare)
	return "", nil
}

// DeleteStorage does nothing: there is no storage.
func (e *bucketContent) DeleteStorage(context.Context, string) error { return nil }

// DeleteBackups removes every backup of the world.
func (e *bucketContent) DeleteBackups(ctx context.Context, worldID string) error {
	return e.keeper.DeleteWorld(ctx, worldID)
}

// Link is a presigned link of the bucket, for 15 minutes.
func (e *bucketContent) Link(ctx context.Context, worldID, backupID string) (string, time.Time, error) {
	return s3Link(e.bucket)(ctx, worldID, backupID)
}

// PruneStorage does nothing: there is no storage.
func (e *bucketContent) PruneStorage(context.Context, map[string]bool) ([]string, error) {
	return nil, nil
}
