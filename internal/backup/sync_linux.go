package backup

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncTree flushes to disk everything written under dir: on Linux one
// syncfs of its file system instead of an fsync per file.
func syncTree(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}
