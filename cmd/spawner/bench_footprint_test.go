package main

// The daemon's footprint, as an operator sees it from outside: the real
// binary, built as the Dockerfile builds it, against the test world. Run it
// with
//
//	go test -run '^$' -bench BenchmarkFootprint -benchtime 5x ./cmd/spawner   # ~5 min

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/fakedocker"
	"github.com/mineral-contest/spawner/internal/testworld/mcserver"
)

// fpSweepInterval is GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION
// with a fleet: the sweep's period, the shortest allowed so that a run
// sees sweeps soon.
var fpSweepInterval = spawner.DefaultLimits().CheckInterval.Min

const (
	// fpIdleSettle is how long after READY an idle daemon is left alone
	// before its RSS is read: its first sweep is done and nothing is due.
	fpIdleSettle = 3 * time.Second
	// fpSweeps is how many full sweeps of the fleet a run waits for.
	fpSweeps = 2
	// fpSample is how often a run reads the process's RSS.
	fpSample = 10 * time.Millisecond
)

// BenchmarkFootprint measures the real spawner binary (CGO_ENABLED=0,
// -trimpath -ldflags "-s -w", as the Dockerfile builds it), one process
// per op, with HTTP_ADDR and PUBLIC_URL set (the live pages on), on both
// runtimes:
//
//   - ecs: the fake ECS and EC2 (fakeaws) and DynamoDB (dynalite);
//   - docker: the Docker runtime, the default, with the embedded store, on
//     an engine that answers the Engine API calls of a running fleet
//     (fakedocker), since a real engine on the test machine cannot hold
//     1,000 containers.
//
// Each has two cases: idle (no server) and servers=1000 (1,000 ready
// servers recorded in the store and running, each answering Server List
// Pings with enough players on its own address, which the daemon recovers
// at start and then sweeps every fpSweepInterval).
//
// It reports, as the median over the ops (the range in the log):
//
//   - ready-CPU-ms: the process's CPU time, user and system, from exec to
//     the fake Discord receiving its IDENTIFY (to which READY is the
//     answer), summed over its threads (/proc/<pid>/task/*/schedstat);
//   - idle-RSS-MiB: VmRSS fpIdleSettle after the daemon said it started;
//   - sweep-RSS-MiB: the highest VmRSS read (every fpSample) from READY
//     until every server of the fleet has answered fpSweeps more pings;
//   - peak-RSS-MiB: VmHWM at the end of the run, since exec (recovery
//     included);
//   - binary-MB: the size of the binary.
func BenchmarkFootprint(b *testing.B) {
	bin := fpBinary(b)
	for _, rt := range []string{"ecs", "docker"} {
		b.Run(rt+"/idle", func(b *testing.B) { benchFootprint(b, bin, rt, 0) })
		b.Run(rt+"/servers=1000", func(b *testing.B) { benchFootprint(b, bin, rt, 1000) })
	}
}

func benchFootprint(b *testing.B, bin, runtime string, servers int) {
	fi, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	var fw *fpWorld
	if runtime == "ecs" {
		fw = newFPWorldECS(b, servers)
	} else {
		fw = newFPWorldDocker(b, servers)
	}
	var runs []fpRun
	for b.Loop() {
		runs = append(runs, fw.run(b, bin))
	}

	metric := func(name string, of func(fpRun) float64) {
		vs := make([]float64, len(runs))
		for i, r := range runs {
			vs[i] = of(r)
		}
		slices.Sort(vs)
		med := vs[len(vs)/2]
		if len(vs)%2 == 0 {
			med = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
		}
		b.ReportMetric(med, name)
		b.Logf("%-14s median %6.1f  range %.1f–%.1f  (%d runs)", name, med, vs[0], vs[len(vs)-1], len(vs))
	}
	metric("ready-CPU-ms", func(r fpRun) float64 { return r.readyCPU.Seconds() * 1000 })
	if servers == 0 {
		metric("idle-RSS-MiB", func(r fpRun) float64 { return mib(r.idleRSS) })
	} else {
		metric("sweep-RSS-MiB", func(r fpRun) float64 { return mib(r.sweepRSS) })
	}
	metric("peak-RSS-MiB", func(r fpRun) float64 { return mib(r.peakRSS) })
	b.ReportMetric(float64(fi.Size())/1e6, "binary-MB")
}

func mib(bytes uint64) float64 { return float64(bytes) / (1 << 20) }

// fpBinary builds ./cmd/spawner as the Dockerfile does, into a folder of b's.
func fpBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "spawner")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// fpWorld is the outside world of one case: the fake Discord, the runtime
// and store, and the fleet, set up once; every op runs a new process on it.
type fpWorld struct {
	discord *fakediscord.Server
	env     map[string]string
	servers []*mcserver.Server // the fleet, whose pings say when a sweep is done
	// unexpected, when set, lists the calls a fake could not answer.
	unexpected func() []string
}

// fpRun is what one process measured.
type fpRun struct {
	readyCPU time.Duration
	idleRSS  uint64
	sweepRSS uint64
	peakRSS  uint64
}

// fpEnv is the daemon's environment common to both runtimes: production's
// defaults, the live pages on, and the sweep's period when there is a fleet.
func fpEnv(tb testing.TB, w *world, servers int) map[string]string {
	env := w.discordEnv(tb, tb.TempDir())
	env["HTTP_ADDR"] = "127.0.0.1:0"
	env["PUBLIC_URL"] = "http://127.0.0.1"
	env["LOG_LEVEL"] = "info"
	env["GAMESERVER_VERSION"] = "1.20.2"
	env["GAMESERVER_MIN_REQUIRED_PLAYERS"] = "2"
	if servers > 0 {
		env["GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION"] = fpSweepInterval.String()
	}
	return env
}

// newFPWorldECS is the ECS world: the fake ECS and EC2, dynalite, and n
// ready servers recorded in the table and running in the cluster.
func newFPWorldECS(b *testing.B, n int) *fpWorld {
	b.Helper()
	w := &world{tb: b}
	w.players.Store(5)
	w.newAWS(b, fakeaws.Options{})
	w.dyn = dynalite.Start(b)
	w.discord = fakediscord.New(b, fakediscord.Options{})
	env := fpEnv(b, w, n)
	dir := b.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION":                 w.aws.Region(),
		"AWS_ACCESS_KEY_ID_FILE":     writeSecret(b, dir, "aws_access_key_id", fakeaws.AccessKeyID),
		"AWS_SECRET_ACCESS_KEY_FILE": writeSecret(b, dir, "aws_secret_access_key", fakeaws.SecretAccessKey),
		"AWS_ENDPOINT_URL_ECS":       w.aws.URL(),
		"AWS_ENDPOINT_URL_EC2":       w.aws.URL(),
		"AWS_ENDPOINT_URL_DYNAMODB":  w.dyn.Endpoint(),
		"AWS_ECS_CLUSTER_NAME":       fakeaws.DefaultClusterName,
		"ECS_TASK_DEFINITION":        family,
		"DOCKER_IMAGE_NAME":          container,
		"ECS_SUBNETS":                "subnet-0a1b2c3d",
		"ECS_SECURITY_GROUPS":        "sg-0123abcd",
		"AWS_DYNAMODB_TABLE_NAME":    tableName,
		"DYNAMODB_CREATE_TABLE":      "true",
		"GAMESERVER_PORT":            strconv.Itoa(w.mc.Port()),
	} {
		env[k] = v
	}
	fw := &fpWorld{discord: w.discord, env: env}

	ctx := context.Background()
	table := w.serverTable(b)
	if err := table.EnsureTable(ctx); err != nil {
		b.Fatalf("create table: %v", err)
	}
	created := time.Now()
	records := make([]spawner.Server, 0, n)
	for i := range n {
		s := fpServer(i, created)
		t := w.aws.StartExternalTask(fakeaws.ExternalTask{
			Family: family, StartedBy: spawner.StartedBy, CreatedAt: created,
			Tags: map[string]string{
				spawner.TagCreation: s.CreationID, spawner.TagOwner: s.Owner, spawner.TagChannel: s.ChannelID,
				spawner.TagGame: s.Game, spawner.TagVariant: s.Variant,
			},
		})
		s.TaskID, s.Address, s.Port = t.ARN, t.PublicIP, w.mc.Port()
		records = append(records, s)
		mc := w.mc.Get(t.PublicIP)
		if mc == nil {
			b.Fatalf("no game server on %s", t.PublicIP)
		}
		fw.servers = append(fw.servers, mc)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, s := range records {
		g.Go(func() error { return table.Put(gctx, s) })
	}
	if err := g.Wait(); err != nil {
		b.Fatalf("record servers: %v", err)
	}
	return fw
}

// newFPWorldDocker is the Docker world: the embedded store in a folder,
// an engine (fakedocker), and n ready servers recorded in the store, each
// a container whose game port is published on its own port of
// DOCKER_PORT_RANGE, where a game server answers on 127.0.0.1.
func newFPWorldDocker(b *testing.B, n int) *fpWorld {
	b.Helper()
	w := &world{tb: b}
	w.discord = fakediscord.New(b, fakediscord.Options{})
	engine := fakedocker.New(b)
	env := fpEnv(b, w, n)
	dataDir := filepath.Join(b.TempDir(), "data")
	const deployment = "footprint"
	lo, fleet := fpFleet(b, n)
	hi := lo + max(n, 100) - 1
	for k, v := range map[string]string{
		"SPAWNER_RUNTIME":    "docker",
		"SPAWNER_DATA_DIR":   dataDir,
		"SPAWNER_DEPLOYMENT": deployment,
		"DOCKER_HOST":        engine.Host(),
		"DOCKER_PUBLIC_HOST": "127.0.0.1",
		"DOCKER_PORT_RANGE":  fmt.Sprintf("%d-%d", lo, hi),
		"GAMESERVER_IMAGE":   "itzg/minecraft-server",
	} {
		env[k] = v
	}
	fw := &fpWorld{discord: w.discord, env: env, unexpected: engine.Unexpected}

	store, err := bolt.Open(dataDir)
	if err != nil {
		b.Fatalf("open the store: %v", err)
	}
	defer store.Close()
	created := time.Now()
	for i := range n {
		s := fpServer(i, created)
		host := lo + i
		s.TaskID = fmt.Sprintf("%064x", i+1)
		s.Address, s.Port = "127.0.0.1", host
		engine.Add(fakedocker.Container{
			ID: s.TaskID, Name: docker.ContainerName(s.CreationID), Image: "itzg/minecraft-server", Created: created,
			Labels: map[string]string{
				docker.LabelStartedBy: spawner.StartedBy, docker.LabelDeployment: deployment,
				docker.LabelCreation: s.CreationID, docker.LabelOwner: s.Owner, docker.LabelGame: s.Game,
				docker.LabelVariant: s.Variant, "spawner.channel": s.ChannelID,
				docker.LabelPorts: fmt.Sprintf("25565:%d/tcp", host),
			},
		})
		fw.servers = append(fw.servers, fleet[i])
		if err := store.Put(context.Background(), s); err != nil {
			b.Fatalf("record server: %v", err)
		}
	}
	return fw
}

// fpFleet starts n game servers with enough players on 127.0.0.1, on n
// consecutive ports below the kernel's ephemeral ports, and returns the
// first port and the servers; they are closed when b ends.
func fpFleet(b *testing.B, n int) (int, []*mcserver.Server) {
	b.Helper()
	const first, last = 10000, 32000 // below 32768, the ephemeral ports' start
	if n == 0 {
		return first, nil
	}
	for lo := first + os.Getpid()%100*10; lo+n <= last; lo += n {
		fleet := make([]*mcserver.Server, 0, n)
		for p := lo; p < lo+n; p++ {
			mc, err := mcserver.Start("127.0.0.1:" + strconv.Itoa(p))
			if err != nil {
				break
			}
			mc.SetPlayers(5, 20)
			fleet = append(fleet, mc)
		}
		if len(fleet) == n {
			b.Cleanup(func() {
				for _, mc := range fleet {
					mc.Close()
				}
			})
			return lo, fleet
		}
		for _, mc := range fleet {
			mc.Close()
		}
	}
	b.Fatalf("no %d consecutive free ports between %d and %d", n, first, last)
	return 0, nil
}

// fpServer is the i-th ready server of a fleet, with enough players and
// time left for no watchdog to act during a run.
func fpServer(i int, created time.Time) spawner.Server {
	return spawner.Server{
		CreationID:      fmt.Sprintf("%012x%020x", i+1, 0xf00d),
		Game:            "minecraft",
		Variant:         "official",
		Owner:           fmt.Sprintf("13%017d", i+1),
		ChannelID:       fmt.Sprintf("15%017d", i+1),
		StatusMessageID: fmt.Sprintf("16%017d", i+1),
		Token:           fmt.Sprintf("tok%021d", i+1),
		Locale:          "fr",
		State:           spawner.StateReady,
		CreatedAt:       created,
		RunningAt:       created,
		ReadyAt:         created,
		StopsAt:         created.Add(24 * time.Hour),
		Players:         5,
	}
}

// run starts the binary on the world, measures it, and stops it with
// SIGTERM, waiting for it to exit.
func (fw *fpWorld) run(b *testing.B, bin string) fpRun {
	b.Helper()
	identifies := fw.discord.Identifies()
	pings := make([]int, len(fw.servers))
	for i, s := range fw.servers {
		pings[i] = s.Pings()
	}

	cmd := exec.Command(bin, "run")
	cmd.Dir = b.TempDir() // no .env to pick up
	cmd.Env = []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
	for k, v := range fw.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		b.Fatalf("start spawner: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	pid := cmd.Process.Pid
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			b.Errorf("spawner did not exit within 20s of SIGINT")
		}
	}()
	fail := func(format string, args ...any) {
		b.Helper()
		b.Fatalf("%s\n--- spawner logs:\n%s", fmt.Sprintf(format, args...), logs.String())
	}
	wait := func(what string, timeout time.Duration, poll time.Duration, cond func() bool) {
		b.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			select {
			case <-exited:
				fail("spawner exited (%s) while waiting for %s", cmd.ProcessState, what)
			default:
			}
			if time.Now().After(deadline) {
				fail("timed out after %s waiting for %s", timeout, what)
			}
			time.Sleep(poll)
		}
	}

	var r fpRun
	wait("IDENTIFY", 30*time.Second, 200*time.Microsecond, func() bool { return fw.discord.Identifies() > identifies })
	cpu, err := processCPU(pid)
	if err != nil {
		fail("read CPU time: %v", err)
	}
	r.readyCPU = cpu

	// From READY on, the highest RSS, read every fpSample.
	var (
		mu      sync.Mutex
		highest uint64
	)
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		t := time.NewTicker(fpSample)
		defer t.Stop()
		for {
			if st, err := readStatus(pid); err == nil {
				mu.Lock()
				highest = max(highest, st["VmRSS"])
				mu.Unlock()
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	})

	wait("the daemon to start", 60*time.Second, 5*time.Millisecond, func() bool {
		return strings.Contains(logs.String(), "spawner started") && fw.discord.Connected()
	})
	if len(fw.servers) == 0 {
		time.Sleep(fpIdleSettle)
		st, err := readStatus(pid)
		if err != nil {
			fail("read RSS: %v", err)
		}
		r.idleRSS = st["VmRSS"]
	} else {
		wait(fmt.Sprintf("%d sweeps of the %d servers", fpSweeps, len(fw.servers)), 10*fpSweepInterval+30*time.Second, 10*time.Millisecond, func() bool {
			for i, s := range fw.servers {
				if s.Pings()-pings[i] < fpSweeps {
					return false
				}
			}
			return true
		})
	}
	close(stopSampling)
	sampling.Wait()
	r.sweepRSS = highest
	st, err := readStatus(pid)
	if err != nil {
		fail("read RSS: %v", err)
	}
	r.peakRSS = max(st["VmHWM"], highest) // VmHWM is updated lazily

	if fw.unexpected != nil {
		if u := fw.unexpected(); len(u) > 0 {
			fail("the daemon made calls the fake engine does not answer: %v", u)
		}
	}
	if s := logs.String(); strings.Contains(s, "level=ERROR") || strings.Contains(s, "level=WARN") {
		fail("the daemon logged a warning or an error")
	}
	return r
}

// readStatus reads the kB fields of /proc/<pid>/status (VmRSS, VmHWM, ...), in bytes.
func readStatus(pid int) (map[string]uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		num, ok := strings.CutSuffix(strings.TrimSpace(v), " kB")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(num, 10, 64); err == nil {
			out[k] = n << 10
		}
	}
	if _, ok := out["VmRSS"]; !ok {
		return nil, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return out, nil
}

// processCPU is the CPU time (user and system) the threads of pid have
// run, from /proc/<pid>/task/*/schedstat, in nanoseconds: finer than the
// clock ticks of /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // a thread that just ended
		}
		f := strings.Fields(string(data))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("schedstat %q: %w", data, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}
