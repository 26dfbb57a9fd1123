package main

// How fast the daemon backs a world up under Docker, and with how much
// memory: the path the daemon takes (volumeContent.Backup: the engine's
// archive of the volume through a helper container, rewritten, piped into
// backup.TarStream and gzipped into the local store), against `tar czf`
// of the same folder on the same machine. Run it with
//
//	go test -run '^$' -bench WorldBackupDocker -benchtime 1x -count 5 -timeout 60m ./cmd/spawner/

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/benchworld"
	"github.com/mineral-contest/spawner/internal/testworld/dockerd"
)

// benchVolume is the world volume of the benchmark, made and filled once
// per run of the test binary; it goes with the test engine's data root
// when the engine stops (dockerd.Run). Its deployment is the process's,
// so that every run of the benchmark (-count) owns it.
var benchVolume struct {
	once       sync.Once
	deployment string
	storage    string
	dir        string // its content, as the host sees it
	err        error
}

// benchBackups counts the runs of BenchmarkWorldBackupDocker, whose
// parity says which of the two backups goes first.
var benchBackups atomic.Int64

// BenchmarkWorldBackupDocker backs the 1 GiB world of benchworld up from
// a volume of the test engine, as the daemon does (its worlds' content,
// local backups), and runs `tar czf` on the volume's folder on the host;
// which goes first alternates from one op, or run, to the next. It reports
// both throughputs, their ratio (tar's time over ours: the target is at
// least 0.8), and the peak of the process's resident memory above idle
// during the backup (the target is under 64 MiB). The engine's own work
// (reading the volume, its archive) is in the time, not in the memory.
func BenchmarkWorldBackupDocker(b *testing.B) {
	e := dockerd.Shared(b)
	benchVolume.once.Do(func() {
		benchVolume.deployment = fmt.Sprintf("bench-world-%d", os.Getpid())
	})
	cfg := wcConfig(b, "docker", map[string]string{
		"DOCKER_HOST": e.Host(), "SPAWNER_DEPLOYMENT": benchVolume.deployment, "WORLD_BACKUPS_KEEP": "1",
	})
	a := &adapters{}
	if err := a.newDocker(cfg, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.docker.Close() })
	content := wcContent(b, cfg, a.docker).content
	if _, ok := content.(*volumeContent); !ok {
		b.Fatalf("the worlds' content under Docker is a %T, not a volumeContent", content)
	}
	w := spawner.World{ID: "w-bench", Storage: benchWorldVolume(b, e, a), State: spawner.WorldStored}
	out := b.TempDir()
	ctx := context.Background()
	var ours, theirs time.Duration
	var above int64
	var last spawner.Backup
	runTar := func() {
		start := time.Now()
		cmd := exec.Command("tar", "czf", filepath.Join(out, "tar.tar.gz"), "-C", benchVolume.dir, ".")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tar czf: %v: %s", err, msg)
		}
		theirs += time.Since(start)
	}
	b.ResetTimer()
	for i := range b.N {
		tarFirst := (benchBackups.Add(1)+int64(i))%2 == 0
		if tarFirst {
			runTar()
		}
		base := benchworld.Idle(b)
		start := time.Now()
		bk, err := content.Backup(ctx, w, spawner.BackupManual)
		if err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		_, peak := benchworld.RSS(b)
		above = max(above, peak-base)
		if bk.ContentSize != benchworld.Size {
			b.Fatalf("the backup holds %d bytes of content, want the world's %d", bk.ContentSize, benchworld.Size)
		}
		last = bk
		if !tarFirst {
			runTar()
		}
	}
	b.StopTimer()
	mibps := func(d time.Duration) float64 { return float64(b.N) * benchworld.Size / (1 << 20) / d.Seconds() }
	b.ReportMetric(mibps(ours), "ours-MiB/s")
	b.ReportMetric(mibps(theirs), "tar-czf-MiB/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
	b.ReportMetric(float64(above)/(1<<20), "peak-RSS-above-idle-MiB")
	b.ReportMetric(float64(last.Size)/(1<<20), "archive-MiB")
}

// benchWorldVolume returns the benchmark's world volume, made by a's
// runtime and filled with benchworld's world on first use, written
// straight into the volume's folder on the host (the test engine runs as
// root on this machine, its data root a temporary folder).
func benchWorldVolume(b *testing.B, e *dockerd.Engine, a *adapters) string {
	b.Helper()
	if benchVolume.storage == "" && benchVolume.err == nil {
		benchVolume.err = func() error {
			ctx := context.Background()
			storage, err := a.docker.NewWorldStorage(ctx, "w-bench")
			if err != nil {
				return err
			}
			v, err := e.Client(b).VolumeInspect(ctx, storage)
			if err != nil {
				return err
			}
			if err := benchworld.Make(v.Mountpoint, benchworld.Size); err != nil {
				return fmt.Errorf("fill volume %s at %s: %w", storage, v.Mountpoint, err)
			}
			benchVolume.storage, benchVolume.dir = storage, v.Mountpoint
			return nil
		}()
	}
	if benchVolume.err != nil {
		b.Fatal(benchVolume.err)
	}
	return benchVolume.storage
}
