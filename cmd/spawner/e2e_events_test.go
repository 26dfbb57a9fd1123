package main

// Task events through the queue, end to end: the fake ECS publishes an
// EventBridge envelope at every task change to an SQS queue (goaws, in this
// process), and the real daemon long-polls it with the real SDK client.
// goaws keeps its state in globals: these tests do not run in parallel.

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/goaws"
)

// newEventsWorld is a world whose fake ECS publishes its task changes to a
// queue the daemon reads. The check interval is an hour, so after the
// first sweep at start no sweep runs during the test: what the daemon does
// of a task's change, only an event can explain. env overrides the
// daemon's environment.
func newEventsWorld(t *testing.T, env map[string]string) (*world, *goaws.SQS) {
	t.Helper()
	q := goaws.Start(t)
	url := q.QueueURL(goaws.DefaultQueue)
	e := map[string]string{
		"AWS_SQS_EVENTS_QUEUE_URL":                         url,
		"AWS_ENDPOINT_URL_SQS":                             q.Endpoint(),
		"GAMESERVER_MAX_DURATION":                          "3h",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "1h",
		"HTTP_ADDR": "127.0.0.1:0",
	}
	maps.Copy(e, env)
	w := newWorld(t, worldOptions{env: e})
	w.aws.PublishEventsTo(url, q.Endpoint())
	return w, q
}

// evSweeps is how many ListTasks calls (one per sweep) the fake ECS served.
func evSweeps(w *world) int { return len(w.aws.Calls("ListTasks")) }

// evLogCount is how many log lines of d hold s.
func evLogCount(d *daemonHandle, s string) int { return strings.Count(d.logs.String(), s) }

const evCrash = "OutOfMemoryError: Container killed due to memory usage"

// A ready server whose task stops on its own is ended at the event: the
// owner told the reason and the exit code, everything cleaned up, and no
// sweep ran in between.
func TestEventsTaskStopsOnItsOwn(t *testing.T) {
	w, _ := newEventsWorld(t, nil)
	d := w.start(t)
	addr := httpAddrOf(t, w, d)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	sweeps := evSweeps(w)

	w.aws.Crash(arn, evCrash, 137)
	told := wdWait(t, w, d, channelID, "Server gone:")
	for _, want := range []string{evCrash, "exit code 137"} {
		if !strings.Contains(told.Text(), want) {
			t.Errorf("owner not told %q: %q", want, told.Text())
		}
	}
	if !told.Mentioned(u.ID) {
		t.Errorf("the owner is not pinged: %q", told.Text())
	}
	if n := evSweeps(w) - sweeps; n != 0 {
		t.Fatalf("%d sweep(s) ran between the crash and the end: the end is not shown to come from the event", n)
	}
	wdAssertGone(t, w, d, arn, channelID)
	if n := len(wdFind(w, channelID, "Server gone:")); n != 1 {
		t.Errorf("owner told %d times", n)
	}
	m := httpMetrics(t, addr)
	if got := httpMetric(m, "spawner_events_total", map[string]string{"outcome": "applied"}); got < 4 {
		t.Errorf("spawner_events_total{outcome=applied} = %v, want the task's changes counted (at least 4)", got)
	}
	if rec, app := httpMetric(m, "spawner_events_total", map[string]string{"outcome": "received"}), httpMetric(m, "spawner_events_total", map[string]string{"outcome": "applied"}); rec < app {
		t.Errorf("events received %v < applied %v", rec, app)
	}
}

// Events delivered twice, and events delivered out of order, do no harm:
// one ready message, and one end told once.
func TestEventsDuplicatesAndReordering(t *testing.T) {
	w, _ := newEventsWorld(t, nil)
	d := w.start(t)
	addr := httpAddrOf(t, w, d)
	u := member(1)

	w.aws.DuplicateNextEvents(3) // PROVISIONING, PENDING, RUNNING twice each
	channelID, arn := createReady(t, w, d, u, nil)
	if n := len(wdFind(w, channelID, "your server is ready")); n != 1 {
		t.Errorf("ready told %d times, want 1", n)
	}
	sweeps := evSweeps(w)

	// The STOPPING change and the STOPPED one arrive in reverse order,
	// then each again.
	w.aws.ReorderNextEvents(2)
	w.aws.Crash(arn, evCrash, 137)
	told := wdWait(t, w, d, channelID, "Server gone:", evCrash)
	if n := evSweeps(w) - sweeps; n != 0 {
		t.Fatalf("%d sweep(s) ran: the end is not shown to come from the events", n)
	}
	wdAssertGone(t, w, d, arn, channelID)
	if n := len(wdFind(w, channelID, "Server gone:")); n != 1 {
		t.Errorf("owner told %d times of the end: %q", n, told.Text())
	}
	if n := len(w.discord.Messages(logChannel)); n == 0 {
		t.Errorf("log channel told nothing")
	}
	httpWaitMetric(t, w, d, addr, "spawner_events_total", map[string]string{"outcome": "duplicate"}, 1)
}

// An event lost on the way: the sweep notices the crash all the same.
func TestEventsDroppedSweepCatchesUp(t *testing.T) {
	w, _ := newEventsWorld(t, map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "1s"})
	d := w.start(t)
	channelID, arn := createReady(t, w, d, member(1), nil)
	sweeps := evSweeps(w)

	w.aws.DropNextEvents(2) // STOPPING and STOPPED never reach the queue
	w.aws.Crash(arn, evCrash, 137)
	wdWait(t, w, d, channelID, "Server gone:", evCrash, "exit code 137")
	if n := evSweeps(w) - sweeps; n == 0 {
		t.Errorf("the end came without a sweep, though its events were dropped")
	}
	dropped := 0
	for _, e := range w.aws.Events() {
		if e.TaskARN == arn && e.Dropped {
			dropped++
		}
	}
	if dropped != 2 {
		t.Errorf("%d of the task's events dropped, want 2: %+v", dropped, w.aws.Events())
	}
	wdAssertGone(t, w, d, arn, channelID)
}

// A message that is not an event is logged once and deleted; the bot goes
// on reading the events after it.
func TestEventsUnparsableMessage(t *testing.T) {
	w, q := newEventsWorld(t, nil)
	d := w.start(t)
	addr := httpAddrOf(t, w, d)
	q.Send(t, `{"source": "aws.ecs", "detail-type": "ECS Task State Change", "detail": "<html>`)
	w.waitFor(t, "the unparsable message to be deleted from the queue", func() bool { return q.Depth() == 0 }, d)
	httpWaitMetric(t, w, d, addr, "spawner_events_total", map[string]string{"outcome": "unparsable"}, 1)
	if n := evLogCount(d, "not an event the bot can read"); n != 1 {
		t.Errorf("unparsable message logged %d times, want once", n)
	}

	channelID, arn := createReady(t, w, d, member(1), nil)
	sweeps := evSweeps(w)
	w.aws.Crash(arn, evCrash, 137)
	wdWait(t, w, d, channelID, "Server gone:", evCrash)
	if n := evSweeps(w) - sweeps; n != 0 {
		t.Errorf("%d sweep(s) ran: the events after the bad message were not read", n)
	}
	if n := evLogCount(d, "not an event the bot can read"); n != 1 {
		t.Errorf("unparsable message logged %d times, want once", n)
	}
}

// The queue is down when the daemon starts: it says so once, the bot
// works meanwhile, and once the queue is back the events are read again.
func TestEventsQueueDownAtStart(t *testing.T) {
	w, q := newEventsWorld(t, nil)
	q.Down()
	d := w.start(t)
	w.waitFor(t, "the daemon to log that the queue is unreachable", func() bool {
		return evLogCount(d, "events queue unreachable") > 0
	}, d)

	channelID, arn := createReady(t, w, d, member(1), nil) // the bot works without the queue
	if n := evLogCount(d, "events queue unreachable"); n != 1 {
		t.Errorf("queue outage logged %d times, want once", n)
	}
	q.Up(t)
	sweeps := evSweeps(w)
	w.aws.Crash(arn, evCrash, 137) // its event ends the long poll that began when the queue came back
	wdWait(t, w, d, channelID, "Server gone:", evCrash)
	if n := evSweeps(w) - sweeps; n != 0 {
		t.Errorf("%d sweep(s) ran: the events are not read since the queue came back", n)
	}
	if n := evLogCount(d, "events queue reachable again"); n != 1 {
		t.Errorf("queue's return logged %d times, want once", n)
	}
	if n := evLogCount(d, "events queue unreachable"); n != 1 {
		t.Errorf("queue outage logged %d times, want once", n)
	}
}

// Fargate Spot reclaims a ready server: its owner is told at once, before
// the task has stopped, once though the event comes twice; then the
// server ends when its task stops.
func TestEventsSpotInterruption(t *testing.T) {
	w, _ := newEventsWorld(t, nil)
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	sweeps := evSweeps(w)

	w.aws.DuplicateNextEvents(1)
	w.aws.Hold(arn) // stays STOPPING until released: the warning must come first
	w.aws.SpotInterrupt(arn)
	warning := wdWait(t, w, d, channelID, "Fargate Spot is reclaiming this server", "two minutes")
	if !warning.Mentioned(u.ID) {
		t.Errorf("the owner is not pinged: %q", warning.Text())
	}
	if task := wdTask(t, w, arn); task.LastStatus == "STOPPED" {
		t.Fatalf("the task stopped before the owner was warned")
	}
	if len(wdFind(w, channelID, "Server gone:")) != 0 {
		t.Fatalf("the server ended at the warning, before its task stopped")
	}

	w.aws.Release(arn)
	gone := wdWait(t, w, d, channelID, "Server gone:")
	if !gone.CreatedAt.After(warning.CreatedAt) {
		t.Errorf("end told at %v, not after the warning at %v", gone.CreatedAt, warning.CreatedAt)
	}
	if n := evSweeps(w) - sweeps; n != 0 {
		t.Errorf("%d sweep(s) ran: the warning or the end did not come from the events", n)
	}
	if n := len(wdFind(w, channelID, "Fargate Spot is reclaiming")); n != 1 {
		t.Errorf("owner warned %d times, want once", n)
	}
	wdAssertGone(t, w, d, arn, channelID)
}

// evBooting asks for a server for u while its game is not up yet (the
// world's late flag), and waits until the bot has seen the task running:
// its status message shows the address, and the bot pings it. It returns
// the ticket channel and the game's IP.
func evBooting(tb testing.TB, w *world, d *daemonHandle, u fakediscord.User) (channelID, ip string) {
	tb.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	edit := ix.WaitEdit(tb, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID = between(edit.Text(), "<#", ">")
	w.waitFor(tb, "the status message to show the running task's address", func() bool {
		for _, m := range w.messagesIn(channelID) {
			if a := between(m, "running · `", "`"); a != "" && a != m {
				ip = a[:strings.LastIndex(a, ":")]
				return true
			}
		}
		return false
	}, d)
	return channelID, ip
}

// evAnswer starts the game of a booting server (it answers pings from
// then on) and returns when it did so, and the ready message that
// followed. It fails when the ready message came before.
func evAnswer(tb testing.TB, w *world, d *daemonHandle, channelID, ip string) (time.Time, fakediscord.Message) {
	tb.Helper()
	if n := len(wdFind(w, channelID, "your server is ready")); n != 0 {
		tb.Fatalf("ready message posted before the game answered")
	}
	answered := time.Now()
	s := w.mc.Start(ip)
	if s == nil {
		tb.Fatalf("the game on %s did not start", ip)
	}
	s.SetPlayers(int(w.players.Load()), 20)
	return answered, wdWait(tb, w, d, channelID, "your server is ready")
}

// Without a queue, on the default 1 s beat: the ready message comes after
// the game first answered, not before (how soon after is measured by
// BenchmarkReadyAfterAnswer).
func TestEventsReadyComesAfterTheGameAnswers(t *testing.T) {
	t.Parallel() // no queue: goaws is not used
	w := newWorld(t, worldOptions{env: map[string]string{"GAMESERVER_POLL_INTERVAL": ""}})
	w.late.Store(true)
	d := w.start(t)
	u := member(1)
	channelID, ip := evBooting(t, w, d, u)
	describes := func() int { return len(w.aws.Calls("DescribeTasks")) }
	before := describes()
	// The bot goes on polling while the game is down, and says nothing.
	w.waitFor(t, "the bot to go on polling the booting task", func() bool { return describes() > before }, d)
	answered, ready := evAnswer(t, w, d, channelID, ip)
	if !ready.CreatedAt.After(answered) {
		t.Errorf("ready message at %v, not after the game answered at %v", ready.CreatedAt, answered)
	}
	if !ready.Mentioned(u.ID) || !strings.Contains(ready.Text(), ip) {
		t.Errorf("ready message = %q, want the owner pinged and the address", ready.Text())
	}
	if n := len(wdFind(w, channelID, "your server is ready")); n != 1 {
		t.Errorf("ready told %d times", n)
	}
}

// `spawner check` asks the queue when one is set: ok when it answers, a
// problem naming AWS_SQS_EVENTS_QUEUE_URL when it does not.
func TestEventsCheckQueue(t *testing.T) {
	w, q := newEventsWorld(t, nil)
	r := checkRunEnv(t, w, nil)
	if r.err != nil || !strings.Contains(r.out, "ok       sqs events queue") {
		t.Errorf("check with the queue up = %v:\n%s", r.err, r.out)
	}
	q.Down()
	r = checkRunEnv(t, w, nil)
	p := r.problems()
	if r.err == nil || len(p) != 1 || !strings.HasPrefix(p[0], "AWS_SQS_EVENTS_QUEUE_URL: ") {
		t.Errorf("check with the queue down = %v, problems %q, want one naming AWS_SQS_EVENTS_QUEUE_URL:\n%s", r.err, p, r.out)
	}
}

// evForge is a STOPPED change of task arn shaped exactly as the fake ECS
// publishes its changes (its last event, edited): in cluster, at version,
// saying the game crashed.
func evForge(tb testing.TB, w *world, arn, cluster string, version int64) string {
	tb.Helper()
	var last string
	for _, e := range w.aws.Events() {
		if e.TaskARN == arn && e.Body != "" {
			last = e.Body
		}
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(last), &env); err != nil {
		tb.Fatalf("no event of %s to forge from (%v): %q", arn, err, last)
	}
	detail := env["detail"].(map[string]any)
	detail["clusterArn"] = cluster
	detail["lastStatus"], detail["desiredStatus"] = "STOPPED", "STOPPED"
	detail["stopCode"], detail["stoppedReason"] = "EssentialContainerExited", evForged
	detail["version"] = version
	for _, c := range detail["containers"].([]any) {
		c.(map[string]any)["lastStatus"], c.(map[string]any)["exitCode"] = "STOPPED", 137
	}
	env["id"] = fmt.Sprintf("forged-%d", version)
	body, err := json.Marshal(env)
	if err != nil {
		tb.Fatal(err)
	}
	return string(body)
}

const evForged = "Essential container in task exited (forged)"

// evLastVersion is the version of the latest change the fake published of arn.
func evLastVersion(w *world, arn string) int64 {
	var v int64
	for _, e := range w.aws.Events() {
		if e.TaskARN == arn {
			v = max(v, e.Version)
		}
	}
	return v
}

// A STOPPED change of a cluster of the same name in another account, or
// in another region, is not ours: it is counted foreign and logged, and
// the live server it names goes on. The genuine end still comes within
// seconds of the task's stop.
func TestEventsForgedStopOfAnotherClusterIsIgnored(t *testing.T) {
	w, q := newEventsWorld(t, nil)
	d := w.start(t)
	addr := httpAddrOf(t, w, d)
	channelID, arn := createReady(t, w, d, member(1), nil)
	ours := w.aws.ClusterARN()
	others := []string{
		strings.Replace(ours, ":"+fakeaws.DefaultAccount+":", ":999999999999:", 1),
		strings.Replace(ours, ":"+fakeaws.DefaultRegion+":", ":us-east-1:", 1),
	}
	for i, other := range others {
		if other == ours {
			t.Fatalf("forged cluster %s is ours", other)
		}
		q.Send(t, evForge(t, w, arn, other, evLastVersion(w, arn)+int64(i)+1))
	}
	w.waitFor(t, "the forged changes to be dealt with (ignored, or acted on)", func() bool {
		return evLogCount(d, "a task change of another cluster") == len(others) || len(wdFind(w, channelID, "Server gone:")) > 0
	}, d)
	if got := wdFind(w, channelID, "Server gone:"); len(got) != 0 {
		t.Fatalf("a forged change ended the server: %q", got[0].Text())
	}
	for _, other := range others {
		if n := evLogCount(d, "cluster="+other); n != 1 {
			t.Errorf("the change of %s logged %d times, want once", other, n)
		}
	}
	httpWaitMetric(t, w, d, addr, "spawner_events_total", map[string]string{"outcome": "foreign"}, float64(len(others)))
	if task := wdTask(t, w, arn); task.LastStatus != "RUNNING" || task.DesiredStatus != "RUNNING" {
		t.Errorf("task %s/%s after the forged changes, want it RUNNING", task.LastStatus, task.DesiredStatus)
	}

	sweeps := evSweeps(w)
	w.aws.Crash(arn, evCrash, 137)
	wdWait(t, w, d, channelID, "Server gone:", evCrash)
	if n := evSweeps(w) - sweeps; n != 0 {
		t.Errorf("%d sweep(s) ran: the genuine end did not come from its event", n)
	}
	wdAssertGone(t, w, d, arn, channelID)
}

// A STOPPED change of our own cluster is only a reason to look: while ECS
// still reports the task RUNNING, the server goes on and the change is
// logged as unconfirmed. When the task does stop, its end comes from the
// next event within seconds, with ECS's reason, not the change's.
func TestEventsUnconfirmedStopLeavesTheServer(t *testing.T) {
	w, q := newEventsWorld(t, nil)
	d := w.start(t)
	channelID, arn := createReady(t, w, d, member(1), nil)
	describes := len(w.aws.Calls("DescribeTasks"))

	q.Send(t, evForge(t, w, arn, w.aws.ClusterARN(), evLastVersion(w, arn)+1))
	w.waitFor(t, "the change to be dealt with (logged unconfirmed, or acted on)", func() bool {
		return evLogCount(d, "task change not confirmed") > 0 || len(wdFind(w, channelID, "Server gone:")) > 0
	}, d)
	if got := wdFind(w, channelID, "Server gone:"); len(got) != 0 {
		t.Fatalf("an unconfirmed change ended the server: %q", got[0].Text())
	}
	if n := len(w.aws.Calls("DescribeTasks")) - describes; n < 1 {
		t.Errorf("ECS was not asked about the task (%d DescribeTasks)", n)
	}
	if task := wdTask(t, w, arn); task.DesiredStatus != "RUNNING" {
		t.Errorf("task desired %s after the unconfirmed change, want RUNNING", task.DesiredStatus)
	}

	sweeps := evSweeps(w)
	w.aws.Crash(arn, evCrash, 137)
	gone := wdWait(t, w, d, channelID, "Server gone:", evCrash, "exit code 137")
	if strings.Contains(gone.Text(), evForged) {
		t.Errorf("the owner was told the forged change's words: %q", gone.Text())
	}
	if n := evSweeps(w) - sweeps; n != 0 {
		t.Errorf("%d sweep(s) ran: the genuine end did not come from its event", n)
	}
	wdAssertGone(t, w, d, arn, channelID)
}
