// Package worlds is the lifecycle's part that owns the worlds: a world per
// member, game and name, the one server that plays it at a time, its
// backups, restores and deletion.
package worlds

import (
	"context"
	"errors"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Store keeps the worlds' records (spawner.WorldKeyPrefix+id) in the
// server table or the embedded store; they are read at start with the
// others (spawner.Snapshot.Worlds).
type Store interface {
	PutWorld(ctx context.Context, w spawner.World) error
	DeleteWorld(ctx context.Context, id string) error
}

// Content keeps what worlds hold: the runtime's storage of each world and
// its backups. Under Docker a world's content is a volume, and backups are
// taken of it; under ECS a world's content between its servers is its
// newest backup, pulled into the task before the game starts and pushed
// back when it stops, by the task's companion container.
type Content interface {
	// NewStorage makes the storage of a new world and returns its handle
	// (spawner.World.Storage); "" where worlds have none (ECS).
	NewStorage(ctx context.Context, worldID string) (string, error)
	// Backup takes a backup of w's content now, for the reason why, and
	// keeps the newest WORLD_BACKUPS_KEEP. With a server of w running, the
	// caller had the game save and hold its writes first. Where the
	// content of a running server cannot be reached (ECS) it returns an
	// error wrapping ErrLive.
	Backup(ctx context.Context, w spawner.World, why spawner.BackupReason) (spawner.Backup, error)
	// Saved is called once a server of w that started at since has ended
	// (its task stopped): it makes sure what the server left is backed up
	// and returns that backup (Docker: a backup with reason stop; ECS: the
	// one the companion pushed, begun after since).
	Saved(ctx context.Context, w spawner.World, since time.Time) (spawner.Backup, error)
	// Backups lists w's complete backups, newest first.
	Backups(ctx context.Context, worldID string) ([]spawner.Backup, error)
	// Restore puts the backup's content in place of w's, no server of w
	// running, and returns the world's storage from now on. Under Docker
	// it is a new volume, w.Storage left untouched for the caller to
	// delete once the world's record names the new one; under ECS it is
	// "" and a copy of the backup (reason restored) is the newest. The
	// caller backed the current content up first and passes that backup's
	// id as spare, which no pruning may remove.
	Restore(ctx context.Context, w spawner.World, backupID, spare string) (storage string, err error)
	// DeleteStorage removes a storage no world's record names any more;
	// it is idempotent.
	DeleteStorage(ctx context.Context, storage string) error
	// DeleteBackups removes every backup of the world.
	DeleteBackups(ctx context.Context, worldID string) error
	// Link is a link that downloads the backup's archive, working until
	// expires (15 minutes from now); a *spawner.Refusal with
	// spawner.RefusedNoDownload when none can be made.
	Link(ctx context.Context, worldID, backupID string) (url string, expires time.Time, err error)
	// PruneStorage removes the storages of this deployment that are not in
	// keep (left by a crash between a restore and its record), and returns
	// them; it is called at start.
	PruneStorage(ctx context.Context, keep map[string]bool) ([]string, error)
}

// ErrLive is the cause of a backup refused because the content of a
// running server cannot be reached from the bot (ECS: it is saved when the
// server stops).
var ErrLive = errors.New("the content of a running server cannot be backed up here")
