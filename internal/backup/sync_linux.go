package backup

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncTree flushes to disk everything written under dir: on Linux one
// syncfs of its file system instead of an fsync per file.
func syncTree(dir string) error {
	f, err := os.Open(dir) //nolint:gosec // dir is the world's folder being restored, named by the configuration or the operator, never by a member or an archive
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // opened to sync, not written: closing it loses nothing
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}
