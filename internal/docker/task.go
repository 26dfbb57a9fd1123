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

// allocate reserves a free host port of the range for each distinct game
// port of ports (the same host port for its TCP and UDP), for creation,
// until release. A port is free when no container of any deployment
// publishes or was handed it (read from the engine at every call, so a
// restart forgets nothing) and no RunTask under way holds it. A port the
// engine failed to bind is taken only after BadPortRecheck, or when no
// other is free. No port is free: a *spawner.RunFailure. The bindings of
// the game ports listed in private are marked private.
func (r *Runtime) allocate(ctx context.Context, creation string, ports []spawner.PortSpec, private []int) ([]binding, error) {
	if len(ports) == 0 {
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

	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	hostOf := map[int]int{}
	var out []binding
	for _, p := range ports {
		proto := strings.ToLower(p.Proto)
		if proto == "" {
			proto = "tcp"
		}
		h, ok := hostOf[p.Port]
		if !ok {
			if h, ok = r.freePort(used, now); !ok {
				for _, b := range out {
					delete(r.reserved, b.host)
				}
				return nil, &spawner.RunFailure{
					Reason: fmt.Sprintf("no free port in DOCKER_PORT_RANGE %d-%d", r.cfg.PortLo, r.cfg.PortHi),
					Detail: fmt.Sprintf("the game needs %d, every port of the range is taken by a running server or another program", distinctPorts(ports)),
				}
			}
			hostOf[p.Port] = h
			r.reserved[h] = creation
		}
		out = append(out, binding{container: p.Port, host: h, proto: proto, private: slices.Contains(private, p.Port)})
	}
	return out, nil
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

// freePort is the first port of the range that is not used and that nobody
// reserved, passing over those the engine failed to bind less than
// BadPortRecheck before now; when only such ports are left, the one marked
// longest ago, since its program may be gone. r.mu must be held.
func (r *Runtime) freePort(used map[int]bool, now time.Time) (int, bool) {
	retry := 0
	for p := r.cfg.PortLo; p <= r.cfg.PortHi; p++ {
		if used[p] || r.reserved[p] != "" {
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
// The engine's error names the port ("Bind for 0.0.0.0:25565 failed",
// "listen tcp4 0.0.0.0:25565: bind"); when it names none, all are marked.
func (r *Runtime) markBad(bindings []binding, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	msg := err.Error()
	named := false
	for _, b := range bindings {
		p := ":" + strconv.Itoa(b.host)
		if strings.Contains(msg, p+" ") || strings.Contains(msg, p+":") {
			r.badPorts[b.host] = now
			named = true
		}
	}
	if !named {
		for _, b := range bindings {
			r.badPorts[b.host] = now
		}
	}
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
