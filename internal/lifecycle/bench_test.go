package lifecycle

// BenchmarkSweep: the periodic sweep with the real adapters (ecs → fakeaws,
// dynamo → dynalite, mcping → a fleet of slow ping responders). Run it with
//
//	go test -run '^$' -bench BenchmarkSweep -benchtime 3x -count 6 ./internal/lifecycle

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"golang.org/x/sync/errgroup"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/mcping"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/mcserver"
)

const (
	benchFamily    = "minecraft-server"
	benchContainer = "minecraft"
	benchTable     = "spawner-servers"
	benchPlayers   = 5                     // online on every server: above the minimum, so nobody is warned
	benchPingDelay = 50 * time.Millisecond // each responder's delay before the status and before the pong
	benchCheck     = 5 * time.Minute       // the player-count check interval, the default
)

// BenchmarkSweep measures one full sweep, Pass(ctx, now, true), with every
// player-count check due, over 100 and 1,000 ready servers: ECS read
// through ListTasks and DescribeTasks on the fake ECS, and every server
// pinged through a real Server List Ping to its own loopback IP, each
// responder waiting 50 ms before each of its two answers. One op is one
// sweep.
//
// It checks after each sweep that every server was pinged exactly once,
// that no ECS call named more than 100 tasks and every task was described
// once, and that nothing was stopped, warned or said. It reports B/server,
// the heap the mirror keeps per tracked server (HeapAlloc after GC, after
// Recover minus before, the fake ECS's record of Recover's calls left out),
// and RSS-MiB, the resident size of the whole test process (daemon side and
// fakes: ECS, 1,000 responders) with the servers tracked.
func BenchmarkSweep(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) { benchSweep(b, n) })
	}
}

func benchSweep(b *testing.B, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newBenchSweepWorld(b, ctx, n)
	b.Cleanup(func() { cancel(); w.m.Wait() }) // before the fakes close

	// Warm the clients' connection pools and the SDK's caches, so the heap
	// measured around Recover is what the mirror keeps.
	if _, err := w.table.LoadAll(ctx); err != nil {
		b.Fatalf("load table: %v", err)
	}
	if _, err := w.tasks.ListOwnedTasks(ctx); err != nil {
		b.Fatalf("list owned tasks: %v", err)
	}
	calls := w.benchCallMarks()
	before := benchHeap()
	if err := w.m.Recover(ctx); err != nil {
		b.Fatalf("recover: %v", err)
	}
	after := benchHeap()
	recorded := benchCallBytes(w.aws, calls)
	if got := len(w.m.Servers(spawner.Actor{Admin: true})); got != n {
		b.Fatalf("recovered %d servers, want %d", got, n)
	}
	rss := benchRSS(b)

	now := w.clock.Now()
	sweeps := 0
	for b.Loop() {
		now = now.Add(benchCheck) // every player-count check is due
		calls = w.benchCallMarks()
		w.m.Pass(ctx, now, true)

		b.StopTimer()
		sweeps++
		w.checkSweep(b, sweeps, calls)
		b.StartTimer()
	}

	b.ReportMetric(float64(int64(after)-int64(before)-int64(recorded))/float64(n), "B/server")
	b.ReportMetric(float64(rss)/(1<<20), "RSS-MiB")
}

// benchSweepWorld is a Manager on the real adapters, with n ready servers
// recorded in the table and running in the fake ECS, not yet recovered.
type benchSweepWorld struct {
	n       int
	aws     *fakeaws.Server
	fleet   *mcserver.Fleet
	tasks   *ecs.Tasks
	table   *dynamo.Table
	chat    *benchChat
	clock   *benchClock
	m       *Manager
	servers []spawner.Server
	http    *benchHTTP
}

// benchHTTP is the SDK's HTTP client, counting the attempts that were
// retries and noting them with the transport errors, so a check can tell a
// request the SDK sent twice from a sweep that asked twice.
type benchHTTP struct {
	next interface {
		Do(*http.Request) (*http.Response, error)
	}
	mu      sync.Mutex
	retries int
	events  []string
}

func (c *benchHTTP) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	attempt := r.Header.Get("Amz-Sdk-Request") // "attempt=1; max=3"
	retry := !strings.HasPrefix(attempt, "attempt=1;")
	if resp != nil {
		resp.Body = &benchBody{ReadCloser: resp.Body, c: c, what: attempt}
	}
	if err != nil || retry {
		c.mu.Lock()
		if retry {
			c.retries++
		}
		c.events = append(c.events, fmt.Sprintf("%s %s: %v", strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113."), attempt, err))
		c.mu.Unlock()
	}
	return resp, err
}

type benchBody struct {
	io.ReadCloser
	c    *benchHTTP
	what string
}

func (b *benchBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.c.mu.Lock()
		b.c.events = append(b.c.events, fmt.Sprintf("read body %s: %v", b.what, err))
		b.c.mu.Unlock()
	}
	return n, err
}

// marks returns the retries so far and what happened, one line each.
func (c *benchHTTP) marks() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.retries, strings.Join(c.events, "\n")
}

func newBenchSweepWorld(b *testing.B, ctx context.Context, n int) *benchSweepWorld {
	b.Helper()
	w := &benchSweepWorld{n: n, clock: &benchClock{now: time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)}, chat: &benchChat{}}
	w.fleet = mcserver.NewFleet(b, benchReservePort(b))
	var hookErr atomic.Value
	w.aws = fakeaws.New(b, fakeaws.Options{
		TaskDefinitionFamilies: map[string][]string{benchFamily: {benchContainer}},
		OnRunning: func(t fakeaws.Task) {
			s := w.fleet.Start(t.PublicIP)
			if s == nil {
				hookErr.Store(fmt.Errorf("no responder on %s", t.PublicIP))
				return
			}
			s.SetPlayers(benchPlayers, 20)
			s.SetDelay(benchPingDelay)
		},
	})
	cfg := w.aws.AWSConfig()
	cfg.HTTPClient = &benchHTTP{next: awshttp.NewBuildableClient()}
	w.http = cfg.HTTPClient.(*benchHTTP)
	w.tasks = ecs.New(ecs.NewECS(cfg, nil), ecs.NewEC2(cfg, nil), ecs.Config{
		Cluster:        fakeaws.DefaultClusterName,
		Subnets:        []string{"subnet-0a1b2c3d"},
		SecurityGroups: []string{"sg-0123abcd"},
		AssignPublicIP: true,
	})
	w.table = dynamo.New(dynamo.NewClient(dynalite.AWSConfig(dynalite.Start(b).Endpoint()), nil), benchTable)
	if err := w.table.EnsureTable(ctx); err != nil {
		b.Fatalf("create table: %v", err)
	}

	game := benchGame(w.fleet.Port())
	created := w.clock.Now()
	for i := range n {
		owner := fmt.Sprintf("13%016d", i+1)
		creation := fmt.Sprintf("%032x", i+1)
		channel := fmt.Sprintf("15%016d", i+1)
		t := w.aws.StartExternalTask(fakeaws.ExternalTask{
			Family:    benchFamily,
			StartedBy: spawner.StartedBy,
			CreatedAt: created,
			Tags: map[string]string{
				spawner.TagCreation: creation, spawner.TagOwner: owner, spawner.TagChannel: channel,
				spawner.TagGame: game.Name, spawner.TagVariant: "official",
			},
		})
		w.servers = append(w.servers, spawner.Server{
			TaskID: t.ID, CreationID: creation, Address: t.PublicIP, Port: game.Port,
			Token: fmt.Sprintf("tok%021d", i+1), CreatedAt: created, ChannelID: channel,
			StatusMessageID: fmt.Sprintf("16%016d", i+1), Variant: "official", Owner: owner,
			Game: game.Name, Locale: "fr", State: spawner.StateReady,
		})
	}
	if err, _ := hookErr.Load().(error); err != nil {
		b.Fatalf("start responders: %v", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, s := range w.servers {
		g.Go(func() error { return w.table.Put(gctx, s) })
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("record servers: %v", err)
	}

	w.m = New(Options{
		Catalog:          spawner.Catalog{game},
		MaxServers:       n,
		PollInterval:     5 * time.Second,
		TicketCloseDelay: 2 * time.Minute,
		Locale:           "fr",
		Tasks:            w.tasks,
		Store:            w.table,
		Pinger:           slpOnly{mcping.Pinger{Timeout: 5 * time.Second}},
		Chat:             w.chat,
		Clock:            w.clock,
		Log:              slog.New(slog.DiscardHandler),
	})
	b.Cleanup(func() { _ = w.m.Close() })
	return w
}

// checkSweep fails b unless the sweep number sweeps pinged every server once
// more, read ECS at most 100 tasks a call and described every task once,
// and left every server running, tracked and unwarned.
func (w *benchSweepWorld) checkSweep(b *testing.B, sweeps int, marks map[string]int) {
	b.Helper()
	for _, s := range w.servers {
		r := w.fleet.Get(s.Address)
		if r == nil {
			b.Fatalf("no responder on %s", s.Address)
		}
		if got := r.Pings(); got != sweeps {
			b.Fatalf("server %s answered %d pings after %d sweeps, want one per sweep", s.Address, got, sweeps)
		}
	}
	described := make(map[string]int)
	var seen []string // each call, for the failure message
	for _, c := range w.aws.Calls("DescribeTasks")[marks["DescribeTasks"]:] {
		var in fakeaws.DescribeTasksInput
		if err := c.Decode(&in); err != nil || c.Status != 200 {
			b.Fatalf("DescribeTasks answered %d %s (decode: %v)", c.Status, c.Error, err)
		}
		if len(in.Tasks) > 100 {
			b.Fatalf("DescribeTasks named %d tasks, ECS takes at most 100", len(in.Tasks))
		}
		for _, arn := range in.Tasks {
			described[arn]++
		}
		seen = append(seen, fmt.Sprintf("DescribeTasks of %d tasks from %s", len(in.Tasks), spawner.ShortTaskID(in.Tasks[0])))
	}
	retries, events := w.http.marks()
	for _, s := range w.servers {
		// A request the SDK retried after its answer was lost is seen twice by the fake.
		if n := described[s.TaskID]; n == 0 || (n > 1 && retries == marks["retries"]) {
			b.Fatalf("task %s described %d times in sweep %d, want once; the sweep's calls:\n%s\nretries and transport errors so far:\n%s",
				s.TaskID, n, sweeps, strings.Join(seen, "\n"), events)
		}
	}
	if retries != marks["retries"] {
		b.Logf("sweep %d: the SDK retried; retries and transport errors so far:\n%s", sweeps, events)
	}
	for _, c := range w.aws.Calls("ListTasks")[marks["ListTasks"]:] {
		var in fakeaws.ListTasksInput
		if err := c.Decode(&in); err != nil || c.Status != 200 {
			b.Fatalf("ListTasks answered %d %s (decode: %v)", c.Status, c.Error, err)
		}
		if in.MaxResults == nil || *in.MaxResults > 100 {
			b.Fatalf("ListTasks asked for %v tasks a page, ECS gives at most 100", in.MaxResults)
		}
	}
	if stops := len(w.aws.Calls("StopTask")); stops != 0 {
		b.Fatalf("%d tasks stopped by the sweep; every server was healthy", stops)
	}
	if got := len(w.m.Servers(spawner.Actor{Admin: true})); got != w.n {
		b.Fatalf("%d servers tracked after sweep %d, want %d", got, sweeps, w.n)
	}
	if sends, logs := w.chat.sends.Load(), w.chat.logs.Load(); sends != 0 || logs != 0 {
		b.Fatalf("the sweep said %d messages in tickets and %d in the log channel; every server had enough players", sends, logs)
	}
}

// benchGame is the default Minecraft game, pinged on port, with a lifetime
// no benchmark reaches.
func benchGame(port int) spawner.Game {
	return spawner.Game{
		Name: "minecraft", Title: "Minecraft", TaskDefinition: benchFamily, Container: benchContainer,
		Port: port, Version: "1.20.2", TokenEnv: "OPREDEEM_TOKEN", AdminCommand: "/opredeem {token}",
		Variants:       []spawner.Variant{{Name: "official"}, {Name: "non_official"}},
		DefaultVariant: "official",
		MinPlayers:     4, WarningCount: 3, CheckInterval: benchCheck,
		MaxDuration: 100 * 365 * 24 * time.Hour, MaxDurationWarning: 10 * time.Minute,
		ReadyTimeout: 10 * time.Minute,
	}
}

// benchReservePort returns a port kept bound on 127.0.0.1 until b ends, so
// the fleet's servers can all listen on it at their own 127.2.x.y addresses.
func benchReservePort(b *testing.B) int {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("reserve a port: %v", err)
	}
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// benchCallMarks is how many calls of each ECS operation the fake has
// recorded, and under "retries" how many attempts the SDK retried.
func (w *benchSweepWorld) benchCallMarks() map[string]int {
	marks := make(map[string]int)
	for _, op := range []string{"ListTasks", "DescribeTasks"} {
		marks[op] = len(w.aws.Calls(op))
	}
	marks["retries"], _ = w.http.marks()
	return marks
}

// benchCallBytes is the size of the request bodies the fake recorded since
// marks: memory of the fake's, not of the daemon's.
func benchCallBytes(s *fakeaws.Server, marks map[string]int) uint64 {
	var n uint64
	for _, op := range []string{"ListTasks", "DescribeTasks"} {
		for _, c := range s.Calls(op)[marks[op]:] {
			n += uint64(len(c.Body))
		}
	}
	return n
}

// benchHeap is the live heap after a full collection.
func benchHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchRSS is the process's resident set size in bytes (VmRSS).
func benchRSS(b *testing.B) uint64 {
	b.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatalf("read RSS: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("read RSS: %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	b.Fatalf("read RSS: no VmRSS line in /proc/self/status")
	return 0
}

// benchClock stands still: the benchmark passes now to Pass itself.
type benchClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *benchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After never fires: Run, its only user, is not called here.
func (c *benchClock) After(time.Duration) <-chan time.Time { return nil }

// benchChat is a Discord that hears everything and says nothing, counting
// what it is asked to say.
type benchChat struct {
	sends, logs atomic.Int64
}

func (c *benchChat) CreateTicket(context.Context, spawner.Ticket) (string, error) {
	return "", fmt.Errorf("create ticket: not in this benchmark")
}

func (c *benchChat) Send(context.Context, string, spawner.Message) (string, error) {
	c.sends.Add(1)
	return strconv.FormatInt(c.sends.Load(), 10), nil
}

func (c *benchChat) Edit(context.Context, string, string, spawner.Message) error { return nil }

func (c *benchChat) DeleteChannel(context.Context, string) error { return nil }

func (c *benchChat) CategoryChannels(context.Context) ([]spawner.Channel, error) { return nil, nil }

func (c *benchChat) Log(context.Context, spawner.Message) error {
	c.logs.Add(1)
	return nil
}

// slpOnly probes every game with Server List Ping, as the benchmark's game speaks it.
type slpOnly struct{ p mcping.Pinger }

func (s slpOnly) Ping(ctx context.Context, _ spawner.Protocol, addr string) (spawner.Ping, error) {
	return s.p.Ping(ctx, addr)
}
