package docker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// taskOf maps the engine's description of a container to the domain's
// task. It is the one place that turns the engine's states into the
// statuses the lifecycle reads:
//
//	created                     pending
//	running, paused, restarting running
//	removing, exited, dead      stopped (stop wanted), with the exit
//	                            code and a reason
func taskOf(c container.InspectResponse) spawner.Task {
	t := spawner.Task{ID: c.ID, Status: spawner.TaskPending}
	if c.Config != nil {
		t.StartedBy = c.Config.Labels[LabelStartedBy]
		t.Tags = tagsOfLabels(c.Config.Labels)
	}
	if created, err := time.Parse(time.RFC3339Nano, c.Created); err == nil {
		t.CreatedAt = created
	}
	if s := c.State; s != nil {
		switch s.Status {
		case "running", "paused", "restarting":
			t.Status = spawner.TaskRunning
		case "removing", "exited", "dead":
			t.Status, t.StopWanted = spawner.TaskStopped, true
			code := int32(s.ExitCode) //nolint:gosec // G115: an exit code is a byte, or -1 when the engine has none
			t.ExitCode = &code
			switch {
			case s.OOMKilled:
				t.StoppedReason = "OOMKilled: out of memory"
				if c.HostConfig != nil && c.HostConfig.Memory > 0 {
					t.StoppedReason += fmt.Sprintf(" (limit %d MiB)", c.HostConfig.Memory>>20)
				}
			case s.Error != "":
				t.StoppedReason = s.Error
			default:
				t.StoppedReason = "exited with code " + strconv.Itoa(s.ExitCode)
			}
		}
	}
	return t
}

// binding is one game port published on one host port.
type binding struct {
	container int
	host      int
	proto     string
	private   bool // published on the private address (see private.go)
	fixed     bool // the host port the spec asked for (ContainerSpec.HostPort)
}

// parseBindings reads LabelPorts: "25565:25570/tcp,25565:25570/udp".
func parseBindings(label string) []binding {
	var out []binding
	for _, f := range strings.Split(label, ",") {
		ports, proto, ok := strings.Cut(f, "/")
		if !ok {
			continue
		}
		cs, hs, ok := strings.Cut(ports, ":")
		if !ok {
			continue
		}
		c, err1 := strconv.Atoi(cs)
		h, err2 := strconv.Atoi(hs)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, binding{container: c, host: h, proto: proto})
	}
	return out
}

// hostPorts is the game port → host port map of LabelPorts.
func hostPorts(label string) map[int]int {
	bs := parseBindings(label)
	if len(bs) == 0 {
		return nil
	}
	m := make(map[int]int, len(bs))
	for _, b := range bs {
		m[b.container] = b.host
	}
	return m
}

// allocate reserves a host port for each distinct game port of spec's
// Ports (the same host port for its TCP and UDP), for creation, until
// release: spec.HostPort for the game port (the first) when set, a free
// port of the range for the others. A port is free when no container of
// any deployment publishes or was handed it (read from the engine at every
// call, so a restart forgets nothing), no RunTask under way holds it and
// no world keeps it (see ReservePorts). A port the engine failed to bind
// is taken only after BadPortRecheck, or when no other is free. No port
// is free: a *spawner.RunFailure; spec.HostPort held by another container
// or RunTask: a *spawner.RunFailure wrapping spawner.ErrPortTaken. The
// bindings of the game ports listed in spec.PrivatePorts are marked
// private.
func (r *Runtime) allocate(ctx context.Context, creation string, spec spawner.ContainerSpec) ([]binding, error) {
	if len(spec.Ports) == 0 {
		if spec.HostPort != 0 {
			return nil, &spawner.RunFailure{Reason: "no game port", Detail: fmt.Sprintf("host port %d asked for a game that publishes no port", spec.HostPort)}
		}
		return nil, nil
	}
	// One allocation at a time, from the listing to the reservation, so two
	// never read the engine before either has reserved.
	r.allocMu.Lock()
	defer r.allocMu.Unlock()
	used, err := r.takenPorts(ctx)
	if err != nil {
		return nil, err
	}
	kept := r.keptPorts()

	r.mu.Lock()
	defer r.mu.Unlock()
	return r.assign(creation, spec, used, kept, r.cfg.Now())
}

// assign is allocate's choice once the engine was read: used are the
// host ports containers hold, kept those worlds keep. r.mu must be held.
func (r *Runtime) assign(creation string, spec spawner.ContainerSpec, used, kept map[int]bool, now time.Time) ([]binding, error) {
	hostOf := map[int]int{}
	if fixed := spec.HostPort; fixed != 0 {
		switch {
		case fixed < 1 || fixed > 65535:
			return nil, &spawner.RunFailure{Reason: fmt.Sprintf("bad host port %d", fixed), Detail: "a host port is from 1 to 65535"}
		case used[fixed]:
			return nil, portTaken(fixed, "another container publishes it")
		case r.reserved[fixed] != "" && r.reserved[fixed] != creation:
			return nil, portTaken(fixed, "another server being created was handed it")
		}
		// The world's own port: kept for it, and never marked bad, since
		// no other will do.
		hostOf[spec.Ports[0].Port] = fixed
		r.reserved[fixed] = creation
	}
	var out []binding
	for _, p := range spec.Ports {
		proto := strings.ToLower(p.Proto)
		if proto == "" {
			proto = "tcp"
		}
		h, ok := hostOf[p.Port]
		if !ok {
			if h, ok = r.freePort(used, kept, now); !ok {
				for _, h := range hostOf {
					delete(r.reserved, h)
				}
				return nil, &spawner.RunFailure{
					Reason: fmt.Sprintf("no free port in DOCKER_PORT_RANGE %d-%d", r.cfg.PortLo, r.cfg.PortHi),
					Detail: fmt.Sprintf("the game needs %d, every port of the range is taken by a running server, an asleep world or another program", distinctPorts(spec.Ports)),
				}
			}
			hostOf[p.Port] = h
			r.reserved[h] = creation
		}
		out = append(out, binding{container: p.Port, host: h, proto: proto, private: slices.Contains(spec.PrivatePorts, p.Port), fixed: h == spec.HostPort})
	}
	return out, nil
}

// portTakenError is a run refused because the host port asked for is
// held: a *spawner.RunFailure that is also spawner.ErrPortTaken.
type portTakenError struct{ spawner.RunFailure }

func (e *portTakenError) Unwrap() []error { return []error{&e.RunFailure, spawner.ErrPortTaken} }

// portTaken is the refusal of host port, held by what by says.
func portTaken(port int, by string) error {
	return &portTakenError{spawner.RunFailure{Reason: fmt.Sprintf("the world's host port %d is taken", port), Detail: by}}
}

// ReservePorts gives the runtime the host ports worlds keep while they
// are asleep (their listeners may hold them, or nothing while a wake is
// under way): held is called at every allocation and the ports it returns
// are never handed to another server; a RunTask whose spec.HostPort is
// one of them gets it. held must be fast and safe for concurrent use, and
// must not call the runtime. Call it before the first RunTask; nil means
// none.
func (r *Runtime) ReservePorts(held func() []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.worldPorts = held
}

// keptPorts is the set ReservePorts' function returns now.
func (r *Runtime) keptPorts() map[int]bool {
	r.mu.Lock()
	held := r.worldPorts
	r.mu.Unlock()
	if held == nil {
		return nil
	}
	ports := held()
	kept := make(map[int]bool, len(ports))
	for _, p := range ports {
		kept[p] = true
	}
	return kept
}

// takenPorts is the host ports the engine's containers publish, and those
// handed to a container of this bot, of any deployment, that has not
// ended (a container created but not started publishes nothing yet).
func (r *Runtime) takenPorts(ctx context.Context) (map[int]bool, error) {
	list, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs()})
	if err != nil {
		return nil, fmt.Errorf("run container: list containers: %w", err)
	}
	used := map[int]bool{}
	for _, c := range list {
		for _, p := range c.Ports {
			used[int(p.PublicPort)] = true
		}
		if c.Labels[LabelStartedBy] == spawner.StartedBy && c.State != "exited" && c.State != "dead" {
			for _, b := range parseBindings(c.Labels[LabelPorts]) {
				used[b.host] = true
			}
		}
	}
	return used, nil
}

// freePort is the first port of the range that is not used, that no world
// keeps and that no RunTask under way reserved, passing over those the engine failed to bind less than
// BadPortRecheck before now; when only such ports are left, the one marked
// longest ago, since its program may be gone. r.mu must be held.
func (r *Runtime) freePort(used, kept map[int]bool, now time.Time) (int, bool) {
	retry := 0
	for p := r.cfg.PortLo; p <= r.cfg.PortHi; p++ {
		if used[p] || kept[p] || r.reserved[p] != "" {
			continue
		}
		if at, bad := r.badPorts[p]; bad && now.Sub(at) < BadPortRecheck {
			if retry == 0 || at.Before(r.badPorts[retry]) {
				retry = p
			}
			continue
		}
		return p, true
	}
	return retry, retry != 0
}

// distinctPorts is how many host ports ports need.
func distinctPorts(ports []spawner.PortSpec) int {
	seen := map[int]bool{}
	for _, p := range ports {
		seen[p.Port] = true
	}
	return len(seen)
}

// release forgets the ports reserved for creation: its container, if
// created, now names them in its label.
func (r *Runtime) release(creation string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, c := range r.reserved {
		if c == creation {
			delete(r.reserved, p)
		}
	}
}

// markBad remembers host ports the engine failed to bind, so that
// allocate passes over them for BadPortRecheck while others are free.
func (r *Runtime) markBad(ports []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	for _, p := range ports {
		r.badPorts[p] = now
	}
}

// portsNamed is the host ports of bindings that the engine's error names
// ("Bind for 0.0.0.0:25565 failed", "listen tcp4 0.0.0.0:25565: bind").
func portsNamed(bindings []binding, err error) []int {
	msg := err.Error()
	var named []int
	for _, b := range bindings {
		p := ":" + strconv.Itoa(b.host)
		if (strings.Contains(msg, p+" ") || strings.Contains(msg, p+":")) && !slices.Contains(named, b.host) {
			named = append(named, b.host)
		}
	}
	return named
}

// forgetBad clears the marks of the host ports a container was just
// started on: whatever held them has let them go.
func (r *Runtime) forgetBad(bindings []binding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range bindings {
		delete(r.badPorts, b.host)
	}
}
