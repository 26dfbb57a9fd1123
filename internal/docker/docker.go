// Package docker runs the game servers as containers in one host's Docker
// engine, through the Docker Engine API. It is the lifecycle's Tasks when
// SPAWNER_RUNTIME=docker, with the same semantics as package ecs:
//
//   - a task's "ARN" is the container's full id (64 hex digits); its TaskID
//     is the same id, since it has no slash;
//   - every container carries labels naming the bot, its deployment and the
//     creation (see the Label constants); the adapter touches only
//     containers labelled with its own deployment;
//   - each game port is published on a free host port of the configured
//     range, recorded in a label so it is known again after a restart, and
//     never handed out twice.
//
// It speaks to any engine from API 1.41 (Debian 12's Docker 20.10) up,
// negotiating the version.
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"golang.org/x/sync/errgroup"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Labels on every container the bot runs. The creation, owner, channel,
// game and variant labels carry the task tags of the same name
// (spawner.TagCreation "spawner:creation" becomes "spawner.creation").
const (
	LabelStartedBy  = "spawner.startedBy"  // always spawner.StartedBy
	LabelDeployment = "spawner.deployment" // Config.Deployment
	LabelCreation   = "spawner.creation"
	LabelOwner      = "spawner.owner"
	LabelGame       = "spawner.game"
	LabelVariant    = "spawner.variant"
	// LabelPorts lists the host ports handed to the container,
	// "25565:25570/tcp,25565:25570/udp" (container:host/proto), so the
	// allocator knows them whatever the container's state.
	LabelPorts = "spawner.ports"
)

// Defaults of Config.
const (
	DefaultPortLo    = 25565
	DefaultPortHi    = 25664
	DefaultMemoryMiB = 2048             // what a small Minecraft server needs
	DefaultCPU       = 1024             // one vCPU
	DefaultStopGrace = 30 * time.Second // time a game has to save after SIGTERM
	// DefaultExitedRetention is how long a container that stopped on its
	// own is kept (so its exit code can be read) before it is removed.
	DefaultExitedRetention = 10 * time.Minute
	// MemoryReserveMiB is the host memory MaxServers leaves to the system
	// and the bot.
	MemoryReserveMiB = 1024
	// BadPortRecheck is how long a host port the engine could not bind
	// (another program held it) is passed over while other ports of the
	// range are free; then it is tried again. When no other port is free it
	// is tried at once: the program may have let it go.
	BadPortRecheck = 10 * time.Minute
)

// Engine API concurrency.
const inspectWorkers = 4

// Config is how servers run on the engine.
type Config struct {
	// Deployment names this bot among those sharing the engine; it is put
	// on every container and only containers carrying it are touched.
	// Required.
	Deployment string
	// PublicHost is the host name or IP players connect to
	// (DOCKER_PUBLIC_HOST); Address returns it.
	PublicHost string
	// HostIP is the host address game ports are published on; empty means
	// all (0.0.0.0). Tests use 127.0.0.1.
	HostIP string
	// PrivateHostIP is the host address the ports only the bot may reach
	// (TaskSpec.PrivatePorts: RCON) are published on, never all: 127.0.0.1
	// when the bot runs on the engine's host. Empty means the engine's
	// default bridge gateway, learned from the engine (see private.go).
	PrivateHostIP string
	// PortLo and PortHi bound the host ports handed out (DOCKER_PORT_RANGE),
	// inclusive; both 0 means DefaultPortLo-DefaultPortHi.
	PortLo, PortHi int
	// DefaultMemoryMiB and DefaultCPU (vCPU units of 1024) limit a container
	// whose spec does not say; 0 means DefaultMemoryMiB and DefaultCPU. A
	// CPU limit is never above the host's cores.
	DefaultMemoryMiB int
	DefaultCPU       int
	// StopGrace is how long a game has to exit after SIGTERM before it is
	// killed; 0 means DefaultStopGrace.
	StopGrace time.Duration
	// ExitedRetention is how long a container that stopped on its own is
	// kept before ListOwnedTasks removes it; 0 means DefaultExitedRetention.
	ExitedRetention time.Duration
	// OnPull, when set, is told the progress of an image pull RunTask makes
	// for the creation creationID, as facts (phase, bytes) for the caller
	// to put in words. It is called from RunTask's goroutine and must not
	// block for long.
	OnPull func(creationID string, progress spawner.PullProgress)
	// Log receives the events stream's reconnections; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Runtime runs, describes, lists and stops the bot's containers on one
// engine. It is safe for concurrent use.
type Runtime struct {
	cli *client.Client
	cfg Config

	allocMu sync.Mutex // held by allocate from listing to reserving

	mu       sync.Mutex
	reserved map[int]string    // host port → creation id, while a RunTask is under way
	badPorts map[int]time.Time // host ports the engine could not bind (used by something else) → when
	exited   map[string]bool
	creating map[string]chan struct{} // creation id → closed when its RunTask returns
	ncpu     int                      // host cores, once known
	// worldPorts returns the host ports asleep worlds keep (ReservePorts).
	worldPorts func() []int
	// bridgeGateway is the host's address on the default bridge, once
	// known: the private address when Config.PrivateHostIP is empty.
	bridgeGateway string
	worldBusy     map[string]int       // world storage → helpers of this process opening it
	worldFresh    map[string]time.Time // world storage → when this process made it

	helperImageMu sync.Mutex // held while HelperImage is looked for and imported
}

// New returns the adapter for cfg, on the engine named by DOCKER_HOST (the
// local socket when empty) with the API version negotiated; opts are added
// after those (a test's client.WithHost). It dials nothing: the first call
// does.
func New(cfg Config, opts ...client.Opt) (*Runtime, error) {
	if cfg.Deployment == "" {
		return nil, errors.New("docker: no deployment name")
	}
	if cfg.PortLo == 0 && cfg.PortHi == 0 {
		cfg.PortLo, cfg.PortHi = DefaultPortLo, DefaultPortHi
	}
	if cfg.PortLo < 1 || cfg.PortHi > 65535 || cfg.PortLo > cfg.PortHi {
		return nil, fmt.Errorf("docker: bad port range %d-%d", cfg.PortLo, cfg.PortHi)
	}
	cfg.DefaultMemoryMiB = spawner.PositiveOr(cfg.DefaultMemoryMiB, DefaultMemoryMiB)
	cfg.DefaultCPU = spawner.PositiveOr(cfg.DefaultCPU, DefaultCPU)
	cfg.StopGrace = spawner.PositiveOr(cfg.StopGrace, DefaultStopGrace)
	cfg.ExitedRetention = spawner.PositiveOr(cfg.ExitedRetention, DefaultExitedRetention)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cli, err := client.NewClientWithOpts(append([]client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Runtime{cli: cli, cfg: cfg, reserved: map[int]string{}, badPorts: map[int]time.Time{}, exited: map[string]bool{}, creating: map[string]chan struct{}{},
		worldBusy: map[string]int{}, worldFresh: map[string]time.Time{}}, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.cli.Close() }

// Host is the engine's address, as DOCKER_HOST names it.
func (r *Runtime) Host() string { return r.cli.DaemonHost() }

// ContainerName is the name of the container of creation id:
// "spawner-" and the id's first 12 characters.
func ContainerName(creationID string) string {
	id := nameUnsafe.ReplaceAllString(creationID, "-")
	if len(id) > 12 {
		id = id[:12]
	}
	return "spawner-" + id
}

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)

// RunTask creates and starts the container of spec: spec.Image (pulled
// first when the host does not have it, with the progress told to
// Config.OnPull), spec.Env, the memory and CPU limits of spec or the
// defaults, restart policy "no", the labels of the bot and of spec.Tags,
// each of spec.Ports published on a free host port of the range (the
// task's Ports say which) that no world keeps (see ReservePorts), the game
// port on spec.HostPort when set, and spec.World's volume mounted at its path (a
// volume that is missing or not one of this deployment's worlds is a
// *spawner.RunFailure: the engine would make an empty one).
//
// It is idempotent on spec.CreationID: a retried call returns the
// container already created for it, starting it if it was not yet.
//
// When the container cannot be run (the image cannot be pulled, no host
// port is free, the engine refuses it) the error is a *spawner.RunFailure
// and nothing is left behind; when spec.HostPort is held by another
// container or program, it also wraps spawner.ErrPortTaken. Any other
// error may hide a container that was created: the caller should look for
// it by its creation label.
func (r *Runtime) RunTask(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
	if spec.CreationID == "" {
		return spawner.Task{}, errors.New("run container: no creation id")
	}
	if spec.Image == "" {
		return spawner.Task{}, &spawner.RunFailure{Reason: "no image", Detail: "the game has no image to run under Docker"}
	}
	unlock, err := r.lockCreation(ctx, spec.CreationID)
	if err != nil {
		return spawner.Task{}, fmt.Errorf("run container: %w", err)
	}
	defer unlock()
	name := ContainerName(spec.CreationID)
	if t, ok, err := r.existing(ctx, name, spec.CreationID); err != nil || ok {
		return t, err
	}
	if err := r.ensureImage(ctx, spec.CreationID, spec.Image); err != nil {
		return spawner.Task{}, err
	}
	cpu, err := r.nanoCPUs(ctx, spec.CPU)
	if err != nil {
		return spawner.Task{}, err
	}
	const attempts = 3 // a port the engine cannot bind is skipped and another tried
	for attempt := 1; ; attempt++ {
		bindings, err := r.allocate(ctx, spec.CreationID, spec.ContainerSpec)
		if err != nil {
			return spawner.Task{}, err
		}
		t, retry, err := r.create(ctx, name, spec, bindings, cpu)
		r.release(spec.CreationID)
		if err == nil {
			r.forgetBad(bindings)
		}
		if retry && attempt < attempts {
			continue
		}
		return t, err
	}
}

// lockCreation waits until no other RunTask of this process works on
// creation, so a retry racing the first call finds its container instead of
// racing it for the name; unlock lets the next one in.
func (r *Runtime) lockCreation(ctx context.Context, creation string) (unlock func(), err error) {
	for {
		r.mu.Lock()
		busy, ok := r.creating[creation]
		if !ok {
			done := make(chan struct{})
			r.creating[creation] = done
			r.mu.Unlock()
			return func() {
				r.mu.Lock()
				delete(r.creating, creation)
				r.mu.Unlock()
				close(done)
			}, nil
		}
		r.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// existing returns the container named name when it exists and belongs to
// creation, started; ok is false when there is none.
func (r *Runtime) existing(ctx context.Context, name, creation string) (spawner.Task, bool, error) {
	c, err := r.cli.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return spawner.Task{}, false, nil
	}
	if err != nil {
		return spawner.Task{}, false, fmt.Errorf("run container: inspect %s: %w", name, err)
	}
	if !r.ours(c.Config) || c.Config.Labels[LabelCreation] != creation {
		return spawner.Task{}, false, fmt.Errorf("run container: name %s is taken by another container", name)
	}
	if c.State != nil && c.State.Status == "created" {
		if err := r.cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
			return spawner.Task{}, false, fmt.Errorf("run container: start %s: %w", name, err)
		}
		if c, err = r.cli.ContainerInspect(ctx, c.ID); err != nil {
			return spawner.Task{}, false, fmt.Errorf("run container: inspect %s: %w", name, err)
		}
	}
	return taskOf(c), true, nil
}

// create creates and starts the container with bindings. retry is true
// when the engine could not bind a host port; the container is then
// removed and the port marked bad.
func (r *Runtime) create(ctx context.Context, name string, spec spawner.TaskSpec, bindings []binding, nanoCPUs int64) (t spawner.Task, retry bool, err error) {
	cfg, host, err := r.containerConfig(ctx, spec, bindings, nanoCPUs)
	if err != nil {
		return spawner.Task{}, false, err
	}
	created, err := r.cli.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if cerrdefs.IsConflict(err) {
		// A concurrent call for the same creation won the name.
		t, ok, err := r.existing(ctx, name, spec.CreationID)
		if err == nil && !ok {
			err = fmt.Errorf("run container: name %s conflicts but no container has it", name)
		}
		return t, false, err
	}
	if err != nil {
		if cerrdefs.IsInvalidArgument(err) {
			return spawner.Task{}, false, &spawner.RunFailure{Reason: "the engine refused the container", Detail: err.Error()}
		}
		return spawner.Task{}, false, fmt.Errorf("run container: create: %w", err)
	}
	if err := r.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		retry, err := r.startFailed(ctx, created.ID, bindings, err)
		return spawner.Task{}, retry, err
	}
	c, err := r.cli.ContainerInspect(ctx, created.ID)
	if err != nil {
		return spawner.Task{}, false, fmt.Errorf("run container: inspect: %w", err)
	}
	return taskOf(c), false, nil
}

// containerConfig is the container of spec with bindings published, as
// the engine takes it: no restart, stopped with SIGTERM and StopGrace.
func (r *Runtime) containerConfig(ctx context.Context, spec spawner.TaskSpec, bindings []binding, nanoCPUs int64) (*container.Config, *container.HostConfig, error) {
	exposed, portMap, err := r.publish(ctx, bindings)
	if err != nil {
		return nil, nil, err
	}
	mounts, err := r.worldMount(ctx, spec.World)
	if err != nil {
		return nil, nil, err
	}
	memory := spec.Memory
	if memory <= 0 {
		memory = r.cfg.DefaultMemoryMiB
	}
	grace := int(r.cfg.StopGrace / time.Second)
	cfg := &container.Config{
		Image:        spec.Image,
		Env:          environment(spec.Env),
		Labels:       r.labels(spec.Tags, spec.CreationID, bindings),
		ExposedPorts: exposed,
		StopSignal:   "SIGTERM",
		StopTimeout:  &grace,
	}
	host := &container.HostConfig{
		PortBindings:  portMap,
		Mounts:        mounts,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			Memory:   int64(memory) << 20,
			NanoCPUs: nanoCPUs,
		},
	}
	return cfg, host, nil
}

// publish is the container ports of bindings and the host ports they are
// published on: on HostIP, or on the private address for a private one.
func (r *Runtime) publish(ctx context.Context, bindings []binding) (nat.PortSet, nat.PortMap, error) {
	exposed, portMap := nat.PortSet{}, nat.PortMap{}
	for _, b := range bindings {
		p := nat.Port(strconv.Itoa(b.container) + "/" + b.proto)
		exposed[p] = struct{}{}
		hostIP := r.cfg.HostIP
		if b.private {
			var err error
			if hostIP, err = r.privateHostIP(ctx); err != nil {
				return nil, nil, err
			}
		}
		portMap[p] = append(portMap[p], nat.PortBinding{HostIP: hostIP, HostPort: strconv.Itoa(b.host)})
	}
	return exposed, portMap, nil
}

// startFailed removes the container id whose start failed with err, so
// that nothing is left behind, and says why it failed. retry is true when a
// host port of bindings the runtime chose was in use: the port is marked
// bad. The port the spec asked for (fixed) in use is never retried: the
// error wraps spawner.ErrPortTaken.
func (r *Runtime) startFailed(ctx context.Context, id string, bindings []binding, err error) (retry bool, _ error) {
	// The start's own context may be done.
	rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if rmErr := r.cli.ContainerRemove(rmCtx, id, container.RemoveOptions{Force: true}); rmErr != nil && !cerrdefs.IsNotFound(rmErr) {
		return false, fmt.Errorf("run container: start: %w (and remove: %v)", err, rmErr)
	}
	if portInUse(err) {
		named := portsNamed(bindings, err)
		for _, b := range bindings {
			// The engine names no port: the one asked for is the likely
			// one, the others having been free when they were chosen.
			if b.fixed && (len(named) == 0 || slices.Contains(named, b.host)) {
				return false, portTaken(b.host, "another program holds it: "+err.Error())
			}
		}
		if len(named) == 0 {
			for _, b := range bindings {
				named = append(named, b.host)
			}
		}
		r.markBad(named)
		return true, &spawner.RunFailure{Reason: "a host port of DOCKER_PORT_RANGE is used by another program", Detail: err.Error()}
	}
	return false, &spawner.RunFailure{Reason: "the container did not start", Detail: err.Error()}
}

// portInUse tells the engine's answer to a start whose host port is bound
// by something it does not manage.
func portInUse(err error) bool {
	s := err.Error()
	return strings.Contains(s, "address already in use") || strings.Contains(s, "port is already allocated")
}

// labels are the container's labels: the bot's, then spec's tags renamed.
func (r *Runtime) labels(tags map[string]string, creation string, bindings []binding) map[string]string {
	l := make(map[string]string, len(tags)+4)
	for k, v := range tags {
		if lk, ok := labelOfTag(k); ok {
			l[lk] = v
		}
	}
	l[LabelStartedBy] = spawner.StartedBy
	l[LabelDeployment] = r.cfg.Deployment
	l[LabelCreation] = creation
	ports := make([]string, 0, len(bindings))
	for _, b := range bindings {
		ports = append(ports, fmt.Sprintf("%d:%d/%s", b.container, b.host, b.proto))
	}
	l[LabelPorts] = strings.Join(ports, ",")
	return l
}

// labelOfTag is the label carrying task tag key: "spawner:x" → "spawner.x".
func labelOfTag(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "spawner:")
	if !ok || rest == "" || rest == "deployment" {
		return "", false
	}
	return "spawner." + rest, true
}

// tagsOfLabels is the task tags a container's labels (or a removed
// container's event attributes) carry back; nil when none.
func tagsOfLabels(labels map[string]string) map[string]string {
	var tags map[string]string
	for k, v := range labels {
		if tag, ok := tagOfLabel(k); ok {
			if tags == nil {
				tags = map[string]string{}
			}
			tags[tag] = v
		}
	}
	return tags
}

// tagOfLabel is the task tag a label carries back: "spawner.x" → "spawner:x".
func tagOfLabel(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "spawner.")
	if !ok || rest == "" || key == LabelStartedBy || key == LabelPorts {
		return "", false
	}
	return "spawner:" + rest, true
}

// ours reports whether a container's labels say it is this deployment's.
func (r *Runtime) ours(c *container.Config) bool {
	return c != nil && c.Labels[LabelStartedBy] == spawner.StartedBy && c.Labels[LabelDeployment] == r.cfg.Deployment
}

// nanoCPUs is the CPU limit of a container asking for cpu units of 1024,
// never above the host's cores (the engine refuses more).
func (r *Runtime) nanoCPUs(ctx context.Context, cpu int) (int64, error) {
	if cpu <= 0 {
		cpu = r.cfg.DefaultCPU
	}
	r.mu.Lock()
	ncpu := r.ncpu
	r.mu.Unlock()
	if ncpu == 0 {
		info, err := r.cli.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("run container: engine info: %w", err)
		}
		ncpu = max(info.NCPU, 1)
		r.mu.Lock()
		r.ncpu = ncpu
		r.mu.Unlock()
	}
	return min(int64(cpu)*1e9/1024, int64(ncpu)*1e9), nil
}

// DescribeTasks returns the containers ids that exist and are this
// deployment's, in no particular order; the others (removed, unknown, or
// another deployment's) are absent, not an error.
func (r *Runtime) DescribeTasks(ctx context.Context, ids []string) ([]spawner.Task, error) {
	cs, err := r.inspectOwned(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("describe containers: %w", err)
	}
	tasks := make([]spawner.Task, 0, len(cs))
	for _, c := range cs {
		tasks = append(tasks, c.task)
	}
	return tasks, nil
}

// inspected is what the runtime keeps of a container's inspection: its
// task, and when it finished (RFC 3339), if it did. The engine's whole
// description is dropped at once: kept for a fleet, it was the largest
// part of the bot's memory during a sweep.
type inspected struct {
	task     spawner.Task
	finished string
}

// inspectOwned inspects the containers ids, a few at a time, keeping those
// that exist and are this deployment's, in the order of ids.
func (r *Runtime) inspectOwned(ctx context.Context, ids []string) ([]inspected, error) {
	out := make([]inspected, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(inspectWorkers)
	for i, id := range ids {
		g.Go(func() error {
			c, err := r.cli.ContainerInspect(gctx, id)
			if cerrdefs.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("inspect %s: %w", shortID(id), err)
			}
			if r.ours(c.Config) {
				out[i] = inspected{task: taskOf(c)}
				if c.State != nil {
					out[i].finished = c.State.FinishedAt
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	owned := out[:0]
	for _, c := range out {
		if c.task.ID != "" {
			owned = append(owned, c)
		}
	}
	return owned, nil
}

// StopTask stops the container id gracefully (SIGTERM, then SIGKILL after
// Config.StopGrace, so the game saves) and removes it. A container that
// does not exist succeeds: the caller wanted it gone and it is. A container
// of another deployment is refused. The engine keeps no stop reason; reason
// is only part of an error.
func (r *Runtime) StopTask(ctx context.Context, id, reason string) error {
	c, err := r.cli.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop container (%s): %w", reason, err)
	}
	if !r.ours(c.Config) {
		return fmt.Errorf("stop container (%s): %s is not this deployment's", reason, shortID(id))
	}
	grace := int(r.cfg.StopGrace / time.Second)
	if err := r.cli.ContainerStop(ctx, id, container.StopOptions{Signal: "SIGTERM", Timeout: &grace}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container (%s): %w", reason, err)
	}
	if err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container (%s): %w", reason, err)
	}
	r.mu.Lock()
	delete(r.exited, c.ID)
	r.mu.Unlock()
	return nil
}

// ListOwnedTasks returns every container of this deployment, running or
// not (a container that stopped on its own is returned as stopped, with its
// exit code). A container that stopped on its own more than
// Config.ExitedRetention ago, and that an earlier call already returned, is
// removed instead: the lifecycle has had its chance to read it.
func (r *Runtime) ListOwnedTasks(ctx context.Context) ([]spawner.Task, error) {
	list, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: r.ownFilter()})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	cs, err := r.inspectOwned(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	now := r.cfg.Now()
	r.mu.Lock()
	seen := maps.Clone(r.exited)
	for _, c := range cs {
		if c.task.Stopped() {
			r.exited[c.task.ID] = true
		}
	}
	r.mu.Unlock()
	tasks := make([]spawner.Task, 0, len(cs))
	for _, c := range cs {
		id := c.task.ID
		if c.task.Stopped() && seen[id] {
			finished, err := time.Parse(time.RFC3339Nano, c.finished)
			if err == nil && now.Sub(finished) > r.cfg.ExitedRetention {
				if err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
					return nil, fmt.Errorf("remove exited container %s: %w", shortID(id), err)
				}
				r.mu.Lock()
				delete(r.exited, id)
				r.mu.Unlock()
				continue
			}
		}
		tasks = append(tasks, c.task)
	}
	return tasks, nil
}

// ownFilter selects this deployment's containers.
func (r *Runtime) ownFilter() filters.Args {
	return filters.NewArgs(
		filters.Arg("label", LabelStartedBy+"="+spawner.StartedBy),
		filters.Arg("label", LabelDeployment+"="+r.cfg.Deployment),
	)
}

// Address is "host:port" where players reach the game port port of task
// t: Config.PublicHost, and the host port the container publishes port on
// (port itself when it publishes none for it). The container is inspected
// for its ports: only t.ID is read.
func (r *Runtime) Address(ctx context.Context, t spawner.Task, port int) (string, error) {
	if r.cfg.PublicHost == "" {
		return "", fmt.Errorf("container address: %w (DOCKER_PUBLIC_HOST is empty)", spawner.ErrNoPublicIP)
	}
	c, err := r.cli.ContainerInspect(ctx, t.ID)
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("container address: container %s: %w", shortID(t.ID), spawner.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("container address: %w", err)
	}
	if !r.ours(c.Config) {
		return "", fmt.Errorf("container address: %s is not this deployment's", shortID(t.ID))
	}
	if hp, ok := hostPorts(c.Config.Labels[LabelPorts])[port]; ok && hp > 0 {
		port = hp
	}
	return net.JoinHostPort(r.cfg.PublicHost, strconv.Itoa(port)), nil
}

// ListenAddress is the address the bot listens on to answer on host
// port in a game's place (an asleep world's listener): the address the
// engine publishes game ports on (Config.HostIP; empty, every interface of
// both address families, as the engine publishes), so that the listener
// and a server of the world hold exactly the same thing, and either can
// bind the port the moment the other lets it go. It is meaningful only
// when the bot runs in the host's network, where the engine publishes.
func (r *Runtime) ListenAddress(port int) string {
	return net.JoinHostPort(r.cfg.HostIP, strconv.Itoa(port))
}

// shortID is the 12-character form of a container id, for messages.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// environment is env as "K=V" sorted by name, so the same spec always
// makes the same container.
func environment(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
