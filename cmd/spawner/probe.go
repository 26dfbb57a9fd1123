package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mineral-contest/spawner/internal/a2s"
	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/lifecycle/catalog"
	"github.com/mineral-contest/spawner/internal/mcping"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/tcpprobe"
)

// probe is the lifecycle's Pinger: each protocol's own client.
type probe struct {
	minecraft mcping.Pinger
	a2s       a2s.Pinger
	tcp       tcpprobe.Pinger
}

var _ lifecycle.Pinger = probe{}

// newProbe asks each protocol with a 5 s timeout.
func newProbe() probe {
	return probe{
		minecraft: mcping.Pinger{Timeout: 5 * time.Second},
		a2s:       a2s.Pinger{Timeout: 5 * time.Second},
		tcp:       tcpprobe.Pinger{Timeout: 5 * time.Second},
	}
}

// Ping asks addr with proto's client; an unknown protocol is an error.
func (p probe) Ping(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error) {
	switch proto {
	case spawner.ProtocolMinecraft, "":
		return p.minecraft.Ping(ctx, addr)
	case spawner.ProtocolA2S:
		return p.a2s.Ping(ctx, addr)
	case spawner.ProtocolTCP:
		return p.tcp.Ping(ctx, addr)
	}
	return spawner.Ping{}, fmt.Errorf("probe %s: unknown protocol %q", addr, proto)
}

// ecsGames is ECS's check of a template at /game add: its task definition
// family is known and holds its container; for a game with a world, the
// worlds' bucket is set and the family holds the world's companion.
type ecsGames struct {
	tasks       *ecs.Tasks
	worldBucket string // WORLD_S3_BUCKET
}

var _ catalog.Checker = ecsGames{}

// CheckGame returns a *spawner.Problem naming the key to fix, or nil.
func (c ecsGames) CheckGame(ctx context.Context, g spawner.Game) error {
	if g.TaskDefinition == "" {
		return &spawner.Problem{Var: "taskDefinition", Err: errors.New("required: game servers run on ECS")}
	}
	if g.World != nil && c.worldBucket == "" {
		return &spawner.Problem{Var: "world", Err: errors.New("worlds on ECS are kept in WORLD_S3_BUCKET, which is not set: set it (deploy/terraform, worlds = true), or remove the world key")}
	}
	if g.Container == "" {
		return nil // the parser names the missing container
	}
	if err := c.tasks.CheckGame(ctx, g.TaskDefinition, g.Container); err != nil || g.World == nil {
		return err
	}
	err := c.tasks.CheckGame(ctx, g.TaskDefinition, ecs.WorldContainer)
	if p := (*spawner.Problem)(nil); errors.As(err, &p) && p.Var == "container" {
		return &spawner.Problem{Var: "world", Err: fmt.Errorf("%w: a game with a world needs its companion container %q in its task definition (deploy/terraform/games.tf)", p.Err, ecs.WorldContainer)}
	}
	return err
}

// dockerGames is the Docker runtime's check of a template at /game add:
// it names an image that is on the host or can be pulled.
type dockerGames struct{ rt *docker.Runtime }

var _ catalog.Checker = dockerGames{}

// CheckGame returns a *spawner.Problem naming the key to fix, or nil.
func (c dockerGames) CheckGame(ctx context.Context, g spawner.Game) error {
	if g.Image == "" {
		return &spawner.Problem{Var: "image", Err: errors.New("required: game servers run in this host's Docker")}
	}
	for _, err := range c.rt.Check(ctx, map[string]string{"image": g.Image}) {
		var p *spawner.Problem
		if errors.As(err, &p) && (p.Var == "image" || p.Var == "DOCKER_HOST") {
			return err
		}
	}
	return nil
}

// gameChecker is the check of templates for the runtime in use.
func gameChecker(a *adapters) catalog.Checker {
	if a.docker != nil {
		return dockerGames{a.docker}
	}
	return ecsGames{tasks: a.tasks, worldBucket: a.worldBucket}
}
