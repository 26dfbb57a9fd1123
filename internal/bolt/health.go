package bolt

import (
	"errors"
	"fmt"
	"sync"

	berrors "go.etcd.io/bbolt/errors"
)

// writes remembers how the last write to the file ended, for Check: a
// failed write (a full disk, an I/O error) makes the store not ready
// until a write goes through again.
type writes struct {
	mu   sync.Mutex
	last error
}

// wrote records err, the end of a write, and returns it. A write refused
// for what it was asked to store (an empty or too long key, a too large
// value) says nothing of the file and is not recorded.
func (w *writes) wrote(err error) error {
	if errors.Is(err, berrors.ErrKeyRequired) || errors.Is(err, berrors.ErrKeyTooLarge) || errors.Is(err, berrors.ErrValueTooLarge) {
		return err
	}
	w.mu.Lock()
	w.last = err
	w.mu.Unlock()
	return err
}

// failure is the last write's error, nil when it went through.
func (w *writes) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last != nil {
		return fmt.Errorf("the last write failed: %w", w.last)
	}
	return nil
}
