// Package benchworld makes the world the backup benchmarks back up, the
// same for each of them (internal/backup's on a folder, cmd/spawner's
// through a Docker volume), and reads the memory a backup takes: the
// process's peak resident memory above what it held idle.
package benchworld

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// Size is the size of the benchmarks' world: 1 GiB of file content.
const Size = 1 << 30

// Make writes into dir a world of size bytes of file content, the same for
// the same size: what a game's folder holds, in proportions a Minecraft
// world of a year shows: region files whose chunks are already compressed
// (here half their blocks are random bytes), and text and structured data
// that compress well (logs, player data, stats: here words and numbers).
// At Size, that is about 170 files of 2 to 10 MiB and 1,500 small ones,
// and it compresses to about two thirds.
func Make(dir string, size int64) error {
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

// RSS reads the process's resident and peak resident memory (VmRSS and
// VmHWM), in bytes. It skips tb where /proc/self/status is missing.
func RSS(tb testing.TB) (now, peak int64) {
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

// Idle frees what can be freed and resets the peak, so that the next peak
// RSS reads is what came after; it returns the resident memory now. It
// skips tb where the peak cannot be reset (not Linux).
func Idle(tb testing.TB) int64 {
	tb.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Skipf("cannot reset the peak memory: %v", err)
	}
	now, _ := RSS(tb)
	return now
}
