package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Check verifies, changing nothing and pulling nothing, that servers can
// run: the engine answers (else nothing more is checked), each image is on
// the host or its registry knows it, and no port of the range is already
// published by a container that is not the bot's, or bound on this host
// (seen only when the bot runs on the host itself, not in a container),
// a private address for RCON ports is known (see private.go), and the
// engine allows the volume calls worlds need (a socket proxy without
// VOLUMES refuses them: the problem's Var is VarVolumes).
//
// images maps the variable or the place that names each image (for
// example "GAMESERVER_IMAGE", or "game template valheim") to the image.
// Every problem is a *spawner.Problem naming the variable an admin should
// fix; nil when all is well.
func (r *Runtime) Check(ctx context.Context, images map[string]string) []error {
	if _, err := r.cli.Ping(ctx); err != nil {
		return []error{&spawner.Problem{Var: "DOCKER_HOST", Err: fmt.Errorf("the Docker engine at %s does not answer: %w", r.Host(), err)}}
	}
	var problems []error
	for _, where := range slices.Sorted(maps.Keys(images)) {
		ref := images[where]
		if ref == "" {
			problems = append(problems, &spawner.Problem{Var: where, Err: errors.New("no image")})
			continue
		}
		_, err := r.cli.ImageInspect(ctx, ref)
		if err == nil {
			continue
		}
		if !cerrdefs.IsNotFound(err) {
			problems = append(problems, &spawner.Problem{Var: where, Err: fmt.Errorf("inspect image %q: %w", ref, err)})
			continue
		}
		if _, err := r.cli.DistributionInspect(ctx, ref, ""); err != nil {
			problems = append(problems, &spawner.Problem{Var: where, Err: fmt.Errorf("image %q is not on the host and cannot be pulled: %w", ref, err)})
		}
	}
	if err := r.checkPorts(ctx); err != nil {
		problems = append(problems, &spawner.Problem{Var: "DOCKER_PORT_RANGE", Err: err})
	}
	if _, err := r.privateHostIP(ctx); err != nil {
		problems = append(problems, &spawner.Problem{Var: "DOCKER_HOST", Err: fmt.Errorf("RCON ports could not be published privately: %w", err)})
	}
	if p := r.checkVolumes(ctx); p != nil {
		problems = append(problems, p)
	}
	return problems
}

// VarVolumes is the Var of the problem Check reports when the engine
// refuses volume calls: the variable of the socket proxy to set.
const VarVolumes = "VOLUMES of the Docker socket proxy"

// checkVolumes lists the deployment's world volumes, as the bot does at
// start: a socket proxy that does not allow VOLUMES refuses it, and worlds
// could then be neither made nor backed up.
func (r *Runtime) checkVolumes(ctx context.Context) error {
	_, err := r.cli.VolumeList(ctx, volume.ListOptions{Filters: r.worldFilter()})
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsPermissionDenied(err):
		return &spawner.Problem{Var: VarVolumes, Err: fmt.Errorf("the Docker API at %s refuses volume calls (403 Forbidden), so games with a world could not keep it: "+
			"set VOLUMES: \"1\" on the docker-proxy service of docker-compose.yaml (beside CONTAINERS), then docker compose up -d", r.Host())}
	default:
		return &spawner.Problem{Var: "DOCKER_HOST", Err: fmt.Errorf("list volumes (games with a world keep it in one): %w", err)}
	}
}

// checkPorts finds the ports of the range that servers could not get.
func (r *Runtime) checkPorts(ctx context.Context) error {
	list, err := r.cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var taken []string
	inUse := map[int]bool{}
	for _, c := range list {
		ours := c.Labels[LabelStartedBy] == spawner.StartedBy
		for _, p := range c.Ports {
			inUse[int(p.PublicPort)] = true
			if !ours && int(p.PublicPort) >= r.cfg.PortLo && int(p.PublicPort) <= r.cfg.PortHi {
				name := strings.TrimPrefix(firstOr(c.Names, c.ID), "/")
				taken = append(taken, fmt.Sprintf("%d (container %s)", p.PublicPort, name))
			}
		}
	}
	for port := r.cfg.PortLo; port <= r.cfg.PortHi; port++ {
		if inUse[port] {
			continue
		}
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", net.JoinHostPort(r.cfg.HostIP, strconv.Itoa(port)))
		if err != nil {
			taken = append(taken, fmt.Sprintf("%d (bound on this host)", port))
			continue
		}
		_ = ln.Close()
	}
	if len(taken) == 0 {
		return nil
	}
	free := r.cfg.PortHi - r.cfg.PortLo + 1 - len(taken)
	return fmt.Errorf("%d-%d: %d port(s) already in use by something else, %d left for servers: %s",
		r.cfg.PortLo, r.cfg.PortHi, len(taken), free, strings.Join(taken, ", "))
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// MaxServers is how many servers whose containers are limited to
// memoryMiB (0: Config.DefaultMemoryMiB) the host's memory holds: the
// engine's total memory less MemoryReserveMiB, divided by the limit; at
// least 1. It is the default of the server cap under Docker.
func (r *Runtime) MaxServers(ctx context.Context, memoryMiB int) (int, error) {
	if memoryMiB <= 0 {
		memoryMiB = r.cfg.DefaultMemoryMiB
	}
	info, err := r.cli.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("engine info: %w", err)
	}
	total := info.MemTotal >> 20
	return max(1, int((total-MemoryReserveMiB)/int64(memoryMiB))), nil
}
