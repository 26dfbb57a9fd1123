package backup

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/benchworld"
	"github.com/mineral-contest/spawner/internal/testworld/fakes3"
)

// The benchmarks back up a 1 GiB world made once per run of the test
// binary, in the system's temporary folder, and removed by TestMain:
//
//	go test -run '^$' -bench Backup -benchtime 1x -count 5 -timeout 60m ./internal/backup/
//
// They run only with -bench, so the suite stays fast.

var benchWorld struct {
	once sync.Once
	dir  string
	err  error
}

func removeBenchWorld() {
	if benchWorld.dir != "" {
		_ = os.RemoveAll(benchWorld.dir)
	}
}

// benchWorldDir returns the 1 GiB world (benchworld.Make), made on first
// use.
func benchWorldDir(b *testing.B) string {
	b.Helper()
	benchWorld.once.Do(func() {
		// Not b.TempDir: the world is made once and shared by every
		// benchmark; TestMain removes it (removeBenchWorld).
		dir, err := os.MkdirTemp("", "spawner-bench-world-") //nolint:usetesting // shared by every benchmark, removed by TestMain
		if err != nil {
			benchWorld.err = err
			return
		}
		benchWorld.dir = dir
		benchWorld.err = benchworld.Make(dir, benchworld.Size)
	})
	if benchWorld.err != nil {
		b.Fatal(benchWorld.err)
	}
	return benchWorld.dir
}

// BenchmarkBackup1GiB backs the 1 GiB world up to the local store and,
// in the same iteration on the same machine, runs `tar czf` on it: it
// reports both throughputs, their ratio, and the peak of the process's
// resident memory above idle during the backup.
func BenchmarkBackup1GiB(b *testing.B) {
	world := benchWorldDir(b)
	out := b.TempDir()
	k := &Keeper{Store: NewLocal(filepath.Join(out, "backups")), Keep: 1}
	ctx := context.Background()
	b.ResetTimer()
	var ours, theirs time.Duration
	var above int64
	var arc spawner.Backup
	for i := range b.N {
		tarGz := filepath.Join(out, "tar.tar.gz")
		runTar := func() {
			start := time.Now()
			cmd := exec.Command("tar", "czf", tarGz, "-C", world, ".")
			if msg, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("tar czf: %v: %s", err, msg)
			}
			theirs += time.Since(start)
		}
		if i%2 == 1 {
			runTar()
		}
		base := benchworld.Idle(b)
		start := time.Now()
		var err error
		if arc, err = k.Backup(ctx, "bench", spawner.BackupStop, Dir(world)); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		_, peak := benchworld.RSS(b)
		above = max(above, peak-base)
		if i%2 == 0 {
			runTar()
		}
		if info, err := os.Stat(tarGz); err == nil && i == 0 {
			b.ReportMetric(float64(info.Size())/(1<<20), "tar-archive-MiB")
		}
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * benchworld.Size / (1 << 20) / d.Seconds() }
	b.ReportMetric(mbps(ours), "ours-MiB/s")
	b.ReportMetric(mbps(theirs), "tar-czf-MiB/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
	b.ReportMetric(float64(above)/(1<<20), "peak-RSS-above-idle-MiB")
	b.ReportMetric(float64(arc.Size)/(1<<20), "archive-MiB")
}

// BenchmarkBackupS3_1GiB backs the 1 GiB world up through the real S3
// client to a loopback S3 that reads and drops every part, to measure the
// memory of a multipart upload of a big world.
func BenchmarkBackupS3_1GiB(b *testing.B) {
	world := benchWorldDir(b)
	srv := httptest.NewServer(http.HandlerFunc(discardS3))
	b.Cleanup(srv.Close)
	client := (&fakes3.Server{URL: srv.URL}).Client(b)
	store, err := NewS3(client, "bench", S3Options{})
	if err != nil {
		b.Fatal(err)
	}
	k := &Keeper{Store: store}
	b.ResetTimer()
	var above int64
	var took time.Duration
	for range b.N {
		base := benchworld.Idle(b)
		start := time.Now()
		if _, err := k.Write(context.Background(), "bench", spawner.BackupStop, Dir(world)); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		_, peak := benchworld.RSS(b)
		above = max(above, peak-base)
	}
	b.ReportMetric(float64(b.N)*benchworld.Size/(1<<20)/took.Seconds(), "ours-MiB/s")
	b.ReportMetric(float64(above)/(1<<20), "peak-RSS-above-idle-MiB")
}

// discardS3 answers the requests of an upload as S3 does, keeping nothing.
func discardS3(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	q := r.URL.Query()
	w.Header().Set("ETag", `"0123456789abcdef"`)
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>`)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><ETag>"x"</ETag></CompleteMultipartUploadResult>`)
	}
}
