package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// makeWorld writes into dir a small world with what a game's folder holds:
// nested folders, an empty one, files of several modes and times, an empty
// file, and symbolic links (relative, absolute, dangling, to a folder).
// tag changes the files' content, so two worlds made with different tags
// differ everywhere.
func makeWorld(tb testing.TB, dir, tag string) {
	tb.Helper()
	files := []struct {
		name string
		mode fs.FileMode
		data string
	}{
		{"level.dat", 0o644, "level of " + tag},
		{"server.properties", 0o600, "motd=" + tag + "\n"},
		{"world/region/r.0.0.mca", 0o644, strings.Repeat("region "+tag, 5000)},
		{"world/region/r.0.1.mca", 0o640, strings.Repeat("\x00\x01"+tag, 3000)},
		{"world/playerdata/p1.dat", 0o644, "player " + tag},
		{"logs/latest.log", 0o644, ""},
		{"start.sh", 0o755, "#!/bin/sh\necho " + tag + "\n"},
		{"read-only/frozen.txt", 0o444, "frozen " + tag},
	}
	when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for i, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), 0o600); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chtimes(p, when, when.Add(time.Duration(i)*time.Hour)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "world", "empty"), 0o750); err != nil {
		tb.Fatal(err)
	}
	for link, target := range map[string]string{
		"latest":          "logs/latest.log",
		"world/up":        "../level.dat",
		"absolute":        "/etc/hostname",
		"dangling":        "nowhere/" + tag,
		"world/regionDir": "region",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "read-only"), 0o555); err != nil {
		tb.Fatal(err)
	}
	for _, d := range []string{"read-only", "world/empty", "world"} {
		if err := os.Chtimes(filepath.Join(dir, d), when, when.Add(-time.Hour)); err != nil {
			tb.Fatal(err)
		}
	}
}

// treeOf describes every entry under dir: type, mode, time, content or
// link target, so two trees compare as strings.
func treeOf(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := info.Mode().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case info.IsDir():
			desc += " " + info.ModTime().UTC().Format(time.RFC3339)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			desc += " " + info.ModTime().UTC().Format(time.RFC3339) + " " + hex.EncodeToString(sum[:8])
		}
		tree[filepath.ToSlash(rel)] = desc
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return tree
}

func assertSameTree(tb testing.TB, want, got map[string]string) {
	tb.Helper()
	for name, w := range want {
		if g, ok := got[name]; !ok {
			tb.Errorf("%s: missing (want %s)", name, w)
		} else if g != w {
			tb.Errorf("%s: got %s, want %s", name, g, w)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			tb.Errorf("%s: unexpected %s", name, g)
		}
	}
}

// entry is one entry of a hand-made archive.
type entry struct {
	hdr  tar.Header
	body string
}

// craft returns the tar.gz of entries, as a hostile or broken archive
// would be, and its description as a backup of world.
func craft(tb testing.TB, worldID, id string, entries []entry) ([]byte, spawner.Backup) {
	tb.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	var content int64
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
			content += h.Size
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
	if err := gz.Close(); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), spawner.Backup{
		ID: id, WorldID: worldID, Time: time.Now().UTC(), Size: int64(buf.Len()),
		SHA256: hex.EncodeToString(sum[:]), ContentSize: content, Reason: spawner.BackupManual,
	}
}

// store puts a hand-made archive into s as a complete, listed backup.
func store(tb testing.TB, s Store, data []byte, b spawner.Backup) {
	tb.Helper()
	up, err := s.Create(context.Background(), b.WorldID, b.ID)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := up.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := up.Commit(context.Background(), b); err != nil {
		tb.Fatal(err)
	}
}

// clock is a time that moves a second each time it is read.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)} }

// failingReader reads n bytes of r, then fails.
type failingReader struct {
	r io.Reader
	n int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errDiskGone
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

var errDiskGone = &os.PathError{Op: "read", Path: "world", Err: io.ErrUnexpectedEOF}
