package worlds

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Hold has the game of w's running server save and hold its writes before
// a backup; the release it returns lets it write again, and is called
// whatever became of the backup.
type Hold func(ctx context.Context, w spawner.World) (release func(context.Context), err error)

// ErrHold is the cause of a backup that did not start because the running
// game could not be made to save first.
var ErrHold = errors.New("the game did not save before the backup")

// mayAct returns world id when by may act on it (its owner, or an admin);
// else a refusal with spawner.RefusedNoWorld, as for a world that does not
// exist, so that nobody learns of others' worlds.
func (p *Worlds) mayAct(by spawner.Actor, id string) (spawner.World, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.worlds[id]
	if !ok || !k.recorded || (!by.Admin && k.w.Owner != by.UserID) {
		return spawner.World{}, &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: id}
	}
	return k.w, nil
}

// begin starts operation o on world id for by: refused for a world by may
// not act on, one busy with another operation, and for a restore or a
// deletion, one whose server runs. Done ends it.
func (p *Worlds) begin(by spawner.Actor, id string, o op) (spawner.World, error) {
	if _, err := p.mayAct(by, id); err != nil {
		return spawner.World{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.worlds[id]
	switch {
	case !ok:
		return spawner.World{}, &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: id}
	case k.busy != "":
		return spawner.World{}, &spawner.Refusal{Code: spawner.RefusedWorldBusy, Name: k.w.Name}
	case o != opBackup && (k.w.State == spawner.WorldRunning || k.w.Server != ""):
		return spawner.World{}, &spawner.Refusal{Code: spawner.RefusedWorldRunning, Name: k.w.Name}
	}
	k.busy = o
	return k.w, nil
}

// done ends the operation on world id.
func (p *Worlds) done(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.worlds[id]; ok {
		k.busy = ""
	}
}

// Backups returns the complete backups of world id, newest first.
func (p *Worlds) Backups(ctx context.Context, by spawner.Actor, id string) ([]spawner.Backup, error) {
	if _, err := p.mayAct(by, id); err != nil {
		return nil, err
	}
	bs, err := p.countBackups(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	return bs, nil
}

// Backup takes a backup of world id now (reason manual). When a server of
// it runs, hold has its game save and hold its writes first, and lets it
// write again after, even when the backup failed. Content's ErrLive (the
// running content cannot be reached here) is returned wrapped.
func (p *Worlds) Backup(ctx context.Context, by spawner.Actor, id string, hold Hold) (spawner.Backup, error) {
	w, err := p.begin(by, id, opBackup)
	if err != nil {
		return spawner.Backup{}, err
	}
	defer p.done(id)
	if w.State == spawner.WorldRunning && hold != nil {
		release, err := hold(ctx, w)
		if err != nil {
			return spawner.Backup{}, fmt.Errorf("%w: %w", ErrHold, err)
		}
		defer release(context.WithoutCancel(ctx))
	}
	b, err := p.content.Backup(ctx, w, spawner.BackupManual)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("back world up: %w", err)
	}
	p.log.Info("world backed up", "world", id, "name", w.Name, "by", by.UserID, "backup", b.ID, "size", b.ContentSize)
	_, _ = p.countBackups(ctx, id)
	return b, nil
}

// Link returns a link that downloads backup backupID of world id.
func (p *Worlds) Link(ctx context.Context, by spawner.Actor, id, backupID string) (string, time.Time, error) {
	w, err := p.mayAct(by, id)
	if err != nil {
		return "", time.Time{}, err
	}
	if _, err := p.backup(ctx, id, backupID); err != nil {
		return "", time.Time{}, err
	}
	url, expires, err := p.content.Link(ctx, id, backupID)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("download link: %w", err)
	}
	p.log.Info("world download link made", "world", id, "name", w.Name, "by", by.UserID, "backup", backupID, "expires", expires)
	return url, expires, nil
}

// backup returns backup backupID of world id; a refusal with
// spawner.RefusedNoBackup when it has none such.
func (p *Worlds) backup(ctx context.Context, id, backupID string) (spawner.Backup, error) {
	if spawner.ValidBackupID(backupID) != nil {
		return spawner.Backup{}, &spawner.Refusal{Code: spawner.RefusedNoBackup, Name: backupID}
	}
	bs, err := p.countBackups(ctx, id)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("list backups: %w", err)
	}
	for _, b := range bs {
		if b.ID == backupID {
			return b, nil
		}
	}
	return spawner.Backup{}, &spawner.Refusal{Code: spawner.RefusedNoBackup, Name: backupID}
}

// Restore replaces world id's content by backup backupID's, while no
// server of it runs: the current content is backed up first (reason
// before-restore, returned), then restored into a new storage, then the
// record names the new storage, then the old one is removed. A crash at
// any point leaves the record naming the old content or the new, never a
// mix; a storage no record names is removed at the next start (Prune).
func (p *Worlds) Restore(ctx context.Context, by spawner.Actor, id, backupID string) (spawner.Backup, error) {
	w, err := p.begin(by, id, opRestore)
	if err != nil {
		return spawner.Backup{}, err
	}
	defer p.done(id)
	b, err := p.backup(ctx, id, backupID)
	if err != nil {
		return spawner.Backup{}, err
	}
	before, err := p.content.Backup(ctx, w, spawner.BackupBeforeRestore)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("back the current content up before a restore: %w", err)
	}
	storage, err := p.content.Restore(ctx, w, backupID, before.ID)
	if err != nil {
		return before, fmt.Errorf("restore backup %s: %w", backupID, err)
	}
	restored := w
	restored.Storage, restored.Size = storage, b.ContentSize
	if err := p.store.PutWorld(ctx, restored); err != nil {
		p.dropStorage(context.WithoutCancel(ctx), storage, w.Storage)
		return before, fmt.Errorf("record the restored world: %w", err)
	}
	p.mu.Lock()
	if k, ok := p.worlds[id]; ok {
		k.w.Storage, k.w.Size = storage, b.ContentSize
	}
	p.mu.Unlock()
	p.dropStorage(ctx, w.Storage, storage)
	p.log.Info("world restored", "world", id, "name", w.Name, "by", by.UserID, "backup", backupID, "before", before.ID)
	_, _ = p.countBackups(ctx, id)
	return before, nil
}

// dropStorage removes storage, which no record names, unless it is keep
// or none; a failure is logged (Prune removes it at the next start).
func (p *Worlds) dropStorage(ctx context.Context, storage, keep string) {
	if storage == "" || storage == keep {
		return
	}
	if err := p.content.DeleteStorage(ctx, storage); err != nil {
		p.log.Warn("delete a world storage no record names; it is removed at the next start", "storage", storage, "err", err)
	}
}

// Delete removes world id, while no server of it runs: its backups first,
// then its record, then its storage. A crash before the record is gone
// leaves the world (perhaps without backups), which a new delete
// finishes; after, only its storage may be left, which Prune removes at
// the next start. Nothing ever names a world that is gone.
func (p *Worlds) Delete(ctx context.Context, by spawner.Actor, id string) error {
	w, err := p.begin(by, id, opDelete)
	if err != nil {
		return err
	}
	if err := p.content.DeleteBackups(ctx, id); err != nil {
		p.done(id)
		_, _ = p.countBackups(context.WithoutCancel(ctx), id)
		return fmt.Errorf("delete backups: %w", err)
	}
	if err := p.store.DeleteWorld(ctx, id); err != nil {
		p.done(id)
		_, _ = p.countBackups(context.WithoutCancel(ctx), id)
		return fmt.Errorf("delete world record: %w", err)
	}
	p.mu.Lock()
	delete(p.worlds, id)
	p.mu.Unlock()
	p.dropStorage(ctx, w.Storage, "")
	p.log.Info("world deleted", "world", id, "name", w.Name, "owner", w.Owner, "by", by.UserID)
	return nil
}
