package ecs_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
)

// worldFamily is a game with a world: its companion container listed
// first, so that the first container ECS describes is not the game's.
const worldFamily = "valheim"

func worldOptions(running chan fakeaws.Task) fakeaws.Options {
	opts := fakeOptions()
	opts.TaskDefinitionFamilies[worldFamily] = []string{ecs.WorldContainer, container}
	opts.OnRunning = func(task fakeaws.Task) { running <- task }
	return opts
}

func worldSpec(creation, family string) spawner.TaskSpec {
	spec := testSpec(creation)
	spec.TaskDefinition = family
	spec.World = &spawner.WorldMount{ID: "w-alice-valheim", Path: "/config"}
	return spec
}

// A task of a game with a world names the world to its companion
// container, beside the game's own environment.
func TestRunTaskNamesTheWorldToItsCompanion(t *testing.T) {
	srv, tasks := newTasks(t, worldOptions(make(chan fakeaws.Task, 4)), testConfig())
	task, err := tasks.RunTask(ctxFor(t), worldSpec("w1", worldFamily))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	ft, ok := srv.Task(task.ID)
	if !ok {
		t.Fatalf("the fake has no task %s", task.ID)
	}
	if env := ft.Environment(ecs.WorldContainer); len(env) != 1 || env["WORLD_ID"] != "w-alice-valheim" {
		t.Errorf("companion's environment = %v, want WORLD_ID=w-alice-valheim alone", env)
	}
	if env := ft.Environment(container); env["OPS"] != "token-xyz" || env["WORLD_ID"] != "" {
		t.Errorf("game's environment = %v, want the game's own", env)
	}
}

// A game with a world whose task definition has no companion is refused
// by ECS; the adapter says so as a run failure, with nothing started.
func TestRunTaskOfAWorldWithoutCompanionIsARunFailure(t *testing.T) {
	srv, tasks := newTasks(t, worldOptions(make(chan fakeaws.Task, 4)), testConfig())
	_, err := tasks.RunTask(ctxFor(t), worldSpec("w2", family))
	var rf *spawner.RunFailure
	if !errors.As(err, &rf) || !strings.Contains(rf.Reason, `no container "world"`) {
		t.Fatalf("RunTask of a world on a task definition without companion: %v, want a run failure saying it has no container \"world\"", err)
	}
	if n := len(srv.Tasks()); n != 0 {
		t.Errorf("%d tasks started, want none", n)
	}
}

// The exit code of a task is its game container's, whatever the order of
// its containers; the companion's failure is told apart.
func TestDescribeTasksTellsTheGameAndItsCompanionApart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pending  bool // the task is caught before RUNNING
		act      func(srv *fakeaws.Server, tasks *ecs.Tasks, arn string)
		exitCode *int32 // of the game; nil: it never ran
		failed   bool
		reason   string
	}{
		{
			name: "stopped, world pushed",
			act: func(srv *fakeaws.Server, tasks *ecs.Tasks, arn string) {
				srv.ExitAtStop(arn, container, 143, "")
				if err := tasks.StopTask(ctxFor(t), arn, "stopped by the owner"); err != nil {
					t.Fatal(err)
				}
			},
			exitCode: ptr(143),
			reason:   "stopped by the owner",
		},
		{
			name: "stopped, push failed",
			act: func(srv *fakeaws.Server, tasks *ecs.Tasks, arn string) {
				srv.ExitAtStop(arn, ecs.WorldContainer, 1, "")
				if err := tasks.StopTask(ctxFor(t), arn, "stopped by the owner"); err != nil {
					t.Fatal(err)
				}
			},
			exitCode: ptr(0),
			failed:   true,
			reason:   "stopped by the owner; the world's companion container exited with code 1",
		},
		{
			name:    "pull failed",
			pending: true,
			act: func(srv *fakeaws.Server, _ *ecs.Tasks, arn string) {
				srv.CrashContainer(arn, ecs.WorldContainer, "Essential container in task exited", 3)
			},
			failed: true,
			reason: "Essential container in task exited; the world's companion container exited with code 3",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			running := make(chan fakeaws.Task, 4)
			srv, tasks := newTasks(t, worldOptions(running), testConfig())
			srv.HoldNext(1, "PENDING")
			task, err := tasks.RunTask(ctxFor(t), worldSpec("w3", worldFamily))
			if err != nil {
				t.Fatalf("RunTask: %v", err)
			}
			for steps := 0; !tc.pending && srv.Advance(task.ID) != "RUNNING"; steps++ {
				if steps == 3 {
					t.Fatalf("task %s does not reach RUNNING", task.ID)
				}
			}
			tc.act(srv, tasks, task.ID)
			got, err := tasks.DescribeTasks(ctxFor(t), []string{task.ID})
			if err != nil || len(got) != 1 {
				t.Fatalf("DescribeTasks = %v, %v", got, err)
			}
			d := got[0]
			switch {
			case tc.exitCode == nil && d.ExitCode != nil:
				t.Errorf("exit code %d, want none: the game never ran", *d.ExitCode)
			case tc.exitCode != nil && (d.ExitCode == nil || *d.ExitCode != *tc.exitCode):
				t.Errorf("exit code %s, want the game's %d", code(d.ExitCode), *tc.exitCode)
			}
			if d.WorldSaveFailed != tc.failed {
				t.Errorf("WorldSaveFailed = %v, want %v", d.WorldSaveFailed, tc.failed)
			}
			if d.StoppedReason != tc.reason {
				t.Errorf("stopped reason %q, want %q", d.StoppedReason, tc.reason)
			}
		})
	}
}

func ptr(v int32) *int32 { return &v }

func code(c *int32) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprint(*c)
}

// The task of a creation that was asked to stop is found by its creation,
// stopping and then stopped, with how its companion fared; a task still
// wanted running, or of another creation, is not.
func TestStoppingTaskFindsTheTaskOfACreation(t *testing.T) {
	srv, tasks := newTasks(t, worldOptions(make(chan fakeaws.Task, 4)), testConfig())
	srv.HoldNext(2, "STOPPING")
	task, err := tasks.RunTask(ctxFor(t), worldSpec("w4", worldFamily))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	other, err := tasks.RunTask(ctxFor(t), worldSpec("w5", worldFamily))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	for _, arn := range []string{task.ID, other.ID} {
		for steps := 0; srv.Advance(arn) != "RUNNING"; steps++ {
			if steps == 3 {
				t.Fatalf("task %s does not reach RUNNING", arn)
			}
		}
	}
	if _, found, err := tasks.StoppingTask(ctxFor(t), "w4"); found || err != nil {
		t.Fatalf("StoppingTask of a task wanted running = found %v, %v; want not found", found, err)
	}
	srv.ExitAtStop(task.ID, ecs.WorldContainer, 1, "")
	for _, arn := range []string{task.ID, other.ID} {
		if err := tasks.StopTask(ctxFor(t), arn, "stopped by the owner"); err != nil {
			t.Fatal(err)
		}
	}
	got, found, err := tasks.StoppingTask(ctxFor(t), "w4")
	if err != nil || !found || got.ID != task.ID || got.Status != spawner.TaskStopping {
		t.Fatalf("StoppingTask while it stops = %+v, %v, %v; want %s stopping", got, found, err, task.ID)
	}
	if srv.Advance(task.ID) != "STOPPED" {
		t.Fatalf("task %s does not stop", task.ID)
	}
	got, found, err = tasks.StoppingTask(ctxFor(t), "w4")
	if err != nil || !found || got.ID != task.ID || got.Status != spawner.TaskStopped || !got.WorldSaveFailed {
		t.Errorf("StoppingTask once stopped = %+v, %v, %v; want %s stopped, its save failed", got, found, err, task.ID)
	}
	if _, found, err := tasks.StoppingTask(ctxFor(t), "w6"); found || err != nil {
		t.Errorf("StoppingTask of a creation with no task = found %v, %v; want not found", found, err)
	}
}
