package bolt

// Open checks the whole file once, before the daemon writes to it; the
// readiness probe never does (see Check). A damaged file is refused and
// left exactly as it is: an operator can still restore or inspect it.

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"runtime/debug"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// ErrDamaged is wrapped by Open's error when the store's file is not a
// consistent store: cut short (a copy that did not finish), overwritten,
// or not a store at all. The file is not changed.
var ErrDamaged = errors.New("damaged")

// openError is a failure of the operating system to open the file
// (permissions, a missing folder), as opposed to what the file holds.
type openError struct{ error }

func (e openError) Unwrap() error { return e.error }

// verify checks, reading only, that the file at path is a consistent
// store: its pages within the file, its free-page list readable, every
// record readable, and bbolt's consistency check clean. A file that does
// not exist yet or is empty is fine: Open makes it a new store. A file
// held by another process fails with bbolt's lock timeout.
func verify(path string) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return openError{err}
	case info.Size() == 0:
		return nil
	}
	// bbolt reads the file through a memory map: a page past the end of
	// a file cut short faults instead of failing. Turn the fault into a
	// panic, which contain turns into an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))

	// First the meta pages alone, to know the file holds every page they
	// count before any other is read.
	err = view(path, false, func(tx *bbolt.Tx) error {
		if span := tx.Size(); span > info.Size() {
			return fmt.Errorf("the file has %d bytes of the %d its pages span: it was cut short, like a copy that did not finish", info.Size(), span)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return view(path, true, func(tx *bbolt.Tx) error {
		// bbolt's check reads pages in a goroutine of its own, where a
		// panic could not be contained: read every page here first, so a
		// page it would trip on is met in this goroutine.
		readAll(tx)
		var first error
		n := 0
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
			n++
		}
		if n > 1 {
			return fmt.Errorf("%w, and %d other inconsistencies", first, n-1)
		}
		return first
	})
}

// view opens the file at path read-only (a shared lock), runs fn in a read
// transaction, and closes it. preload reads the free-page list at open.
func view(path string, preload bool, fn func(*bbolt.Tx) error) (err error) {
	db, err := openDB(path, bbolt.Options{ReadOnly: true, PreLoadFreelist: preload, Timeout: LockTimeout})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	defer contain(&err, func() {}) // View rolls its transaction back as a panic goes through
	return db.View(fn)
}

// openDB is bbolt.Open with a panic of bbolt's on a damaged file returned
// as an error, after the file it had opened is closed (and its lock
// released). A failure to open the file itself is an openError.
func openDB(path string, opts bbolt.Options) (db *bbolt.DB, err error) {
	var file *os.File
	opts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm) //nolint:gosec // G304: the store's file, in the admin's SPAWNER_DATA_DIR
		if err != nil {
			return nil, openError{err}
		}
		file = f
		return f, nil
	}
	defer contain(&err, func() {
		if file != nil {
			_ = file.Close()
		}
	})
	return bbolt.Open(path, 0o600, &opts)
}

// contain, deferred, turns a panic into *err after calling release. bbolt
// panics on some damaged files (an invalid free-page list, a page that is
// not the one expected) rather than failing.
func contain(err *error, release func()) {
	r := recover() //nolint:revive // defer: contain is the deferred function, so recover stops the panic
	if r == nil {
		return
	}
	release()
	*err = fmt.Errorf("%v", r)
}

// readAll reads every key and value of every bucket, nested ones included.
func readAll(tx *bbolt.Tx) {
	sum := crc32.NewIEEE()
	var bucket func(b *bbolt.Bucket)
	bucket = func(b *bbolt.Bucket) {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			_, _ = sum.Write(k)
			_, _ = sum.Write(v)
			if v == nil {
				if child := b.Bucket(k); child != nil {
					bucket(child)
				}
			}
		}
	}
	_ = tx.ForEach(func(_ []byte, b *bbolt.Bucket) error {
		bucket(b)
		return nil
	})
}

// openFailed is Open's error for the file at path in dir: in use by
// another spawner, not openable, or damaged, with what to do.
func openFailed(dir, path string, err error) error {
	var oe openError
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("SPAWNER_DATA_DIR %s is %w (file lock on %s)", dir, ErrInUse, FileName)
	case errors.As(err, &oe):
		return fmt.Errorf("open %s: %w", path, oe.error)
	}
	return &spawner.Problem{Var: "SPAWNER_DATA_DIR", Err: fmt.Errorf(
		"%s is %w (%v); it was left as it is: restore a copy of %s taken while spawner was stopped, "+
			"or move the damaged file aside (for example to %s.damaged) to start with an empty store, "+
			"which forgets the servers and games it held",
		path, ErrDamaged, err, FileName, FileName)}
}
