package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// A restore of a folder "<parent>/<name>" works beside it, in the same
// parent (so that renames are atomic):
//
//	.<name>.restore-<random>  the new content being extracted
//	.<name>.new               the new content, complete and on disk
//	.<name>.old               the old content, set aside during the swap
//
// The swap renames the folder to .old, then .new to the folder. Recover
// puts a folder caught between the two back together.
const (
	stagingInfix = ".restore-"
	newSuffix    = ".new"
	oldSuffix    = ".old"
)

// siblings names the restore's folders beside dir. dir, and so every name
// derived from it here, is the world's folder that the configuration
// (WORLD_PATH) or the operator (`spawner world pull`) names, never a member
// or an archive: the gosec path findings on them below are marked for that
// reason. What an archive names is written through an os.Root opened on the
// staging folder (extract).
func siblings(dir string) (parent, staging, next, old string) {
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	return parent, "." + base + stagingInfix, filepath.Join(parent, "."+base+newSuffix), filepath.Join(parent, "."+base+oldSuffix)
}

// Recover finishes or undoes a restore of dir that a crash interrupted, so
// that dir holds wholly its old content or wholly the new one, and removes
// what the restore left beside it. Where the crash left dir missing, its
// old content set aside and the new one complete, the restore is finished:
// it had passed the point where the old content was let go. Recover does
// nothing when no restore was interrupted; RestoreDir and Pull run it
// first, and so must anything that uses a world's folder after a restart.
func Recover(dir string) error {
	parent, staging, next, old := siblings(dir)
	_, err := os.Lstat(dir) //nolint:gosec // the operator's world folder (see siblings)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		for _, from := range []string{next, old} {
			err := os.Rename(from, dir) //nolint:gosec // the operator's world folder and its siblings (see siblings)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("recover %s: %w", dir, err)
			}
			if err := syncDir(parent); err != nil {
				return fmt.Errorf("recover %s: %w", dir, err)
			}
			break
		}
	case err != nil:
		return fmt.Errorf("recover %s: %w", dir, err)
	}
	leftovers := []string{next, old}
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no parent: nothing was ever restored there
	}
	if err != nil {
		return fmt.Errorf("recover %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), staging) {
			leftovers = append(leftovers, filepath.Join(parent, e.Name()))
		}
	}
	for _, p := range leftovers {
		if err := removeAll(p); err != nil {
			return fmt.Errorf("recover %s: %w", dir, err)
		}
	}
	return nil
}

// RestoreDir replaces the content of the folder dir by the content of a
// backup of the world, so that a crash at any moment leaves dir with wholly
// its old content or wholly the new one (after Recover):
//
//  1. unless dir is missing or empty, its content is backed up first
//     (reason before-restore; returned);
//  2. the backup is extracted beside dir, checking every entry and, at the
//     end, the archive's checksum, then flushed to disk;
//  3. dir is renamed aside, the new content renamed in, the parent flushed,
//     and the old content removed;
//  4. the world's backups are pruned to Keep, sparing the one restored.
//
// No server of the world may run meanwhile. A refused archive (ErrChecksum,
// ErrUnsafeEntry, ErrTooBig) or any other error leaves dir as it was.
func (k *Keeper) RestoreDir(ctx context.Context, worldID, backupID, dir string) (before spawner.Backup, err error) {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID), restorable(dir)); err != nil {
		return spawner.Backup{}, err
	}
	if err := Recover(dir); err != nil {
		return spawner.Backup{}, err
	}
	list, err := k.Store.List(ctx, worldID)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("restore world %s: %w", worldID, err)
	}
	found := false
	for _, b := range list {
		found = found || b.ID == backupID
	}
	if !found {
		return spawner.Backup{}, fmt.Errorf("restore world %s: backup %s: %w", worldID, backupID, spawner.ErrNotFound)
	}
	empty, err := emptyDir(dir)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("restore world %s: %w", worldID, err)
	}
	if !empty {
		if before, err = k.Write(ctx, worldID, spawner.BackupBeforeRestore, Dir(dir)); err != nil {
			return spawner.Backup{}, fmt.Errorf("restore world %s: back up the current content first: %w", worldID, err)
		}
	}

	parent, staging, next, old := siblings(dir)
	tmp, err := os.MkdirTemp(parent, staging)
	if err != nil {
		return before, fmt.Errorf("restore world %s: %w", worldID, err)
	}
	defer func() { _ = removeAll(tmp) }() // gone once renamed; otherwise Recover removes it on the next run
	if err := k.extract(ctx, worldID, backupID, tmp); err != nil {
		return before, fmt.Errorf("restore world %s: %w", worldID, err)
	}
	if err := os.Rename(tmp, next); err != nil { //nolint:gosec // siblings of the operator's world folder (see siblings)
		return before, fmt.Errorf("restore world %s: %w", worldID, err)
	}
	if err := k.swap(dir, parent, next, old); err != nil {
		_ = removeAll(next) // Recover removes it too, on the next run
		return before, fmt.Errorf("restore world %s: %w", worldID, err)
	}
	k.log().Info("world restored", "world", worldID, "backup", backupID, "before", before.ID)
	if err := k.Prune(ctx, worldID, backupID); err != nil {
		k.log().Warn("world restored, but its backups could not be pruned", "world", worldID, "err", err)
	}
	return before, nil
}

// swap puts the complete new content next in place of dir. Once dir is
// renamed aside, the restore is done whatever happens: Recover finishes it.
func (k *Keeper) swap(dir, parent, next, old string) error {
	if err := syncDir(parent); err != nil { // next's name on disk before dir leaves
		return err
	}
	err := os.Rename(dir, old) //nolint:gosec // the operator's world folder and its sibling (see siblings)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if k.beforeSwapIn != nil {
		k.beforeSwapIn()
	}
	if err := os.Rename(next, dir); err != nil { //nolint:gosec // the operator's world folder and its sibling (see siblings)
		return errors.Join(err, Recover(dir))
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	return removeAll(old)
}

// extract writes the content of a backup into the empty folder dir and
// flushes it to disk.
func (k *Keeper) extract(ctx context.Context, worldID, backupID, dir string) error {
	rc, b, lim, err := k.open(ctx, worldID, backupID)
	if err != nil {
		return err
	}
	defer rc.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer func() { _ = root.Close() }() // every file written through it was closed and checked; syncTree flushes them
	x := newExtractor(root)
	if err := readArchive(ctx, rc, b, lim, x.add); err != nil {
		return err
	}
	if err := x.finish(); err != nil {
		return err
	}
	return syncTree(dir)
}

// Pull fills the empty folder dir with the world's newest backup: what the
// companion container of a game with a world does before the game starts.
// A world without a backup yet is new: dir is left empty and the returned
// backup has no ID. A folder that is not empty is refused, so nothing is
// ever mixed; on error dir is emptied again (the game must not start).
// dir may be a mount point: nothing is renamed. Like RestoreDir, it runs
// Recover first.
func (k *Keeper) Pull(ctx context.Context, worldID, dir string) (spawner.Backup, error) {
	if err := spawner.ValidWorldID(worldID); err != nil {
		return spawner.Backup{}, err
	}
	if err := Recover(dir); err != nil {
		return spawner.Backup{}, fmt.Errorf("pull world %s: %w", worldID, err)
	}
	// 0o755: the game, which may run as another user than this companion,
	// must enter its world's folder; what is inside keeps the modes the
	// backup recorded.
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // the game's user must enter the folder, see above
		return spawner.Backup{}, fmt.Errorf("pull world %s: %w", worldID, err)
	}
	empty, err := emptyDir(dir)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("pull world %s: %w", worldID, err)
	}
	if !empty {
		return spawner.Backup{}, fmt.Errorf("pull world %s: %s is not empty: refusing to mix two contents", worldID, dir)
	}
	b, err := k.Newest(ctx, worldID)
	if errors.Is(err, spawner.ErrNotFound) {
		k.log().Info("world has no backup yet: starting empty", "world", worldID)
		return spawner.Backup{}, nil
	}
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("pull world %s: %w", worldID, err)
	}
	if err := k.extract(ctx, worldID, b.ID, dir); err != nil {
		return spawner.Backup{}, errors.Join(fmt.Errorf("pull world %s: %w", worldID, err), emptyOut(dir))
	}
	k.log().Info("world pulled", "world", worldID, "backup", b.ID, "content_bytes", b.ContentSize)
	return b, nil
}

// Push backs the folder dir up as the world's newest backup (reason stop)
// and prunes the older ones (`spawner world push`). The error wraps
// ErrPrune when only the prune failed.
func (k *Keeper) Push(ctx context.Context, worldID, dir string) (spawner.Backup, error) {
	b, err := k.PushWithoutPrune(ctx, worldID, dir)
	if err != nil {
		return spawner.Backup{}, err
	}
	if err := k.Prune(ctx, worldID); err != nil {
		return b, fmt.Errorf("%w: %w", ErrPrune, err)
	}
	return b, nil
}

// PushWithoutPrune backs the folder dir up as the world's newest backup
// (reason stop) and removes nothing, not even what an older backup left
// behind: what the ECS companion does once the game has exited, since its
// task's role may not delete; the bot prunes after the task stopped. On
// error nothing is listed and the older backups are untouched.
func (k *Keeper) PushWithoutPrune(ctx context.Context, worldID, dir string) (spawner.Backup, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("push world %s: %w", worldID, err)
	}
	if !info.IsDir() {
		return spawner.Backup{}, fmt.Errorf("push world %s: %s is not a folder", worldID, dir)
	}
	return k.Write(ctx, worldID, spawner.BackupStop, Dir(dir))
}

// restorable refuses a folder that cannot be swapped by renames beside it.
func restorable(dir string) error {
	switch filepath.Base(filepath.Clean(dir)) {
	case "/", ".", "..":
		return fmt.Errorf("restore into %q: name the world's own folder", dir)
	}
	return nil
}

// emptyDir reports whether dir is missing or holds nothing.
func emptyDir(dir string) (bool, error) {
	f, err := os.Open(dir) //nolint:gosec // the operator's world folder (see siblings)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }() // opened to list, not written: closing it loses nothing
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return len(names) == 0, err
}

// emptyOut removes everything inside dir, leaving dir.
func emptyOut(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, removeAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// removeAll is os.RemoveAll that can also remove what a restored folder
// made read-only holds. p is the operator's world folder, a sibling of it
// or an entry of it (see siblings), never a name an archive gave.
func removeAll(p string) error {
	err := os.RemoveAll(p) //nolint:gosec // p is never a name an archive gave, see above
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	_ = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error { //nolint:gosec // p is never a name an archive gave, see above
		if err == nil && d.IsDir() {
			_ = os.Chmod(name, 0o700) //nolint:gosec // a folder, removed right after: it needs its x bit for its entries to be removed
		}
		return nil
	})
	return os.RemoveAll(p) //nolint:gosec // p is never a name an archive gave, see above
}
