package fakeaws_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
)

// paperWithWorld is the task definition deploy/terraform/games.tf
// registers for a game with a world: the game on the volume "world",
// depending on the companion "world" being HEALTHY.
func paperWithWorld() fakeaws.TaskDefinition {
	stop, start := int32(120), int32(120)
	gameStop := int32(60)
	return fakeaws.TaskDefinition{
		TaskRoleArn: "arn:aws:iam::123456789012:role/spawner-world-task",
		Volumes:     []fakeaws.Volume{{Name: "world"}},
		ContainerDefinitions: []fakeaws.ContainerDefinition{
			{
				Name:         "game",
				Image:        "itzg/minecraft-server:java21",
				PortMappings: []fakeaws.PortMapping{{ContainerPort: 25565, HostPort: 25565, Protocol: "tcp"}},
				MountPoints:  []fakeaws.MountPoint{{SourceVolume: "world", ContainerPath: "/data"}},
				DependsOn:    []fakeaws.ContainerDependency{{ContainerName: "world", Condition: "HEALTHY"}},
				StopTimeout:  &gameStop,
			},
			{
				Name:         "world",
				Image:        "ghcr.io/mineral-contest/spawner:1.4.0",
				Command:      []string{"world", "sidecar"},
				User:         "0",
				Environment:  []fakeaws.KeyValuePair{{Name: "WORLD_S3_BUCKET", Value: "spawner-worlds-123456789012"}, {Name: "WORLD_PATH", Value: "/world"}},
				MountPoints:  []fakeaws.MountPoint{{SourceVolume: "world", ContainerPath: "/world"}},
				HealthCheck:  &fakeaws.HealthCheck{Command: []string{"CMD", "/spawner", "world", "ready"}, Interval: 5, Timeout: 5, Retries: 10, StartPeriod: 120},
				StartTimeout: &start,
				StopTimeout:  &stop,
			},
		},
	}
}

func worldRunInput(family string, overrides []ecstypes.ContainerOverride) *ecs.RunTaskInput {
	in := runInput("")
	in.ClientToken = nil
	in.TaskDefinition = aws.String(family)
	in.Overrides = &ecstypes.TaskOverride{ContainerOverrides: overrides}
	return in
}

func describe(tb testing.TB, client *ecs.Client, arn string) ecstypes.Task {
	tb.Helper()
	out, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(fakeaws.DefaultClusterName), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		tb.Fatalf("describe %s: %v %+v", arn, err, out)
	}
	return out.Tasks[0]
}

func containerOf(tb testing.TB, t ecstypes.Task, name string) ecstypes.Container {
	tb.Helper()
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	tb.Fatalf("task %s has no container %s", aws.ToString(t.TaskArn), name)
	return ecstypes.Container{}
}

// TestTaskDefinitionWithCompanion: a task definition with a game and its
// world companion is described as registered; RunTask's overrides of
// either container's environment are accepted, recorded and echoed; the
// task is HEALTHY once its companion's health check passes.
func TestTaskDefinitionWithCompanion(t *testing.T) {
	ctx := context.Background()
	srv := fakeaws.New(t, fakeaws.Options{TaskDefinitions: map[string]fakeaws.TaskDefinition{"spawner-paper": paperWithWorld()}})
	client, _ := clients(t, srv)

	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("spawner-paper")})
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	if len(td.ContainerDefinitions) != 2 || aws.ToString(td.TaskRoleArn) != "arn:aws:iam::123456789012:role/spawner-world-task" ||
		len(td.Volumes) != 1 || aws.ToString(td.Volumes[0].Name) != "world" {
		t.Fatalf("described %+v", td)
	}
	game, world := td.ContainerDefinitions[0], td.ContainerDefinitions[1]
	if len(game.DependsOn) != 1 || aws.ToString(game.DependsOn[0].ContainerName) != "world" || game.DependsOn[0].Condition != ecstypes.ContainerConditionHealthy {
		t.Errorf("the game's dependencies: %+v", game.DependsOn)
	}
	if len(game.MountPoints) != 1 || aws.ToString(game.MountPoints[0].ContainerPath) != "/data" || aws.ToInt32(game.StopTimeout) != 60 {
		t.Errorf("the game's mount points %+v, stop timeout %v", game.MountPoints, game.StopTimeout)
	}
	if world.HealthCheck == nil || !slices.Equal(world.HealthCheck.Command, []string{"CMD", "/spawner", "world", "ready"}) ||
		aws.ToInt32(world.HealthCheck.StartPeriod) != 120 || aws.ToInt32(world.StopTimeout) != 120 || aws.ToInt32(world.StartTimeout) != 120 {
		t.Errorf("the companion's health check %+v, timeouts %v %v", world.HealthCheck, world.StartTimeout, world.StopTimeout)
	}
	if !aws.ToBool(world.Essential) || aws.ToString(world.User) != "0" || !slices.Equal(world.Command, []string{"world", "sidecar"}) || len(world.Environment) != 2 {
		t.Errorf("the companion: %+v", world)
	}

	run, err := client.RunTask(ctx, worldRunInput("spawner-paper", []ecstypes.ContainerOverride{
		{Name: aws.String("game"), Environment: []ecstypes.KeyValuePair{{Name: aws.String("EULA"), Value: aws.String("TRUE")}}},
		{Name: aws.String("world"), Environment: []ecstypes.KeyValuePair{{Name: aws.String("WORLD_ID"), Value: aws.String("w-0a1b2c3d")}}},
	}))
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("run: %v %+v", err, run)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	rec := waitStatus(t, srv, arn, "RUNNING")
	if got := rec.Environment("world"); got["WORLD_ID"] != "w-0a1b2c3d" || len(got) != 1 {
		t.Errorf("the companion's environment override recorded as %v", got)
	}
	if got := rec.Environment("game"); got["EULA"] != "TRUE" {
		t.Errorf("the game's environment override recorded as %v", got)
	}

	desc := describe(t, client, arn)
	if desc.HealthStatus != ecstypes.HealthStatusHealthy {
		t.Errorf("a running task whose companion's check passes is %s", desc.HealthStatus)
	}
	if h := containerOf(t, desc, "world").HealthStatus; h != ecstypes.HealthStatusHealthy {
		t.Errorf("the companion is %s", h)
	}
	if h := containerOf(t, desc, "game").HealthStatus; h != ecstypes.HealthStatusUnknown {
		t.Errorf("the game, without a health check, is %s", h)
	}
	if img := aws.ToString(containerOf(t, desc, "world").Image); img != "ghcr.io/mineral-contest/spawner:1.4.0" {
		t.Errorf("the companion's image is %s", img)
	}
	var echoed []string
	for _, o := range desc.Overrides.ContainerOverrides {
		for _, kv := range o.Environment {
			echoed = append(echoed, aws.ToString(o.Name)+":"+aws.ToString(kv.Name)+"="+aws.ToString(kv.Value))
		}
	}
	if !slices.Equal(echoed, []string{"game:EULA=TRUE", "world:WORLD_ID=w-0a1b2c3d"}) {
		t.Errorf("DescribeTasks echoes the overrides as %v", echoed)
	}

	// The companion's push failed at the stop: the bot reads its exit code.
	srv.ExitAtStop(arn, "world", 1, "")
	if _, err := client.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(fakeaws.DefaultClusterName), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, srv, arn, "STOPPED")
	desc = describe(t, client, arn)
	if c := containerOf(t, desc, "game"); aws.ToInt32(c.ExitCode) != 0 || c.ExitCode == nil {
		t.Errorf("the game exited %v at the stop, want 0", c.ExitCode)
	}
	if c := containerOf(t, desc, "world"); c.ExitCode == nil || *c.ExitCode != 1 {
		t.Errorf("the companion exited %v at the stop, want 1", c.ExitCode)
	}
	rec, _ = srv.Task(arn)
	if c, ok := rec.Container("world"); !ok || c.ExitCode == nil || *c.ExitCode != 1 {
		t.Errorf("the fake's record of the companion: %+v", c)
	}
}

// TestCompanionCrashes: the companion's pull fails before the game
// started: the task stops with EssentialContainerExited, the companion's
// exit code told, the game's none (it never ran).
func TestCompanionCrashes(t *testing.T) {
	ctx := context.Background()
	srv := fakeaws.New(t, fakeaws.Options{TaskDefinitions: map[string]fakeaws.TaskDefinition{"spawner-paper": paperWithWorld()}, HoldIn: "PENDING"})
	client, _ := clients(t, srv)
	run, err := client.RunTask(ctx, worldRunInput("spawner-paper", []ecstypes.ContainerOverride{
		{Name: aws.String("world"), Environment: []ecstypes.KeyValuePair{{Name: aws.String("WORLD_ID"), Value: aws.String("w-1")}}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitStatus(t, srv, arn, "PENDING")
	srv.CrashContainer(arn, "world", "Essential container in task exited", 3)
	srv.SetHoldIn("")
	waitStatus(t, srv, arn, "STOPPED")
	desc := describe(t, client, arn)
	if desc.StopCode != ecstypes.TaskStopCodeEssentialContainerExited {
		t.Errorf("stop code %s", desc.StopCode)
	}
	if c := containerOf(t, desc, "world"); c.ExitCode == nil || *c.ExitCode != 3 {
		t.Errorf("the companion exited %v, want 3", c.ExitCode)
	}
	if c := containerOf(t, desc, "game"); c.ExitCode != nil {
		t.Errorf("the game, which never started, exited %d", *c.ExitCode)
	}
	if desc.HealthStatus == ecstypes.HealthStatusHealthy {
		t.Error("a task whose companion failed is HEALTHY")
	}
}

// TestRunTaskOverridesRefused: overrides RunTask refuses, as ECS does.
func TestRunTaskOverridesRefused(t *testing.T) {
	ctx := context.Background()
	srv := fakeaws.New(t, fakeaws.Options{TaskDefinitions: map[string]fakeaws.TaskDefinition{"spawner-paper": paperWithWorld()}})
	client, _ := clients(t, srv)
	for _, tc := range []struct {
		name      string
		overrides []ecstypes.ContainerOverride
		want      string
	}{
		{"a container not in the definition", []ecstypes.ContainerOverride{{Name: aws.String("sidecar")}}, "Override for container named sidecar is not a container in the TaskDefinition."},
		{"overrides too long", []ecstypes.ContainerOverride{{Name: aws.String("world"), Environment: []ecstypes.KeyValuePair{{Name: aws.String("BIG"), Value: aws.String(strings.Repeat("x", 9000))}}}}, "Container Overrides length must be at most 8192"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.RunTask(ctx, worldRunInput("spawner-paper", tc.overrides))
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterException" || api.ErrorMessage() != tc.want {
				t.Errorf("RunTask: %v, want InvalidParameterException %q", err, tc.want)
			}
		})
	}
	if n := len(srv.Tasks()); n != 0 {
		t.Errorf("%d tasks started by refused calls", n)
	}
}
