package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dockerd"
)

func TestMain(m *testing.M) { os.Exit(dockerd.Run(m)) }

// gamePort is the port the responder listens on in its container.
const gamePort = dockerd.ResponderPort

// world is one test's view of the shared engine: its own deployment and
// port range, so tests run side by side.
type world struct {
	tb     testing.TB
	engine *dockerd.Engine
	cli    *client.Client
	image  string
	cfg    docker.Config
}

// nextRange hands each test its own ranges of host ports, below the
// kernel's ephemeral ports so no :0 listener of another test lands in one.
var nextRange atomic.Int32

func newWorld(tb testing.TB, ports int) *world {
	tb.Helper()
	e := dockerd.Shared(tb)
	lo := 21000 + int(nextRange.Add(1))*20
	w := &world{
		tb:     tb,
		engine: e,
		cli:    e.Client(tb),
		image:  e.ResponderImage(tb),
		cfg: docker.Config{
			Deployment: "test-" + newID(4),
			PublicHost: "play.example.net",
			HostIP:     "127.0.0.1",
			PortLo:     lo,
			PortHi:     lo + ports - 1,
		},
	}
	tb.Cleanup(func() { w.removeDeployment(w.cfg.Deployment) })
	return w
}

// runtime returns an adapter of the world's deployment (a new one at each
// call, as after a restart of the bot), closed when the test ends.
func (w *world) runtime(edit ...func(*docker.Config)) *docker.Runtime {
	w.tb.Helper()
	cfg := w.cfg
	for _, f := range edit {
		f(&cfg)
	}
	r, err := docker.New(cfg, client.WithHost(w.engine.Host()))
	if err != nil {
		w.tb.Fatalf("new runtime: %v", err)
	}
	w.tb.Cleanup(func() { _ = r.Close() })
	return r
}

// spec is a server of the responder game for a new creation.
func (w *world) spec() spawner.TaskSpec {
	id := newID(16)
	return spawner.TaskSpec{
		CreationID: id,
		Env:        map[string]string{"MC_PLAYERS": "2", "ZED": "last", "ALPHA": "first"},
		Tags: map[string]string{
			spawner.TagCreation: id,
			spawner.TagOwner:    "1234",
			spawner.TagGame:     "minecraft",
			spawner.TagVariant:  "official",
		},
		ContainerSpec: spawner.ContainerSpec{
			Image:  w.image,
			Ports:  []spawner.PortSpec{{Port: gamePort, Proto: "tcp"}},
			Memory: 256,
			CPU:    512,
		},
	}
}

func (w *world) run(r *docker.Runtime, spec spawner.TaskSpec) spawner.Task {
	w.tb.Helper()
	t, err := r.RunTask(context.Background(), spec)
	if err != nil {
		w.tb.Fatalf("run task: %v\n%s", err, w.engine.LogTail(10))
	}
	return t
}

// ping waits for the server of task to answer through its published port.
func (w *world) ping(t spawner.Task) string {
	w.tb.Helper()
	return dockerd.WaitForPing(w.tb, net.JoinHostPort("127.0.0.1", strconv.Itoa(w.hostPort(t))), 20*time.Second)
}

// hostPort is the host port the engine publishes the game port of task on.
func (w *world) hostPort(task spawner.Task) int {
	w.tb.Helper()
	c, err := w.cli.ContainerInspect(context.Background(), task.ID)
	if err != nil {
		w.tb.Fatalf("inspect %s: %v", task.ID, err)
	}
	if c.HostConfig != nil {
		for _, b := range c.HostConfig.PortBindings[nat.Port(strconv.Itoa(gamePort)+"/tcp")] {
			if hp, err := strconv.Atoi(b.HostPort); err == nil && hp > 0 {
				return hp
			}
		}
	}
	w.tb.Fatalf("task %s publishes no host port for %d", task.ID, gamePort)
	return 0
}

// containers lists the engine's containers of deployment, whatever their state.
func (w *world) containers(deployment string) []container.Summary {
	w.tb.Helper()
	list, err := w.cli.ContainerList(context.Background(), container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelDeployment+"="+deployment)),
	})
	if err != nil {
		w.tb.Fatalf("list containers: %v", err)
	}
	return list
}

// removeDeployment removes the containers and then the volumes of
// deployment.
func (w *world) removeDeployment(deployment string) {
	for _, c := range w.containers(deployment) {
		_ = w.cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	}
	for _, v := range w.volumes(deployment) {
		_ = w.cli.VolumeRemove(context.Background(), v, true)
	}
}

func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// A server runs as a labelled, limited container whose game answers on a
// published port of the range; a retried RunTask returns the same one.
func TestRunTask(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 5)
	r := w.runtime()
	spec := w.spec()
	ctx := context.Background()

	task := w.run(r, spec)
	if task.Status != spawner.TaskRunning || task.Stopped() {
		t.Errorf("task is %s (stop wanted %v), want running", task.Status, task.StopWanted)
	}
	if hp := w.hostPort(task); hp < w.cfg.PortLo || hp > w.cfg.PortHi {
		t.Errorf("host port %d is outside the range %d-%d", hp, w.cfg.PortLo, w.cfg.PortHi)
	}
	if got := task.Tags[spawner.TagCreation]; got != spec.CreationID {
		t.Errorf("task creation tag %q, want %q", got, spec.CreationID)
	}
	if resp := w.ping(task); !strings.Contains(resp, `"online":2`) {
		t.Errorf("ping answer %s, want the 2 players MC_PLAYERS set", resp)
	}

	c, err := w.cli.ContainerInspect(ctx, task.ID)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	if want := "/" + docker.ContainerName(spec.CreationID); c.Name != want || want != "/spawner-"+spec.CreationID[:12] {
		t.Errorf("container name %q, want %q", c.Name, want)
	}
	wantLabels := map[string]string{
		docker.LabelStartedBy:  spawner.StartedBy,
		docker.LabelDeployment: w.cfg.Deployment,
		docker.LabelCreation:   spec.CreationID,
		docker.LabelOwner:      "1234",
		docker.LabelGame:       "minecraft",
		docker.LabelVariant:    "official",
	}
	for k, v := range wantLabels {
		if got := c.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if c.HostConfig.Memory != 256<<20 {
		t.Errorf("memory limit %d, want 256 MiB", c.HostConfig.Memory)
	}
	if c.HostConfig.NanoCPUs != 5e8 {
		t.Errorf("CPU limit %d nano CPUs, want half a CPU", c.HostConfig.NanoCPUs)
	}
	if c.HostConfig.RestartPolicy.Name != container.RestartPolicyDisabled {
		t.Errorf("restart policy %q, want no", c.HostConfig.RestartPolicy.Name)
	}
	var env []string
	for _, kv := range c.Config.Env {
		if strings.HasPrefix(kv, "ALPHA=") || strings.HasPrefix(kv, "ZED=") || strings.HasPrefix(kv, "MC_PLAYERS=") {
			env = append(env, kv)
		}
	}
	if want := []string{"ALPHA=first", "MC_PLAYERS=2", "ZED=last"}; !slices.Equal(env, want) {
		t.Errorf("environment %v, want %v in order", env, want)
	}

	again := w.run(r, spec)
	if again.ID != task.ID || w.hostPort(again) != w.hostPort(task) {
		t.Errorf("retried RunTask gave %s on %d, want the same container %s on %d", again.ID, w.hostPort(again), task.ID, w.hostPort(task))
	}
	if n := len(w.containers(w.cfg.Deployment)); n != 1 {
		t.Errorf("%d containers after a retried RunTask, want 1", n)
	}

	described, err := r.DescribeTasks(ctx, []string{task.ID, strings.Repeat("0", 64)})
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	if len(described) != 1 || described[0].ID != task.ID || described[0].Tags[spawner.TagOwner] != "1234" {
		t.Errorf("describe gave %+v, want only the task with its tags", described)
	}
	addr, err := r.Address(ctx, spawner.Task{ID: task.ID}, gamePort)
	if want := net.JoinHostPort("play.example.net", strconv.Itoa(w.hostPort(task))); err != nil || addr != want {
		t.Errorf("address %q, %v; want the public host and the game port's host port %s", addr, err, want)
	}
}

// A CPU limit above the host's cores is cut to them, since the engine
// refuses more.
func TestRunTaskCPUNeverAboveHost(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	r := w.runtime()
	spec := w.spec()
	spec.CPU = 1024 * 64
	task := w.run(r, spec)
	info, err := w.cli.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.cli.ContainerInspect(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(info.NCPU) * 1e9; c.HostConfig.NanoCPUs != want {
		t.Errorf("CPU limit %d nano CPUs, want the host's %d cores", c.HostConfig.NanoCPUs, info.NCPU)
	}
}

// Stopping sends SIGTERM and waits for the game to exit by itself, then
// removes the container; stopping it again succeeds.
func TestStopTaskIsGraceful(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	r := w.runtime()
	task := w.run(r, w.spec())
	w.ping(task) // the responder has installed its SIGTERM handler

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, errs := w.cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("container", task.ID),
		filters.Arg("event", "kill"),
		filters.Arg("event", "die"),
	)})
	// The events stream is live once the engine answered it; an event of
	// our own proves it before the stop.
	if err := w.cli.ContainerKill(ctx, task.ID, "SIGWINCH"); err != nil {
		t.Fatalf("kill SIGWINCH: %v", err)
	}
	waitEvent(t, msgs, errs, "the kill of SIGWINCH", func(m events.Message) bool { return m.Action == events.ActionKill })

	if err := r.StopTask(context.Background(), task.ID, "spawner: command"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	kill := waitEvent(t, msgs, errs, "the kill of the stop", func(m events.Message) bool { return m.Action == events.ActionKill })
	if sig := kill.Actor.Attributes["signal"]; sig != "15" {
		t.Errorf("stop sent signal %s first, want SIGTERM (15)", sig)
	}
	die := waitEvent(t, msgs, errs, "the container's death", func(m events.Message) bool { return m.Action == events.ActionDie })
	if code := die.Actor.Attributes["exitCode"]; code != "0" {
		t.Errorf("game exited with code %s, want 0: it saved and exited on SIGTERM, not killed after the grace", code)
	}
	if _, err := w.cli.ContainerInspect(context.Background(), task.ID); !cerrdefs.IsNotFound(err) {
		t.Errorf("container still there after the stop: %v", err)
	}
	if got, err := r.DescribeTasks(context.Background(), []string{task.ID}); err != nil || len(got) != 0 {
		t.Errorf("describe after stop: %v, %v; want nothing", got, err)
	}
	if err := r.StopTask(context.Background(), task.ID, "again"); err != nil {
		t.Errorf("stopping a removed container: %v, want success", err)
	}
}

func waitEvent(tb testing.TB, msgs <-chan events.Message, errs <-chan error, what string, match func(events.Message) bool) events.Message {
	tb.Helper()
	timeout := time.After(60 * time.Second)
	var seen []string
	for {
		select {
		case m := <-msgs:
			if match(m) {
				return m
			}
			seen = append(seen, string(m.Action))
		case err := <-errs:
			tb.Fatalf("events stream ended waiting for %s: %v (saw %v)", what, err, seen)
		case <-timeout:
			tb.Fatalf("no event for %s within 60s (saw %v)", what, seen)
		}
	}
}

// Two deployments on one engine never see or touch each other's containers.
func TestOtherDeploymentLeftAlone(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 4)
	mine := w.runtime()
	other := w.cfg.Deployment + "-other"
	t.Cleanup(func() { w.removeDeployment(other) })
	theirs := w.runtime(func(c *docker.Config) { c.Deployment = other })
	ctx := context.Background()

	my := w.run(mine, w.spec())
	their := w.run(theirs, w.spec())
	if w.hostPort(my) == w.hostPort(their) {
		t.Errorf("both deployments got host port %d", w.hostPort(my))
	}

	owned, err := mine.ListOwnedTasks(ctx)
	if err != nil {
		t.Fatalf("list owned: %v", err)
	}
	if len(owned) != 1 || owned[0].ID != my.ID {
		t.Errorf("list owned gave %d tasks %v, want only %s", len(owned), arns(owned), my.ID[:12])
	}
	if got, err := mine.DescribeTasks(ctx, []string{their.ID}); err != nil || len(got) != 0 {
		t.Errorf("describing the other deployment's container gave %v, %v; want nothing", arns(got), err)
	}
	if err := mine.StopTask(ctx, their.ID, "not mine"); err == nil {
		t.Errorf("stopping the other deployment's container succeeded, want a refusal")
	}
	c, err := w.cli.ContainerInspect(ctx, their.ID)
	if err != nil || !c.State.Running {
		t.Errorf("the other deployment's container is not running any more: %v", err)
	}
}

func arns(ts []spawner.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID[:12])
	}
	return out
}

// A container killed behind the bot's back is reported at once by the
// events stream, with its exit code; it stays described as stopped, and a
// sweep removes it once it has been seen and the retention has passed.
func TestWatchReportsContainerKilledBehindTheBotsBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := w.runtime(func(c *docker.Config) { c.Now = clock; c.ExitedRetention = time.Hour })
	task := w.run(r, w.spec())

	ctx, cancel := context.WithCancel(context.Background())
	died := make(chan spawner.Task, 4)
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx, func(t spawner.Task) { died <- t }) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch returned %v at the end of its context, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("watch did not return within 10s of its context's end")
		}
	}()

	// Watch asks for events since it began, so a kill right now is seen
	// even if the stream connects after it.
	if err := w.cli.ContainerKill(context.Background(), task.ID, "SIGKILL"); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case got := <-died:
		if got.ID != task.ID || !got.Stopped() || got.ExitCode == nil || *got.ExitCode != 137 {
			t.Errorf("watch reported %s stopped=%v exit=%v, want %s stopped with exit code 137", got.ID, got.Stopped(), got.ExitCode, task.ID)
		}
		if got.Tags[spawner.TagCreation] != task.Tags[spawner.TagCreation] || got.StoppedReason != "exited with code 137" {
			t.Errorf("watch reported tags %v reason %q, want the creation tag and \"exited with code 137\"", got.Tags, got.StoppedReason)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("watch reported nothing within 20s of the kill")
	}

	owned, err := r.ListOwnedTasks(context.Background())
	if err != nil || len(owned) != 1 || !owned[0].Stopped() || owned[0].ExitCode == nil || *owned[0].ExitCode != 137 {
		t.Fatalf("list owned after the kill: %+v, %v; want the stopped container with its exit code", owned, err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if owned, err := r.ListOwnedTasks(context.Background()); err != nil || len(owned) != 0 {
		t.Errorf("list owned past the retention: %v, %v; want the exited container removed", arns(owned), err)
	}
	if n := len(w.containers(w.cfg.Deployment)); n != 0 {
		t.Errorf("%d containers left past the retention, want 0", n)
	}
}

// Ports handed out are known again by a new adapter (the bot restarted)
// and never reused; when the range is exhausted, RunTask fails clearly and
// creates nothing.
func TestPortsRecoveredAndExhausted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3)
	first := w.runtime()
	a := w.run(first, w.spec())
	b := w.run(first, w.spec())

	restarted := w.runtime()
	c := w.run(restarted, w.spec())
	ports := []int{w.hostPort(a), w.hostPort(b), w.hostPort(c)}
	slices.Sort(ports)
	if want := []int{w.cfg.PortLo, w.cfg.PortLo + 1, w.cfg.PortLo + 2}; !slices.Equal(ports, want) {
		t.Errorf("host ports %v, want each of the range once %v", ports, want)
	}
	w.ping(c)

	spec := w.spec()
	_, err := restarted.RunTask(context.Background(), spec)
	var rf *spawner.RunFailure
	if !errors.As(err, &rf) || !strings.Contains(rf.Reason, "no free port in DOCKER_PORT_RANGE") {
		t.Fatalf("RunTask with the range exhausted: %v, want a RunFailure naming DOCKER_PORT_RANGE", err)
	}
	if _, err := w.cli.ContainerInspect(context.Background(), docker.ContainerName(spec.CreationID)); !cerrdefs.IsNotFound(err) {
		t.Errorf("a container was created for the refused server: %v", err)
	}
	if n := len(w.containers(w.cfg.Deployment)); n != 3 {
		t.Errorf("%d containers, want the 3 servers", n)
	}

	// Once one is stopped, its port is free again.
	freed := w.hostPort(b)
	if err := restarted.StopTask(context.Background(), b.ID, "test"); err != nil {
		t.Fatal(err)
	}
	d := w.run(restarted, w.spec())
	if w.hostPort(d) != freed {
		t.Errorf("new server got port %d, want the freed %d", w.hostPort(d), freed)
	}
}

// A host port bound by another program is skipped for the next one.
func TestPortBoundByAnotherProgramSkipped(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(w.cfg.PortLo)))
	if err != nil {
		t.Fatalf("bind the range's first port: %v", err)
	}
	defer ln.Close()
	r := w.runtime()
	task := w.run(r, w.spec())
	if hp := w.hostPort(task); hp != w.cfg.PortLo+1 {
		t.Errorf("host port %d, want %d: the first is taken by another program", hp, w.cfg.PortLo+1)
	}
	w.ping(task)
	if n := len(w.containers(w.cfg.Deployment)); n != 1 {
		t.Errorf("%d containers, want 1: the failed attempt removed", n)
	}
}

// A host port another program held is handed out again once that
// program let it go: at once when the range has no other port left (while
// it holds the port, the refusal says so), and after
// docker.BadPortRecheck when the range has others.
func TestPortFreedByAnotherProgramHandedOutAgain(t *testing.T) {
	t.Parallel()
	t.Run("range otherwise exhausted", func(t *testing.T) {
		w := newWorld(t, 2)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(w.cfg.PortLo)))
		if err != nil {
			t.Fatalf("bind the range's first port: %v", err)
		}
		r := w.runtime()
		if hp := w.hostPort(w.run(r, w.spec())); hp != w.cfg.PortLo+1 {
			t.Fatalf("host port %d, want %d: the first is taken by another program", hp, w.cfg.PortLo+1)
		}
		// While the program holds it, the refusal says so.
		_, err = r.RunTask(context.Background(), w.spec())
		var rf *spawner.RunFailure
		if !errors.As(err, &rf) || !strings.Contains(rf.Reason, "used by another program") {
			t.Fatalf("RunTask with the last port held by another program: %v, want a RunFailure saying so", err)
		}
		if n := len(w.containers(w.cfg.Deployment)); n != 1 {
			t.Errorf("%d containers, want the 1 server: the failed attempts removed", n)
		}
		_ = ln.Close() // the other program exits
		task, err := r.RunTask(context.Background(), w.spec())
		if err != nil {
			t.Fatalf("RunTask once the other program let port %d go: %v", w.cfg.PortLo, err)
		}
		if hp := w.hostPort(task); hp != w.cfg.PortLo {
			t.Errorf("host port %d, want %d, the only one left", hp, w.cfg.PortLo)
		}
		w.ping(task)
	})
	t.Run("after the recheck delay", func(t *testing.T) {
		w := newWorld(t, 4)
		var ahead atomic.Int64 // how far the adapter's clock is ahead of the wall clock
		r := w.runtime(func(c *docker.Config) {
			c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		})
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(w.cfg.PortLo)))
		if err != nil {
			t.Fatalf("bind the range's first port: %v", err)
		}
		if hp := w.hostPort(w.run(r, w.spec())); hp != w.cfg.PortLo+1 {
			t.Fatalf("host port %d, want %d: the first is taken by another program", hp, w.cfg.PortLo+1)
		}
		_ = ln.Close()
		// Within the delay, the port is still passed over while others are free.
		if hp := w.hostPort(w.run(r, w.spec())); hp != w.cfg.PortLo+2 {
			t.Errorf("host port %d right after the failure, want %d", hp, w.cfg.PortLo+2)
		}
		ahead.Store(int64(docker.BadPortRecheck))
		task := w.run(r, w.spec())
		if hp := w.hostPort(task); hp != w.cfg.PortLo {
			t.Errorf("host port %d after %s, want %d again", hp, docker.BadPortRecheck, w.cfg.PortLo)
		}
		w.ping(task)
	})
}

// An image that is not on the host and cannot be pulled fails the run
// cleanly, saying why, and leaves nothing behind.
func TestMissingImageFailsCleanly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ref string
		pulls     bool // a pull is tried, and told
	}{
		{"no registry", "127.0.0.1:1/spawner/missing:1", true}, // nothing listens on port 1
		{"bad name", "Not A/Valid Name", false},
	} {
		ref := tc.ref
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 2)
			var (
				mu     sync.Mutex
				pulled []spawner.PullProgress
			)
			r := w.runtime(func(c *docker.Config) {
				c.OnPull = func(creation string, p spawner.PullProgress) { mu.Lock(); pulled = append(pulled, p); mu.Unlock() }
			})
			spec := w.spec()
			spec.Image = ref
			_, err := r.RunTask(context.Background(), spec)
			var rf *spawner.RunFailure
			if !errors.As(err, &rf) || !strings.Contains(rf.Reason, "cannot pull image") || rf.Detail == "" {
				t.Fatalf("RunTask of %q: %v, want a RunFailure saying the pull failed and why", ref, err)
			}
			if n := len(w.containers(w.cfg.Deployment)); n != 0 {
				t.Errorf("%d containers left, want none", n)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.pulls && (len(pulled) == 0 || pulled[0] != (spawner.PullProgress{Image: ref, Phase: spawner.PullStarted})) {
				t.Errorf("pull progress told %v, want the pull announced", pulled)
			}
			if !tc.pulls && len(pulled) != 0 {
				t.Errorf("pull progress told %v for a name that cannot be pulled, want nothing", pulled)
			}
		})
	}
}

// Check names the variable to fix: an unreachable engine, a missing image,
// a port of the range taken by another program.
func TestCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3)
	ctx := context.Background()
	r := w.runtime()
	if problems := r.Check(ctx, map[string]string{"GAMESERVER_IMAGE": w.image}); len(problems) != 0 {
		t.Errorf("check of a sane setup: %v, want no problem", problems)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(w.cfg.PortLo+1)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	problems := r.Check(ctx, map[string]string{
		"GAMESERVER_IMAGE":      w.image,
		"game template valheim": "127.0.0.1:1/valheim:latest",
	})
	vars := map[string]string{}
	for _, p := range problems {
		var pr *spawner.Problem
		if !errors.As(p, &pr) {
			t.Fatalf("problem %v is not a *spawner.Problem", p)
		}
		vars[pr.Var] = pr.Err.Error()
	}
	if len(vars) != 2 || !strings.Contains(vars["game template valheim"], "cannot be pulled") ||
		!strings.Contains(vars["DOCKER_PORT_RANGE"], strconv.Itoa(w.cfg.PortLo+1)) {
		t.Errorf("check found %v, want the valheim image and port %d of DOCKER_PORT_RANGE", vars, w.cfg.PortLo+1)
	}

	down, err := docker.New(w.cfg, client.WithHost("unix://"+t.TempDir()+"/none.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	problems = down.Check(ctx, map[string]string{"GAMESERVER_IMAGE": w.image})
	var pr *spawner.Problem
	if len(problems) != 1 || !errors.As(problems[0], &pr) || pr.Var != "DOCKER_HOST" {
		t.Errorf("check without an engine: %v, want one DOCKER_HOST problem", problems)
	}
}

// The cap's default holds what the host's memory can hold.
func TestMaxServers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1)
	r := w.runtime()
	info, err := w.cli.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.MaxServers(context.Background(), 512)
	if err != nil {
		t.Fatal(err)
	}
	if want := int((info.MemTotal>>20)-docker.MemoryReserveMiB) / 512; got != max(want, 1) {
		t.Errorf("max servers of 512 MiB on %d MiB: %d, want %d", info.MemTotal>>20, got, want)
	}
	if huge, _ := r.MaxServers(context.Background(), 1<<30); huge != 1 {
		t.Errorf("max servers larger than the host: %d, want at least 1", huge)
	}
}

// Servers created at the same time get distinct ports, and the same
// creation asked twice at once gets one container.
func TestConcurrentRunTasks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 4)
	r := w.runtime()
	specs := []spawner.TaskSpec{w.spec(), w.spec(), w.spec()}
	specs = append(specs, specs[0]) // a retry racing the first call
	tasks := make([]spawner.Task, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tasks[i], errs[i] = r.RunTask(context.Background(), s)
		}()
	}
	wg.Wait()
	ports := map[int]string{}
	for i, task := range tasks {
		if errs[i] != nil {
			t.Fatalf("run task %d: %v", i, errs[i])
		}
		if other, ok := ports[w.hostPort(task)]; ok && other != task.ID {
			t.Errorf("host port %d handed to %s and %s", w.hostPort(task), other[:12], task.ID[:12])
		}
		ports[w.hostPort(task)] = task.ID
	}
	if tasks[0].ID != tasks[3].ID {
		t.Errorf("the same creation run twice at once gave %s and %s", tasks[0].ID[:12], tasks[3].ID[:12])
	}
	if n := len(w.containers(w.cfg.Deployment)); n != 3 {
		t.Errorf("%d containers, want 3", n)
	}
}
