package backup

import "os"

// syncDir flushes a folder's entries (a file made, renamed or removed in it)
// to disk.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
