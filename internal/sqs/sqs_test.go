package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/sqs"
	"github.com/mineral-contest/spawner/internal/testworld/goaws"
	"github.com/mineral-contest/spawner/internal/testworld/syncbuf"
)

// Tests here share goaws's global state: none may call t.Parallel.

const (
	cluster    = "spawner"
	clusterARN = "arn:aws:ecs:eu-west-3:123456789012:cluster/spawner"
)

func taskARN(n int) string {
	return fmt.Sprintf("arn:aws:ecs:eu-west-3:123456789012:task/spawner/%032x", n)
}

// change is what a test puts in an event.
type change struct {
	task          int
	version       int64
	last, desired string
	stopCode      string
	exitCode      *int32
	cluster       string // default clusterARN
	startedBy     string // default spawner
}

// envelope renders c as AWS's documentation shows an ECS task state change,
// with a field the consumer does not know.
func envelope(c change) string {
	if c.cluster == "" {
		c.cluster = clusterARN
	}
	if c.startedBy == "" {
		c.startedBy = spawner.StartedBy
	}
	if c.desired == "" {
		c.desired = "RUNNING"
	}
	container := map[string]any{"name": "minecraft", "lastStatus": c.last, "containerArn": "arn:aws:ecs:eu-west-3:123456789012:container/x"}
	if c.exitCode != nil {
		container["exitCode"] = *c.exitCode
	}
	detail := map[string]any{
		"attachments": []any{map[string]any{"id": "a", "type": "eni", "status": "ATTACHED", "details": []any{
			map[string]any{"name": "subnetId", "value": "subnet-1"},
			map[string]any{"name": "networkInterfaceId", "value": "eni-0123"},
			map[string]any{"name": "privateIPv4Address", "value": "10.0.0.7"},
		}}},
		"availabilityZone":  "eu-west-3a",
		"clusterArn":        c.cluster,
		"containers":        []any{container},
		"createdAt":         "2026-11-26T13:00:00.123Z",
		"desiredStatus":     c.desired,
		"group":             "family:minecraft",
		"lastStatus":        c.last,
		"launchType":        "FARGATE",
		"startedBy":         c.startedBy,
		"taskArn":           taskARN(c.task),
		"taskDefinitionArn": "arn:aws:ecs:eu-west-3:123456789012:task-definition/minecraft:1",
		"updatedAt":         fmt.Sprintf("2026-11-26T13:00:%02d.000Z", c.version),
		"version":           c.version,
		"someFutureField":   map[string]any{"x": 1},
	}
	if c.stopCode != "" {
		detail["stopCode"] = c.stopCode
		detail["stoppedReason"] = "reason of " + c.stopCode
	}
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": fmt.Sprintf("ev-%d-%d", c.task, c.version),
		"detail-type": "ECS Task State Change", "source": "aws.ecs",
		"account": "123456789012", "time": "2026-11-26T13:00:00Z", "region": "eu-west-3",
		"resources": []string{taskARN(c.task)}, "detail": detail,
	})
	return string(b)
}

// logs is a log the test can read while the consumer writes to it.
type logs struct{ syncbuf.Buffer }

// lines counts the log lines that contain s.
func (l *logs) lines(s string) int {
	n := 0
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// api is the real client, counting receive failures.
type api struct {
	*awssqs.Client
	receiveErrs atomic.Int64
	receiving   chan struct{} // gets a value as each ReceiveMessage starts
}

func (a *api) ReceiveMessage(ctx context.Context, in *awssqs.ReceiveMessageInput, opts ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error) {
	select {
	case a.receiving <- struct{}{}:
	default:
	}
	out, err := a.Client.ReceiveMessage(ctx, in, opts...)
	if err != nil && ctx.Err() == nil {
		a.receiveErrs.Add(1)
	}
	return out, err
}

// world is goaws, a consumer of its default queue and what it handed on.
type world struct {
	q       *goaws.SQS
	api     *api
	c       *sqs.Consumer
	log     *logs
	changes chan sqs.TaskChange
	cancel  context.CancelFunc
	done    chan error
}

func newWorld(tb testing.TB, q *goaws.SQS) *world {
	tb.Helper()
	cfg := q.AWSConfig()
	cfg.RetryMaxAttempts = 1
	w := &world{
		q:       q,
		api:     &api{Client: awssqs.NewFromConfig(cfg), receiving: make(chan struct{}, 1)},
		log:     &logs{},
		changes: make(chan sqs.TaskChange, 100),
	}
	w.c = sqs.New(w.api, q.QueueURL(goaws.DefaultQueue), slog.New(slog.NewTextHandler(w.log, nil)))
	w.c.WaitTime = time.Second
	w.c.MinBackoff = 5 * time.Millisecond
	w.c.MaxBackoff = 20 * time.Millisecond
	return w
}

// run starts Run; it is stopped when the test ends.
func (w *world) run(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.done = make(chan error, 1)
	go func() { w.done <- w.c.Run(ctx, clusterARN, func(ch sqs.TaskChange) { w.changes <- ch }) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-w.done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
}

// nextWait bounds the wait for a change. It outlasts the queue's
// visibility timeout: a receive whose answer was lost on a busy machine
// (the consumer logs it and retries) leaves its messages hidden until
// then, and they must still come.
var nextWait = time.Duration(goaws.VisibilityTimeout)*time.Second + 15*time.Second

// next is the next change handed on, or a test failure saying what was seen.
func (w *world) next(tb testing.TB, what string) sqs.TaskChange {
	tb.Helper()
	select {
	case ch := <-w.changes:
		return ch
	case <-time.After(nextWait):
		tb.Fatalf("no change handed on while waiting for %s; stats %+v; log:\n%s", what, w.c.Stats(), w.log)
		return sqs.TaskChange{}
	}
}

// eventually waits until cond holds, or fails saying what it waited for.
func (w *world) eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s; stats %+v; depth %d; log:\n%s", what, w.c.Stats(), w.q.Depth(), w.log)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// noMore asserts nothing else was handed on, once every message sent was
// dealt with (the queue is empty).
func (w *world) noMore(tb testing.TB) {
	tb.Helper()
	w.eventually(tb, "the queue to be empty", func() bool { return w.q.Depth() == 0 })
	select {
	case ch := <-w.changes:
		tb.Errorf("unexpected change handed on: %+v", ch)
	default:
	}
}

func TestAppliesChangesInOrder(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	w.q.Send(t, envelope(change{task: 1, version: 1, last: "PROVISIONING"}))
	w.q.Send(t, envelope(change{task: 1, version: 2, last: "PENDING"}))
	w.q.Send(t, envelope(change{task: 1, version: 3, last: "RUNNING"}))
	w.run(t)
	for _, want := range []string{"PROVISIONING", "PENDING", "RUNNING"} {
		ch := w.next(t, want)
		if ch.LastStatus != want {
			t.Fatalf("change %+v, want %s", ch, want)
		}
	}
	w.noMore(t)
	if s := w.c.Stats(); s.Received != 3 || s.Applied != 3 {
		t.Errorf("stats %+v, want 3 received and applied", s)
	}
}

func TestChangeCarriesWhatTheEventTells(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	code := int32(137)
	w.q.Send(t, envelope(change{task: 7, version: 9, last: "STOPPED", desired: "STOPPED", stopCode: "EssentialContainerExited", exitCode: &code}))
	w.run(t)
	ch := w.next(t, "the STOPPED change")
	want := sqs.TaskChange{
		TaskARN: taskARN(7), ClusterARN: clusterARN, StartedBy: "spawner", Group: "family:minecraft",
		LastStatus: "STOPPED", DesiredStatus: "STOPPED", StopCode: "EssentialContainerExited",
		StoppedReason: "reason of EssentialContainerExited", Version: 9, ENI: "eni-0123", PrivateIP: "10.0.0.7",
		EventID: "ev-7-9",
	}
	if ch.ExitCode == nil || *ch.ExitCode != 137 {
		t.Errorf("exit code %v, want 137", ch.ExitCode)
	}
	if len(ch.Containers) != 1 || ch.Containers[0].Name != "minecraft" {
		t.Errorf("containers %+v, want the one named minecraft", ch.Containers)
	}
	if !ch.UpdatedAt.Equal(time.Date(2026, 11, 26, 13, 0, 9, 0, time.UTC)) || !ch.CreatedAt.Equal(time.Date(2026, 11, 26, 13, 0, 0, 123e6, time.UTC)) {
		t.Errorf("updatedAt %v createdAt %v, want the detail's", ch.UpdatedAt, ch.CreatedAt)
	}
	ch.ExitCode, ch.Containers, ch.UpdatedAt, ch.CreatedAt = nil, nil, time.Time{}, time.Time{}
	if fmt.Sprint(ch) != fmt.Sprint(want) {
		t.Errorf("change\n got %+v\nwant %+v", ch, want)
	}
}

func TestDuplicatesAndLateEventsAreIgnored(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	for _, c := range []change{
		{task: 1, version: 2, last: "PENDING"},
		{task: 1, version: 2, last: "PENDING"},      // duplicate
		{task: 1, version: 1, last: "PROVISIONING"}, // late
		{task: 2, version: 1, last: "PROVISIONING"}, // another task: its own versions
		{task: 1, version: 3, last: "RUNNING"},
	} {
		w.q.Send(t, envelope(c))
	}
	w.run(t)
	var got []string
	for range 3 {
		ch := w.next(t, "the three new changes")
		got = append(got, fmt.Sprintf("%s v%d %s", ch.TaskARN[len(ch.TaskARN)-1:], ch.Version, ch.LastStatus))
	}
	if want := []string{"1 v2 PENDING", "2 v1 PROVISIONING", "1 v3 RUNNING"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("handed on %q, want %q", got, want)
	}
	w.noMore(t)
	if s := w.c.Stats(); s != (sqs.Stats{Received: 5, Applied: 3, Duplicate: 1, Stale: 1}) {
		t.Errorf("stats %+v, want 5 received, 3 applied, 1 duplicate, 1 stale", s)
	}
}

func TestUnparsableMessageIsLoggedOnceAndDeleted(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	bad := []string{
		"not json at all",
		`{"version":"0","source":"aws.ecs","detail-type":"ECS Task State Change","detail":{"lastStatus":"RUNNING","version":3}}`,
		`{"version":"0","source":"aws.ecs","detail-type":"ECS Task State Change","resources":["x"],"detail":{"taskArn":"x","lastStatus":"RUNNING"}}`,
		`[1,2,3]`,
	}
	for _, b := range bad {
		w.q.Send(t, b)
	}
	w.q.Send(t, envelope(change{task: 1, version: 1, last: "PENDING"}))
	w.run(t)
	if ch := w.next(t, "the good event after the bad ones"); ch.LastStatus != "PENDING" {
		t.Fatalf("handed on %+v, want the PENDING change", ch)
	}
	w.noMore(t)
	if got := w.log.lines("message is not an event the bot can read"); got != len(bad) {
		t.Errorf("%d log lines about unreadable messages, want %d (one each); log:\n%s", got, len(bad), w.log)
	}
	if s := w.c.Stats(); s.Unparsable != len(bad) || s.Applied != 1 {
		t.Errorf("stats %+v, want %d unparsable and 1 applied", s, len(bad))
	}
	if strings.Contains(w.log.String(), "not json at all") {
		t.Errorf("the log repeats the untrusted body:\n%s", w.log)
	}
}

func TestOtherTasksAreForeign(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	w.q.Send(t, envelope(change{task: 1, version: 1, last: "RUNNING", cluster: "arn:aws:ecs:eu-west-3:123456789012:cluster/other"}))
	w.q.Send(t, envelope(change{task: 2, version: 1, last: "RUNNING", startedBy: "ecs-svc/123"}))
	w.q.Send(t, `{"version":"0","id":"x","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}`)
	w.q.Send(t, envelope(change{task: 3, version: 1, last: "RUNNING"}))
	w.run(t)
	if ch := w.next(t, "the change of our task"); ch.TaskARN != taskARN(3) {
		t.Fatalf("handed on %+v, want only task 3's change", ch)
	}
	w.noMore(t)
	if s := w.c.Stats(); s != (sqs.Stats{Received: 4, Applied: 1, Foreign: 3}) {
		t.Errorf("stats %+v, want 4 received, 1 applied, 3 foreign", s)
	}
}

// TestOtherClusterOfTheSameName: the cluster is matched by its full ARN:
// an event of a cluster of the same name in another account, region or
// partition (a forged STOPPED, say) is foreign, counted and logged once
// per cluster, and never handed on.
func TestOtherClusterOfTheSameName(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	others := []string{
		"arn:aws:ecs:eu-west-3:999999999999:cluster/spawner", // another account
		"arn:aws:ecs:us-east-1:123456789012:cluster/spawner", // another region
		"arn:aws-cn:ecs:eu-west-3:123456789012:cluster/spawner",
		"spawner", // the bare name
		"arn:aws:ecs:eu-west-3:123456789012:cluster/spawner/x",
	}
	for i, other := range others {
		w.q.Send(t, envelope(change{task: 1, version: int64(10 + i), last: "STOPPED", desired: "STOPPED", cluster: other}))
	}
	w.q.Send(t, envelope(change{task: 1, version: 20, last: "STOPPED", desired: "STOPPED", cluster: others[0]})) // the same again
	w.q.Send(t, envelope(change{task: 1, version: 3, last: "RUNNING"}))
	w.run(t)
	if ch := w.next(t, "the change of our cluster"); ch.Version != 3 || ch.ClusterARN != clusterARN {
		t.Fatalf("handed on %+v, want only the change of %s", ch, clusterARN)
	}
	w.noMore(t)
	if s := w.c.Stats(); s != (sqs.Stats{Received: len(others) + 2, Applied: 1, Foreign: len(others) + 1}) {
		t.Errorf("stats %+v, want %d foreign and 1 applied", s, len(others)+1)
	}
	for _, other := range others {
		if n := w.log.lines(`cluster=` + other + ` `); n != 1 {
			t.Errorf("%d log lines name the cluster %s, want 1; log:\n%s", n, other, w.log)
		}
	}
	if n := w.log.lines("another cluster"); n != len(others) {
		t.Errorf("%d log lines about another cluster, want %d (one per cluster); log:\n%s", n, len(others), w.log)
	}
}

func TestSpotInterruptionIsSurfaced(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	w.q.Send(t, envelope(change{task: 1, version: 3, last: "RUNNING"}))
	w.q.Send(t, envelope(change{task: 1, version: 4, last: "RUNNING", desired: "STOPPED", stopCode: "SpotInterruption"}))
	w.run(t)
	w.next(t, "RUNNING")
	ch := w.next(t, "the Spot interruption")
	if ch.StopCode != "SpotInterruption" || ch.DesiredStatus != "STOPPED" || ch.LastStatus != "RUNNING" {
		t.Errorf("handed on %+v, want RUNNING, desired STOPPED, stop code SpotInterruption", ch)
	}
}

func TestQueueDownBacksOffAndRecovers(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	w.run(t)
	w.q.Send(t, envelope(change{task: 1, version: 1, last: "PENDING"}))
	w.next(t, "the change before the queue goes down")
	w.q.Down()
	w.eventually(t, "three failed receives", func() bool { return w.api.receiveErrs.Load() >= 3 })
	w.q.Up(t)
	w.q.Send(t, envelope(change{task: 1, version: 2, last: "RUNNING"}))
	if ch := w.next(t, "the change after the queue is back"); ch.LastStatus != "RUNNING" {
		t.Fatalf("handed on %+v, want RUNNING", ch)
	}
	if n := w.log.lines("events queue unreachable"); n != 1 {
		t.Errorf("%d lines say the queue is unreachable after %d failed receives, want 1; log:\n%s", n, w.api.receiveErrs.Load(), w.log)
	}
	if n := w.log.lines("events queue reachable again"); n != 1 {
		t.Errorf("%d lines say the queue is back, want 1; log:\n%s", n, w.log)
	}
}

func TestUnreachableQueueFromTheStart(t *testing.T) {
	q := goaws.Start(t)
	w := newWorld(t, q)
	w.c = sqs.New(w.api, "http://127.0.0.1:1/123456789012/nowhere", slog.New(slog.NewTextHandler(w.log, nil)))
	w.c.MinBackoff, w.c.MaxBackoff = time.Millisecond, 5*time.Millisecond
	w.run(t)
	w.eventually(t, "five failed receives", func() bool { return w.api.receiveErrs.Load() >= 5 })
	if n := w.log.lines("events queue unreachable"); n != 1 {
		t.Errorf("%d lines say the queue is unreachable, want 1; log:\n%s", n, w.log)
	}
}

func TestCancelReturnsNil(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	w.c.WaitTime = 20 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.c.Run(ctx, clusterARN, func(sqs.TaskChange) {}) }()
	select {
	case <-w.api.receiving:
	case <-time.After(10 * time.Second):
		t.Fatal("Run never called ReceiveMessage")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context was canceled, in the middle of a 20 s long poll")
	}
}

func TestCheck(t *testing.T) {
	q := goaws.Start(t)
	w := newWorld(t, q)
	if err := w.c.Check(context.Background()); err != nil {
		t.Errorf("Check of a queue that answers: %v", err)
	}
	gone := sqs.New(w.api, q.QueueURL("missing"), nil)
	err := gone.Check(context.Background())
	var p *spawner.Problem
	if !errors.As(err, &p) || p.Var != "AWS_SQS_EVENTS_QUEUE_URL" {
		t.Errorf("Check of a missing queue = %v, want a Problem naming AWS_SQS_EVENTS_QUEUE_URL", err)
	}
	q.Down()
	if err := w.c.Check(context.Background()); !errors.As(err, &p) || p.Var != "AWS_SQS_EVENTS_QUEUE_URL" {
		t.Errorf("Check of a queue that is down = %v, want a Problem naming AWS_SQS_EVENTS_QUEUE_URL", err)
	}
}

func TestVersionsKeptAreBounded(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	w.c.MaxTasks = 2
	now := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	w.c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Second); return now }
	w.q.Send(t, envelope(change{task: 1, version: 5, last: "RUNNING"}))
	w.q.Send(t, envelope(change{task: 2, version: 1, last: "RUNNING"}))
	w.q.Send(t, envelope(change{task: 3, version: 1, last: "RUNNING"}))
	w.q.Send(t, envelope(change{task: 1, version: 4, last: "PENDING"})) // forgotten: applied again
	w.q.Send(t, envelope(change{task: 3, version: 1, last: "RUNNING"})) // remembered: duplicate
	w.run(t)
	for range 4 {
		w.next(t, "four changes")
	}
	w.noMore(t)
	if n := w.c.Tracked(); n > 2 {
		t.Errorf("%d task versions kept, want at most MaxTasks = 2", n)
	}
	if s := w.c.Stats(); s.Applied != 4 || s.Duplicate != 1 {
		t.Errorf("stats %+v, want 4 applied and 1 duplicate", s)
	}
}

func TestStoppedTasksAreForgottenFirst(t *testing.T) {
	w := newWorld(t, goaws.Start(t))
	w.c.MaxTasks = 2
	w.c.Forget = time.Hour
	now := time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	w.c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w.run(t)
	w.q.Send(t, envelope(change{task: 2, version: 3, last: "RUNNING"}))
	w.next(t, "task 2 RUNNING")
	w.q.Send(t, envelope(change{task: 1, version: 5, last: "STOPPED", desired: "STOPPED"}))
	w.next(t, "task 1 STOPPED")
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	w.q.Send(t, envelope(change{task: 3, version: 1, last: "PENDING"}))
	w.next(t, "task 3 PENDING")
	// Task 1 stopped an hour ago: forgotten, though task 2 changed before it.
	w.q.Send(t, envelope(change{task: 2, version: 3, last: "RUNNING"}))
	w.q.Send(t, envelope(change{task: 1, version: 5, last: "STOPPED", desired: "STOPPED"}))
	if ch := w.next(t, "task 1's STOPPED again"); ch.TaskARN != taskARN(1) {
		t.Fatalf("handed on %+v, want task 1's STOPPED again (forgotten)", ch)
	}
	w.noMore(t)
	if s := w.c.Stats(); s.Duplicate != 1 || s.Applied != 4 {
		t.Errorf("stats %+v, want task 2's repeat a duplicate and 4 applied", s)
	}
}
