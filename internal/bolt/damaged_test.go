package bolt_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/storefile"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// A damaged file is refused with what to do, and left exactly as it was;
// moving it aside, as the error says, starts an empty store.
func TestOpenRefusesADamagedFile(t *testing.T) {
	for _, d := range storefile.Damages {
		t.Run(d.Name, func(t *testing.T) {
			dir := t.TempDir()
			path := storefile.Filled(t, dir)
			d.Apply(t, path)
			before := storefile.Hash(t, path)

			st, err := bolt.Open(dir)
			if err == nil {
				_ = st.Close()
				t.Fatalf("Open of a store %s succeeded", d.Name)
			}
			if !errors.Is(err, bolt.ErrDamaged) {
				t.Errorf("Open = %v, want it to wrap ErrDamaged", err)
			}
			for _, part := range []string{"SPAWNER_DATA_DIR: ", path + " is damaged", "left as it is", "restore a copy", "taken while spawner was stopped", "move the damaged file aside"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("Open's error does not say %q:\n%v", part, err)
				}
			}
			if after := storefile.Hash(t, path); after != before {
				t.Errorf("Open changed the damaged file")
			}

			// Refused again, the same way: the first refusal left no lock
			// behind and nothing changed.
			if st, err := bolt.Open(dir); !errors.Is(err, bolt.ErrDamaged) {
				if st != nil {
					_ = st.Close()
				}
				t.Errorf("second Open = %v, want ErrDamaged again", err)
			}

			if err := os.Rename(path, path+".damaged"); err != nil {
				t.Fatal(err)
			}
			st = openStore(t, dir)
			snap, err := st.LoadAll(wait.Context(t))
			if err != nil || len(snap.Problems) != 0 || len(snap.Servers) != 0 {
				t.Errorf("after moving the file aside, LoadAll = %d servers, %v, %v; want an empty store", len(snap.Servers), snap.Problems, err)
			}
		})
	}
}

// The readiness probe calls Check while members create and stop servers:
// it must say the store is fine every time and never harm the process.
func TestCheckWhileWritesGoOn(t *testing.T) {
	st := openStore(t, t.TempDir())
	ctx := wait.Context(t)
	const writes = 400
	written := make(chan error, 1)
	go func() {
		for i := range writes {
			srv := records.Full()
			srv.TaskID = fmt.Sprintf("%s-%04d", records.TaskARN, i)
			srv.Token = strings.Repeat("t", i*37%3000) // pages split and are freed
			if err := st.Put(ctx, srv); err != nil {
				written <- err
				return
			}
			if i%2 == 1 {
				prev := fmt.Sprintf("%s-%04d", records.TaskARN, i-1)
				if err := st.Delete(ctx, prev); err != nil {
					written <- err
					return
				}
			}
		}
		written <- nil
	}()
	checks, failed := 0, 0
	for done := false; !done; {
		select {
		case err := <-written:
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			done = true
		default:
		}
		checks++
		if err := st.Check(ctx); err != nil {
			failed++
			if failed <= 5 {
				t.Errorf("Check %d while writing: %v", checks, err)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d Checks failed on a healthy store while writes went on", failed, checks)
	}
	t.Logf("%d Checks during %d writes", checks, writes)
}

// Check is what /readyz asks: a store whose file was closed is not ready.
func TestCheckOfAClosedStore(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	err = st.Check(wait.Context(t))
	if err == nil || !strings.Contains(err.Error(), "SPAWNER_DATA_DIR: ") || !strings.Contains(err.Error(), filepath.Join(dir, bolt.FileName)) {
		t.Errorf("Check of a closed store = %v, want a problem naming SPAWNER_DATA_DIR and the file", err)
	}
}
