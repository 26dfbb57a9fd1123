// Package backup writes, lists, restores and prunes the backups of worlds.
//
// A backup is a tar.gz whose entries are the content of the world's path,
// relative to it: regular files, folders and symbolic links (kept as links,
// never followed), with their modes and modification times. The core works
// on tar streams, so a folder (Dir), a Docker volume (the tar stream of the
// Docker API's CopyFromContainer, TarStream) or an ECS companion container
// (Pull, Push) are backed up and restored the same way. Nothing is ever held
// whole in memory: an archive is streamed through gzip and SHA-256 into a
// Store, and streamed back out of it.
//
// A Store keeps the archives: Local in a folder (SPAWNER_DATA_DIR/backups),
// S3 in a bucket (WORLD_S3_BUCKET). Either way, a backup is listed only once
// its archive is complete, so a backup cut short by an error or a SIGKILL is
// never listed and never replaces an older one.
package backup

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Store keeps the archives of backups, by world. Every method is safe to
// call from several goroutines; the backups of one world are written one at
// a time (the lifecycle never runs two backups or restores of a world at
// once).
type Store interface {
	// Create begins a new backup of the world, for the caller to write its
	// archive into and then Commit or Abort. Nothing is listed before Commit.
	Create(ctx context.Context, worldID, backupID string) (Upload, error)
	// List returns the world's complete backups, newest first; none (and
	// no error) for a world that has none.
	List(ctx context.Context, worldID string) ([]spawner.Backup, error)
	// Open streams the archive of a backup, with its description; an error
	// wrapping spawner.ErrNotFound when there is no such backup.
	Open(ctx context.Context, worldID, backupID string) (io.ReadCloser, spawner.Backup, error)
	// Delete removes a backup: first from the list, then its archive.
	// Deleting a backup that is not there is not an error.
	Delete(ctx context.Context, worldID, backupID string) error
	// Sweep removes what backups of the world begun before the given time
	// left behind without completing (a SIGKILL, a full disk): temporary
	// files, unlisted archives, unfinished uploads. Later ones may still be
	// under way and are left alone.
	Sweep(ctx context.Context, worldID string, before time.Time) error
}

// Upload is one backup being written. Abort may be called at any time,
// also after Commit (then it does nothing), so `defer up.Abort()` is the
// way to never leave one behind.
type Upload interface {
	io.Writer
	// Commit completes the archive and lists the backup b describes.
	Commit(ctx context.Context, b spawner.Backup) error
	// Abort drops what was written; nothing of it is ever listed.
	Abort() error
}

// ErrChecksum is the cause of a restore refused because the archive read
// back is not the one that was written: its SHA-256 or size differ from
// what its backup recorded.
var ErrChecksum = errors.New("the archive does not match its checksum")

// ErrUnsafeEntry is the cause of a backup or restore refused because an
// entry of the archive would land outside the world's folder (an absolute
// path, a "..", a path through a symbolic link) or is not a file, a folder
// or a link.
var ErrUnsafeEntry = errors.New("unsafe archive entry")

// ErrTooBig is the cause of a restore refused because the content exceeds
// what its backup recorded or the Keeper's limits.
var ErrTooBig = errors.New("the archive is larger than allowed")

// ErrPrune is the cause of an error Backup returns when the backup was
// written and listed (the returned spawner.Backup is valid) but older
// backups could not be removed: callers count the backup as done.
var ErrPrune = errors.New("the backup was written but older backups could not be pruned")

// Default limits of a Keeper.
const (
	DefaultKeep       = 5
	DefaultMaxContent = 512 << 30 // bytes a restore may write at most
	DefaultMaxEntries = 2_000_000 // entries a restore may create at most
	// SweepGrace is how old what a backup left behind must be before Prune
	// sweeps it: a backup of the same world may be under way in another
	// process (the ECS companion) and must not lose its archive.
	SweepGrace = time.Hour
)

// A Keeper writes the backups of worlds into one Store, restores them, and
// keeps the newest Keep of each. The zero value of every field but Store is
// usable.
type Keeper struct {
	Store Store
	// Keep is how many backups of a world Backup keeps, newest first
	// (WORLD_BACKUPS_KEEP); 0 means DefaultKeep.
	Keep int
	// MaxContent and MaxEntries bound what one restore writes; 0 means the
	// defaults above. A restore also refuses content larger than its backup
	// recorded.
	MaxContent int64
	MaxEntries int
	// Level is the gzip level; 0 means gzip.DefaultCompression.
	Level int
	Now   func() time.Time // time.Now when nil
	Log   *slog.Logger     // nothing is logged when nil

	// beforeSwapIn, when set, runs between the two renames of a restore,
	// when the old content is aside and the new one not in yet: the crash
	// test blocks there to SIGKILL the process at the worst moment.
	beforeSwapIn func()
}

func (k *Keeper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Keeper) keep() int {
	if k.Keep > 0 {
		return k.Keep
	}
	return DefaultKeep
}

func (k *Keeper) log() *slog.Logger {
	if k.Log != nil {
		return k.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Backup writes a new backup of the world from src, then prunes the
// world's backups down to Keep. A backup that fails removes nothing: the
// error says why, and whatever was written is dropped. When only the prune
// fails, the error wraps ErrPrune and the returned backup is valid.
func (k *Keeper) Backup(ctx context.Context, worldID string, why spawner.BackupReason, src Source) (spawner.Backup, error) {
	b, err := k.Write(ctx, worldID, why, src)
	if err != nil {
		return spawner.Backup{}, err
	}
	if err := k.Prune(ctx, worldID); err != nil {
		return b, fmt.Errorf("%w: %w", ErrPrune, err)
	}
	return b, nil
}

// Write writes a new backup of the world from src and lists it once its
// archive is complete; unlike Backup, it removes nothing. On error nothing
// is listed and the Store holds nothing more than before.
func (k *Keeper) Write(ctx context.Context, worldID string, why spawner.BackupReason, src Source) (spawner.Backup, error) {
	if err := spawner.ValidWorldID(worldID); err != nil {
		return spawner.Backup{}, err
	}
	if !why.Known() {
		return spawner.Backup{}, fmt.Errorf("backup of world %s: unknown reason %q", worldID, why)
	}
	start := k.now().UTC()
	b := spawner.Backup{ID: newBackupID(start), WorldID: worldID, Time: start, Reason: why}
	up, err := k.Store.Create(ctx, worldID, b.ID)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("backup of world %s: %w", worldID, err)
	}
	defer up.Abort()
	sum := &summer{w: up, h: sha256.New()}
	// The buffer gathers gzip's small writes into large ones for the
	// store: one write per 256 KiB instead of one per deflate block.
	buf := bufio.NewWriterSize(sum, 256<<10)
	level := k.Level
	if level == 0 {
		level = gzip.DefaultCompression
	}
	gz, err := gzip.NewWriterLevel(buf, level)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("backup of world %s: %w", worldID, err)
	}
	arc := &Archive{tw: tar.NewWriter(gz)}
	if err := src(ctx, arc); err != nil {
		return spawner.Backup{}, fmt.Errorf("backup of world %s: %w", worldID, err)
	}
	if err := arc.tw.Close(); err != nil {
		return spawner.Backup{}, fmt.Errorf("backup of world %s: %w", worldID, err)
	}
	if err := gz.Close(); err != nil {
		return spawner.Backup{}, fmt.Errorf("backup of world %s: %w", worldID, err)
	}
	if err := buf.Flush(); err != nil {
		return spawner.Backup{}, fmt.Errorf("backup of world %s: %w", worldID, err)
	}
	b.Size = sum.n
	b.SHA256 = hex.EncodeToString(sum.h.Sum(nil))
	b.ContentSize = arc.content
	if err := up.Commit(ctx, b); err != nil {
		return spawner.Backup{}, fmt.Errorf("backup of world %s: %w", worldID, err)
	}
	k.log().Info("world backed up", "world", worldID, "backup", b.ID, "reason", string(why),
		"bytes", b.Size, "content_bytes", b.ContentSize)
	return b, nil
}

// Prune removes the world's backups but the newest Keep, sparing the ones
// named, then sweeps what backups begun more than SweepGrace ago left
// behind. It is what Backup runs after a successful backup; it never runs
// after a failed one.
func (k *Keeper) Prune(ctx context.Context, worldID string, spare ...string) error {
	list, err := k.Store.List(ctx, worldID)
	if err != nil {
		return fmt.Errorf("prune world %s: %w", worldID, err)
	}
	var errs []error
	for i, b := range list {
		if i < k.keep() || slices.Contains(spare, b.ID) {
			continue
		}
		if err := k.Store.Delete(ctx, worldID, b.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		k.log().Info("world backup pruned", "world", worldID, "backup", b.ID)
	}
	if err := k.Store.Sweep(ctx, worldID, k.now().Add(-SweepGrace)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("prune world %s: %w", worldID, err)
	}
	return nil
}

// List returns the world's backups, newest first.
func (k *Keeper) List(ctx context.Context, worldID string) ([]spawner.Backup, error) {
	if err := spawner.ValidWorldID(worldID); err != nil {
		return nil, err
	}
	return k.Store.List(ctx, worldID)
}

// Newest returns the world's newest backup; an error wrapping
// spawner.ErrNotFound when it has none.
func (k *Keeper) Newest(ctx context.Context, worldID string) (spawner.Backup, error) {
	list, err := k.List(ctx, worldID)
	if err != nil {
		return spawner.Backup{}, err
	}
	if len(list) == 0 {
		return spawner.Backup{}, fmt.Errorf("backups of world %s: %w", worldID, spawner.ErrNotFound)
	}
	return list[0], nil
}

// Delete removes one backup of the world; a backup not there is not an error.
func (k *Keeper) Delete(ctx context.Context, worldID, backupID string) error {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return err
	}
	return k.Store.Delete(ctx, worldID, backupID)
}

// DeleteWorld removes every backup of the world and whatever unfinished
// ones left behind. Call it only once no backup of the world is under way.
func (k *Keeper) DeleteWorld(ctx context.Context, worldID string) error {
	list, err := k.List(ctx, worldID)
	if err != nil {
		return fmt.Errorf("delete world %s: %w", worldID, err)
	}
	for _, b := range list {
		if err := k.Store.Delete(ctx, worldID, b.ID); err != nil {
			return fmt.Errorf("delete world %s: %w", worldID, err)
		}
	}
	if err := k.Store.Sweep(ctx, worldID, k.now().Add(time.Hour)); err != nil {
		return fmt.Errorf("delete world %s: %w", worldID, err)
	}
	return nil
}

// newBackupID names a backup begun at t: its time to the millisecond, so
// ids sort as the backups do, then random letters, so two backups begun in
// the same millisecond never share one.
func newBackupID(t time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	t = t.UTC()
	return fmt.Sprintf("%s%03dZ-%s", t.Format("20060102T150405"), t.Nanosecond()/1e6, hex.EncodeToString(r[:]))
}

// summer passes writes on to w and counts and hashes them.
type summer struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (s *summer) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}
