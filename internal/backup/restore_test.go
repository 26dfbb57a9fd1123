package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

func TestPullPush(t *testing.T) {
	ctx := context.Background()
	k, _ := newLocalKeeper(t, 5)

	// A new world: nothing to pull, the game starts on an empty folder.
	task := filepath.Join(t.TempDir(), "data")
	b, err := k.Pull(ctx, worldID, task)
	if err != nil || b.ID != "" {
		t.Fatalf("pull of a world without backups: %+v, %v", b, err)
	}
	if names := dirNames(t, task); len(names) != 0 {
		t.Fatalf("pull of a new world left %v", names)
	}

	// The game played, then exited: push.
	makeWorld(t, task, "session-1")
	pushed, err := k.Push(ctx, worldID, task)
	if err != nil {
		t.Fatal(err)
	}
	if pushed.Reason != spawner.BackupStop {
		t.Errorf("push recorded reason %q", pushed.Reason)
	}

	// The next task pulls exactly that.
	next := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(next, 0o755); err != nil { // a mount point exists already
		t.Fatal(err)
	}
	pulled, err := k.Pull(ctx, worldID, next)
	if err != nil {
		t.Fatal(err)
	}
	if pulled != pushed {
		t.Errorf("pulled %+v, want the newest %+v", pulled, pushed)
	}
	assertSameTree(t, treeOf(t, task), treeOf(t, next))

	// A folder with something in it is never mixed with a backup.
	if _, err := k.Pull(ctx, worldID, next); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("pull into a folder with content: %v", err)
	}

	// A damaged newest backup fails the pull and leaves the folder empty:
	// the game must not start on half a world.
	archive := filepath.Join(k.Store.(*Local).dir, worldID, pushed.ID+".tar.gz")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-20] ^= 0xff
	if err := os.WriteFile(archive, data, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	if _, err := k.Pull(ctx, worldID, empty); !errors.Is(err, ErrChecksum) {
		t.Fatalf("pull of a damaged backup: %v, want ErrChecksum", err)
	}
	if names := dirNames(t, empty); len(names) != 0 {
		t.Fatalf("a failed pull left %v", names)
	}

	if _, err := k.Push(ctx, worldID, filepath.Join(empty, "missing")); err == nil {
		t.Fatal("push of a missing folder succeeded")
	}
}

// A Docker volume: backed up from CopyFromContainer's tar stream (entries
// under the path's last element), restored as the tar stream
// CopyToContainer takes.
func TestTarStreams(t *testing.T) {
	ctx := context.Background()
	k, _ := newLocalKeeper(t, 5)
	stream := tarOf(t, []entry{
		{tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "data/world/", Typeflag: tar.TypeDir, Mode: 0o700}, ""},
		{tar.Header{Name: "data/world/level.dat", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1000}, "level"},
		{tar.Header{Name: "data/world/copy.dat", Typeflag: tar.TypeLink, Linkname: "data/world/level.dat"}, ""},
		{tar.Header{Name: "data/latest.log", Typeflag: tar.TypeSymlink, Linkname: "logs/2026-12-07.log"}, ""},
		{tar.Header{Name: "data/fifo", Typeflag: tar.TypeFifo}, ""},
	})
	b, err := k.Backup(ctx, worldID, spawner.BackupManual, TarStream(bytes.NewReader(stream), "data"))
	if err != nil {
		t.Fatal(err)
	}
	if b.ContentSize != int64(len("level")) {
		t.Errorf("content size %d", b.ContentSize)
	}
	var out bytes.Buffer
	if err := k.RestoreTar(ctx, worldID, b.ID, &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got = append(got, h.Name+" "+string(h.Typeflag)+" "+h.Linkname+" "+string(body))
		if h.Name == "world/level.dat" && (h.Uid != 1000 || h.Mode != 0o640) {
			t.Errorf("level.dat lost its owner or mode: uid %d, mode %o", h.Uid, h.Mode)
		}
	}
	want := []string{
		"world/ 5  ",
		"world/level.dat 0  level",
		"world/copy.dat 1 world/level.dat ",
		"latest.log 2 logs/2026-12-07.log ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("restored stream:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The same backup into a folder: the hard link is one file twice.
	dst := filepath.Join(t.TempDir(), "world")
	if _, err := k.RestoreDir(ctx, worldID, b.ID, dst); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(dst, "world", "level.dat"))
	c, _ := os.Stat(filepath.Join(dst, "world", "copy.dat"))
	if a == nil || c == nil || !os.SameFile(a, c) {
		t.Errorf("the hard link was not restored as one")
	}

	// An entry outside the folder Docker names is refused.
	bad := tarOf(t, []entry{{tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg}, "x"}})
	if _, err := k.Backup(ctx, worldID, spawner.BackupManual, TarStream(bytes.NewReader(bad), "data")); !errors.Is(err, ErrUnsafeEntry) {
		t.Fatalf("an entry outside data/: %v", err)
	}
}

func TestRecover(t *testing.T) {
	for _, c := range []struct {
		name  string
		make  []string // of: world, new, old, staging
		holds string   // what the world holds after Recover: "world", "new", "old", or "" (missing)
	}{
		{"nothing under way", []string{"world"}, "world"},
		{"crashed extracting", []string{"world", "staging"}, "world"},
		{"crashed with the new content ready", []string{"world", "new"}, "world"},
		{"crashed between the renames", []string{"new", "old"}, "new"},
		{"crashed before removing the old", []string{"world", "old"}, "world"},
		{"new world, crashed before the rename in", []string{"new"}, "new"},
		{"old aside, new lost", []string{"old"}, "old"},
		{"no world at all", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			world := filepath.Join(parent, "world")
			paths := map[string]string{
				"world":   world,
				"new":     filepath.Join(parent, ".world.new"),
				"old":     filepath.Join(parent, ".world.old"),
				"staging": filepath.Join(parent, ".world.restore-123"),
			}
			for _, what := range c.make {
				if err := os.MkdirAll(paths[what], 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(paths[what], "holds"), []byte(what), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := Recover(world); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(world, "holds"))
			if c.holds == "" {
				if !os.IsNotExist(err) {
					t.Fatalf("a world appeared: %q, %v", got, err)
				}
			} else if string(got) != c.holds {
				t.Fatalf("the world holds %q (%v), want %q", got, err, c.holds)
			}
			assertNoLeftovers(t, world)
		})
	}
}

func TestRestoreOfMissingBackup(t *testing.T) {
	ctx := context.Background()
	k, _ := newLocalKeeper(t, 5)
	dst := t.TempDir()
	makeWorld(t, dst, "kept")
	if _, err := k.RestoreDir(ctx, worldID, "20261207T120000000Z-none", dst); !errors.Is(err, spawner.ErrNotFound) {
		t.Fatalf("restore of a backup that does not exist: %v", err)
	}
	if list, _ := k.List(ctx, worldID); len(list) != 0 {
		t.Errorf("a refused restore backed the world up first: %+v", list)
	}
	for _, dir := range []string{"/", ".", "a/.."} {
		if _, err := k.RestoreDir(ctx, worldID, "20261207T120000000Z-none", dir); err == nil || !strings.Contains(err.Error(), "the world's own folder") {
			t.Errorf("restore into %q: %v", dir, err)
		}
	}
	for _, id := range []string{"../x", "a/b", ""} {
		if _, err := k.RestoreDir(ctx, id, "20261207T120000000Z-none", dst); !errors.Is(err, spawner.ErrWorldID) {
			t.Errorf("world id %q: %v", id, err)
		}
		if _, err := k.Backup(ctx, id, spawner.BackupStop, Dir(dst)); !errors.Is(err, spawner.ErrWorldID) {
			t.Errorf("world id %q: %v", id, err)
		}
	}
}

// The restored backup outlives the prune that follows its restore, even
// when it was the oldest one kept: the prune keeps the Keep newest (the
// one taken before the restore among them) and the one restored on top,
// so a restore never costs a backup the member might have meant.
func TestRestoreKeepsWhatItRestored(t *testing.T) {
	ctx := context.Background()
	k, _ := newLocalKeeper(t, 2)
	src := t.TempDir()
	makeWorld(t, src, "first")
	first, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	makeWorld(t, filepath.Join(src, "later"), "later")
	second, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "world")
	makeWorld(t, dst, "current")
	before, err := k.RestoreDir(ctx, worldID, first.ID, dst)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := k.List(ctx, worldID)
	var ids []string
	for _, b := range list {
		ids = append(ids, b.ID)
	}
	if want := []string{before.ID, second.ID, first.ID}; !slices.Equal(ids, want) {
		t.Fatalf("after restoring the oldest of 2 kept: %v, want %v", ids, want)
	}
	// The next backup's prune comes back to Keep.
	if _, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(dst)); err != nil {
		t.Fatal(err)
	}
	if list, _ := k.List(ctx, worldID); len(list) != 2 {
		t.Fatalf("%d backups after the next backup, want 2", len(list))
	}
}
