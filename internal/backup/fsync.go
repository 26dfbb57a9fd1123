package backup

import "os"

// syncDir flushes a folder's entries (a file made, renamed or removed in it)
// to disk.
func syncDir(dir string) error {
	f, err := os.Open(dir) //nolint:gosec // dir is the store's folder or a world folder's parent, named by the configuration or the operator, never by a member or an archive
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // opened to sync, not written: closing it loses nothing
	return f.Sync()
}
