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
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Local keeps backups in a folder (SPAWNER_DATA_DIR/backups):
// "<world id>/<backup id>.tar.gz", described by "<backup id>.json" beside
// it. An archive is written to a temporary file in the same folder,
// flushed, renamed, and the folder flushed; its description is written the
// same way after it, so a listed backup always has a complete archive on
// disk, and an archive without its description is an unfinished backup,
// never listed and removed by Sweep.
type Local struct {
	dir string
}

var _ Store = (*Local)(nil)

// tmpExt ends the name of a file being written; such a file is never listed.
const tmpExt = ".tmp"

// NewLocal returns the store of backups in dir, which is made when the
// first backup is written.
func NewLocal(dir string) *Local { return &Local{dir: dir} }

// Path returns where the archive of a backup is, for a page that streams it.
func (l *Local) Path(worldID, backupID string) (string, error) {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return "", err
	}
	return filepath.Join(l.dir, worldID, backupID+archiveExt), nil
}

// Create begins a backup as a temporary file in the world's folder.
func (l *Local) Create(_ context.Context, worldID, backupID string) (Upload, error) {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return nil, err
	}
	wd := filepath.Join(l.dir, worldID)
	if err := os.MkdirAll(wd, 0o750); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(wd, "."+backupID+".*"+tmpExt)
	if err != nil {
		return nil, err
	}
	return &localUpload{store: l, wd: wd, id: backupID, f: f}, nil
}

type localUpload struct {
	store *Local
	wd    string
	id    string
	f     *os.File
	done  bool // committed or aborted
}

func (u *localUpload) Write(p []byte) (int, error) { return u.f.Write(p) }

func (u *localUpload) Commit(_ context.Context, b spawner.Backup) error {
	if u.done {
		return errors.New("backup already committed or aborted")
	}
	data, err := encodeMeta(b)
	if err != nil {
		return err
	}
	if err := u.f.Sync(); err != nil {
		return err
	}
	if err := u.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(u.f.Name(), filepath.Join(u.wd, u.id+archiveExt)); err != nil {
		return err
	}
	u.done = true
	if err := syncDir(u.wd); err != nil {
		return err
	}
	if err := writeFileAside(filepath.Join(u.wd, u.id+metaExt), data); err != nil {
		return err
	}
	// The world's own folder may be new: its name must reach the disk too.
	return syncDir(u.store.dir)
}

func (u *localUpload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	u.f.Close()
	return os.Remove(u.f.Name())
}

// writeFileAside writes data to name through a temporary file beside it,
// flushed and renamed, then flushes the folder.
func writeFileAside(name string, data []byte) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*"+tmpExt)
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// List returns the world's backups that have both their archive and their
// description. A description that cannot be read is left out of the list
// (and left on disk).
func (l *Local) List(_ context.Context, worldID string) ([]spawner.Backup, error) {
	if err := spawner.ValidWorldID(worldID); err != nil {
		return nil, err
	}
	wd := filepath.Join(l.dir, worldID)
	entries, err := os.ReadDir(wd)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	var list []spawner.Backup
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), metaExt)
		if !ok || spawner.ValidBackupID(id) != nil || !names[id+archiveExt] {
			continue
		}
		b, err := l.meta(worldID, id)
		if err != nil {
			continue
		}
		list = append(list, b)
	}
	newestFirst(list)
	return list, nil
}

func (l *Local) meta(worldID, backupID string) (spawner.Backup, error) {
	data, err := os.ReadFile(filepath.Join(l.dir, worldID, backupID+metaExt))
	if errors.Is(err, fs.ErrNotExist) {
		return spawner.Backup{}, fmt.Errorf("backup %s of world %s: %w", backupID, worldID, spawner.ErrNotFound)
	}
	if err != nil {
		return spawner.Backup{}, err
	}
	return decodeMeta(data, worldID, backupID)
}

// Open opens the archive of a listed backup.
func (l *Local) Open(_ context.Context, worldID, backupID string) (io.ReadCloser, spawner.Backup, error) {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return nil, spawner.Backup{}, err
	}
	b, err := l.meta(worldID, backupID)
	if err != nil {
		return nil, spawner.Backup{}, err
	}
	f, err := os.Open(filepath.Join(l.dir, worldID, backupID+archiveExt))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, spawner.Backup{}, fmt.Errorf("backup %s of world %s: %w", backupID, worldID, spawner.ErrNotFound)
	}
	if err != nil {
		return nil, spawner.Backup{}, err
	}
	return f, b, nil
}

// Delete removes the description first (the backup is no longer listed),
// then the archive.
func (l *Local) Delete(_ context.Context, worldID, backupID string) error {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return err
	}
	wd := filepath.Join(l.dir, worldID)
	for _, name := range []string{backupID + metaExt, backupID + archiveExt} {
		if err := os.Remove(filepath.Join(wd, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := syncDir(wd); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Sweep removes, among the files last changed before the given time,
// temporary files, archives without a description and descriptions
// without an archive; then the world's folder if nothing is left in it.
func (l *Local) Sweep(_ context.Context, worldID string, before time.Time) error {
	if err := spawner.ValidWorldID(worldID); err != nil {
		return err
	}
	wd := filepath.Join(l.dir, worldID)
	entries, err := os.ReadDir(wd)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		var orphan bool
		switch {
		case strings.HasSuffix(name, tmpExt):
			orphan = true
		case strings.HasSuffix(name, archiveExt):
			orphan = !names[strings.TrimSuffix(name, archiveExt)+metaExt]
		case strings.HasSuffix(name, metaExt):
			orphan = !names[strings.TrimSuffix(name, metaExt)+archiveExt]
		}
		if !orphan {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(filepath.Join(wd, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		_ = os.Remove(wd) // fails, as it should, while anything is left in it
	}
	return errors.Join(errs...)
}
