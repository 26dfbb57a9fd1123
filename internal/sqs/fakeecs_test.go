package sqs_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	spawnerecs "github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/sqs"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/goaws"
)

// fakeECS is the fake ECS publishing its task changes to goaws's queue,
// which w's consumer reads.
func fakeECS(tb testing.TB, w *world) (*fakeaws.Server, *ecs.Client) {
	tb.Helper()
	srv := fakeaws.New(tb, fakeaws.Options{
		ClusterName:            cluster,
		Region:                 "eu-west-3",
		Account:                "123456789012",
		TaskDefinitionFamilies: map[string][]string{"minecraft": {"game"}},
	})
	srv.PublishEventsTo(w.q.QueueURL(goaws.DefaultQueue), w.q.Endpoint())
	return srv, ecs.NewFromConfig(srv.AWSConfig())
}

func runTask(tb testing.TB, c *ecs.Client, startedBy string) string {
	tb.Helper()
	out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{
		Cluster:                  aws.String(cluster),
		TaskDefinition:           aws.String("minecraft"),
		CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-1"}, AssignPublicIp: ecstypes.AssignPublicIpEnabled,
		}},
		StartedBy: aws.String(startedBy),
	})
	if err != nil || len(out.Tasks) != 1 {
		tb.Fatalf("run task: %v (%d tasks)", err, len(out.Tasks))
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

// steps reads n changes and renders them as "vN STATUS" for comparison.
func (w *world) steps(tb testing.TB, arn string, n int) []string {
	tb.Helper()
	var out []string
	for range n {
		ch := w.next(tb, fmt.Sprintf("%d changes of %s (got %q)", n, arn, out))
		if ch.TaskARN != arn {
			tb.Fatalf("change of %s, want %s", ch.TaskARN, arn)
		}
		out = append(out, fmt.Sprintf("v%d %s", ch.Version, ch.LastStatus))
	}
	return out
}

func TestFakeECSPublishesEveryChange(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	srv, ecsc := fakeECS(t, w)
	w.run(t)
	arn := runTask(t, ecsc, spawner.StartedBy)
	if got, want := w.steps(t, arn, 3), []string{"v1 PROVISIONING", "v2 PENDING", "v3 RUNNING"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	if _, err := ecsc.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String("bye")}); err != nil {
		t.Fatalf("stop task: %v", err)
	}
	stopping := w.next(t, "the stop asked")
	stopped := w.next(t, "STOPPED")
	if stopping.LastStatus != "STOPPING" || stopping.DesiredStatus != "STOPPED" || stopping.StopCode != "UserInitiated" || stopping.StoppedReason != "bye" {
		t.Errorf("stop asked: %+v, want STOPPING, desired STOPPED, UserInitiated, bye", stopping)
	}
	if stopped.LastStatus != "STOPPED" || stopped.Version <= stopping.Version || stopped.ExitCode == nil || *stopped.ExitCode != 0 {
		t.Errorf("stopped: %+v, want STOPPED with a newer version and exit code 0", stopped)
	}
	task, _ := srv.Task(arn)
	if stopped.PrivateIP != task.PrivateIP || stopped.ENI != task.ENI || stopped.ClusterARN != srv.ClusterARN() {
		t.Errorf("stopped: ENI %s IP %s cluster %s, want the fake's %s %s %s", stopped.ENI, stopped.PrivateIP, stopped.ClusterARN, task.ENI, task.PrivateIP, srv.ClusterARN())
	}
	w.noMore(t)
}

func TestFakeECSDuplicatesAndReorderDoNoHarm(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	srv, ecsc := fakeECS(t, w)
	srv.ReorderNextEvents(2) // PENDING (v2) is sent before PROVISIONING (v1)
	srv.DuplicateNextEvents(3)
	w.run(t)
	arn := runTask(t, ecsc, spawner.StartedBy)
	if got, want := w.steps(t, arn, 2), []string{"v2 PENDING", "v3 RUNNING"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	w.noMore(t)
	if s := w.c.Stats(); s != (sqs.Stats{Received: 6, Applied: 2, Duplicate: 2, Stale: 2}) {
		t.Errorf("stats %+v, want 6 received (3 events twice), 2 applied, 2 duplicates, 2 stale", s)
	}
}

func TestFakeECSDroppedEvent(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	srv, ecsc := fakeECS(t, w)
	w.run(t)
	srv.DropNextEvents(2)
	arn := runTask(t, ecsc, spawner.StartedBy)
	if got, want := w.steps(t, arn, 1), []string{"v3 RUNNING"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes %q, want %q: the dropped events are simply missed", got, want)
	}
	w.eventually(t, "three events out", func() bool { return len(srv.Events()) == 3 })
	evs := srv.Events()
	if len(evs) != 3 || !evs[0].Dropped || !evs[1].Dropped || evs[2].Dropped {
		t.Errorf("events %+v, want two dropped then RUNNING sent", evs)
	}
}

func TestFakeECSSpotInterruption(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	srv, ecsc := fakeECS(t, w)
	w.run(t)
	arn := runTask(t, ecsc, spawner.StartedBy)
	w.steps(t, arn, 3)
	srv.SpotInterrupt(arn)
	ch := w.next(t, "the Spot interruption")
	if ch.StopCode != "SpotInterruption" || ch.DesiredStatus != "STOPPED" {
		t.Errorf("change %+v, want desired STOPPED with stop code SpotInterruption", ch)
	}
	if ch = w.next(t, "STOPPED"); ch.LastStatus != "STOPPED" || ch.StopCode != "SpotInterruption" {
		t.Errorf("change %+v, want STOPPED by SpotInterruption", ch)
	}
}

func TestFakeECSForeignTask(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	_, ecsc := fakeECS(t, w)
	w.run(t)
	runTask(t, ecsc, "someone-else")
	arn := runTask(t, ecsc, spawner.StartedBy)
	w.steps(t, arn, 3)
	w.eventually(t, "the other task's 3 events counted foreign", func() bool { return w.c.Stats().Foreign == 3 })
	w.noMore(t)
}

// worldFamily is a game with a world: its companion container listed
// first, so that the first container an event names is not the
// game's.
const worldFamily = "valheim"

// A task of a game with a world: the change tells the game's exit code,
// whatever the order of the containers, and the companion's failure (its
// push or its pull) apart, as DescribeTasks does.
func TestFakeECSWorldCompanion(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pending  bool // the companion fails before the task runs
		act      func(srv *fakeaws.Server, c *ecs.Client, arn string)
		exitCode *int32 // of the game; nil: it never ran
		failed   bool
		reason   string
	}{
		{
			name: "stopped, world pushed",
			act: func(srv *fakeaws.Server, c *ecs.Client, arn string) {
				srv.ExitAtStop(arn, "game", 143, "")
				stopTask(t, c, arn, "stopped by the owner")
			},
			exitCode: ptr(143),
			reason:   "stopped by the owner",
		},
		{
			name: "stopped, push failed",
			act: func(srv *fakeaws.Server, c *ecs.Client, arn string) {
				srv.ExitAtStop(arn, spawnerecs.WorldContainer, 1, "")
				stopTask(t, c, arn, "stopped by the owner")
			},
			exitCode: ptr(0),
			failed:   true,
			reason:   "stopped by the owner; the world's companion container exited with code 1",
		},
		{
			name:    "pull failed",
			pending: true,
			act: func(srv *fakeaws.Server, _ *ecs.Client, arn string) {
				srv.CrashContainer(arn, spawnerecs.WorldContainer, "Essential container in task exited", 3)
			},
			failed: true,
			reason: "Essential container in task exited; the world's companion container exited with code 3",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, goaws.Start(t))
			srv := fakeaws.New(t, fakeaws.Options{
				ClusterName: cluster, Region: "eu-west-3", Account: "123456789012",
				TaskDefinitionFamilies: map[string][]string{worldFamily: {spawnerecs.WorldContainer, "game"}},
			})
			srv.PublishEventsTo(w.q.QueueURL(goaws.DefaultQueue), w.q.Endpoint())
			c := ecs.NewFromConfig(srv.AWSConfig())
			if tc.pending {
				srv.HoldNext(1, "PENDING")
			}
			w.run(t)
			arn := runTaskOf(t, c, worldFamily)
			if tc.pending {
				w.steps(t, arn, 2)
			} else {
				w.steps(t, arn, 3)
			}
			tc.act(srv, c, arn)
			ch := w.next(t, "STOPPED")
			for ch.LastStatus != "STOPPED" {
				ch = w.next(t, "STOPPED")
			}
			hint := ch.Hint()
			switch {
			case tc.exitCode == nil && hint.ExitCode != nil:
				t.Errorf("exit code %d, want none: the game never ran", *hint.ExitCode)
			case tc.exitCode != nil && (hint.ExitCode == nil || *hint.ExitCode != *tc.exitCode):
				t.Errorf("exit code %s, want the game's %d", code(hint.ExitCode), *tc.exitCode)
			}
			if hint.WorldSaveFailed != tc.failed {
				t.Errorf("WorldSaveFailed = %v, want %v", hint.WorldSaveFailed, tc.failed)
			}
			if hint.StoppedReason != tc.reason {
				t.Errorf("stopped reason %q, want %q", hint.StoppedReason, tc.reason)
			}
		})
	}
}

func runTaskOf(tb testing.TB, c *ecs.Client, family string) string {
	tb.Helper()
	out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{
		Cluster:        aws.String(cluster),
		TaskDefinition: aws.String(family),
		LaunchType:     ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-1"}, AssignPublicIp: ecstypes.AssignPublicIpEnabled,
		}},
		StartedBy: aws.String(spawner.StartedBy),
	})
	if err != nil || len(out.Tasks) != 1 {
		tb.Fatalf("run task: %v", err)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

func stopTask(tb testing.TB, c *ecs.Client, arn, reason string) {
	tb.Helper()
	if _, err := c.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String(reason)}); err != nil {
		tb.Fatalf("stop task: %v", err)
	}
}

func ptr(v int32) *int32 { return &v }

func code(c *int32) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprint(*c)
}
