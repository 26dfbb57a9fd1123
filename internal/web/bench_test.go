package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The benchmark's clients run in a child process (this test binary again),
// so that the RSS measured is the feed's alone, as the bot's would be.
const (
	envClientsURL = "SPAWNER_WEB_BENCH_URL"
	envClientsN   = "SPAWNER_WEB_BENCH_CLIENTS"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(envClientsURL); url != "" {
		n, _ := strconv.Atoi(os.Getenv(envClientsN))
		if err := benchClients(url, n, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench clients:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchClients connects n clients to url and counts what they receive. It
// prints "connected" once all are, then answers each "expect K" line with
// "got K" once K events in all have arrived; it ends at end of input.
func benchClients(url string, n int, in io.Reader, out io.Writer) error {
	var got atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); wg.Wait() }()
	for range n {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseNow()
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	fmt.Fprintln(out, "connected")
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		want, err := strconv.ParseInt(strings.TrimPrefix(lines.Text(), "expect "), 10, 64)
		if err != nil {
			return fmt.Errorf("read order %q: %w", lines.Text(), err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for got.Load() < want {
			if time.Now().After(deadline) {
				return fmt.Errorf("got %d events of %d", got.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
		fmt.Fprintf(out, "got %d\n", got.Load())
	}
	return nil
}

// rssMiB reads a field of /proc/self/status ("VmRSS", "VmHWM") in MiB,
// after a GC that gives freed memory back to the system.
func rssMiB(tb testing.TB, field string) float64 {
	tb.Helper()
	// Each GC halves the stacks that use little of theirs, as the bot's
	// own GCs would over time.
	for range 4 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
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

// BenchmarkFeed1000Clients connects 1,000 clients and feeds them b.N
// events each; it reports the growth of this process's RSS (the feed's
// side only) while they are connected, and at its peak. Target: ≤ 20 MiB.
//
//	go test -run '^$' -bench Feed1000Clients -benchtime 500x -count 5 ./internal/web/
func BenchmarkFeed1000Clients(b *testing.B) {
	const clients = 1000
	w := newWorld(b, HubOptions{MaxClients: clients, MaxPerToken: clients, MaxPerMember: clients},
		snap("3f9a1c07b2e4d865", "111111111111111111", spawner.StateReady))
	before := rssMiB(b, "VmRSS")
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(),
		envClientsURL+"="+w.url("/events?token="+w.signer.Sign(FleetScope(), time.Hour)),
		envClientsN+"="+strconv.Itoa(clients))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	replies := bufio.NewScanner(stdout)
	expect := func(total int) {
		fmt.Fprintf(stdin, "expect %d\n", total)
		if !replies.Scan() {
			b.Fatalf("clients ended before receiving %d events: %v", total, replies.Err())
		}
	}
	if !replies.Scan() || replies.Text() != "connected" {
		b.Fatalf("clients did not connect: %q %v", replies.Text(), replies.Err())
	}
	total := clients // the snapshots
	expect(total)
	players := 0
	b.ResetTimer()
	for i := range b.N {
		players = i % 20
		w.hub.Publish(spawner.Event{Type: spawner.EventPlayers, Server: "3f9a1c07b2e4d865", Owner: "111111111111111111",
			State: spawner.StateReady, Time: t0.Add(time.Duration(i) * time.Second), Title: "Minecraft", Players: &players, Min: 2})
		total += clients
		if i%32 == 31 || i == b.N-1 { // never more queued than a client's buffer
			expect(total)
		}
	}
	b.StopTimer()
	if w.hub.Clients() != clients || w.dropped.Load() != 0 {
		b.Fatalf("%d clients connected, %d dropped; want %d and 0", w.hub.Clients(), w.dropped.Load(), clients)
	}
	after := rssMiB(b, "VmRSS")
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.StackInuse-m0.StackInuse)/(1<<20), "MiB-stack")
	b.ReportMetric(float64(m1.HeapInuse-m0.HeapInuse)/(1<<20), "MiB-heap")
	peak := rssMiB(b, "VmHWM")
	b.ReportMetric(after-before, "MiB-rss-growth")
	b.ReportMetric(peak-before, "MiB-peak-growth")
	b.ReportMetric(float64(b.N*clients)/b.Elapsed().Seconds(), "deliveries/s")
}
