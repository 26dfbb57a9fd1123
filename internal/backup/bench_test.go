package backup

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakes3"
)

// The benchmarks back up a 1 GiB world made once per run of the test
// binary, in the system's temporary folder, and removed by TestMain:
//
//	go test -run '^$' -bench Backup -benchtime 1x -count 5 -timeout 60m ./internal/backup/
//
// They run only with -bench, so the suite stays fast.

const benchWorldSize = 1 << 30

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

// benchWorldDir returns the 1 GiB world, made on first use: what a game's
// folder holds, in proportions a Minecraft world of a year shows: region
// files whose chunks are already compressed (here half their blocks are
// random bytes), and text and structured data that compress well (logs,
// player data, stats: here words and numbers): about 170 files of 2 to
// 10 MiB and 1,500 small ones. It compresses to about two thirds.
func benchWorldDir(b *testing.B) string {
	b.Helper()
	benchWorld.once.Do(func() {
		dir, err := os.MkdirTemp("", "spawner-bench-world-")
		if err != nil {
			benchWorld.err = err
			return
		}
		benchWorld.dir = dir
		benchWorld.err = makeBenchWorld(dir, benchWorldSize)
	})
	if benchWorld.err != nil {
		b.Fatal(benchWorld.err)
	}
	return benchWorld.dir
}

func makeBenchWorld(dir string, size int64) error {
	r := rand.New(rand.NewPCG(1, 2))
	random := rand.NewChaCha8([32]byte{7})
	words := strings.Fields("minecraft:stone minecraft:dirt minecraft:grass_block minecraft:oak_log minecraft:water " +
		"Pos Motion Rotation Health FallDistance Inventory Count Slot id tag Damage xp Level Score " +
		"[Server thread/INFO]: joined the game left the game Saving chunks for level ServerLevel")
	block := make([]byte, 64<<10)
	text := func(p []byte) {
		p = p[:0]
		for len(p) < cap(p)-32 {
			p = append(p, words[r.IntN(len(words))]...)
			p = append(p, '=')
			p = strconv.AppendInt(p, int64(r.IntN(2000)-1000), 10)
			if r.IntN(8) == 0 {
				p = append(p, '\n')
			} else {
				p = append(p, ' ')
			}
		}
		for len(p) < cap(p) {
			p = append(p, '\n')
		}
	}
	write := func(name string, n int64, compressed bool) error {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for n > 0 {
			p := block[:min(int64(len(block)), n)]
			if compressed && r.IntN(2) == 0 {
				_, _ = random.Read(p)
			} else {
				text(p)
			}
			if _, err := w.Write(p); err != nil {
				f.Close()
				return err
			}
			n -= int64(len(p))
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	left := size
	for i := 0; left > 0; i++ {
		var name string
		var n int64
		var compressed bool
		switch {
		case i%10 < 9 || left < 1<<20:
			// small files: player data, stats, advancements, logs
			name = filepath.Join(dir, "world", "playerdata", fmt.Sprintf("%02x", i%64), fmt.Sprintf("p%05d.dat", i))
			n = min(left, int64(1<<10+r.IntN(31<<10)))
		default:
			name = filepath.Join(dir, "world", "region", fmt.Sprintf("r.%d.%d.mca", i%37, i/37))
			n, compressed = min(left, int64(2<<20+r.IntN(8<<20))), true
		}
		if err := write(name, n, compressed); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// rss reads the process's resident and peak resident memory (VmRSS and
// VmHWM), in bytes.
func rss(tb testing.TB) (now, peak int64) {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status to measure memory with")
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		kib, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			now = kib << 10
		case "VmHWM:":
			peak = kib << 10
		}
	}
	return now, peak
}

// idle frees what can be freed and resets the peak, so that the next peak
// read is what came after; it returns the resident memory now.
func idle(tb testing.TB) int64 {
	tb.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Skipf("cannot reset the peak memory: %v", err)
	}
	now, _ := rss(tb)
	return now
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
		base := idle(b)
		start := time.Now()
		var err error
		if arc, err = k.Backup(ctx, "bench", spawner.BackupStop, Dir(world)); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		_, peak := rss(b)
		above = max(above, peak-base)
		if i%2 == 0 {
			runTar()
		}
		if info, err := os.Stat(tarGz); err == nil && i == 0 {
			b.ReportMetric(float64(info.Size())/(1<<20), "tar-archive-MiB")
		}
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * benchWorldSize / (1 << 20) / d.Seconds() }
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
		base := idle(b)
		start := time.Now()
		if _, err := k.Write(context.Background(), "bench", spawner.BackupStop, Dir(world)); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		_, peak := rss(b)
		above = max(above, peak-base)
	}
	b.ReportMetric(float64(b.N)*benchWorldSize/(1<<20)/took.Seconds(), "ours-MiB/s")
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
