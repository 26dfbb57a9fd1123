package backup

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The crash tests run a child process (this test binary again, told by
// crashEnv what to do, see TestMain) that backs up or restores a world and
// stops at the worst moment, saying so on its standard output; the parent
// then SIGKILLs it and looks at what is left on disk.
const (
	crashEnv       = "SPAWNER_BACKUP_CRASH"        // what the child does
	crashDirEnv    = "SPAWNER_BACKUP_CRASH_DIR"    // its folder: backups/ and world/
	crashBackupEnv = "SPAWNER_BACKUP_CRASH_BACKUP" // the backup it restores
	crashWorld     = "w-crash"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(crashEnv); mode != "" {
		err := crashChild(mode, os.Getenv(crashDirEnv), os.Getenv(crashBackupEnv))
		fmt.Fprintf(os.Stderr, "crash child %s ended without being killed: %v\n", mode, err)
		os.Exit(3)
	}
	code := m.Run()
	removeBenchWorld()
	os.Exit(code)
}

// crashChild does what mode says in dir and blocks at the worst moment,
// once it has printed where it is; it returns only if something failed.
func crashChild(mode, dir, backupID string) error {
	ctx := context.Background()
	k := &Keeper{Store: NewLocal(filepath.Join(dir, "backups")), Keep: 5}
	world := filepath.Join(dir, "world")
	block := func(where string) {
		fmt.Println(where)
		select {} // until the SIGKILL
	}
	switch mode {
	case "mid-archive":
		// The world's folder, then a file of the volume whose stream stops
		// in its middle, once megabytes of archive are on disk.
		src := func(ctx context.Context, a *Archive) error {
			if err := Dir(world)(ctx, a); err != nil {
				return err
			}
			h := &tar.Header{Name: "zz-live.dat", Typeflag: tar.TypeReg, Mode: 0o644, Size: 16 << 20}
			return a.Add(h, io.MultiReader(
				io.LimitReader(rand.NewChaCha8([32]byte{9}), 8<<20),
				readFunc(func([]byte) (int, error) {
					block("mid-archive")
					return 0, nil
				})))
		}
		_, err := k.Backup(ctx, crashWorld, spawner.BackupStop, src)
		return err
	case "mid-extract":
		k.Store = &stallingStore{Store: k.Store, after: 1 << 20, stall: func() { block("mid-extract") }}
		_, err := k.RestoreDir(ctx, crashWorld, backupID, world)
		return err
	case "between-renames":
		k.beforeSwapIn = func() { block("between-renames") }
		_, err := k.RestoreDir(ctx, crashWorld, backupID, world)
		return err
	}
	return fmt.Errorf("unknown mode %q", mode)
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// stallingStore is a Store whose archives stop being read after a number
// of bytes, and call stall there.
type stallingStore struct {
	Store
	after int64
	stall func()
}

func (s *stallingStore) Open(ctx context.Context, worldID, backupID string) (io.ReadCloser, spawner.Backup, error) {
	rc, b, err := s.Store.Open(ctx, worldID, backupID)
	if err != nil {
		return nil, b, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(rc, s.after), readFunc(func([]byte) (int, error) {
		s.stall()
		return 0, nil
	})), rc}, b, nil
}

// killAt runs the child in mode on dir, waits until it says it reached
// where, SIGKILLs it and waits for it to be gone.
func killAt(tb testing.TB, mode, dir, backupID, where string) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+mode, crashDirEnv+"="+dir, crashBackupEnv+"="+backupID)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	timeout := time.After(2 * time.Minute)
wait:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				tb.Fatalf("the child ended before %q (printed %q; stderr: %s)", where, seen, stderr.String())
			}
			if line == where {
				break wait
			}
			seen = append(seen, line)
		case <-timeout:
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			tb.Fatalf("the child did not reach %q in 2 minutes (printed %q; stderr: %s)", where, seen, stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		tb.Fatal(err)
	}
	for range lines {
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		tb.Fatalf("the child ended with %v, not by the SIGKILL (stderr: %s)", err, stderr.String())
	}
}

// crashSetup makes dir/world with the old content and, in dir/backups, one
// backup of the old content and one of a new content; it returns the
// trees of both and the new backup.
func crashSetup(tb testing.TB) (dir string, oldTree, newTree map[string]string, older, newer spawner.Backup) {
	tb.Helper()
	dir = tb.TempDir()
	k := &Keeper{Store: NewLocal(filepath.Join(dir, "backups")), Keep: 5}
	world := filepath.Join(dir, "world")
	makeWorld(tb, world, "old")
	oldTree = treeOf(tb, world)
	var err error
	if older, err = k.Backup(context.Background(), crashWorld, spawner.BackupStop, Dir(world)); err != nil {
		tb.Fatal(err)
	}
	next := filepath.Join(tb.TempDir(), "next")
	makeWorld(tb, next, "new")
	randomWorld(tb, filepath.Join(next, "big"), 4<<20) // so that a restore has a middle
	newTree = treeOf(tb, next)
	if newer, err = k.Backup(context.Background(), crashWorld, spawner.BackupManual, Dir(next)); err != nil {
		tb.Fatal(err)
	}
	return dir, oldTree, newTree, older, newer
}

func TestSIGKILLMidArchive(t *testing.T) {
	dir, oldTree, _, older, newer := crashSetup(t)
	killAt(t, "mid-archive", dir, "", "mid-archive")

	wd := filepath.Join(dir, "backups", crashWorld)
	var partial int64
	for _, name := range dirNames(t, wd) {
		if strings.HasSuffix(name, ".tmp") {
			info, err := os.Stat(filepath.Join(wd, name))
			if err != nil {
				t.Fatal(err)
			}
			partial += info.Size()
		}
	}
	if partial < 1<<20 {
		t.Fatalf("the kill did not land mid-archive: %d bytes of a half archive on disk", partial)
	}
	k := &Keeper{Store: NewLocal(filepath.Join(dir, "backups")), Keep: 5}
	list, err := k.List(context.Background(), crashWorld)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(list, []spawner.Backup{newer, older}) {
		t.Fatalf("after a SIGKILL mid-archive, listed %+v, want the two older backups", list)
	}
	assertSameTree(t, oldTree, treeOf(t, filepath.Join(dir, "world")))

	// The next backup works, and its prune, once the half archive is old
	// enough, removes it.
	k.Now = func() time.Time { return time.Now().Add(SweepGrace + time.Minute) }
	if _, err := k.Backup(context.Background(), crashWorld, spawner.BackupStop, Dir(filepath.Join(dir, "world"))); err != nil {
		t.Fatal(err)
	}
	for _, name := range dirNames(t, wd) {
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("the half archive is still there after a prune: %s", name)
		}
	}
}

func TestSIGKILLMidRestore(t *testing.T) {
	for _, c := range []struct {
		mode string
		want string // "old" or "new": what the world holds after Recover
	}{
		{"mid-extract", "old"},
		{"between-renames", "new"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			dir, oldTree, newTree, _, newer := crashSetup(t)
			world := filepath.Join(dir, "world")
			killAt(t, c.mode, dir, newer.ID, c.mode)

			if c.mode == "between-renames" {
				// Truly the worst moment: the world's folder is not there.
				if _, err := os.Lstat(world); !os.IsNotExist(err) {
					t.Fatalf("the kill did not land between the renames: %v", err)
				}
			}
			if err := Recover(world); err != nil {
				t.Fatal(err)
			}
			got := treeOf(t, world)
			switch {
			case mapsEqual(got, oldTree):
				t.Logf("after the SIGKILL %s, the world holds wholly its old content", c.mode)
			case mapsEqual(got, newTree):
				t.Logf("after the SIGKILL %s, the world holds wholly the new content", c.mode)
			default:
				t.Fatal("after the SIGKILL and Recover, the world is neither its old content nor the new one")
			}
			if want := map[string]map[string]string{"old": oldTree, "new": newTree}[c.want]; !mapsEqual(got, want) {
				t.Errorf("the world holds the other content than the %s one expected", c.want)
			}
			assertNoLeftovers(t, world)
			// A second Recover has nothing to do.
			if err := Recover(world); err != nil || !mapsEqual(treeOf(t, world), got) {
				t.Fatalf("a second Recover changed the world (%v)", err)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
