package ecs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
)

// adapterFor is a second adapter on srv's cluster, for another deployment.
func adapterFor(srv *fakeaws.Server, deployment string) *ecs.Tasks {
	cfg := testConfig()
	cfg.Deployment = deployment
	awsCfg := srv.AWSConfig()
	return ecs.New(ecs.NewECS(awsCfg, nil), ecs.NewEC2(awsCfg, nil), cfg)
}

func arnsOf(tasks []spawner.Task) []string {
	var arns []string
	for _, t := range tasks {
		arns = append(arns, t.ID)
	}
	slices.Sort(arns)
	return arns
}

func TestTwoDeploymentsOnOneClusterSeeOnlyTheirOwnTasks(t *testing.T) {
	srv := fakeaws.New(t, fakeOptions())
	alpha, beta := adapterFor(srv, "alpha"), adapterFor(srv, "beta")
	ctx := ctxFor(t)

	a, err := alpha.RunTask(ctx, testSpec("a1"))
	if err != nil {
		t.Fatalf("alpha RunTask: %v", err)
	}
	// A spec cannot pass itself off as another deployment's.
	spec := testSpec("b1")
	spec.Tags[spawner.TagDeployment] = "alpha"
	b, err := beta.RunTask(ctx, spec)
	if err != nil {
		t.Fatalf("beta RunTask: %v", err)
	}
	// The original bot's task, or one started before the tag existed.
	legacy := srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: spawner.StartedBy,
		Tags: map[string]string{spawner.TagCreation: "old"}})
	// A third deployment's, and a task someone else started with our tag.
	srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: spawner.StartedBy,
		Tags: map[string]string{spawner.TagDeployment: "gamma"}})
	srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: "someone-else",
		Tags: map[string]string{spawner.TagDeployment: "alpha"}})

	for _, ft := range srv.Tasks() {
		switch ft.ARN {
		case a.ID:
			if ft.Tags[spawner.TagDeployment] != "alpha" {
				t.Errorf("alpha's task carries deployment tag %q, want alpha", ft.Tags[spawner.TagDeployment])
			}
		case b.ID:
			if ft.Tags[spawner.TagDeployment] != "beta" {
				t.Errorf("beta's task carries deployment tag %q, want beta", ft.Tags[spawner.TagDeployment])
			}
			if ft.StartedBy != spawner.StartedBy {
				t.Errorf("beta's task started by %q, want %q", ft.StartedBy, spawner.StartedBy)
			}
		}
	}

	for _, tc := range []struct {
		name  string
		tasks *ecs.Tasks
		want  []string
	}{
		{"alpha", alpha, []string{a.ID, legacy.ARN}},
		{"beta", beta, []string{b.ID, legacy.ARN}},
	} {
		got, err := tc.tasks.ListOwnedTasks(ctx)
		if err != nil {
			t.Fatalf("%s ListOwnedTasks: %v", tc.name, err)
		}
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if g := arnsOf(got); !slices.Equal(g, want) {
			t.Errorf("%s owns %v, want its own task and the untagged one %v", tc.name, g, want)
		}
		for _, task := range got {
			if !tc.tasks.Owns(task) {
				t.Errorf("%s listed %s but does not own it", tc.name, task.ID)
			}
		}
	}

	// The answer to "what does alpha own" decides what alpha stops as an
	// orphan: beta's task described by alpha is not alpha's.
	described, err := alpha.DescribeTasks(ctx, []string{b.ID})
	if err != nil || len(described) != 1 {
		t.Fatalf("DescribeTasks = %v, %v", described, err)
	}
	if alpha.Owns(described[0]) {
		t.Errorf("alpha owns beta's task %s (tags %v)", b.ID, described[0].Tags)
	}
}

func TestDeploymentlessAdapterOwnsOnlyUntaggedTasks(t *testing.T) {
	srv := fakeaws.New(t, fakeOptions())
	plain := adapterFor(srv, "")
	ctx := ctxFor(t)
	own, err := plain.RunTask(ctx, testSpec("p1"))
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if _, tagged := own.Tags[spawner.TagDeployment]; tagged {
		t.Errorf("a task run without a deployment carries the tag: %v", own.Tags)
	}
	if _, err := adapterFor(srv, "alpha").RunTask(ctx, testSpec("a1")); err != nil {
		t.Fatalf("alpha RunTask: %v", err)
	}
	got, err := plain.ListOwnedTasks(ctx)
	if err != nil {
		t.Fatalf("ListOwnedTasks: %v", err)
	}
	if g := arnsOf(got); !slices.Equal(g, []string{own.ID}) {
		t.Errorf("owns %v, want only %s", g, own.ID)
	}
}

func TestDescribeTasksAnswersAreMatchedByARN(t *testing.T) {
	srv, tasks := newTasks(t, fakeOptions(), testConfig())
	creationOf := make(map[string]string)
	var arns []string
	for i := range 5 {
		c := fmt.Sprint("c", i)
		ft := srv.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: spawner.StartedBy,
			Tags: map[string]string{spawner.TagCreation: c}})
		creationOf[ft.ARN] = c
		arns = append(arns, ft.ARN)
	}
	slices.Reverse(arns)
	gone := arns[0][:len(arns[0])-6] + "ffffff"
	asked := append([]string{gone}, arns...)

	got, err := tasks.DescribeTasks(ctxFor(t), asked)
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if len(got) != len(arns) {
		t.Fatalf("described %d tasks, want %d (the missing one left out)", len(got), len(arns))
	}
	for _, task := range got {
		c, ok := creationOf[task.ID]
		if !ok {
			t.Errorf("described %s, which was not asked for or is missing", task.ID)
			continue
		}
		if task.Tags[spawner.TagCreation] != c {
			t.Errorf("task %s carries creation %q, want %q: a description was paired with the wrong task", task.ID, task.Tags[spawner.TagCreation], c)
		}
	}
}

// closedEndpoint is a loopback URL nobody listens on.
func closedEndpoint(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		tb.Fatalf("close: %v", err)
	}
	return "http://" + addr
}

func TestCheckWithoutAnswerIsUnreachable(t *testing.T) {
	srv := fakeaws.New(t, fakeOptions())
	awsCfg := srv.AWSConfig()
	awsCfg.BaseEndpoint = aws.String(closedEndpoint(t))
	tasks := ecs.New(ecs.NewECS(awsCfg, nil), ecs.NewEC2(awsCfg, nil), testConfig())
	ctx := ctxFor(t)

	problems := tasks.Check(ctx, family, container)
	if len(problems) != 2 {
		t.Fatalf("Check = %v, want two problems: ECS answered neither the cluster nor the task definition", problems)
	}
	var p *spawner.Problem
	for _, prob := range problems {
		if !errors.As(prob, &p) || p.Var != "" || !errors.Is(prob, spawner.ErrUnreachable) {
			t.Errorf("problem = %#v, want a *spawner.Problem with no variable wrapping spawner.ErrUnreachable", prob)
		}
	}

	err := tasks.CheckGame(ctx, family, container)
	if !errors.As(err, &p) || p.Var != "" || !errors.Is(err, spawner.ErrUnreachable) {
		t.Errorf("CheckGame = %v, want an unreachable problem", err)
	}
}

func TestCheckGame(t *testing.T) {
	_, tasks := newTasks(t, fakeOptions(), testConfig())
	ctx := ctxFor(t)
	for _, tc := range []struct {
		name, family, container, wantVar string
	}{
		{"known", family, container, ""},
		{"sidecar is a container too", family, "sidecar", ""},
		{"unknown family", "valheim", container, "taskDefinition"},
		{"unknown container", family, "valheim", "container"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tasks.CheckGame(ctx, tc.family, tc.container)
			if tc.wantVar == "" {
				if err != nil {
					t.Fatalf("CheckGame = %v, want nil", err)
				}
				return
			}
			var p *spawner.Problem
			if !errors.As(err, &p) || p.Var != tc.wantVar {
				t.Fatalf("CheckGame = %#v, want a *spawner.Problem naming %q", err, tc.wantVar)
			}
			if errors.Is(err, spawner.ErrUnreachable) {
				t.Errorf("CheckGame = %v marked unreachable, but ECS answered", err)
			}
		})
	}
}

// describeStub answers DescribeTasks with fixed tasks and failures, in the
// order given, whatever was asked.
type describeStub struct{ out *describeOut }

type describeOut struct {
	Tasks    []stubTask    `json:"tasks"`
	Failures []stubFailure `json:"failures"`
}

type stubTask struct {
	TaskArn   string              `json:"taskArn"`
	StartedBy string              `json:"startedBy"`
	Tags      []map[string]string `json:"tags"`
}

type stubFailure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
}

func (d describeStub) JSON(_ context.Context, op string, _, out any) error {
	if op != "DescribeTasks" {
		return fmt.Errorf("describeStub: %s", op)
	}
	doc, err := json.Marshal(d.out)
	if err != nil {
		return err
	}
	return json.Unmarshal(doc, out)
}

func TestDescribeTasksReportsFailuresOtherThanMissing(t *testing.T) {
	task := func(arn, creation string) stubTask {
		return stubTask{TaskArn: arn, StartedBy: spawner.StartedBy,
			Tags: []map[string]string{{"key": spawner.TagCreation, "value": creation}}}
	}
	out := &describeOut{
		// Not in the order asked.
		Tasks:    []stubTask{task("arn:b", "cb"), task("arn:a", "ca")},
		Failures: []stubFailure{{Arn: "arn:gone", Reason: "MISSING"}},
	}
	tasks := ecs.New(describeStub{out: out}, nil, testConfig())
	got, err := tasks.DescribeTasks(ctxFor(t), []string{"arn:a", "arn:gone", "arn:b"})
	if err != nil {
		t.Fatalf("DescribeTasks with a MISSING task: %v", err)
	}
	for _, task := range got {
		if task.Tags[spawner.TagCreation] != "c"+strings.TrimPrefix(task.ID, "arn:") {
			t.Errorf("task %s carries %v: paired with another task's description", task.ID, task.Tags)
		}
	}
	if g := arnsOf(got); !slices.Equal(g, []string{"arn:a", "arn:b"}) {
		t.Errorf("described %v, want arn:a and arn:b, the missing one absent", g)
	}

	out.Failures = append(out.Failures, stubFailure{Arn: "arn:c", Reason: "ACCESS_DENIED"})
	if _, err := tasks.DescribeTasks(ctxFor(t), []string{"arn:a", "arn:c"}); err == nil ||
		!strings.Contains(err.Error(), "arn:c") || !strings.Contains(err.Error(), "ACCESS_DENIED") {
		t.Errorf("DescribeTasks with an ACCESS_DENIED failure = %v, want an error naming the task and the reason", err)
	}
}
