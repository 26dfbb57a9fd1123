// Package ecs runs the game servers' tasks on AWS ECS Fargate and finds
// where players connect to them (the public IP of the task's network
// interface, through EC2). It is the lifecycle's Tasks.
//
// Ownership: every task it runs has startedBy spawner.StartedBy and the tag
// spawner.TagDeployment set to Config.Deployment. Several deployments (bots
// with their own guild and table) may share one cluster: each lists, and so
// reconciles and stops, only the tasks tagged with its own deployment, or
// with no deployment tag at all (tasks of the original bot, or started
// before the tag existed). A task tagged with another deployment is never
// returned by ListOwnedTasks.
package ecs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// ECS's limits.
const (
	describeBatch   = 100 // tasks per DescribeTasks call
	maxStopReason   = 255 // characters of a StopTask reason
	listPageSize    = 100 // tasks per ListTasks page
	describeWorkers = 4   // DescribeTasks calls in flight at once
)

// WorldContainer is the name of the companion container of a game with a
// world, in its task definition (deploy/terraform/games.tf): `spawner
// world sidecar`, which fills the world's path from its newest backup
// before the game starts and pushes it back once the game exited.
const WorldContainer = "world"

// Config is where and how tasks run: the cluster and the awsvpc networking
// shared by every game.
type Config struct {
	// Deployment names this bot among those sharing the cluster; it is the
	// value of the spawner.TagDeployment tag of every task it runs. Empty
	// tags nothing and owns only untagged tasks.
	Deployment       string
	Cluster          string
	Subnets          []string
	SecurityGroups   []string
	AssignPublicIP   bool
	CapacityProvider string // "FARGATE" (default when empty) or "FARGATE_SPOT"
}

// Tasks runs, describes, lists and stops the bot's tasks in one cluster.
// It is safe for concurrent use.
type Tasks struct {
	ecs API
	ec2 EC2API
	cfg Config
}

// New returns the adapter for cfg, calling ECS through ecsAPI and EC2
// through ec2API.
func New(ecsAPI API, ec2API EC2API, cfg Config) *Tasks {
	if cfg.CapacityProvider == "" {
		cfg.CapacityProvider = "FARGATE"
	}
	return &Tasks{ecs: ecsAPI, ec2: ec2API, cfg: cfg}
}

// RunTask runs one task of spec's task definition family (its latest ACTIVE
// revision) through the configured capacity provider, with startedBy
// spawner.StartedBy, spec's tags and spec's environment given to
// spec.Container. With spec.World, the companion container WorldContainer
// is given WORLD_ID, the world it pulls and pushes; a task definition
// without it is a *spawner.RunFailure saying so. spec.CreationID is the
// client token: a call retried with
// the same one (by the SDK or by the caller) returns the task already
// started instead of starting a second.
//
// When ECS answers with failures instead of a task (no capacity, a bad
// subnet), the error is a *spawner.RunFailure. Any other error may hide a
// task that did start: the caller should look for it by its tags.
func (t *Tasks) RunTask(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
	assign := "DISABLED"
	provider := t.cfg.CapacityProvider
	if spec.CapacityProvider != "" {
		provider = spec.CapacityProvider // the game's own
	}
	if t.cfg.AssignPublicIP {
		assign = "ENABLED"
	}
	in := &runTaskInput{
		Cluster:                  t.cfg.Cluster,
		TaskDefinition:           spec.TaskDefinition,
		Count:                    1,
		CapacityProviderStrategy: []capacityProviderItem{{CapacityProvider: provider, Weight: 1}},
		NetworkConfiguration: networkConfiguration{AwsvpcConfiguration: awsvpcConfiguration{
			Subnets:        t.cfg.Subnets,
			SecurityGroups: t.cfg.SecurityGroups,
			AssignPublicIP: assign,
		}},
		StartedBy:            spawner.StartedBy,
		Tags:                 tagList(t.tags(spec.Tags)),
		PropagateTags:        "NONE",
		EnableECSManagedTags: true,
		ClientToken:          spec.CreationID,
		Overrides:            overrides(spec),
	}
	var out tasksOutput
	if err := t.ecs.JSON(ctx, "RunTask", in, &out); err != nil {
		if spec.World != nil && noCompanion(err) {
			return spawner.Task{}, &spawner.RunFailure{
				Reason: fmt.Sprintf("the game's task definition %s has no container %q to keep its world", spec.TaskDefinition, WorldContainer),
				Detail: err.Error(),
			}
		}
		return spawner.Task{}, fmt.Errorf("run task: %w", err)
	}
	if len(out.Tasks) == 0 {
		if len(out.Failures) > 0 {
			f := out.Failures[0]
			return spawner.Task{}, &spawner.RunFailure{Reason: f.Reason, Detail: f.Detail}
		}
		return spawner.Task{}, errors.New("run task: ECS answered with neither a task nor a failure")
	}
	return taskOf(out.Tasks[0]), nil
}

// DescribeTasks returns what ECS says of the tasks arns, with their tags,
// in no particular order: callers match them to what they asked by ARN.
// Tasks ECS does not know (failure reason MISSING: never existed, or
// stopped long ago) are absent from the result, not an error; that absence
// is how a caller learns a task is gone. Any other failure ECS reports is an
// error naming the task and the reason. It makes one call per 100 tasks, a
// few at a time, and fails if any call fails.
func (t *Tasks) DescribeTasks(ctx context.Context, arns []string) ([]spawner.Task, error) {
	batches := slices.Collect(slices.Chunk(arns, describeBatch))
	results := make([][]spawner.Task, len(batches))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(describeWorkers)
	for i, batch := range batches {
		g.Go(func() error {
			var out tasksOutput
			in := describeTasksInput{Cluster: t.cfg.Cluster, Tasks: batch, Include: []string{"TAGS"}}
			if err := t.ecs.JSON(ctx, "DescribeTasks", in, &out); err != nil {
				return fmt.Errorf("describe tasks: %w", err)
			}
			for _, f := range out.Failures {
				if f.Reason != "MISSING" {
					return fmt.Errorf("describe tasks: %s: %s", f.Arn, f.Reason)
				}
			}
			tasks := make([]spawner.Task, 0, len(out.Tasks))
			for _, task := range out.Tasks {
				tasks = append(tasks, taskOf(task))
			}
			results[i] = tasks
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(results...), nil
}

// StopTask asks ECS to stop the task arn, saying reason (cut to ECS's 255
// characters). Stopping a task that is already stopped or that ECS does not
// know succeeds: the caller wanted it gone and it is.
func (t *Tasks) StopTask(ctx context.Context, arn, reason string) error {
	err := t.ecs.JSON(ctx, "StopTask", stopTaskInput{Cluster: t.cfg.Cluster, Task: arn, Reason: truncate(reason, maxStopReason)}, nil)
	if err != nil {
		if taskNotFound(err) {
			return nil
		}
		return fmt.Errorf("stop task: %w", err)
	}
	return nil
}

// overrides is what a task of spec changes of its task definition: the
// game container's environment and the task's size, and the world its
// companion pulls and pushes (the task definition gives it the rest:
// bucket, path); nil when nothing.
func overrides(spec spawner.TaskSpec) *taskOverride {
	var o *taskOverride
	if spec.Container != "" {
		o = &taskOverride{
			ContainerOverrides: []containerOverride{{Name: spec.Container, Environment: environment(spec.Env)}},
		}
		// A game's cpu and memory override the task definition's, at the
		// task level (Fargate sizes the task, not the container).
		if spec.CPU > 0 {
			o.CPU = strconv.Itoa(spec.CPU)
		}
		if spec.Memory > 0 {
			o.Memory = strconv.Itoa(spec.Memory)
		}
	}
	if spec.World != nil {
		if o == nil {
			o = &taskOverride{}
		}
		o.ContainerOverrides = append(o.ContainerOverrides, containerOverride{
			Name: WorldContainer, Environment: []keyValue{{Name: "WORLD_ID", Value: spec.World.ID}},
		})
	}
	return o
}

// noCompanion tells ECS's answer to an override of a container the task
// definition does not have, the world's companion: InvalidParameterException
// "Override for container named world is not a container in the
// TaskDefinition."
func noCompanion(err error) bool {
	ipe := apiError(err, "InvalidParameterException")
	return ipe != nil && strings.Contains(ipe.ErrorMessage(), "container named "+WorldContainer+" ")
}

// taskNotFound tells ECS's answer to stopping a task it does not know:
// InvalidParameterException "The referenced task was not found."
func taskNotFound(err error) bool {
	ipe := apiError(err, "InvalidParameterException")
	return ipe != nil && strings.Contains(strings.ToLower(ipe.ErrorMessage()), "not found")
}

// ListOwnedTasks returns every task of the cluster this deployment owns
// (see Owns) whose desired status is RUNNING (all pages of ListTasks),
// described with their tags. A task stopped between the listing and the
// description is returned as described (Stopped reports true). Tasks of
// other deployments are left out, so a caller never stops them as orphans.
func (t *Tasks) ListOwnedTasks(ctx context.Context) ([]spawner.Task, error) {
	var arns []string
	in := listTasksInput{Cluster: t.cfg.Cluster, StartedBy: spawner.StartedBy, DesiredStatus: "RUNNING", MaxResults: listPageSize}
	for {
		var page listTasksOutput
		if err := t.ecs.JSON(ctx, "ListTasks", in, &page); err != nil {
			return nil, fmt.Errorf("list tasks: %w", err)
		}
		arns = append(arns, page.TaskArns...)
		// A token equal to the one sent would list the same page for ever.
		if page.NextToken == "" || page.NextToken == in.NextToken {
			break
		}
		in.NextToken = page.NextToken
	}
	if len(arns) == 0 {
		return nil, nil
	}
	described, err := t.DescribeTasks(ctx, arns)
	if err != nil {
		return nil, err
	}
	owned := described[:0]
	for _, task := range described {
		if t.Owns(task) {
			owned = append(owned, task)
		}
	}
	return owned, nil
}

// Owns reports whether task belongs to this deployment: started by
// spawner.StartedBy, and tagged with Config.Deployment or with no
// spawner.TagDeployment tag at all. task must have been described with its
// tags (DescribeTasks, ListOwnedTasks and RunTask do).
func (t *Tasks) Owns(task spawner.Task) bool {
	if task.StartedBy != spawner.StartedBy {
		return false
	}
	d, tagged := task.Tags[spawner.TagDeployment]
	return !tagged || d == t.cfg.Deployment
}

// tags is spec's tags with the deployment's own, which a spec cannot
// override.
func (t *Tasks) tags(spec map[string]string) map[string]string {
	if t.cfg.Deployment == "" {
		return spec
	}
	tags := maps.Clone(spec)
	if tags == nil {
		tags = make(map[string]string, 1)
	}
	tags[spawner.TagDeployment] = t.cfg.Deployment
	return tags
}

// Address is "ip:port" where players reach port of the task: with a
// public IP assigned, the public IP of the task's network interface
// (asked of EC2); otherwise the task's private IP. A task is reached on
// its own address, so port is the game's own. Only task.ID is read: the
// task is described again for its network interface. It fails while the
// task has no network interface yet; when the interface exists but EC2
// gives it no public IP (subnets that do not assign one), the error wraps
// spawner.ErrNoPublicIP.
func (t *Tasks) Address(ctx context.Context, task spawner.Task, port int) (string, error) {
	ip, err := t.address(ctx, task.ID)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(ip, strconv.Itoa(port)), nil
}

// address is the IP players connect to on the task arn.
func (t *Tasks) address(ctx context.Context, arn string) (string, error) {
	nic, err := t.networkInterface(ctx, arn)
	if err != nil {
		return "", err
	}
	if nic.id == "" {
		return "", fmt.Errorf("task address: task %s has no network interface yet", spawner.ShortTaskID(arn))
	}
	if !t.cfg.AssignPublicIP {
		if nic.privateIP == "" {
			return "", fmt.Errorf("task address: task %s has no private IP yet", spawner.ShortTaskID(arn))
		}
		return nic.privateIP, nil
	}
	nis, err := t.ec2.DescribeNetworkInterfaces(ctx, []string{nic.id})
	if err != nil {
		return "", fmt.Errorf("describe network interface %s: %w", nic.id, err)
	}
	for _, ni := range nis {
		if ni.ID != nic.id {
			continue
		}
		if ni.PublicIP != "" {
			return ni.PublicIP, nil
		}
		return "", fmt.Errorf("task address: network interface %s: %w", nic.id, spawner.ErrNoPublicIP)
	}
	return "", fmt.Errorf("task address: network interface %s: %w", nic.id, spawner.ErrNotFound)
}

// networkInterface is the awsvpc attachment of a task: its network
// interface id and private IP, empty until ECS attached it.
type networkInterface struct {
	id, privateIP string
}

// networkInterface describes the task arn for its network interface. A
// task ECS does not know is an error wrapping spawner.ErrNotFound.
func (t *Tasks) networkInterface(ctx context.Context, arn string) (networkInterface, error) {
	var out tasksOutput
	in := describeTasksInput{Cluster: t.cfg.Cluster, Tasks: []string{arn}}
	if err := t.ecs.JSON(ctx, "DescribeTasks", in, &out); err != nil {
		return networkInterface{}, fmt.Errorf("describe task for its address: %w", err)
	}
	for _, task := range out.Tasks {
		if task.TaskArn == arn {
			return networkInterfaceOf(task), nil
		}
	}
	return networkInterface{}, fmt.Errorf("task address: task %s: %w", spawner.ShortTaskID(arn), spawner.ErrNotFound)
}

// networkInterfaceOf reads the awsvpc attachment of a described task.
func networkInterfaceOf(in task) networkInterface {
	var nic networkInterface
	for _, a := range in.Attachments {
		if a.Type != "ElasticNetworkInterface" {
			continue
		}
		for _, d := range a.Details {
			switch d.Name {
			case "networkInterfaceId":
				nic.id = d.Value
			case "privateIPv4Address":
				nic.privateIP = d.Value
			}
		}
		break
	}
	return nic
}

// ClusterARN asks ECS for the full ARN of the configured cluster (given by
// name or ARN): the one identity of the cluster, with its account and
// region, by which task events are told apart from those of a cluster of
// the same name elsewhere. It fails when ECS does not answer or does not
// know the cluster.
func (t *Tasks) ClusterARN(ctx context.Context) (string, error) {
	var out describeClustersOutput
	if err := t.ecs.JSON(ctx, "DescribeClusters", describeClustersInput{Clusters: []string{t.cfg.Cluster}}, &out); err != nil {
		return "", fmt.Errorf("describe cluster %q: %w", t.cfg.Cluster, err)
	}
	for _, c := range out.Clusters {
		if arn := c.ClusterArn; arn != "" {
			return arn, nil
		}
	}
	return "", fmt.Errorf("cluster %q: not found", t.cfg.Cluster)
}

// Check verifies, changing nothing, that tasks can run: the cluster exists
// and is ACTIVE with the configured capacity provider, and the family
// taskDefinition has an ACTIVE revision with a container named container.
// It returns one *spawner.Problem per problem found, naming the variable to
// fix (AWS_ECS_CLUSTER_NAME, ECS_CAPACITY_PROVIDER, ECS_TASK_DEFINITION,
// DOCKER_IMAGE_NAME), nil when all is well. A call ECS gave no answer to
// at all is a problem with an empty Var and an error that wraps
// spawner.ErrUnreachable: how ECS is reached is what to fix.
func (t *Tasks) Check(ctx context.Context, taskDefinition, container string) []error {
	var problems []error
	var clusters describeClustersOutput
	err := t.ecs.JSON(ctx, "DescribeClusters", describeClustersInput{Clusters: []string{t.cfg.Cluster}}, &clusters)
	switch {
	case unanswered(err):
		problems = append(problems, &spawner.Problem{Err: spawner.Unreachable(fmt.Errorf("describe cluster %q: %w", t.cfg.Cluster, err))})
	case err != nil:
		problems = append(problems, &spawner.Problem{Var: "AWS_ECS_CLUSTER_NAME", Err: fmt.Errorf("describe cluster %q: %w", t.cfg.Cluster, err)})
	case len(clusters.Clusters) == 0:
		problems = append(problems, &spawner.Problem{Var: "AWS_ECS_CLUSTER_NAME", Err: fmt.Errorf("cluster %q: not found", t.cfg.Cluster)})
	default:
		c := clusters.Clusters[0]
		if status := c.Status; status != "ACTIVE" {
			problems = append(problems, &spawner.Problem{Var: "AWS_ECS_CLUSTER_NAME", Err: fmt.Errorf("cluster %q is %s, not ACTIVE", t.cfg.Cluster, status)})
		} else if !slices.Contains(c.CapacityProviders, t.cfg.CapacityProvider) {
			problems = append(problems, &spawner.Problem{Var: "ECS_CAPACITY_PROVIDER", Err: fmt.Errorf("cluster %q has no capacity provider %s (it has: %s)",
				t.cfg.Cluster, t.cfg.CapacityProvider, strings.Join(c.CapacityProviders, ", "))})
		}
	}
	if p := t.checkGame(ctx, taskDefinition, container, "ECS_TASK_DEFINITION", "DOCKER_IMAGE_NAME"); p != nil {
		problems = append(problems, p)
	}
	return problems
}

// CheckGame verifies, changing nothing, that a game template's task
// definition family has an ACTIVE revision in ECS and a container named
// container. It returns nil when both hold; otherwise a *spawner.Problem
// whose Var is the template key to fix, "taskDefinition" or "container";
// when ECS gives no answer, a Problem with an empty Var whose error wraps
// spawner.ErrUnreachable.
func (t *Tasks) CheckGame(ctx context.Context, taskDefinition, container string) error {
	if p := t.checkGame(ctx, taskDefinition, container, "taskDefinition", "container"); p != nil {
		return p
	}
	return nil
}

// checkGame is Check's and CheckGame's look at a task definition, naming
// defVar or containerVar in the problem it finds.
func (t *Tasks) checkGame(ctx context.Context, taskDefinition, container, defVar, containerVar string) *spawner.Problem {
	var def describeTaskDefinitionOutput
	err := t.ecs.JSON(ctx, "DescribeTaskDefinition", describeTaskDefinitionInput{TaskDefinition: taskDefinition}, &def)
	switch ce := apiError(err, "ClientException"); {
	case ce != nil:
		// ECS's answer for a family with no ACTIVE revision.
		return &spawner.Problem{Var: defVar, Err: fmt.Errorf("task definition %q: no ACTIVE revision: %s", taskDefinition, ce.ErrorMessage())}
	case unanswered(err):
		return &spawner.Problem{Err: spawner.Unreachable(fmt.Errorf("describe task definition %q: %w", taskDefinition, err))}
	case err != nil:
		return &spawner.Problem{Var: defVar, Err: fmt.Errorf("describe task definition %q: %w", taskDefinition, err)}
	case def.TaskDefinition == nil:
		return &spawner.Problem{Var: defVar, Err: fmt.Errorf("task definition %q: not found", taskDefinition)}
	}
	td := def.TaskDefinition
	if td.Status != "ACTIVE" {
		return &spawner.Problem{Var: defVar, Err: fmt.Errorf("task definition %q is %s, not ACTIVE", taskDefinition, td.Status)}
	}
	var names []string
	for _, c := range td.ContainerDefinitions {
		names = append(names, c.Name)
	}
	if !slices.Contains(names, container) {
		return &spawner.Problem{Var: containerVar, Err: fmt.Errorf("task definition %q has no container named %q (it has: %s)",
			taskDefinition, container, strings.Join(names, ", "))}
	}
	return nil
}

// unanswered reports whether an AWS call failed without an answer from AWS
// (connection refused, timeout, no credentials to sign with): the SDK's
// operation error with no API error inside.
func unanswered(err error) bool {
	var op *smithy.OperationError
	var api smithy.APIError
	return errors.As(err, &op) && !errors.As(err, &api)
}

// statusOf maps ECS's lastStatus to the domain's TaskStatus; a status ECS
// may add later maps to the zero value, "not known yet".
func statusOf(last string) spawner.TaskStatus {
	switch last {
	case "PROVISIONING":
		return spawner.TaskProvisioning
	case "PENDING", "ACTIVATING":
		return spawner.TaskPending
	case "RUNNING":
		return spawner.TaskRunning
	case "DEACTIVATING", "STOPPING", "DEPROVISIONING":
		return spawner.TaskStopping
	case "STOPPED":
		return spawner.TaskStopped
	}
	return 0
}

// apiError is the API error of code inside err, or nil.
func apiError(err error, code string) smithy.APIError {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == code {
		return api
	}
	return nil
}

// taskOf maps ECS's description of a task to the domain's. ECS's stop
// code is told as the reason when ECS gives no other; SpotInterruption
// (Fargate Spot taking the capacity back) is Reclaimed. The exit code is
// the game container's; the world's companion exiting with a failure is
// WorldSaveFailed, and told at the end of the reason.
func taskOf(in task) spawner.Task {
	t := spawner.Task{
		ID:            in.TaskArn,
		Status:        statusOf(in.LastStatus),
		StopWanted:    in.DesiredStatus == "STOPPED",
		Reclaimed:     in.StopCode == "SpotInterruption",
		StartedBy:     in.StartedBy,
		StoppedReason: in.StoppedReason,
		CreatedAt:     time.Time(in.CreatedAt),
		CPU:           taskSize(in.CPU),
		Memory:        taskSize(in.Memory),
	}
	if t.StoppedReason == "" {
		t.StoppedReason = in.StopCode
	}
	// The game's exit code is that of the first container that is not
	// the world's companion: the companion exits too, and ECS lists the
	// containers in no promised order.
	for _, c := range in.Containers {
		switch {
		case c.ExitCode == nil:
		case c.Name == WorldContainer:
			if *c.ExitCode != 0 {
				t.WorldSaveFailed = true
				t.StoppedReason = strings.TrimPrefix(fmt.Sprintf("%s; the world's companion container exited with code %d", t.StoppedReason, *c.ExitCode), "; ")
			}
		case t.ExitCode == nil:
			code := *c.ExitCode
			t.ExitCode = &code
		}
	}
	if len(in.Tags) > 0 {
		t.Tags = make(map[string]string, len(in.Tags))
		for _, tag := range in.Tags {
			t.Tags[tag.Key] = tag.Value
		}
	}
	return t
}

// taskSize reads a task's cpu or memory as ECS says it, a count ("1024")
// of 1/1024 vCPU or MiB; 0 when absent or not a count (a task of EC2's
// launch type may give "1 vCPU" or "2 GB": not Fargate's, not priced).
func taskSize(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// environment is env as ECS key-value pairs, sorted by name so the same
// spec always makes the same request.
func environment(env map[string]string) []keyValue {
	return sortedPairs(env, func(k, v string) keyValue { return keyValue{Name: k, Value: v} })
}

// tagList is tags as ECS tags, sorted by key.
func tagList(tags map[string]string) []tag {
	return sortedPairs(tags, func(k, v string) tag { return tag{Key: k, Value: v} })
}

// sortedPairs is m as a list of pair(key, value), sorted by key so the same
// map always makes the same request; nil when m is empty.
func sortedPairs[T any](m map[string]string, pair func(k, v string) T) []T {
	if len(m) == 0 {
		return nil
	}
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, pair(k, m[k]))
	}
	return out
}

// truncate cuts s to at most n characters, never inside a UTF-8 sequence.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
