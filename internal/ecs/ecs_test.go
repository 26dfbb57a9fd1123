package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
)

const (
	family    = "minecraft"
	container = "minecraft-server"
)

// testConfig is the adapter configuration matching the fake's defaults.
func testConfig() ecs.Config {
	return ecs.Config{
		Cluster:          fakeaws.DefaultClusterName,
		Subnets:          []string{"subnet-aaa", "subnet-bbb"},
		SecurityGroups:   []string{"sg-123"},
		AssignPublicIP:   true,
		CapacityProvider: "FARGATE_SPOT",
	}
}

// fakeOptions is a fake with the game's task definition (and a sidecar).
func fakeOptions() fakeaws.Options {
	return fakeaws.Options{
		TaskDefinitionFamilies: map[string][]string{family: {container, "sidecar"}},
	}
}

// newTasks starts a fake with opts and returns it with an adapter for cfg
// that talks to it through the real SDK clients.
func newTasks(tb testing.TB, opts fakeaws.Options, cfg ecs.Config) (*fakeaws.Server, *ecs.Tasks) {
	tb.Helper()
	srv := fakeaws.New(tb, opts)
	awsCfg := srv.AWSConfig()
	return srv, ecs.New(ecs.NewECS(awsCfg, nil), ecs.NewEC2(awsCfg, nil), cfg)
}

func testSpec(creation string) spawner.TaskSpec {
	return spawner.TaskSpec{
		CreationID:     creation,
		TaskDefinition: family,
		Container:      container,
		Env:            map[string]string{"VERSION": "1.20.1", "EULA": "TRUE", "OPS": "token-xyz", "MOTD": "é ✓"},
		Tags: map[string]string{
			spawner.TagCreation: creation,
			spawner.TagOwner:    "111",
			spawner.TagChannel:  "222",
			spawner.TagGame:     "minecraft",
			spawner.TagVariant:  "official",
		},
	}
}

func ctxFor(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// waitRunning waits for OnRunning to announce the task arn.
func waitRunning(tb testing.TB, running <-chan fakeaws.Task, arn string) fakeaws.Task {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case t := <-running:
			if t.ARN == arn {
				return t
			}
		case <-timeout:
			tb.Fatalf("task %s never reached RUNNING", arn)
		}
	}
}

func TestRunTaskSendsEverythingTheTaskNeeds(t *testing.T) {
	for _, public := range []bool{true, false} {
		t.Run(fmt.Sprintf("assignPublicIp=%v", public), func(t *testing.T) {
			cfg := testConfig()
			cfg.AssignPublicIP = public
			srv, tasks := newTasks(t, fakeOptions(), cfg)
			ctx := ctxFor(t)

			got, err := tasks.RunTask(ctx, testSpec("c0ffee"))
			if err != nil {
				t.Fatalf("RunTask: %v", err)
			}
			all := srv.Tasks()
			if len(all) != 1 {
				t.Fatalf("fake has %d tasks, want 1", len(all))
			}
			ft := all[0]
			if got.ID != ft.ARN || got.Status != spawner.TaskProvisioning || got.StopWanted || got.StartedBy != spawner.StartedBy {
				t.Errorf("RunTask returned %+v, want the fake's task %s PROVISIONING/RUNNING started by %q", got, ft.ARN, spawner.StartedBy)
			}
			if got.Tags[spawner.TagCreation] != "c0ffee" || got.Tags["aws:ecs:clusterName"] != fakeaws.DefaultClusterName {
				t.Errorf("returned tags = %v, want the spec's and ECS's managed ones", got.Tags)
			}
			if got.CPU != 1024 || got.Memory != 2048 { // the fake's task size
				t.Errorf("returned size cpu %d memory %d, want what ECS answered: 1024 and 2048", got.CPU, got.Memory)
			}

			calls := srv.Calls("RunTask")
			if len(calls) != 1 {
				t.Fatalf("%d RunTask calls, want 1", len(calls))
			}
			var in fakeaws.RunTaskInput
			if err := calls[0].Decode(&in); err != nil {
				t.Fatalf("decode RunTask body: %v", err)
			}
			assign := "ENABLED"
			if !public {
				assign = "DISABLED"
			}
			one := int32(1)
			want := fakeaws.RunTaskInput{
				Cluster:                  fakeaws.DefaultClusterName,
				TaskDefinition:           family,
				Count:                    &one,
				CapacityProviderStrategy: []fakeaws.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: 1}},
				NetworkConfiguration: &fakeaws.NetworkConfiguration{AwsvpcConfiguration: &fakeaws.AwsVpcConfiguration{
					Subnets: []string{"subnet-aaa", "subnet-bbb"}, SecurityGroups: []string{"sg-123"}, AssignPublicIP: assign,
				}},
				Overrides: &fakeaws.TaskOverride{ContainerOverrides: []fakeaws.ContainerOverride{{
					Name: container,
					Environment: []fakeaws.KeyValuePair{
						{Name: "EULA", Value: "TRUE"}, {Name: "MOTD", Value: "é ✓"}, {Name: "OPS", Value: "token-xyz"}, {Name: "VERSION", Value: "1.20.1"},
					},
				}}},
				StartedBy:   spawner.StartedBy,
				ClientToken: "c0ffee",
				Tags: []fakeaws.Tag{
					{Key: spawner.TagChannel, Value: "222"}, {Key: spawner.TagCreation, Value: "c0ffee"}, {Key: spawner.TagGame, Value: "minecraft"},
					{Key: spawner.TagOwner, Value: "111"}, {Key: spawner.TagVariant, Value: "official"},
				},
				PropagateTags:        "NONE",
				EnableECSManagedTags: true,
			}
			if !reflect.DeepEqual(in, want) {
				t.Errorf("RunTask request:\n got %+v\nwant %+v", in, want)
			}
			if ft.CapacityProvider != "FARGATE_SPOT" || ft.AssignPublicIP != assign || ft.ClientToken != "c0ffee" {
				t.Errorf("fake task ran with provider %q, assignPublicIp %q, token %q", ft.CapacityProvider, ft.AssignPublicIP, ft.ClientToken)
			}
			if env := ft.Environment(container); env["OPS"] != "token-xyz" || len(env) != 4 {
				t.Errorf("container environment = %v", env)
			}
		})
	}
}

func TestRunTaskFailureIsARunFailure(t *testing.T) {
	srv, tasks := newTasks(t, fakeOptions(), testConfig())
	srv.RunFailures(1, "RESOURCE:MEMORY")

	_, err := tasks.RunTask(ctxFor(t), testSpec("abc"))
	var rf *spawner.RunFailure
	if !errors.As(err, &rf) {
		t.Fatalf("RunTask error = %v, want a *spawner.RunFailure", err)
	}
	if rf.Reason != "RESOURCE:MEMORY" {
		t.Errorf("failure reason = %q, want RESOURCE:MEMORY", rf.Reason)
	}
	if n := len(srv.Tasks()); n != 0 {
		t.Errorf("fake runs %d tasks after a failure, want 0", n)
	}
}

func TestRunTaskRefusedIsNotARunFailure(t *testing.T) {
	_, tasks := newTasks(t, fakeOptions(), testConfig())
	spec := testSpec("abc")
	spec.TaskDefinition = "no-such-family"

	_, err := tasks.RunTask(ctxFor(t), spec)
	var rf *spawner.RunFailure
	var apiErr smithy.APIError
	if err == nil || errors.As(err, &rf) || !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ClientException" {
		t.Fatalf("RunTask of an unknown family: err = %v, want the ClientException, not a RunFailure", err)
	}
}

func TestRunTaskIsIdempotentByCreationID(t *testing.T) {
	t.Run("caller retries", func(t *testing.T) {
		srv, tasks := newTasks(t, fakeOptions(), testConfig())
		ctx := ctxFor(t)
		first, err := tasks.RunTask(ctx, testSpec("same"))
		if err != nil {
			t.Fatalf("first RunTask: %v", err)
		}
		second, err := tasks.RunTask(ctx, testSpec("same"))
		if err != nil {
			t.Fatalf("second RunTask: %v", err)
		}
		if first.ID != second.ID {
			t.Errorf("second RunTask started %s, want the first task %s again", second.ID, first.ID)
		}
		other, err := tasks.RunTask(ctx, testSpec("other"))
		if err != nil {
			t.Fatalf("third RunTask: %v", err)
		}
		if other.ID == first.ID {
			t.Errorf("a new creation id got the old task")
		}
		if n := len(srv.Tasks()); n != 2 {
			t.Errorf("fake runs %d tasks, want 2", n)
		}
	})
	t.Run("SDK retries a lost answer", func(t *testing.T) {
		srv, tasks := newTasks(t, fakeOptions(), testConfig())
		srv.FailNext("RunTask", 1, fakeaws.ServerErrorAfterEffect)
		got, err := tasks.RunTask(ctxFor(t), testSpec("lost"))
		if err != nil {
			t.Fatalf("RunTask: %v", err)
		}
		all := srv.Tasks()
		if len(all) != 1 || all[0].ARN != got.ID {
			t.Fatalf("fake runs %v, want only the returned task %s", all, got.ID)
		}
		calls := srv.Calls("RunTask")
		if len(calls) != 2 {
			t.Fatalf("%d RunTask calls, want the lost one and its retry", len(calls))
		}
		for i, c := range calls {
			var in fakeaws.RunTaskInput
			if err := c.Decode(&in); err != nil || in.ClientToken != "lost" {
				t.Errorf("call %d: client token %q (err %v), want %q", i, in.ClientToken, err, "lost")
			}
		}
	})
}

func TestDescribeTasksBatchesOf100(t *testing.T) {
	srv, tasks := newTasks(t, fakeOptions(), testConfig())
	var arns []string
	for i := range 250 {
		ft := srv.StartExternalTask(fakeaws.ExternalTask{
			Family: family, StartedBy: spawner.StartedBy,
			Tags: map[string]string{spawner.TagCreation: fmt.Sprint("c", i)},
		})
		arns = append(arns, ft.ARN)
	}
	gone := strings.Replace(arns[0], arns[0][len(arns[0])-6:], "ffffff", 1)
	arns = append(arns, gone)

	got, err := tasks.DescribeTasks(ctxFor(t), arns)
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if len(got) != 250 {
		t.Errorf("described %d tasks, want the 250 that exist", len(got))
	}
	seen := make(map[string]bool)
	for _, task := range got {
		seen[task.ID] = true
		if task.Tags[spawner.TagCreation] == "" || task.Status != spawner.TaskRunning {
			t.Errorf("task %s: status %s tags %v, want running with its tags", task.ID, task.Status, task.Tags)
		}
	}
	if seen[gone] {
		t.Errorf("the unknown task %s was described", gone)
	}
	calls := srv.Calls("DescribeTasks")
	if len(calls) != 3 {
		t.Errorf("%d DescribeTasks calls, want 3", len(calls))
	}
	for i, c := range calls {
		var in fakeaws.DescribeTasksInput
		if err := c.Decode(&in); err != nil {
			t.Fatalf("decode call %d: %v", i, err)
		}
		if len(in.Tasks) > 100 || !slices.Contains(in.Include, "TAGS") || in.Cluster != fakeaws.DefaultClusterName {
			t.Errorf("call %d asked for %d tasks, include %v, cluster %q", i, len(in.Tasks), in.Include, in.Cluster)
		}
	}

	none, err := tasks.DescribeTasks(ctxFor(t), nil)
	if err != nil || len(none) != 0 {
		t.Errorf("DescribeTasks(nil) = %v, %v; want nothing", none, err)
	}
	if n := len(srv.Calls("DescribeTasks")); n != 3 {
		t.Errorf("DescribeTasks(nil) called ECS (%d calls)", n)
	}
}

func TestDescribeTasksMapsWhatECSSays(t *testing.T) {
	running := make(chan fakeaws.Task, 4)
	created := time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	opts := fakeOptions()
	opts.OnRunning = func(task fakeaws.Task) { running <- task }
	opts.Now = func() time.Time { return created }
	srv, tasks := newTasks(t, opts, testConfig())
	ctx := ctxFor(t)

	task, err := tasks.RunTask(ctx, testSpec("map"))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	ft := waitRunning(t, running, task.ID)
	srv.Crash(task.ID, "OutOfMemoryError: Container killed due to memory usage", 137)

	got, err := tasks.DescribeTasks(ctx, []string{task.ID})
	if err != nil || len(got) != 1 {
		t.Fatalf("DescribeTasks = %v, %v", got, err)
	}
	d := got[0]
	if ft.ENI == "" {
		t.Errorf("the fake's task has no network interface: %+v", ft)
	}
	if d.ExitCode == nil || *d.ExitCode != 137 {
		t.Errorf("exit code = %v, want 137", d.ExitCode)
	}
	if d.Reclaimed || !strings.HasPrefix(d.StoppedReason, "OutOfMemoryError") || !d.Stopped() {
		t.Errorf("reclaimed %v reason %q stopped %v, want the crash", d.Reclaimed, d.StoppedReason, d.Stopped())
	}
	if !d.CreatedAt.Equal(created) {
		t.Errorf("createdAt = %v, want %v", d.CreatedAt, created)
	}
	if d.StartedBy != spawner.StartedBy || d.Tags[spawner.TagOwner] != "111" {
		t.Errorf("startedBy %q tags %v", d.StartedBy, d.Tags)
	}
}

func TestStopTaskIsIdempotent(t *testing.T) {
	srv, tasks := newTasks(t, fakeOptions(), testConfig())
	ctx := ctxFor(t)
	task, err := tasks.RunTask(ctx, testSpec("stop"))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	long := strings.Repeat("é", 300)
	if err := tasks.StopTask(ctx, task.ID, long); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	ft, _ := srv.Task(task.ID)
	if ft.DesiredStatus != "STOPPED" || ft.StopCode != "UserInitiated" {
		t.Errorf("after StopTask the task is desired %q stop code %q", ft.DesiredStatus, ft.StopCode)
	}
	if n := utf8.RuneCountInString(ft.StoppedReason); n != 255 || !utf8.ValidString(ft.StoppedReason) {
		t.Errorf("stopped reason has %d characters (valid UTF-8: %v), want 255", n, utf8.ValidString(ft.StoppedReason))
	}

	if err := tasks.StopTask(ctx, task.ID, "again"); err != nil {
		t.Errorf("stopping a stopped task: %v", err)
	}
	if ft, _ := srv.Task(task.ID); ft.StoppedReason != strings.Repeat("é", 255) {
		t.Errorf("a second stop changed the reason to %q", ft.StoppedReason)
	}
	unknown := ft.ClusterARN[:strings.Index(ft.ClusterARN, ":cluster/")] + ":task/" + fakeaws.DefaultClusterName + "/0123456789abcdef0123456789abcdef"
	if err := tasks.StopTask(ctx, unknown, "gone"); err != nil {
		t.Errorf("stopping an unknown task: %v", err)
	}

	cfg := testConfig()
	cfg.Cluster = "elsewhere"
	wrong := ecs.New(ecs.NewECS(srv.AWSConfig(), nil), ecs.NewEC2(srv.AWSConfig(), nil), cfg)
	if err := wrong.StopTask(ctx, task.ID, "x"); err == nil {
		t.Errorf("StopTask on a missing cluster succeeded; only a missing task is fine")
	}
}

func TestListOwnedTasksReadsEveryPage(t *testing.T) {
	srv, tasks := newTasks(t, fakeOptions(), testConfig())
	ctx := ctxFor(t)
	want := make(map[string]bool)
	for i := range 150 {
		status := []string{"PROVISIONING", "PENDING", "RUNNING"}[i%3]
		ft := srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: spawner.StartedBy, LastStatus: status})
		want[ft.ARN] = true
		if i%50 == 0 {
			srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: "someone-else"})
			srv.StartExternalTask(fakeaws.ExternalTask{Family: family})
		}
	}
	for range 2 {
		ft := srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: spawner.StartedBy})
		if err := tasks.StopTask(ctx, ft.ARN, "done"); err != nil {
			t.Fatalf("StopTask: %v", err)
		}
	}

	got, err := tasks.ListOwnedTasks(ctx)
	if err != nil {
		t.Fatalf("ListOwnedTasks: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("listed %d owned tasks, want %d", len(got), len(want))
	}
	for _, task := range got {
		if !want[task.ID] {
			t.Errorf("listed %s (started by %q, status %s, stop wanted %v), not an owned live task", task.ID, task.StartedBy, task.Status, task.StopWanted)
		}
	}
	calls := srv.Calls("ListTasks")
	if len(calls) != 2 {
		t.Errorf("%d ListTasks calls, want 2 pages", len(calls))
	}
	for i, c := range calls {
		var in fakeaws.ListTasksInput
		if err := c.Decode(&in); err != nil {
			t.Fatalf("decode call %d: %v", i, err)
		}
		if in.StartedBy != spawner.StartedBy || in.DesiredStatus != "RUNNING" || in.Cluster != fakeaws.DefaultClusterName {
			t.Errorf("ListTasks call %d = %+v", i, in)
		}
	}
}

// TestSpotInterruptionIsReclaimed: a task Fargate Spot is taking back is
// told to the lifecycle as reclaimed, while it still runs, with ECS's
// words as its reason.
func TestSpotInterruptionIsReclaimed(t *testing.T) {
	srv, tasks := newTasks(t, fakeOptions(), testConfig())
	ft := srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: spawner.StartedBy})
	ctx := ctxFor(t)
	srv.SpotInterrupt(ft.ARN)
	got, err := tasks.DescribeTasks(ctx, []string{ft.ARN})
	if err != nil || len(got) != 1 {
		t.Fatalf("DescribeTasks = %v, %v", got, err)
	}
	if d := got[0]; !d.Reclaimed || d.Status == spawner.TaskStopped || d.StoppedReason != "Your Spot Task was interrupted." {
		t.Errorf("task = %+v, want reclaimed, not stopped yet, with ECS's reason", d)
	}
}

func TestListOwnedTasksEmptyCluster(t *testing.T) {
	srv, tasks := newTasks(t, fakeOptions(), testConfig())
	got, err := tasks.ListOwnedTasks(ctxFor(t))
	if err != nil || len(got) != 0 {
		t.Fatalf("ListOwnedTasks = %v, %v; want nothing", got, err)
	}
	if n := len(srv.Calls("DescribeTasks")); n != 0 {
		t.Errorf("%d DescribeTasks calls for no task", n)
	}
}

func TestAddress(t *testing.T) {
	t.Run("public IP from EC2", func(t *testing.T) {
		running := make(chan fakeaws.Task, 4)
		opts := fakeOptions()
		opts.OnRunning = func(task fakeaws.Task) { running <- task }
		srv, tasks := newTasks(t, opts, testConfig())
		ctx := ctxFor(t)
		task, err := tasks.RunTask(ctx, testSpec("pub"))
		if err != nil {
			t.Fatalf("RunTask: %v", err)
		}
		ft := waitRunning(t, running, task.ID)
		described, err := tasks.DescribeTasks(ctx, []string{task.ID})
		if err != nil || len(described) != 1 {
			t.Fatalf("DescribeTasks = %v, %v", described, err)
		}
		addr, err := tasks.Address(ctx, described[0], 25565)
		if err != nil {
			t.Fatalf("Address: %v", err)
		}
		if addr != ft.PublicIP+":25565" || !strings.HasPrefix(addr, "127.2.") {
			t.Errorf("address %q, want the public IP %q and the game port", addr, ft.PublicIP)
		}
		if n := len(srv.Calls("DescribeNetworkInterfaces")); n != 1 {
			t.Errorf("%d DescribeNetworkInterfaces calls, want 1", n)
		}
	})
	t.Run("private IP without EC2", func(t *testing.T) {
		cfg := testConfig()
		cfg.AssignPublicIP = false
		srv, tasks := newTasks(t, fakeOptions(), cfg)
		ft := srv.StartExternalTask(fakeaws.ExternalTask{Family: family, NoPublicIP: true})
		ctx := ctxFor(t)
		described, err := tasks.DescribeTasks(ctx, []string{ft.ARN})
		if err != nil || len(described) != 1 {
			t.Fatalf("DescribeTasks = %v, %v", described, err)
		}
		addr, err := tasks.Address(ctx, described[0], 25565)
		if err != nil || addr != ft.PrivateIP+":25565" || !strings.HasPrefix(addr, "127.1.") {
			t.Errorf("Address = %q, %v; want the private IP %q and the game port", addr, err, ft.PrivateIP)
		}
		if n := len(srv.Calls("DescribeNetworkInterfaces")); n != 0 {
			t.Errorf("%d DescribeNetworkInterfaces calls, want none", n)
		}
	})
	t.Run("no network interface yet", func(t *testing.T) {
		opts := fakeOptions()
		opts.HoldIn = "PROVISIONING"
		_, tasks := newTasks(t, opts, testConfig())
		ctx := ctxFor(t)
		task, err := tasks.RunTask(ctx, testSpec("early"))
		if err != nil {
			t.Fatalf("RunTask: %v", err)
		}
		if _, err := tasks.Address(ctx, task, 25565); err == nil || !strings.Contains(err.Error(), "no network interface") {
			t.Errorf("Address of a provisioning task: err = %v, want no network interface", err)
		}
	})
	t.Run("no public IP", func(t *testing.T) {
		srv, tasks := newTasks(t, fakeOptions(), testConfig())
		ft := srv.StartExternalTask(fakeaws.ExternalTask{Family: family, NoPublicIP: true})
		ctx := ctxFor(t)
		described, err := tasks.DescribeTasks(ctx, []string{ft.ARN})
		if err != nil || len(described) != 1 {
			t.Fatalf("DescribeTasks = %v, %v", described, err)
		}
		addr, err := tasks.Address(ctx, described[0], 25565)
		if !errors.Is(err, spawner.ErrNoPublicIP) || addr != "" {
			t.Errorf("Address = %q, %v; want an error wrapping spawner.ErrNoPublicIP", addr, err)
		}
		if n := len(srv.Calls("DescribeNetworkInterfaces")); n != 1 {
			t.Errorf("%d DescribeNetworkInterfaces calls, want 1 (EC2 was asked and gave no association)", n)
		}
	})
	t.Run("interface gone", func(t *testing.T) {
		srv, tasks := newTasks(t, fakeOptions(), testConfig())
		ft := srv.StartExternalTask(fakeaws.ExternalTask{Family: family})
		ctx := ctxFor(t)
		described, err := tasks.DescribeTasks(ctx, []string{ft.ARN})
		if err != nil || len(described) != 1 {
			t.Fatalf("DescribeTasks = %v, %v", described, err)
		}
		if err := tasks.StopTask(ctx, ft.ARN, "bye"); err != nil {
			t.Fatalf("StopTask: %v", err)
		}
		if got := srv.Advance(ft.ARN); got != "STOPPED" {
			t.Fatalf("Advance after stop = %q, want STOPPED", got)
		}
		_, err = tasks.Address(ctx, described[0], 25565)
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidNetworkInterfaceID.NotFound" {
			t.Errorf("Address of a stopped task: err = %v, want EC2's InvalidNetworkInterfaceID.NotFound", err)
		}
	})
}

func TestSDKRetriesTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		op    string
		fault fakeaws.Fault
		call  func(ctx context.Context, tasks *ecs.Tasks, arn string) error
	}{
		{"DescribeTasks", fakeaws.Throttle, func(ctx context.Context, tasks *ecs.Tasks, arn string) error {
			_, err := tasks.DescribeTasks(ctx, []string{arn})
			return err
		}},
		{"ListTasks", fakeaws.ServerError, func(ctx context.Context, tasks *ecs.Tasks, arn string) error {
			_, err := tasks.ListOwnedTasks(ctx)
			return err
		}},
		{"StopTask", fakeaws.Throttle, func(ctx context.Context, tasks *ecs.Tasks, arn string) error {
			return tasks.StopTask(ctx, arn, "r")
		}},
		{"DescribeNetworkInterfaces", fakeaws.Throttle, func(ctx context.Context, tasks *ecs.Tasks, arn string) error {
			_, err := tasks.Address(ctx, spawner.Task{ID: arn}, 25565)
			return err
		}},
		{"DescribeNetworkInterfaces", fakeaws.ServerError, func(ctx context.Context, tasks *ecs.Tasks, arn string) error {
			_, err := tasks.Address(ctx, spawner.Task{ID: arn}, 25565)
			return err
		}},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.op, tc.fault), func(t *testing.T) {
			srv, tasks := newTasks(t, fakeOptions(), testConfig())
			ft := srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: spawner.StartedBy})
			ctx := ctxFor(t)

			srv.FailNext(tc.op, 2, tc.fault)
			if err := tc.call(ctx, tasks, ft.ARN); err != nil {
				t.Fatalf("after 2 transient errors: %v", err)
			}
			calls := srv.Calls(tc.op)
			if len(calls) != 3 || calls[0].Status < 400 || calls[2].Status != 200 {
				t.Fatalf("calls to %s: %+v, want 2 failures then a success", tc.op, calls)
			}

			srv.FailNext(tc.op, 3, tc.fault)
			err := tc.call(ctx, tasks, ft.ARN)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != calls[0].Error {
				t.Errorf("after 3 transient errors: err = %v, want the SDK to give up with %s", err, calls[0].Error)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      func(*fakeaws.Options)
		cfg       func(*ecs.Config)
		family    string
		container string
		want      []string // one substring per expected problem
		vars      []string // the variable each problem names
	}{
		{name: "all well", family: family, container: container},
		{name: "missing cluster", cfg: func(c *ecs.Config) { c.Cluster = "nope" }, family: family, container: container,
			want: []string{`cluster "nope": not found`}, vars: []string{"AWS_ECS_CLUSTER_NAME"}},
		{name: "inactive cluster", opts: func(o *fakeaws.Options) { o.ClusterStatus = "INACTIVE" }, family: family, container: container,
			want: []string{"is INACTIVE, not ACTIVE"}, vars: []string{"AWS_ECS_CLUSTER_NAME"}},
		{name: "no spot capacity", opts: func(o *fakeaws.Options) { o.CapacityProviders = []string{"FARGATE"} }, family: family, container: container,
			want: []string{"no capacity provider FARGATE_SPOT"}, vars: []string{"ECS_CAPACITY_PROVIDER"}},
		{name: "missing task definition", family: "vanilla", container: container,
			want: []string{`task definition "vanilla": no ACTIVE revision`}, vars: []string{"ECS_TASK_DEFINITION"}},
		{name: "missing container", family: family, container: "mc",
			want: []string{`has no container named "mc" (it has: minecraft-server, sidecar)`}, vars: []string{"DOCKER_IMAGE_NAME"}},
		{name: "everything wrong", cfg: func(c *ecs.Config) { c.Cluster = "nope" }, family: "vanilla", container: container,
			want: []string{"not found", "no ACTIVE revision"}, vars: []string{"AWS_ECS_CLUSTER_NAME", "ECS_TASK_DEFINITION"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fakeOptions()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, tasks := newTasks(t, opts, cfg)
			problems := tasks.Check(ctxFor(t), tc.family, tc.container)
			if len(problems) != len(tc.want) {
				t.Fatalf("Check found %v, want %d problems %q", problems, len(tc.want), tc.want)
			}
			for i, p := range problems {
				if !strings.Contains(p.Error(), tc.want[i]) {
					t.Errorf("problem %d = %q, want it to say %q", i, p, tc.want[i])
				}
				var prob *spawner.Problem
				if !errors.As(p, &prob) || prob.Var != tc.vars[i] {
					t.Errorf("problem %d = %#v, want a *spawner.Problem naming %s", i, p, tc.vars[i])
				}
				if errors.Is(p, spawner.ErrUnreachable) {
					t.Errorf("problem %d = %q is marked unreachable, but ECS answered", i, p)
				}
			}
		})
	}
}

// TestClusterARN: the cluster's full ARN, learned from ECS whether the
// cluster is configured by name or by ARN, so task events can be matched
// by it exactly; a cluster ECS does not know is an error naming it.
func TestClusterARN(t *testing.T) {
	opts := fakeOptions()
	opts.Account, opts.Region = "210987654321", "eu-west-3"
	srv, byName := newTasks(t, opts, testConfig())
	want := "arn:aws:ecs:eu-west-3:210987654321:cluster/" + fakeaws.DefaultClusterName
	if arn, err := byName.ClusterARN(ctxFor(t)); err != nil || arn != want {
		t.Errorf("ClusterARN by name = %q, %v; want %q", arn, err, want)
	}
	cfg := testConfig()
	cfg.Cluster = srv.ClusterARN()
	_, byARN := newTasks(t, opts, cfg)
	if arn, err := byARN.ClusterARN(ctxFor(t)); err != nil || arn != want {
		t.Errorf("ClusterARN by ARN = %q, %v; want %q", arn, err, want)
	}
	cfg.Cluster = "nowhere"
	_, missing := newTasks(t, opts, cfg)
	if arn, err := missing.ClusterARN(ctxFor(t)); err == nil || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Errorf("ClusterARN of an unknown cluster = %q, %v; want an error naming it", arn, err)
	}
}
