package main

// What a hostile game server, a second community on the same cluster, a
// busy or careless admin, and Discord's own limits do to the bot, through
// the real daemon, as a member or an admin sees it.

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// hdRunning fails tb when the daemon's run has returned: a panic anywhere
// in it would have ended the test binary, an error would be here.
func hdRunning(tb testing.TB, d *daemonHandle, when string) {
	tb.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		tb.Fatalf("%s: the daemon returned %v\n%s", when, err, d.logs.String())
	default:
	}
}

// hdCount counts the lines of s that contain every part.
func hdCount(s string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// hdCreating runs /server create for u and waits for the answer naming
// its ticket channel; it returns the interaction and the channel.
func hdCreating(tb testing.TB, w *world, u fakediscord.User) (*fakediscord.Interaction, string) {
	tb.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	if r := ix.WaitResponse(tb, waitLong); !r.Ephemeral() {
		tb.Fatalf("create answer is not ephemeral: %+v", r)
	}
	edit := ix.WaitEdit(tb, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	return ix, between(edit.Text(), "<#", ">")
}

// hdStop runs /server stop on value for u and returns the final answer.
func hdStop(tb testing.TB, w *world, u fakediscord.User, value string) string {
	tb.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": value})
	if r := ix.WaitResponse(tb, waitLong); !r.Ephemeral() {
		tb.Fatalf("stop answer is not ephemeral: %+v", r)
	}
	return ix.WaitEdit(tb, waitLong, nil).Text()
}

// hdLastEdit waits until the latest version of ix's answer holds cond.
func hdLastEdit(tb testing.TB, w *world, d *daemonHandle, ix *fakediscord.Interaction, what string, cond func(string) bool) string {
	tb.Helper()
	var last string
	w.waitFor(tb, what, func() bool {
		edits := ix.Edits()
		if len(edits) == 0 {
			return false
		}
		last = edits[len(edits)-1].Text()
		return cond(last)
	}, d)
	return last
}

// Item 1: a game server answering Server List Ping with a string of
// negative length is a server that does not answer: warnings in its
// ticket, and neither this daemon nor the next one on the same table
// goes down.
func TestHardeningHostilePingAnswer(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT": "50"}})
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	game := w.mc.Get(wdTask(t, w, arn).PublicIP)
	game.SetNegativeLength(true)

	noAnswer := "the server did not answer the player count check"
	wdWait(t, w, d, channelID, "<@"+u.ID+">", "warning **1/50**", noAnswer)
	wdWait(t, w, d, channelID, "warning **2/50**", noAnswer)
	hdRunning(t, d, "after two hostile answers")
	if err := d.stop(t); err != nil {
		t.Fatalf("the daemon ended with %v after hostile answers", err)
	}

	// The next daemon resumes the server from the table and pings it again.
	before := len(wdWarnings(w, channelID))
	d2 := w.start(t)
	w.waitFor(t, "a warning from the restarted daemon", func() bool { return len(wdWarnings(w, channelID)) >= before+2 }, d2)
	hdRunning(t, d2, "after the restart")
	if got := wdTask(t, w, arn); got.DesiredStatus != "RUNNING" {
		t.Errorf("the server was stopped (%s) before its warnings ran out", got.DesiredStatus)
	}
	for _, m := range wdFind(w, channelID, "warning **") {
		if !strings.Contains(m.Text(), noAnswer) {
			t.Errorf("a warning does not say the server did not answer: %q", m.Text())
		}
	}
	if strings.Contains(d.logs.String()+d2.logs.String(), "panic") {
		t.Errorf("a daemon logged a panic:\n%s\n%s", d.logs.String(), d2.logs.String())
	}
}

// Item 4: two deployments on one cluster, each with its own guild and
// table, never stop each other's servers, across sweeps and restarts.
func TestHardeningTwoDeploymentsOneCluster(t *testing.T) {
	t.Parallel()
	a := newWorld(t, worldOptions{env: map[string]string{"SPAWNER_DEPLOYMENT": "community-a"}})
	b := newWorld(t, worldOptions{onAWSOf: a, env: map[string]string{"SPAWNER_DEPLOYMENT": "community-b"}})
	da, db := a.start(t), b.start(t)
	ua, ub := member(1), member(2)
	chA, arnA := createReady(t, a, da, ua, nil)
	chB, arnB := createReady(t, b, db, ub, nil)
	for arn, want := range map[string]string{arnA: "community-a", arnB: "community-b"} {
		if got := wdTask(t, a, arn); got.StartedBy != spawner.StartedBy || got.Tags[spawner.TagDeployment] != want {
			t.Errorf("task %s startedBy=%q tags=%v, want startedBy %q and %s=%s", got.ID, got.StartedBy, got.Tags, spawner.StartedBy, spawner.TagDeployment, want)
		}
	}

	// sweeps waits until each daemon has pinged its own server three more
	// times: two whole sweeps, each of which looks for orphans.
	gameA, gameB := a.mc.Get(wdTask(t, a, arnA).PublicIP), a.mc.Get(wdTask(t, a, arnB).PublicIP)
	sweeps := func(d1, d2 *daemonHandle) {
		t.Helper()
		pa, pb := gameA.Pings(), gameB.Pings()
		a.waitFor(t, "three sweeps of each daemon", func() bool { return gameA.Pings() >= pa+3 && gameB.Pings() >= pb+3 }, d1)
		hdRunning(t, d1, "after sweeps")
		hdRunning(t, d2, "after sweeps")
	}
	bothRunning := func(when string) {
		t.Helper()
		for _, arn := range []string{arnA, arnB} {
			if got := wdTask(t, a, arn); got.DesiredStatus != "RUNNING" || got.LastStatus != "RUNNING" {
				t.Errorf("%s: task %s is %s/%s (%s)", when, got.ID, got.LastStatus, got.DesiredStatus, got.StoppedReason)
			}
		}
		if n := len(a.aws.Calls("StopTask")); n != 0 {
			t.Errorf("%s: %d StopTask calls", when, n)
		}
		if len(a.table(t)) != 1 || len(b.table(t)) != 1 {
			t.Errorf("%s: tables hold %d and %d records, want 1 each", when, len(a.table(t)), len(b.table(t)))
		}
		for _, w := range []*world{a, b} {
			for _, m := range w.messagesIn(logChannel) {
				if strings.Contains(m, "absente de la table") || strings.Contains(m, "disparu") {
					t.Errorf("%s: the log channel says %q", when, m)
				}
			}
		}
	}
	sweeps(da, db)
	bothRunning("after sweeps")

	// Restarts: recovery stops an owned task with no record at once, with
	// no grace, so a task of the other deployment would go here.
	if err := db.stop(t); err != nil {
		t.Fatalf("b's daemon returned %v", err)
	}
	db = b.start(t)
	sweeps(da, db)
	if err := da.stop(t); err != nil {
		t.Fatalf("a's daemon returned %v", err)
	}
	da = a.start(t)
	sweeps(da, db)
	bothRunning("after both restarted")
	if !a.said(chA, "your server is ready") || !b.said(chB, "your server is ready") {
		t.Errorf("a ticket lost its ready message")
	}
	for _, c := range []struct {
		w  *world
		ch string
	}{{a, chA}, {b, chB}} {
		for _, m := range c.w.messagesIn(c.ch) {
			if strings.Contains(m, "stopped on its own") || strings.Contains(m, "Server gone") {
				t.Errorf("a ticket says %q", m)
			}
		}
	}
}

// Item 5: at start, only the bot's own stale tickets go, recognised by
// the exact marker; a channel people made under the category stays, even
// when its topic mentions spawner.
func TestHardeningHumanChannelsSurviveRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	human := map[string]string{
		"spawner-help":  "Ask here about the spawner bot · spawner: how to create a server",
		"spawner-talk":  "Minecraft · official · spawner:notahexid",
		"spawner-near":  "spawner:dddddddddddddddddddddddddddddddd",
		"spawner-upper": "Minecraft · official · spawner:DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD",
	}
	ids := map[string]string{}
	for name, topic := range human {
		ids[name] = rsChannel(t, w, name, topic)
	}
	stale := rsChannel(t, w, "minecraft-stale", "Minecraft · official · spawner:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")

	d := w.start(t)
	rsWaitDeleted(t, w, d, stale)
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon returned %v", err)
	}
	d = w.start(t)
	createReady(t, w, d, member(1), nil) // the start is over: recovery ran before commands are served
	for name, id := range ids {
		if c, _ := w.discord.Channel(id); c.Deleted {
			t.Errorf("the members' channel %q (topic %q) was deleted", name, human[name])
		}
	}
	if n := w.discord.Count("DELETE /channels/{channel}"); n != 1 {
		t.Errorf("%d channel deletions, want 1 (the stale ticket)", n)
	}
}

// hdFillCategory makes n channels under the ticket category, as people
// would, and returns their ids.
func hdFillCategory(tb testing.TB, w *world, n int) []string {
	tb.Helper()
	var ids []string
	for i := range n {
		ids = append(ids, rsChannel(tb, w, fmt.Sprintf("room-%02d", i), ""))
	}
	return ids
}

// Item 6: a full category is a clear refusal with nothing started; a
// lingering ticket of an ended server gives its slot up first.
func TestHardeningCategoryFull(t *testing.T) {
	t.Parallel()
	t.Run("full", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		d := w.start(t)
		hdFillCategory(t, w, 50)
		before := refusalSnapshot(t, w)
		u := member(1)
		ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
		if r := ix.WaitResponse(t, waitLong); !r.Ephemeral() || r.Late {
			t.Fatalf("answer not ephemeral or late: %+v", r)
		}
		got := hdLastEdit(t, w, d, ix, "the refusal", func(s string) bool { return strings.Contains(s, "category is full") })
		if want := "The ticket category is full: no channel can be made for a new server. Nothing was started; try again when a server has ended."; got != want {
			t.Errorf("answer = %q\nwant     %q", got, want)
		}
		after := refusalSnapshot(t, w)
		if after.tasks != before.tasks || after.runTasks != before.runTasks || after.records != 0 || after.channels != 50 {
			t.Errorf("a refused creation left traces: before %+v, after %+v", before, after)
		}
		// Nothing of the refused creation holds its owner back.
		list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
		if !strings.Contains(list.Text(), "You have no server running") {
			t.Errorf("the refused creation counts for its member: %q", list.Text())
		}
	})
	t.Run("a lingering ticket gives its slot up", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{env: map[string]string{"DISCORD_TICKET_CLOSE_DELAY": "10m"}})
		d := w.start(t)
		rooms := hdFillCategory(t, w, 49)
		first := member(1)
		oldCh, oldARN := createReady(t, w, d, first, nil)
		if got := hdStop(t, w, first, wdTask(t, w, oldARN).ID); !strings.Contains(got, "stopped") {
			t.Fatalf("stop answer = %q", got)
		}
		if c, _ := w.discord.Channel(oldCh); c.Deleted {
			t.Fatalf("the ticket did not linger")
		}
		second := member(2)
		newCh, _ := createReady(t, w, d, second, nil)
		if c, _ := w.discord.Channel(oldCh); !c.Deleted {
			t.Errorf("the lingering ticket kept its slot")
		}
		if len(w.tickets()) != 50 {
			t.Errorf("%d channels under the category, want 50", len(w.tickets()))
		}
		for _, id := range append(rooms, newCh) {
			if c, _ := w.discord.Channel(id); c.Deleted {
				t.Errorf("channel %s (%s) was deleted", id, c.Name)
			}
		}
	})
}

// Item 7: a member's second creation right after a stop is refused, with
// the time they may try again as a Discord timestamp; an admin is exempt.
func TestHardeningCreateCooldown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"GAMESERVER_CREATE_COOLDOWN": "1h"}})
	d := w.start(t)
	u, adm := member(1), admin(1)

	asked := time.Now()
	_, arn := createReady(t, w, d, u, nil)
	hdStop(t, w, u, wdTask(t, w, arn).ID)
	before := refusalSnapshot(t, w)
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	r := ix.WaitResponse(t, waitLong)
	answered := time.Now()
	const prefix = "You created a server a moment ago. You can create another <t:"
	if !r.Ephemeral() || !strings.HasPrefix(r.Text(), prefix) || !strings.HasSuffix(r.Text(), ":R>.") {
		t.Fatalf("second creation answer = %q (ephemeral %v), want a refusal with a relative timestamp", r.Text(), r.Ephemeral())
	}
	at, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.Text(), prefix), ":R>."), 10, 64)
	if err != nil {
		t.Fatalf("timestamp of %q: %v", r.Text(), err)
	}
	if from, to := asked.Add(time.Hour).Unix()-1, answered.Add(time.Hour).Unix()+1; at < from || at > to {
		t.Errorf("may create again at %d, want an hour after the creation, in [%d, %d]", at, from, to)
	}

	// The admin creates, stops and creates again; the member's refusal
	// started nothing.
	_, arn = createReady(t, w, d, adm, nil)
	hdStop(t, w, adm, wdTask(t, w, arn).ID)
	createReady(t, w, d, adm, nil)
	after := refusalSnapshot(t, w)
	if after.runTasks != before.runTasks+2 || after.posts != before.posts+2 || after.records != 1 {
		t.Errorf("the refusal started something: before %+v, after the admin's two creations %+v", before, after)
	}
}

// Item 8: a 5,000-character option still gets an answer, cut to fit.
func TestHardeningLongOptionAnswered(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.start(t)
	long := strings.Repeat("é", 5000)
	for _, c := range []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"game": long}, "There is no game called"},
		{map[string]any{"variant": long}, "There is no variant called"},
	} {
		r := w.discord.Command(member(1), "en-US", []string{"server", "create"}, c.opts).WaitResponse(t, waitLong)
		if !r.Ephemeral() || r.Late || !strings.HasPrefix(r.Text(), c.want) {
			t.Errorf("answer = %q (ephemeral %v, late %v), want an ephemeral %q…", r.Text(), r.Ephemeral(), r.Late, c.want)
		}
		if n := len([]rune(r.Text())); n > 2000 {
			t.Errorf("answer of %d characters", n)
		}
	}
	if rejected := w.discord.Unexpected(); len(rejected) != 0 {
		t.Errorf("Discord rejected: %v", rejected)
	}
}

// Item 9: the AWS secret key pasted into another variable is printed
// neither by check nor by run.
func TestHardeningSecretInOtherVariable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	env := map[string]string{"AWS_ECS_CLUSTER_NAME": fakeaws.SecretAccessKey}
	report := checkRunEnv(t, w, env)
	if report.err == nil {
		t.Errorf("check passed with the secret key as the cluster name:\n%s", report.out)
	}
	if strings.Contains(report.out, fakeaws.SecretAccessKey) {
		t.Errorf("check printed the secret key:\n%s", report.out)
	}
	if want := "PROBLEM  AWS_ECS_CLUSTER_NAME: holds the value of AWS_SECRET_ACCESS_KEY"; !strings.Contains(report.out, want) || strings.Contains(report.out, "ok ") {
		t.Errorf("check report, want %q and nothing said ok:\n%s", want, report.out)
	}
	stderr, cancel, done := startRun(t, w, env)
	err := runResult(t, done, stderr)
	cancel()
	if err == nil {
		t.Errorf("run returned nil with the secret key as the cluster name")
	}
	if strings.Contains(stderr.String(), fakeaws.SecretAccessKey) || strings.Contains(fmt.Sprint(err), fakeaws.SecretAccessKey) {
		t.Errorf("run printed the secret key: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "AWS_ECS_CLUSTER_NAME") {
		t.Errorf("run does not name the variable to fix:\n%s", stderr.String())
	}
}

// Items 10 and 11: a task that AWS gives no public address fails with that
// reason, its status shows it got to running, and the log warns once.
func TestHardeningNoPublicAddress(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{aws: fakeaws.Options{NoPublicIPs: true}})
	d := w.start(t)
	u := member(1)
	ix, channelID := hdCreating(t, w, u)
	reason := "running, but AWS gave it no public address: check the subnets' public IP setting or ECS_ASSIGN_PUBLIC_IP"
	got := hdLastEdit(t, w, d, ix, "the failure in the member's answer", func(s string) bool { return !strings.Contains(s, "<#") })
	if want := "Your server could not be created: " + reason + ". Nothing is left running; you can try again."; got != want {
		t.Errorf("member's answer = %q\nwant %q", got, want)
	}
	wdWait(t, w, d, channelID, "✅ running\n▫️ booting")
	wdWait(t, w, d, channelID, "<@"+u.ID+">", reason)
	if len(w.running()) != 0 || len(w.table(t)) != 0 {
		t.Errorf("left behind: tasks %+v, records %+v", w.running(), w.table(t))
	}
	if n := hdCount(d.logs.String(), "WARN", "public address"); n != 1 {
		t.Errorf("%d warnings about the public address, want 1:\n%s", n, d.logs.String())
	}
}

// Item 12: a 403 (50013) on the ready message: the owner still gets it once
// the permission is back, and the log names the missing permission once.
func TestHardeningReadyMessageForbidden(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.silent.Store(true)
	d := w.start(t)
	u := member(1)
	_, channelID := hdCreating(t, w, u)
	var game interface{ SetSilent(bool) }
	w.waitFor(t, "the game server of the task", func() bool {
		for _, task := range w.running() {
			if s := w.mc.Get(task.PublicIP); s != nil {
				game = s
				return true
			}
		}
		return false
	}, d)
	wdWait(t, w, d, channelID, "⏳ booting")
	w.discord.FailNext("POST", "/channels/"+channelID+"/messages", 3, http.StatusForbidden)
	game.SetSilent(false)
	wdWait(t, w, d, channelID, "<@"+u.ID+">", "your server is ready")
	var ready fakediscord.Message
	for _, m := range w.discord.Messages(channelID) {
		if strings.Contains(m.Text(), "your server is ready") {
			ready = m
		}
	}
	if !ready.Mentioned(u.ID) {
		t.Errorf("the ready message does not ping its owner: %+v", ready)
	}
	if n := len(wdFind(w, channelID, "your server is ready")); n != 1 {
		t.Errorf("%d ready messages, want 1", n)
	}
	if n := hdCount(d.logs.String(), "missing Discord permission"); n != 1 {
		t.Errorf("%d log lines name the missing permission, want 1:\n%s", n, d.logs.String())
	}
	if n := hdCount(d.logs.String(), "missing Discord permission", "Send Messages"); n != 1 {
		t.Errorf("the log line does not name Send Messages:\n%s", d.logs.String())
	}
}

// Item 13: DISCORD_USER_ROLE_ID set to the guild's id is @everyone: a
// member with no role at all may create.
func TestHardeningEveryoneRole(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"DISCORD_USER_ROLE_ID": guildID}})
	report := checkRunEnv(t, w, nil)
	if report.err != nil || !strings.Contains(report.out, "the @everyone role: every member may ask for servers") {
		t.Errorf("check = %v, want it ok and saying @everyone:\n%s", report.err, report.out)
	}
	d := w.start(t)
	createReady(t, w, d, fakediscord.User{ID: "1600000000000000001"}, nil)
}

// Item 15: a SIGTERM while the daemon waits out a Discord 429 of 30 s ends
// run at once: it returns because of the cancel, well inside the window
// the fake gave.
func TestHardeningShutdownDuringRateLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	const window = 30 * time.Second
	w.discord.RateLimitNext("POST", "/guilds/{guild}/channels", 1, window)
	w.discord.Command(member(1), "en-US", []string{"server", "create"}, nil)
	var limited fakediscord.Request
	w.waitFor(t, "the 429 on the ticket channel", func() bool {
		for _, r := range w.discord.Requests() {
			if r.Status == http.StatusTooManyRequests {
				limited = r
				return true
			}
		}
		return false
	}, d)
	hdRunning(t, d, "while rate limited")
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("run returned %v after its context was cancelled, want nil", err)
		}
	case <-time.After(window):
		t.Fatalf("run did not return within the 429's window after its context was cancelled")
	}
	if returned := time.Now(); !returned.Before(limited.At.Add(window)) {
		t.Errorf("run returned at %s, after the 429 window that began at %s ended", returned, limited.At)
	}
	d.once.Do(func() {}) // already stopped
	if n := w.discord.Count("POST /guilds/{guild}/channels"); n != 1 {
		t.Errorf("%d ticket channel requests, want the rate-limited one only", n)
	}
}

// The small items: a stop during creation leaves no link to the deleted
// ticket in the member's answer, the stop answer names the server by its
// game rather than by "requested"; a missing token file is one problem.
func TestHardeningSmallItems(t *testing.T) {
	t.Parallel()
	t.Run("stop during creation", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{aws: fakeaws.Options{HoldIn: "PROVISIONING"}})
		d := w.start(t)
		u := member(1)
		ix, channelID := hdCreating(t, w, u)
		ac := w.discord.Autocomplete(u, "en-US", []string{"server", "stop"}, nil, "server").WaitResponse(t, waitLong)
		if len(ac.Choices) != 1 {
			t.Fatalf("autocomplete = %+v, want the creation", ac.Choices)
		}
		got := hdStop(t, w, u, fmt.Sprint(ac.Choices[0].Value))
		if want := "Server minecraft (official) stopped."; got != want {
			t.Errorf("stop answer = %q, want %q", got, want)
		}
		rsWaitDeleted(t, w, d, channelID)
		last := hdLastEdit(t, w, d, ix, "the member's answer to change", func(s string) bool { return !strings.Contains(s, "Follow it in") })
		if want := "The creation of your server was stopped. Nothing is left running; you can create another."; last != want || strings.Contains(last, channelID) {
			t.Errorf("member's answer = %q, want %q", last, want)
		}
	})
	t.Run("missing token file", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, worldOptions{})
		report := checkRunEnv(t, w, map[string]string{"DISCORD_TOKEN_FILE": "/nonexistent/discord_token"})
		var token []string
		for _, p := range report.problems() {
			if strings.HasPrefix(p, "DISCORD_TOKEN") {
				token = append(token, p)
			}
		}
		if len(token) != 1 || !strings.Contains(token[0], "/nonexistent/discord_token") {
			t.Errorf("token problems = %q, want one naming the file\n%s", token, report.out)
		}
	})
}
