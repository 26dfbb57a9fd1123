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
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

const worldID = "w-0123abcd"

func newLocalKeeper(tb testing.TB, keep int) (*Keeper, string) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "backups")
	return &Keeper{Store: NewLocal(dir), Keep: keep, Now: newClock().now}, dir
}

func TestLocalRoundTrip(t *testing.T) {
	ctx := context.Background()
	k, backups := newLocalKeeper(t, 5)
	src := filepath.Join(t.TempDir(), "world")
	makeWorld(t, src, "one")
	want := treeOf(t, src)

	b, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	list, err := k.List(ctx, worldID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0] != b {
		t.Fatalf("listed %+v, want only %+v", list, b)
	}
	if b.Reason != spawner.BackupStop || b.WorldID != worldID || b.Size <= 0 || len(b.SHA256) != 64 {
		t.Errorf("backup described as %+v", b)
	}
	if b.ContentSize != contentSize(t, src) {
		t.Errorf("content size %d, want %d", b.ContentSize, contentSize(t, src))
	}
	if _, err := os.Stat(filepath.Join(backups, worldID, b.ID+".tar.gz")); err != nil {
		t.Errorf("the archive is not where the docs say: %v", err)
	}

	// Restore into a folder holding another world: it is backed up first,
	// then replaced by exactly the content backed up.
	dst := filepath.Join(t.TempDir(), "world")
	makeWorld(t, dst, "two")
	other := treeOf(t, dst)
	before, err := k.RestoreDir(ctx, worldID, b.ID, dst)
	if err != nil {
		t.Fatal(err)
	}
	assertSameTree(t, want, treeOf(t, dst))
	if before.Reason != spawner.BackupBeforeRestore || before.ID == "" {
		t.Fatalf("the content replaced was not backed up first: %+v", before)
	}
	assertNoLeftovers(t, dst)

	// The backup taken before the restore brings the other world back.
	if _, err := k.RestoreDir(ctx, worldID, before.ID, dst); err != nil {
		t.Fatal(err)
	}
	assertSameTree(t, other, treeOf(t, dst))
	list, _ = k.List(ctx, worldID)
	if len(list) != 3 {
		t.Errorf("%d backups listed after two restores, want 3 (one, and each restore's before)", len(list))
	}
}

func contentSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return err
	})
	return n
}

// assertNoLeftovers checks that nothing of a restore is left beside dir.
func assertNoLeftovers(tb testing.TB, dir string) {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+filepath.Base(dir)) {
			tb.Errorf("left beside the world: %s", e.Name())
		}
	}
}

func TestKeepNewest(t *testing.T) {
	ctx := context.Background()
	k, _ := newLocalKeeper(t, 3)
	src := t.TempDir()
	makeWorld(t, src, "kept")
	var made []string
	for range 5 {
		b, err := k.Backup(ctx, worldID, spawner.BackupManual, Dir(src))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, b.ID)
	}
	list, err := k.List(ctx, worldID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range list {
		ids = append(ids, b.ID)
	}
	slices.Reverse(made)
	if !slices.Equal(ids, made[:3]) {
		t.Fatalf("kept %v, want the 3 newest %v", ids, made[:3])
	}
	if _, _, err := k.Store.Open(ctx, worldID, made[4]); !errors.Is(err, spawner.ErrNotFound) {
		t.Errorf("the oldest backup still opens: %v", err)
	}
}

func TestFailedBackupRemovesNothing(t *testing.T) {
	ctx := context.Background()
	k, backups := newLocalKeeper(t, 2)
	src := t.TempDir()
	makeWorld(t, src, "good")
	var good []spawner.Backup
	for range 2 {
		b, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
		if err != nil {
			t.Fatal(err)
		}
		good = append([]spawner.Backup{b}, good...)
	}
	files := dirNames(t, filepath.Join(backups, worldID))

	// A volume whose tar stream breaks off in the middle of a file.
	stream := tarOf(t, []entry{
		{tar.Header{Name: "level.dat", Typeflag: tar.TypeReg}, strings.Repeat("x", 1<<20)},
	})
	_, err := k.Backup(ctx, worldID, spawner.BackupStop, TarStream(&failingReader{r: bytes.NewReader(stream), n: 300 << 10}, ""))
	if !errors.Is(err, errDiskGone) {
		t.Fatalf("a backup whose source failed returned %v", err)
	}
	list, err := k.List(ctx, worldID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(list, good) {
		t.Fatalf("after a failed backup, listed %+v, want the older %+v", list, good)
	}
	if got := dirNames(t, filepath.Join(backups, worldID)); !slices.Equal(got, files) {
		t.Errorf("the failed backup left files: %v, before %v", got, files)
	}

	// A source that fails at once (the world's folder is gone) too.
	if _, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(filepath.Join(src, "missing"))); err == nil {
		t.Fatal("a backup of a missing folder succeeded")
	}
	if list, _ := k.List(ctx, worldID); !slices.Equal(list, good) {
		t.Fatalf("after a failed backup, listed %+v, want %+v", list, good)
	}
}

func dirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// tarOf is the uncompressed tar stream of entries, as Docker sends one.
func tarOf(tb testing.TB, entries []entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestIncompleteBackupNotListedAndSwept(t *testing.T) {
	ctx := context.Background()
	k, backups := newLocalKeeper(t, 5)
	k.Now = time.Now // the leftovers' times are the machine's
	src := t.TempDir()
	makeWorld(t, src, "x")
	b, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	wd := filepath.Join(backups, worldID)
	// What a SIGKILL leaves: an archive being written, and one renamed
	// before its description was.
	for _, name := range []string{".20261207T120000000Z-dead.abc.tmp", "20261207T120001000Z-beef.tar.gz"} {
		if err := os.WriteFile(filepath.Join(wd, name), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	list, err := k.List(ctx, worldID)
	if err != nil || len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("listed %+v (%v), want only the complete backup", list, err)
	}
	// Fresh leftovers may be a backup under way: they stay.
	if err := k.Prune(ctx, worldID); err != nil {
		t.Fatal(err)
	}
	if n := len(dirNames(t, wd)); n != 4 {
		t.Errorf("prune removed fresh leftovers: %v", dirNames(t, wd))
	}
	if err := k.Store.Sweep(ctx, worldID, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, wd); !slices.Equal(got, []string{b.ID + ".json", b.ID + ".tar.gz"}) {
		t.Errorf("after a sweep: %v", got)
	}
}

func TestRestoreRefusesChecksumMismatch(t *testing.T) {
	ctx := context.Background()
	k, backups := newLocalKeeper(t, 5)
	src := t.TempDir()
	makeWorld(t, src, "a")
	a, err := k.Write(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	makeWorld(t, filepath.Join(src, "more"), "b")
	b, err := k.Write(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	wd := filepath.Join(backups, worldID)
	archive := func(id string) string { return filepath.Join(wd, id+".tar.gz") }

	for name, damage := range map[string]func(t *testing.T){
		// another complete, valid archive in place of a's: only the
		// checksum tells them apart.
		"another archive": func(t *testing.T) {
			data, err := os.ReadFile(archive(b.ID))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(archive(a.ID), data, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"a flipped byte": func(t *testing.T) {
			data, err := os.ReadFile(archive(a.ID))
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x40
			if err := os.WriteFile(archive(a.ID), data, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"cut short": func(t *testing.T) {
			if err := os.Truncate(archive(a.ID), a.Size-100); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			good, err := os.ReadFile(archive(a.ID))
			if err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(archive(a.ID), good, 0o600)
			damage(t)
			dst := filepath.Join(t.TempDir(), "world")
			makeWorld(t, dst, "current")
			current := treeOf(t, dst)
			_, err = k.RestoreDir(ctx, worldID, a.ID, dst)
			if !errors.Is(err, ErrChecksum) {
				t.Fatalf("restore of a damaged archive returned %v, want ErrChecksum", err)
			}
			assertSameTree(t, current, treeOf(t, dst))
			assertNoLeftovers(t, dst)
			var buf bytes.Buffer
			if err := k.RestoreTar(ctx, worldID, a.ID, &buf); !errors.Is(err, ErrChecksum) {
				t.Fatalf("tar restore of a damaged archive returned %v, want ErrChecksum", err)
			}
		})
	}
}

func TestRestoreRefusesUnsafeEntries(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	file := func(name, body string) entry {
		return entry{tar.Header{Name: name, Typeflag: tar.TypeReg}, body}
	}
	link := func(name, target string) entry {
		return entry{tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}, ""}
	}
	for name, entries := range map[string][]entry{
		"dot-dot":                 {file("ok.txt", "ok"), file("../outside/pwned", "x")},
		"dot-dot inside":          {file("a/../../outside/pwned", "x")},
		"absolute":                {file(outside+"/pwned", "x")},
		"through an outside link": {link("escape", outside), file("escape/pwned", "x")},
		"through a relative link": {link("escape", "../outside"), file("escape/pwned", "x")},
		"through an inside link":  {entry{tar.Header{Name: "d/", Typeflag: tar.TypeDir}, ""}, link("l", "d"), file("l/f", "x")},
		"over a link":             {link("escape", outside+"/pwned"), file("escape", "x")},
		"hard link out":           {entry{tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../outside/pwned"}, ""}},
		"a device":                {entry{tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, ""}},
	} {
		t.Run(name, func(t *testing.T) {
			k, _ := newLocalKeeper(t, 5)
			data, b := craft(t, worldID, "20261207T120000000Z-bad0", entries)
			store(t, k.Store, data, b)
			dst := filepath.Join(dir, "world-"+strings.ReplaceAll(name, " ", "-"))
			makeWorld(t, dst, "current")
			current := treeOf(t, dst)
			_, err := k.RestoreDir(ctx, worldID, b.ID, dst)
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Fatalf("restore returned %v, want ErrUnsafeEntry", err)
			}
			t.Logf("refused: %v", err)
			if got := dirNames(t, outside); len(got) != 0 {
				t.Fatalf("the restore wrote outside the world: %v", got)
			}
			assertSameTree(t, current, treeOf(t, dst))
			assertNoLeftovers(t, dst)
			if err := k.RestoreTar(ctx, worldID, b.ID, io.Discard); !errors.Is(err, ErrUnsafeEntry) {
				t.Errorf("tar restore returned %v, want ErrUnsafeEntry", err)
			}
		})
	}
}

func TestBackupRefusesUnsafeStream(t *testing.T) {
	ctx := context.Background()
	k, _ := newLocalKeeper(t, 5)
	for name, e := range map[string]entry{
		"dot-dot":       {tar.Header{Name: "../x", Typeflag: tar.TypeReg}, "x"},
		"absolute":      {tar.Header{Name: "/etc/x", Typeflag: tar.TypeReg}, "x"},
		"hard link out": {tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../x"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := k.Backup(ctx, worldID, spawner.BackupManual, TarStream(bytes.NewReader(tarOf(t, []entry{e})), ""))
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Fatalf("backup returned %v, want ErrUnsafeEntry", err)
			}
		})
	}
	if list, _ := k.List(ctx, worldID); len(list) != 0 {
		t.Errorf("refused backups listed: %+v", list)
	}
}

func TestRestoreRefusesMoreThanRecorded(t *testing.T) {
	ctx := context.Background()
	k, _ := newLocalKeeper(t, 5)
	data, b := craft(t, worldID, "20261207T120000000Z-b0b0", []entry{
		{tar.Header{Name: "big", Typeflag: tar.TypeReg}, strings.Repeat("z", 1<<20)},
	})
	b.ContentSize = 1000 // the description promises less than the archive holds
	store(t, k.Store, data, b)
	dst := filepath.Join(t.TempDir(), "world")
	if _, err := k.RestoreDir(ctx, worldID, b.ID, dst); !errors.Is(err, ErrTooBig) {
		t.Fatalf("restore returned %v, want ErrTooBig", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a refused restore made the world's folder: %v", err)
	}

	k.MaxContent = 100
	data2, b2 := craft(t, worldID, "20261207T120000000Z-b0b1", []entry{{tar.Header{Name: "f", Typeflag: tar.TypeReg}, strings.Repeat("z", 200)}})
	store(t, k.Store, data2, b2)
	if _, err := k.RestoreDir(ctx, worldID, b2.ID, dst); !errors.Is(err, ErrTooBig) {
		t.Fatalf("restore above MaxContent returned %v, want ErrTooBig", err)
	}
}
