package mcsleep

import (
	"context"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcnet "github.com/Tnze/go-mc/net"
	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/text"
)

// The benchmarks measure what asleep worlds cost the bot; they are not run
// by go test without -bench. Each run is one measurement (-benchtime 1x);
// take the median of 5 (-count 5):
//
//	go test -run '^$' -bench BenchmarkIdleListeners -benchtime 1x -count 5 ./internal/mcsleep/
//	go test -run '^$' -bench BenchmarkStatusPings -benchtime 1x -count 5 ./internal/mcsleep/   # 10 s a run

// heapAfterGC is the heap in use once garbage is collected.
func heapAfterGC() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// rssMiB reads a field of /proc/self/status (VmRSS, VmHWM) in MiB.
func rssMiB(tb testing.TB, field string) float64 {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// BenchmarkIdleListeners50 opens 50 asleep worlds' listeners through a Set,
// each answered once (so maps and buffers a first client allocates are
// counted), and reports the heap and stacks they hold and their goroutines.
// Target: under 5 MiB, one goroutine per idle port.
func BenchmarkIdleListeners50(b *testing.B) {
	const worlds = 50
	for range b.N {
		s, err := NewSet(SetConfig{Config: Config{Waker: &waker{}, Lang: text.Fr}})
		if err != nil {
			b.Fatal(err)
		}
		heap0, stack0 := heapAfterGC()
		g0 := runtime.NumGoroutine()
		for i := range worlds {
			l, err := s.Listen("127.0.0.1:0", World{ID: "world-" + strconv.Itoa(i), Version: "1.20.4", Protocol: 765, MaxPlayers: 10})
			if err != nil {
				b.Fatal(err)
			}
			if err := pingOnce(l.Addr().String(), ""); err != nil {
				b.Fatal(err)
			}
		}
		waitFor(b, "every ping's connection to end", func() bool { return s.Stats().Open == 0 })
		heap1, stack1 := heapAfterGC()
		goroutines := runtime.NumGoroutine() - g0
		s.CloseAll()
		if goroutines != worlds {
			b.Errorf("%d goroutines for %d idle listeners, want %d", goroutines, worlds, worlds)
		}
		b.ReportMetric(float64(int64(heap1)-int64(heap0))/(1<<20), "MiB-heap")
		b.ReportMetric(float64(int64(stack1)-int64(stack0))/(1<<20), "MiB-stack")
		b.ReportMetric(float64(goroutines), "goroutines")
	}
}

// pingOnce does one Server List Ping from the local IP from ("" for any).
func pingOnce(addr, from string) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := (*mcnet.Dialer)(&d).DialMCContext(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.Socket.SetDeadline(time.Now().Add(5 * time.Second))
	if err := conn.WritePacket(pk.Marshal(0x00, pk.VarInt(765), pk.String("localhost"), pk.UnsignedShort(25565), pk.VarInt(1))); err != nil {
		return err
	}
	if err := conn.WritePacket(pk.Marshal(0x00)); err != nil {
		return err
	}
	var p pk.Packet
	if err := conn.ReadPacket(&p); err != nil {
		return err
	}
	if err := conn.WritePacket(pk.Marshal(0x01, pk.Long(42))); err != nil {
		return err
	}
	return conn.ReadPacket(&p)
}

// BenchmarkStatusPings1000PerSecond pings one asleep world's port 1,000
// times a second for 10 s (10,000 pings, paced, from 8 loopback addresses
// so the per-address bound is not what is measured), and reports how many
// were answered, their latency, and the heap and RSS before and after.
// Target: every ping answered, memory flat.
func BenchmarkStatusPings1000PerSecond(b *testing.B) {
	const (
		rate     = 1000
		duration = 10 * time.Second
		workers  = 8
	)
	total := int(rate * duration / time.Second)
	for range b.N {
		l, err := Listen("127.0.0.1:0", World{ID: "w1", Version: "1.20.4", Protocol: 765}, Config{Waker: &waker{}, Lang: text.En})
		if err != nil {
			b.Fatal(err)
		}
		addr := l.Addr().String()
		if err := pingOnce(addr, ""); err != nil { // warm up: first-use allocations
			b.Fatal(err)
		}
		latency := make([]time.Duration, 0, total)
		heap0, _ := heapAfterGC()
		rss0 := rssMiB(b, "VmRSS")

		var (
			next     atomic.Int64
			failed   atomic.Int64
			mu       sync.Mutex
			wg       sync.WaitGroup
			start    = time.Now()
			firstErr atomic.Value
		)
		for w := range workers {
			from := "127.0.0." + strconv.Itoa(w+1)
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(total) {
						return
					}
					at := start.Add(time.Duration(i) * time.Second / rate)
					time.Sleep(time.Until(at)) // pacing, not synchronisation
					t := time.Now()
					if err := pingOnce(addr, from); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					d := time.Since(t)
					mu.Lock()
					latency = append(latency, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		waitFor(b, "every ping's connection to end", func() bool { return l.Stats().Open == 0 })
		heap1, _ := heapAfterGC()
		rss1 := rssMiB(b, "VmRSS")
		st := l.Stats()
		l.Close()

		if n := failed.Load(); n > 0 {
			b.Errorf("%d of %d pings failed; first: %v", n, total, firstErr.Load())
		}
		if st.Pings != int64(total)+1 {
			b.Errorf("listener answered %d status requests, want %d", st.Pings, total+1)
		}
		slices.Sort(latency)
		pct := func(q float64) float64 {
			if len(latency) == 0 {
				return 0
			}
			return float64(latency[int(q*float64(len(latency)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(float64(len(latency))/elapsed.Seconds(), "answered/s")
		b.ReportMetric(float64(failed.Load()), "failed")
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(int64(heap1)-int64(heap0))/(1<<20), "MiB-heap-growth")
		b.ReportMetric(rss1-rss0, "MiB-rss-growth")
	}
}
