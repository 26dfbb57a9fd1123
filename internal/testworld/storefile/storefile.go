// Package storefile makes the embedded store's files the tests open: a
// store with records in it, and the damaged copies of it an operator can
// end up with (a copy cut short, a few bytes overwritten).
package storefile

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/testworld/records"
)

// Filled writes a store in dir with enough server records that its file
// spans well over 64 KiB, some of them deleted so the file has free pages
// too, and returns the file's path. The store is closed when it returns.
// The records are written one transaction each, as the daemon would, but
// without waiting for the disk: the tests damage the file, they do not
// read the records back.
func Filled(tb testing.TB, dir string) string {
	tb.Helper()
	st, err := bolt.Open(dir) // a store as the daemon makes it, with its buckets
	if err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	path := st.Path()
	if err := st.Close(); err != nil {
		tb.Fatalf("close: %v", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	for i := range 300 {
		srv := records.Full()
		srv.TaskID = fmt.Sprintf("%s-%03d", records.TaskARN, i)
		srv.Token = strings.Repeat("t", 100+i*7%900) // varying sizes, so pages split
		v, err := json.Marshal(srv)
		if err != nil {
			tb.Fatal(err)
		}
		err = db.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("servers"))
			if b == nil {
				return fmt.Errorf("no servers bucket")
			}
			if err := b.Put([]byte(srv.TaskID), v); err != nil {
				return err
			}
			if i%3 == 0 {
				return b.Delete([]byte(fmt.Sprintf("%s-%03d", records.TaskARN, i-1)))
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("put: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		tb.Fatalf("close: %v", err)
	}
	if info, err := os.Stat(path); err != nil || info.Size() <= 128<<10 {
		tb.Fatalf("the filled store %s is too small to damage: %v, %v", path, info, err)
	}
	return path
}

// Damage is one way a store's file gets damaged.
type Damage struct {
	Name  string
	Apply func(tb testing.TB, path string)
}

// Damages are the damaged files an operator can end up with: a copy of
// the file cut short (copied while it grew, or a copy interrupted), one
// whose space was reserved but not all written, and bytes overwritten in
// the middle of the file or on its list of free pages.
var Damages = []Damage{
	{"truncated to 8 KiB", func(tb testing.TB, path string) { truncate(tb, path, 8<<10) }},
	{"truncated to 64 KiB", func(tb testing.TB, path string) { truncate(tb, path, 64<<10) }},
	{"64 bytes of garbage at 8 KiB", func(tb testing.TB, path string) { overwrite(tb, path, 8<<10, garbage) }},
	{"zeros from 64 KiB on", func(tb testing.TB, path string) {
		tb.Helper()
		info, err := os.Stat(path)
		if err != nil {
			tb.Fatal(err)
		}
		overwrite(tb, path, 64<<10, make([]byte, info.Size()-64<<10))
	}},
	{"garbage on the free-page list", func(tb testing.TB, path string) { overwrite(tb, path, freelistAt(tb, path), garbage) }},
}

var garbage = []byte(strings.Repeat("garbage!", 8))

// overwrite writes b at off in the file at path.
func overwrite(tb testing.TB, path string, off int64, b []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		tb.Fatal(err)
	}
}

// freelistAt is the offset of the page that lists the store's free pages.
func freelistAt(tb testing.TB, path string) int64 {
	tb.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	id := -1
	_ = db.View(func(tx *bbolt.Tx) error {
		for i := 2; ; {
			p, err := tx.Page(i)
			if err != nil || p == nil {
				return err
			}
			if p.Type == "freelist" {
				id = i
				return nil
			}
			i += 1 + p.OverflowCount
		}
	})
	if id < 0 {
		tb.Fatalf("%s has no free-page list", path)
	}
	return int64(id) * int64(db.Info().PageSize)
}

func truncate(tb testing.TB, path string, size int64) {
	tb.Helper()
	if err := os.Truncate(path, size); err != nil {
		tb.Fatal(err)
	}
}

// Hash is the SHA-256 of the file at path, to tell it was not changed.
func Hash(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}
