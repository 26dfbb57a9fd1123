package main

// End-to-end tests of the one-machine setup: the real daemon with
// SPAWNER_RUNTIME=docker against a real Docker engine (package dockerd),
// the embedded store in a temporary folder, and the fake Discord. Game
// servers are containers of the test world's Server List Ping responder,
// reached only through ports published on 127.0.0.1.

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dockerd"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

func TestMain(m *testing.M) {
	alertHTTPClient = testAlertClient() // before any daemon runs (e2e_alerts_test.go)
	os.Exit(dockerd.Run(m))
}

// dockerWorld is a world whose servers run in the test engine: no AWS, no
// DynamoDB (the fake ECS is there only for the world's failure dumps).
// dockerWorlds numbers the worlds of this process.
var dockerWorlds atomic.Int64

type dockerWorld struct {
	*world
	engine     *dockerd.Engine
	cli        *client.Client
	deployment string
	dataDir    string
	portLo     int
	portHi     int
}

// dkPorts hands each test its own block of host ports, free when handed.
var dkPorts struct {
	mu   sync.Mutex
	next int
}

func dkPortRange(tb testing.TB, n int) (int, int) {
	tb.Helper()
	dkPorts.mu.Lock()
	defer dkPorts.mu.Unlock()
	if dkPorts.next == 0 {
		dkPorts.next = 41000 + os.Getpid()%1000*10
	}
	for tries := 0; tries < 200; tries++ {
		lo := dkPorts.next
		dkPorts.next += n
		free := true
		for p := lo; p < lo+n; p++ {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return lo, lo + n - 1
		}
	}
	tb.Fatalf("no block of %d free ports found", n)
	return 0, 0
}

func newDockerWorld(tb testing.TB, ports int, env map[string]string) *dockerWorld {
	tb.Helper()
	e := dockerd.Shared(tb)
	img := e.ResponderImage(tb)
	w := &world{tb: tb}
	w.aws = fakeaws.New(tb, fakeaws.Options{})
	w.discord = fakediscord.New(tb, fakediscord.Options{HeartbeatInterval: 500 * time.Millisecond})
	dir := tb.TempDir()
	dw := &dockerWorld{world: w, engine: e, cli: e.Client(tb), dataDir: filepath.Join(dir, "data")}
	// One deployment per world, even when -count runs the test again while
	// the engine still keeps the last run's exited containers.
	dw.deployment = fmt.Sprintf("e2e-%s-%d", strings.NewReplacer("/", "-", "_", "-").Replace(tb.Name()), dockerWorlds.Add(1))
	dw.portLo, dw.portHi = dkPortRange(tb, ports)
	w.env = w.discordEnv(tb, dir)
	maps.Copy(w.env, map[string]string{
		"SPAWNER_RUNTIME":         "docker",
		"SPAWNER_DATA_DIR":        dw.dataDir,
		"SPAWNER_DEPLOYMENT":      dw.deployment,
		"DOCKER_HOST":             e.Host(),
		"DOCKER_PUBLIC_HOST":      "127.0.0.1",
		"DOCKER_PORT_RANGE":       fmt.Sprintf("%d-%d", dw.portLo, dw.portHi),
		"GAMESERVER_IMAGE":        img,
		"GAMESERVER_PORT":         strconv.Itoa(dockerd.ResponderPort),
		"GAMESERVER_VERSION":      "1.20.2",
		"GAMESERVER_MAX_DURATION": "1h",
		// No player watchdog unless a test asks; its interval is also the
		// sweep's, so no sweep runs during a test but the one at start.
		"GAMESERVER_MIN_REQUIRED_PLAYERS":                  "0",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "1h",
		"GAMESERVER_READY_TIMEOUT":                         "30s",
		"GAMESERVER_POLL_INTERVAL":                         "50ms",
		"DISCORD_TICKET_CLOSE_DELAY":                       "200ms",
		"GAMESERVER_CREATE_COOLDOWN":                       "0",
		"LOG_LEVEL":                                        "debug",
	})
	overrideEnv(w.env, env)
	return dw
}

// containers lists the engine's containers of deployment (all of them when
// deployment is empty), running or not.
func (w *dockerWorld) containers(tb testing.TB, deployment string) []ctypes.Summary {
	tb.Helper()
	f := filters.NewArgs()
	if deployment != "" {
		f.Add("label", docker.LabelDeployment+"="+deployment)
	}
	list, err := w.cli.ContainerList(context.Background(), ctypes.ListOptions{All: true, Filters: f})
	if err != nil {
		tb.Fatalf("list containers: %v", err)
	}
	return list
}

// ours lists this world's containers.
func (w *dockerWorld) ours(tb testing.TB) []ctypes.Summary {
	tb.Helper()
	return w.containers(tb, w.deployment)
}

// records reads the embedded store once no daemon holds it.
func (w *dockerWorld) records(tb testing.TB) []spawner.Server {
	tb.Helper()
	s, err := bolt.Open(w.dataDir)
	if err != nil {
		tb.Fatalf("open the embedded store: %v", err)
	}
	defer s.Close()
	stored, err := s.LoadAll(context.Background())
	if err != nil || len(stored.Problems) > 0 {
		tb.Fatalf("load the embedded store: %v %v", err, stored.Problems)
	}
	return stored.Servers
}

// dkCreate runs /server create for u and returns its ticket channel.
func dkCreate(t *testing.T, w *world, u fakediscord.User) string {
	t.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	ix.WaitResponse(t, waitLong)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	return between(edit.Text(), "<#", ">")
}

// dkReady creates a server for u, waits for its ready message and returns
// the channel and the address the message shows.
func dkReady(t *testing.T, w *dockerWorld, d *daemonHandle, u fakediscord.User) (channelID, addr string) {
	t.Helper()
	channelID = dkCreate(t, w.world, u)
	ready := wdWait(t, w.world, d, channelID, "your server is ready")
	addr = between(ready.Text(), "**Address:** `", "`")
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("ready message address %q, want 127.0.0.1:<port>:\n%s", addr, ready.Text())
	}
	if p, _ := strconv.Atoi(port); p < w.portLo || p > w.portHi {
		t.Fatalf("ready message port %s is outside DOCKER_PORT_RANGE %d-%d", port, w.portLo, w.portHi)
	}
	return channelID, addr
}

// containerOf returns the container of the server in channelID.
func (w *dockerWorld) containerOf(tb testing.TB, channelID string) ctypes.Summary {
	tb.Helper()
	for _, c := range w.ours(tb) {
		if c.Labels["spawner.channel"] == channelID {
			return c
		}
	}
	tb.Fatalf("no container of %s for channel %s: %+v", w.deployment, channelID, w.ours(tb))
	return ctypes.Summary{}
}

// Create through to ready, then stop by command: /readyz answers with the
// embedded store, the ready message shows
// 127.0.0.1 and a port of the range, the game answers there, the container
// carries its labels and limits, the stop removes it and the record, and a
// second daemon on the same data folder refuses to start.
func TestDockerCreateReadyStop(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 4, map[string]string{"HTTP_ADDR": "127.0.0.1:0"})
	d := w.start(t)
	httpWaitReady(t, w.world, d, httpAddrOf(t, w.world, d), "the daemon on the embedded store")
	u := member(1)
	channelID, addr := dkReady(t, w, d, u)

	if resp := dockerd.WaitForPing(t, addr, 10*time.Second); !strings.Contains(resp, `"online"`) {
		t.Errorf("the game at %s answered %s", addr, resp)
	}
	c := w.containerOf(t, channelID)
	insp, err := w.cli.ContainerInspect(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if insp.Config.Labels[docker.LabelOwner] != u.ID || insp.HostConfig.RestartPolicy.Name != ctypes.RestartPolicyDisabled || insp.HostConfig.Memory != docker.DefaultMemoryMiB<<20 {
		t.Errorf("container labels %v, restart %q, memory %d", insp.Config.Labels, insp.HostConfig.RestartPolicy.Name, insp.HostConfig.Memory)
	}
	if !strings.Contains(d.logs.String(), "server cap from the host's memory") {
		t.Errorf("the computed server cap was not logged")
	}

	// A second daemon on the same folder is refused, saying why.
	var second syncBuffer
	err = run(context.Background(), []string{"run"}, w.getenv, &second, &second)
	if err == nil || !strings.Contains(second.String(), "in use by another spawner") {
		t.Errorf("second daemon on %s: err %v, said:\n%s", w.dataDir, err, second.String())
	}

	// /server stop: the container is stopped gracefully and removed.
	stop := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": c.ID})
	stop.WaitResponse(t, waitLong)
	stop.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "stopped") })
	if left := w.ours(t); len(left) != 0 {
		t.Errorf("containers left after the stop: %+v", left)
	}
	wdWait(t, w.world, d, channelID, "Server stopped by <@"+u.ID+">")
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	if recs := w.records(t); len(recs) != 0 {
		t.Errorf("records left after the stop: %+v", recs)
	}
}

// Too few players: warnings, then the stop, and the container is gone.
func TestDockerPlayerWarningsThenStop(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 2, map[string]string{
		"GAMESERVER_MIN_REQUIRED_PLAYERS":                  "2",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT":    "2",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "300ms",
	})
	d := w.start(t)
	u := member(1)
	channelID, _ := dkReady(t, w, d, u)
	wdWait(t, w.world, d, channelID, "warning **1/2**", "0 player(s) online, 2 needed")
	wdWait(t, w.world, d, channelID, "warning **2/2**")
	wdWait(t, w.world, d, channelID, "Server stopped: too few players after the last warning.")
	w.waitFor(t, "the container to be removed", func() bool { return len(w.ours(t)) == 0 }, d)
}

// A container killed behind the bot's back is noticed through the engine's
// events: the sweep (once an hour here) has no part in it.
func TestDockerKilledContainerNoticedFromEvents(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 2, nil)
	d := w.start(t)
	u := member(1)
	channelID, _ := dkReady(t, w, d, u)
	c := w.containerOf(t, channelID)
	if err := w.cli.ContainerKill(context.Background(), c.ID, "SIGKILL"); err != nil {
		t.Fatalf("kill: %v", err)
	}
	m := wdWait(t, w.world, d, channelID, "stopped on its own")
	if !strings.Contains(m.Text(), "137") || !m.Mentioned(u.ID) {
		t.Errorf("the owner is not told the container was killed (exit code 137): %q", m.Text())
	}
	logs := d.logs.String()
	if !strings.Contains(logs, "task stopped on its own; ending its server now") {
		t.Errorf("the end did not come from the events stream:\n%s", logs)
	}
	// The exited container is kept a while for its exit code (the sweep
	// removes it after docker.DefaultExitedRetention); it never restarts.
	if got := w.ours(t); len(got) != 1 || got[0].State != "exited" {
		t.Errorf("containers after the kill: %+v, want the one exited", got)
	}
}

// The real binary SIGKILLed and restarted on the same data folder: the
// ready server carries on at the same address in the same container, an
// orphan container of this deployment is removed, another deployment's is
// left alone, and the next server gets another port.
func TestDockerRestartAfterSIGKILL(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 4, map[string]string{"GAMESERVER_MAX_SERVERS": "5"})
	bin := rsSpawnerBinary(t)
	p := rsStartBinary(t, w.world, bin)
	u := member(1)
	channelID, addr := dkReady(t, w, p.handle(w.world), u)
	before := w.containerOf(t, channelID)
	p.kill(t)

	orphan := w.runForeign(t, w.deployment, "orphan")
	other := w.runForeign(t, w.deployment+"-other", "other")

	p = rsStartBinary(t, w.world, bin)
	h := p.handle(w.world)
	w.waitFor(t, "the orphan container to be removed", func() bool {
		_, err := w.cli.ContainerInspect(context.Background(), orphan)
		return err != nil
	}, h)
	if insp, err := w.cli.ContainerInspect(context.Background(), other); err != nil || !insp.State.Running {
		t.Errorf("another deployment's container was touched: %v %+v", err, insp.State)
	}
	after := w.containerOf(t, channelID)
	if after.ID != before.ID || after.State != "running" {
		t.Errorf("the server's container changed: %s (%s) → %s (%s)", before.ID, before.State, after.ID, after.State)
	}
	dockerd.WaitForPing(t, addr, 10*time.Second)
	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !strings.Contains(list.Text(), addr) {
		t.Errorf("after the restart the server is listed without its address %s: %q", addr, list.Text())
	}

	// The next server's port is not the first one's.
	_, addr2 := dkReady(t, w, h, member(2))
	if addr2 == addr {
		t.Errorf("a port was handed out twice: %s", addr)
	}
}

// runForeign starts a responder container labelled as a server of
// deployment that no record names, and returns its id.
func (w *dockerWorld) runForeign(tb testing.TB, deployment, name string) string {
	tb.Helper()
	ctx := context.Background()
	created, err := w.cli.ContainerCreate(ctx, &ctypes.Config{
		Image: w.env["GAMESERVER_IMAGE"],
		Labels: map[string]string{
			docker.LabelStartedBy:  spawner.StartedBy,
			docker.LabelDeployment: deployment,
			docker.LabelCreation:   name + "0123456789",
		},
	}, &ctypes.HostConfig{}, nil, nil, "")
	if err != nil {
		tb.Fatalf("create %s container: %v", name, err)
	}
	tb.Cleanup(func() { _ = w.cli.ContainerRemove(context.Background(), created.ID, ctypes.RemoveOptions{Force: true}) })
	if err := w.cli.ContainerStart(ctx, created.ID, ctypes.StartOptions{}); err != nil {
		tb.Fatalf("start %s container: %v", name, err)
	}
	return created.ID
}

// One port in the range: the second server fails, saying the range is
// full, and leaves no container and no record behind: only the first
// server's remain, and its ticket's owner reads why.
func TestDockerPortRangeExhausted(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 1, map[string]string{"GAMESERVER_MAX_SERVERS": "5"})
	d := w.start(t)
	dkReady(t, w, d, member(1))
	channelID := dkCreate(t, w.world, member(2))
	m := wdWait(t, w.world, d, channelID, "could not be created")
	if !strings.Contains(m.Text(), "no free port in DOCKER_PORT_RANGE "+w.env["DOCKER_PORT_RANGE"]) {
		t.Errorf("the failure does not say the port range is full: %q", m.Text())
	}
	if got := w.ours(t); len(got) != 1 {
		t.Errorf("containers = %d, want only the first server's: %+v", len(got), got)
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	recs := w.records(t)
	if len(recs) != 1 || recs[0].Owner != member(1).ID {
		t.Errorf("records = %+v, want only the first member's server", recs)
	}
}

// An image that cannot be pulled fails the creation with the reason and
// leaves no container and no record.
func TestDockerMissingImageFailsCleanly(t *testing.T) {
	t.Parallel()
	const image = "127.0.0.1:1/spawner-test/missing:latest" // no registry listens there
	w := newDockerWorld(t, 2, map[string]string{"GAMESERVER_IMAGE": image})
	d := w.start(t)
	channelID := dkCreate(t, w.world, member(1))
	m := wdWait(t, w.world, d, channelID, "could not be created")
	if !strings.Contains(m.Text(), `cannot pull image "`+image+`"`) || strings.Contains(m.Text(), "AWS") {
		t.Errorf("the failure does not say the image cannot be pulled, or speaks of AWS: %q", m.Text())
	}
	if got := w.ours(t); len(got) != 0 {
		t.Errorf("containers left: %+v", got)
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	if recs := w.records(t); len(recs) != 0 {
		t.Errorf("records left: %+v", recs)
	}
}

// `spawner check` under Docker: the engine, the image, the port range and
// the data folder are ok; an image the engine cannot get is a problem
// naming GAMESERVER_IMAGE.
func TestDockerCheck(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 2, nil)
	var out syncBuffer
	if err := run(context.Background(), []string{"check"}, w.getenv, &out, &out); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ok       docker engine " + w.engine.Host(), "DOCKER_PORT_RANGE " + w.env["DOCKER_PORT_RANGE"], "ok       data folder " + filepath.Join(w.dataDir, bolt.FileName), "all good"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check does not say %q:\n%s", want, out.String())
		}
	}
	w.env["GAMESERVER_IMAGE"] = "127.0.0.1:1/spawner-test/missing:latest"
	var bad syncBuffer
	if err := run(context.Background(), []string{"check"}, w.getenv, &bad, &bad); err == nil || !strings.Contains(bad.String(), "PROBLEM  GAMESERVER_IMAGE: ") {
		t.Errorf("check with an image nobody has: err %v\n%s", err, bad.String())
	}
}

// Mixing costs nothing: the Docker runtime with a DynamoDB table keeps its
// servers in the table, and ECS with the embedded store keeps them in the
// file; both create through to ready.
func TestDockerWithDynamoDB(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 2, nil)
	w.dyn = dynalite.Start(t)
	dir := t.TempDir()
	keyID, secret := filepath.Join(dir, "key_id"), filepath.Join(dir, "secret")
	for path, v := range map[string]string{keyID: fakeaws.AccessKeyID, secret: fakeaws.SecretAccessKey} {
		if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]string{
		"AWS_REGION":                 "eu-west-3",
		"AWS_ACCESS_KEY_ID_FILE":     keyID,
		"AWS_SECRET_ACCESS_KEY_FILE": secret,
		"AWS_ENDPOINT_URL_DYNAMODB":  w.dyn.Endpoint(),
		"AWS_DYNAMODB_TABLE_NAME":    tableName,
		"DYNAMODB_CREATE_TABLE":      "true",
	} {
		w.env[k] = v
	}
	d := w.start(t)
	channelID, addr := dkReady(t, w, d, member(1))
	recs := w.table(t)
	if len(recs) != 1 || recs[0].ChannelID != channelID || recs[0].HostPort() != addr || recs[0].TaskID != w.containerOf(t, channelID).ID {
		t.Errorf("table = %+v, want the container's server at %s", recs, addr)
	}
	if _, err := os.Stat(w.dataDir); !os.IsNotExist(err) {
		t.Errorf("the data folder was made with a table: %v", err)
	}
}

func TestECSWithEmbeddedStore(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	w := newWorld(t, worldOptions{env: map[string]string{
		"AWS_DYNAMODB_TABLE_NAME": "",
		"DYNAMODB_CREATE_TABLE":   "",
		"SPAWNER_DATA_DIR":        dataDir,
	}})
	d := w.start(t)
	channelID, _ := dkReadyECS(t, w, d)
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	s, err := bolt.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stored, err := s.LoadAll(context.Background())
	recs := stored.Servers
	if err != nil || len(recs) != 1 || recs[0].ChannelID != channelID || !strings.Contains(recs[0].TaskID, ":task/") {
		t.Errorf("embedded store = %+v (%v), want the ECS task's server", recs, err)
	}
}

// dkReadyECS creates a server on the fake ECS and waits for it to be ready.
func dkReadyECS(t *testing.T, w *world, d *daemonHandle) (string, string) {
	t.Helper()
	channelID := dkCreate(t, w, member(1))
	ready := wdWait(t, w, d, channelID, "your server is ready")
	return channelID, between(ready.Text(), "**Address:** `", "`")
}
