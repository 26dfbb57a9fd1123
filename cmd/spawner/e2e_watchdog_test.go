package main

// End-to-end tests of what happens to a server once it is ready: the
// player-count and runtime watchdogs, a task that stops on its own, and
// faults of ECS, DynamoDB and Discord while servers run (interface.md,
// lifecycle steps 5 to 8).

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// wdFind returns the messages posted in channelID whose text holds every
// one of parts, oldest first.
func wdFind(w *world, channelID string, parts ...string) []fakediscord.Message {
	var out []fakediscord.Message
	for _, m := range w.discord.Messages(channelID) {
		ok := true
		for _, p := range parts {
			if !strings.Contains(m.Text(), p) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// wdWait waits for a message in channelID holding every one of parts and
// returns the first such message.
func wdWait(tb testing.TB, w *world, d *daemonHandle, channelID string, parts ...string) fakediscord.Message {
	tb.Helper()
	what := fmt.Sprintf("a message with %q in channel %s", parts, channelID)
	w.waitFor(tb, what, func() bool { return len(wdFind(w, channelID, parts...)) > 0 }, d)
	return wdFind(w, channelID, parts...)[0]
}

// wdTask returns the fake's task arn, failing when there is none.
func wdTask(tb testing.TB, w *world, arn string) fakeaws.Task {
	tb.Helper()
	task, ok := w.aws.Task(arn)
	if !ok {
		tb.Fatalf("no task %s in the fake ECS", arn)
	}
	return task
}

// wdWarnings returns the player-count warnings of a ticket channel, in the
// order they were posted, as their "k/n".
func wdWarnings(w *world, channelID string) []string {
	var out []string
	for _, m := range wdFind(w, channelID, "warning **") {
		out = append(out, between(m.Text(), "warning **", "**"))
	}
	return out
}

// wdAssertGone checks that a server left nothing behind: its task stopped,
// no record in the table, its ticket channel deleted after the close delay.
func wdAssertGone(t *testing.T, w *world, d *daemonHandle, arn, channelID string) {
	t.Helper()
	if got := wdTask(t, w, arn); got.DesiredStatus != "STOPPED" {
		t.Errorf("task %s desired status = %s, want STOPPED", arn, got.DesiredStatus)
	}
	for _, s := range w.table(t) {
		if s.TaskID == arn || s.ChannelID == channelID {
			t.Errorf("record left in the table: %+v", s)
		}
	}
	w.waitFor(t, "the ticket channel to be deleted after the close delay", func() bool {
		c, _ := w.discord.Channel(channelID)
		return c.Deleted
	}, d)
}

// The player-count watchdog: warnings 1/N to N/N, each pinging the owner
// and saying what the check found (a count, or no answer), then the stop at
// the check after the last warning.
func TestWatchdogPlayersWarnsThenStops(t *testing.T) {
	t.Parallel()
	const interval = 300 * time.Millisecond
	w := newWorld(t, worldOptions{env: map[string]string{
		"GAMESERVER_MIN_REQUIRED_PLAYERS":                  "2",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT":    "3",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": interval.String(),
	}})
	w.players.Store(1)
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	task := wdTask(t, w, arn)
	game := w.mc.Get(task.PublicIP)
	ready := wdFind(w, channelID, "your server is ready")[0]

	// Each check sees what the game says now: 1 player, then 0, then no answer.
	w1 := wdWait(t, w, d, channelID, "warning **1/3**")
	game.SetPlayers(0, 20)
	w2 := wdWait(t, w, d, channelID, "warning **2/3**")
	game.SetSilent(true)
	w3 := wdWait(t, w, d, channelID, "warning **3/3**")
	stop := wdWait(t, w, d, channelID, "Server stopped: too few players after the last warning.")

	for _, c := range []struct {
		m    fakediscord.Message
		want string
	}{
		{w1, "1 player(s) online, 2 needed"},
		{w2, "0 player(s) online, 2 needed"},
		{w3, "the server did not answer the player count check"},
	} {
		if !c.m.Mentioned(u.ID) || !strings.Contains(c.m.Text(), "<@"+u.ID+">") {
			t.Errorf("warning does not ping the owner: %q", c.m.Text())
		}
		if !strings.Contains(c.m.Text(), c.want) {
			t.Errorf("warning does not say %q: %q", c.want, c.m.Text())
		}
		if !strings.Contains(c.m.Text(), "<t:") {
			t.Errorf("warning does not say when the next check is: %q", c.m.Text())
		}
	}
	if !strings.Contains(w3.Text(), "Last warning") {
		t.Errorf("the last warning does not say it is the last: %q", w3.Text())
	}
	if got := wdWarnings(w, channelID); strings.Join(got, " ") != "1/3 2/3 3/3" {
		t.Errorf("warnings posted = %v, want 1/3 2/3 3/3 and nothing after", got)
	}
	// One check per interval: nothing comes at once.
	prev := ready.CreatedAt
	for i, m := range []fakediscord.Message{w1, w2, w3, stop} {
		if gap := m.CreatedAt.Sub(prev); gap < interval/2 {
			t.Errorf("message %d came %s after the previous one, want about %s: %q", i+1, gap, interval, m.Text())
		}
		prev = m.CreatedAt
	}
	if !stop.Mentioned(u.ID) {
		t.Errorf("the stop message does not ping the owner: %q", stop.Text())
	}
	wdAssertGone(t, w, d, arn, channelID)
	if !w.said(logChannel, "arrêté : trop peu de joueurs", task.ID, "<@"+u.ID+">") {
		t.Errorf("log channel not told why the server stopped: %q", w.messagesIn(logChannel))
	}
	if got := wdTask(t, w, arn).StoppedReason; !strings.Contains(got, string(spawner.CausePlayers)) {
		t.Errorf("ECS stop reason = %q, want it to name %q", got, spawner.CausePlayers)
	}
}

// Players back at the minimum between warnings reset the count, and the
// ticket says so; the next low check is warning 1/N again.
func TestWatchdogPlayersBackResetsWarnings(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{
		"GAMESERVER_MIN_REQUIRED_PLAYERS":                  "2",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT":    "2",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "300ms",
	}})
	w.players.Store(1)
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	game := w.mc.Get(wdTask(t, w, arn).PublicIP)

	wdWait(t, w, d, channelID, "warning **1/2**")
	game.SetPlayers(2, 20)
	back := wdWait(t, w, d, channelID, "2 players online: warnings reset")
	game.SetPlayers(0, 20)
	w.waitFor(t, "a second warning 1/2 after the reset", func() bool { return len(wdFind(w, channelID, "warning **1/2**")) == 2 }, d)
	game.SetPlayers(5, 20)

	if got := wdWarnings(w, channelID); len(got) < 2 || got[0] != "1/2" || got[1] != "1/2" {
		t.Errorf("warnings = %v, want 1/2, then 1/2 again after the reset", got)
	}
	again := wdFind(w, channelID, "warning **1/2**")[1]
	if !again.CreatedAt.After(back.CreatedAt) || !strings.Contains(again.Text(), "0 player(s) online") || !again.Mentioned(u.ID) {
		t.Errorf("the warning after the reset = %q (at %s, reset at %s)", again.Text(), again.CreatedAt, back.CreatedAt)
	}
	if got := wdTask(t, w, arn); got.DesiredStatus != "RUNNING" {
		t.Errorf("server stopped although its warnings were reset: %+v", got)
	}
	if len(w.table(t)) != 1 {
		t.Errorf("record lost: %+v", w.table(t))
	}
}

// The runtime watchdog: a warning with a Discord relative timestamp before
// GAMESERVER_MAX_DURATION, then the stop. (The original bot's runtime check
// never fired; this is the proof ours does.)
func TestWatchdogRuntimeWarnsThenStops(t *testing.T) {
	t.Parallel()
	const maxDuration, warning = 3 * time.Second, 1500 * time.Millisecond
	w := newWorld(t, worldOptions{env: map[string]string{
		"GAMESERVER_MAX_DURATION":         maxDuration.String(),
		"GAMESERVER_MAX_DURATION_WARNING": warning.String(),
	}})
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	created := w.table(t)[0].CreatedAt
	end := created.Add(maxDuration)
	stamp := fmt.Sprintf("<t:%d:R>", end.Unix())

	if ready := wdFind(w, channelID, "your server is ready")[0]; !strings.Contains(ready.Text(), fmt.Sprintf("<t:%d:t>", end.Unix())) {
		t.Errorf("the ready message does not say it stops at %s: %q", end, ready.Text())
	}
	warn := wdWait(t, w, d, channelID, "reaches its maximum duration")
	stop := wdWait(t, w, d, channelID, "Server stopped: it reached its maximum duration.")

	if !strings.Contains(warn.Text(), stamp) || !warn.Mentioned(u.ID) {
		t.Errorf("runtime warning = %q, want it to ping the owner and say %s", warn.Text(), stamp)
	}
	if warn.CreatedAt.Before(end.Add(-warning)) || !warn.CreatedAt.Before(stop.CreatedAt) {
		t.Errorf("warning at %s, stop at %s: want the warning from %s (created %s) and before the stop", warn.CreatedAt, stop.CreatedAt, end.Add(-warning), created)
	}
	if stop.CreatedAt.Before(end) {
		t.Errorf("stopped at %s, before the maximum duration ends at %s", stop.CreatedAt, end)
	}
	if !stop.Mentioned(u.ID) {
		t.Errorf("the stop message does not ping the owner")
	}
	if got := wdWarnings(w, channelID); len(got) != 0 {
		t.Errorf("player warnings with enough players: %v", got)
	}
	wdAssertGone(t, w, d, arn, channelID)
	if !w.said(logChannel, "arrêté : durée maximale atteinte", spawner.ShortTaskID(arn)) {
		t.Errorf("log channel not told: %q", w.messagesIn(logChannel))
	}
}

// A ready task that stops on its own is noticed by the next sweep (within
// one WARNING_DURATION); the owner is told the reason and exit code.
func TestWatchdogNoticesCrashedTask(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	w := newWorld(t, worldOptions{env: map[string]string{
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": interval.String(),
	}})
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	const reason = "OutOfMemoryError: Container killed due to memory usage"

	w.aws.Crash(arn, reason, 137)
	crashed := time.Now() // every ECS request arriving later sees the crash
	told := wdWait(t, w, d, channelID, "Server gone:")
	// Noticed by the first sweep that read ECS after the crash: at most one
	// sweep (one ListTasks) began between the crash and the notice.
	sweeps := 0
	for _, c := range w.aws.Calls("ListTasks") {
		if c.At.After(crashed) && c.At.Before(told.CreatedAt) {
			sweeps++
		}
	}
	if sweeps > 1 {
		t.Errorf("crash noticed after %d sweeps, want the first sweep after it", sweeps)
	}
	for _, want := range []string{reason, "exit code 137"} {
		if !strings.Contains(told.Text(), want) {
			t.Errorf("owner not told %q: %q", want, told.Text())
		}
	}
	if !told.Mentioned(u.ID) {
		t.Errorf("the owner is not pinged: %q", told.Text())
	}
	wdAssertGone(t, w, d, arn, channelID)
	if !w.said(logChannel, reason, "137", spawner.ShortTaskID(arn), "<@"+u.ID+">") {
		t.Errorf("log channel not told of the crash: %q", w.messagesIn(logChannel))
	}
	if n := len(wdFind(w, channelID, "Server gone:")); n != 1 {
		t.Errorf("owner told %d times", n)
	}
}

// ECS failing during a sweep (a whole ListTasks failing after the SDK's
// retries, a throttled DescribeTasks) concludes nothing: no server stopped,
// no false "task ended", and the sweeps go on.
func TestWatchdogSweepSurvivesECSFaults(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)

	failed := func(op string) int {
		n := 0
		for _, c := range w.aws.Calls(op) {
			if c.Error != "" {
				n++
			}
		}
		return n
	}
	okAfter := func(op string, n int) bool {
		calls := w.aws.Calls(op)
		return len(calls) > n && calls[len(calls)-1].Error == ""
	}

	// intact fails the test unless the server is exactly as before the faults.
	intact := func(after string) {
		t.Helper()
		if got := wdTask(t, w, arn); got.DesiredStatus != "RUNNING" || got.LastStatus != "RUNNING" {
			t.Fatalf("after %s: task %s/%s, want it running", after, got.LastStatus, got.DesiredStatus)
		}
		if n := len(w.aws.Calls("StopTask")); n != 0 {
			t.Fatalf("after %s: %d StopTask calls", after, n)
		}
		if recs := w.table(t); len(recs) != 1 || recs[0].TaskID != arn {
			t.Fatalf("after %s: records = %+v", after, recs)
		}
		for _, ch := range []string{channelID, logChannel} {
			for _, m := range w.messagesIn(ch) {
				if strings.Contains(m, "⏹️") || strings.Contains(m, "❌") {
					t.Fatalf("after %s: told of an end in %s: %q", after, ch, m)
				}
			}
		}
		if c, _ := w.discord.Channel(channelID); c.Deleted {
			t.Fatalf("after %s: ticket channel deleted", after)
		}
	}

	// Every attempt of one sweep's ListTasks fails: ECS cannot be read.
	w.aws.FailNext("ListTasks", 3, fakeaws.ServerError)
	w.waitFor(t, "three failed ListTasks calls and a good one after them", func() bool {
		return failed("ListTasks") == 3 && okAfter("ListTasks", 3)
	}, d)
	intact("a sweep whose ListTasks failed")
	// One throttled DescribeTasks, retried by the SDK.
	described := len(w.aws.Calls("DescribeTasks"))
	w.aws.FailNext("DescribeTasks", 1, fakeaws.Throttle)
	w.waitFor(t, "a throttled DescribeTasks and a good one after it", func() bool {
		return failed("DescribeTasks") == 1 && okAfter("DescribeTasks", described+1)
	}, d)
	// And a few sweeps more.
	listed := len(w.aws.Calls("ListTasks"))
	w.waitFor(t, "two more sweeps", func() bool { return len(w.aws.Calls("ListTasks")) >= listed+2 }, d)
	intact("a throttled DescribeTasks and two more sweeps")

	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !strings.Contains(list.Text(), "<#"+channelID+">") {
		t.Errorf("list after ECS faults = %q", list.Text())
	}
}

// DynamoDB unreachable while a member stops a server: the task is stopped
// at once, the record is kept (the server is not lost), and the stop is
// retried until the record is deleted once DynamoDB is back.
func TestWatchdogStopRetriedWhileDynamoDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	taskID := spawner.ShortTaskID(arn)

	w.db.Down()
	stop := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": taskID})
	if r := stop.WaitResponse(t, waitLong); !r.Ephemeral() || r.Late {
		t.Fatalf("stop must be answered privately within the deadline: %+v", r)
	}
	answer := stop.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return m.Text() != "" })
	if !strings.Contains(answer.Text(), "could not be stopped right now") {
		t.Errorf("stop answer while DynamoDB is down = %q", answer.Text())
	}
	if got := wdTask(t, w, arn); got.DesiredStatus != "STOPPED" {
		t.Errorf("task desired status = %s, want it stopped even though the table is down", got.DesiredStatus)
	}
	if recs := w.table(t); len(recs) != 1 || recs[0].TaskID != arn {
		t.Errorf("records while DynamoDB is down = %+v, want the record kept", recs)
	}
	w.waitFor(t, "the log channel to say the stop is retried", func() bool {
		return w.said(logChannel, "Impossible d'arrêter la tâche `"+taskID+"`")
	}, d)

	w.db.Up()
	w.waitFor(t, "the record to be deleted once DynamoDB is back", func() bool { return len(w.table(t)) == 0 }, d)
	wdWait(t, w, d, channelID, "Server stopped by <@"+u.ID+">")
	wdAssertGone(t, w, d, arn, channelID)
	w.waitFor(t, "the log channel to say who stopped it", func() bool {
		return w.said(logChannel, "arrêté par <@"+u.ID+">", taskID)
	}, d)
	if n := len(wdFind(w, logChannel, "Impossible d'arrêter")); n != 1 {
		t.Errorf("log channel told %d times that the stop is retried, want once", n)
	}
	if n := len(wdFind(w, channelID, "Server stopped by")); n != 1 {
		t.Errorf("owner told %d times of the stop", n)
	}
	if len(w.running()) != 0 || len(w.tickets()) != 0 {
		t.Errorf("left behind: tasks %+v, tickets %+v", w.running(), w.tickets())
	}
}

// A Discord 500 on the ready message and on a warning loses neither the
// server nor its watchdog nor the messages: it is recorded ready, listed,
// warned again, the failed messages are retried, and it is stopped cleanly.
func TestWatchdogSurvivesDiscordErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{aws: fakeaws.Options{HoldIn: "PENDING"}})
	w.players.Store(1)
	d := w.start(t)
	u := member(1)

	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID := between(edit.Text(), "<#", ">")
	w.waitFor(t, "the task to be pending", func() bool {
		ts := w.aws.Tasks()
		return len(ts) == 1 && ts[0].LastStatus == "PENDING"
	}, d)
	if n := len(w.discord.Messages(channelID)); n != 1 {
		t.Fatalf("want only the status message in the ticket before the ready one, got %q", w.messagesIn(channelID))
	}
	// The next two messages of the ticket: the ready message and warning 1/2.
	w.discord.FailNext(http.MethodPost, "/channels/"+channelID+"/messages", 2, http.StatusInternalServerError)
	w.aws.SetHoldIn("")

	status := w.discord.Messages(channelID)[0].ID
	w.waitFor(t, "the status message to say ready", func() bool {
		m, _ := w.discord.Message(status)
		return strings.Contains(m.Text(), "✅ ready")
	}, d)
	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !strings.Contains(list.Text(), "<#"+channelID+">") {
		t.Errorf("the server is not listed after its ready message failed: %q", list.Text())
	}
	warn := wdWait(t, w, d, channelID, "warning **2/2**")
	wdWait(t, w, d, channelID, "Server stopped: too few players after the last warning.")

	injected := 0
	for _, r := range w.discord.Requests() {
		if r.Injected && r.Method == http.MethodPost && r.Path == "/channels/"+channelID+"/messages" {
			injected++
		}
	}
	if injected != 2 {
		t.Errorf("%d posts in the ticket failed, want 2 (the ready message and warning 1/2)", injected)
	}
	// Messages the owner must read are retried until they go through.
	if len(wdFind(w, channelID, "your server is ready")) != 1 || len(wdFind(w, channelID, "warning **1/2**")) != 1 {
		t.Errorf("want the failed ready message and warning 1/2 delivered once each by a retry: %q", w.messagesIn(channelID))
	}
	if !warn.Mentioned(u.ID) {
		t.Errorf("warning does not ping the owner")
	}
	arn := w.aws.Tasks()[0].ARN
	wdAssertGone(t, w, d, arn, channelID)
	if !w.said(logChannel, "arrêté : trop peu de joueurs", spawner.ShortTaskID(arn)) {
		t.Errorf("log channel not told: %q", w.messagesIn(logChannel))
	}
}
