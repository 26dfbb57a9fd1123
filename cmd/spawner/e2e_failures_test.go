package main

// End-to-end tests of creations that fail (interface.md, "Lifecycle a user
// sees", step 8), of faults the daemon rides out, and of a gateway
// connection lost and resumed.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// failureCreate runs /server create for u and returns its interaction once
// answered (deferred, ephemeral, in time).
func failureCreate(tb testing.TB, w *world, u fakediscord.User, locale string) *fakediscord.Interaction {
	tb.Helper()
	ix := w.discord.Command(u, locale, []string{"server", "create"}, nil)
	if r := ix.WaitResponse(tb, waitLong); r.Type != fakediscord.ResponseDeferredChannelMessage || !r.Ephemeral() || r.Late {
		tb.Fatalf("create must be deferred privately within the deadline: %+v", r)
	}
	return ix
}

// failureWant is what a failed creation must have told.
type failureWant struct {
	answer  string   // the member's ephemeral answer, in full
	log     []string // parts of one log channel message
	ticket  string   // part of the last ticket message; "" when no channel was made
	started bool     // a task was started (and must now be stopped)
}

// failureOutcome checks how a failed creation ended: the member told in the
// ephemeral answer (and the ticket channel, which is deleted after the close
// delay), the log channel told, no task running, no record; then u creates
// again at once. It returns the failed creation's ticket channel, if any.
func failureOutcome(t *testing.T, w *world, d *daemonHandle, ix *fakediscord.Interaction, u fakediscord.User, want failureWant) string {
	t.Helper()
	final := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return m.Text() == want.answer })
	if !final.Ephemeral() {
		t.Errorf("the failure was told publicly")
	}
	// What the member saw before: the link to the ticket channel, if one was made.
	var channelID string
	for _, e := range ix.Edits() {
		if strings.Contains(e.Text(), "<#") {
			channelID = between(e.Text(), "<#", ">")
		}
	}

	// The member is told last: by then everything is cleaned up.
	if r := w.running(); len(r) != 0 {
		t.Errorf("tasks still running after the failure was told: %s", w.taskSummary())
	}
	if recs := w.table(t); len(recs) != 0 {
		t.Errorf("records left after the failure was told: %+v", recs)
	}
	if want.started && len(w.aws.Tasks()) == 0 {
		t.Errorf("no task was ever started")
	}
	if !want.started && len(w.aws.Tasks()) != 0 {
		t.Errorf("a task was started: %s", w.taskSummary())
	}
	w.waitFor(t, "the log channel to tell the failure "+strings.Join(want.log, " … "), func() bool { return w.said(logChannel, want.log...) }, d)

	if want.ticket == "" {
		if channelID != "" || len(w.discord.ChannelsUnder(categoryID)) != 0 {
			t.Errorf("a ticket channel was made: %+v", w.discord.ChannelsUnder(categoryID))
		}
	} else {
		if channelID == "" {
			t.Fatalf("the member was never given the ticket channel: %+v", ix.Edits())
		}
		msgs := w.discord.Messages(channelID)
		last := msgs[len(msgs)-1]
		if !strings.Contains(last.Text(), want.ticket) || !last.Mentioned(u.ID) {
			t.Errorf("last ticket message = %q (mentions %v), want %q told to the owner", last.Text(), last.Mentions, want.ticket)
		}
		if !strings.Contains(msgs[0].Text(), "⏹️") {
			t.Errorf("status message not marked stopped: %q", msgs[0].Text())
		}
		w.waitFor(t, "the ticket channel to be deleted", func() bool { c, _ := w.discord.Channel(channelID); return c.Deleted }, d)
		ch, _ := w.discord.Channel(channelID)
		delay, _ := time.ParseDuration(w.env["DISCORD_TICKET_CLOSE_DELAY"])
		if kept := ch.DeletedAt.Sub(last.CreatedAt); kept < delay {
			t.Errorf("ticket channel deleted %s after the failure was told, before DISCORD_TICKET_CLOSE_DELAY %s", kept, delay)
		}
	}
	if len(w.tickets()) != 0 {
		t.Errorf("ticket channels left: %+v", w.tickets())
	}

	// Free to create again, right away.
	createReady(t, w, d, u, nil)
	if n := len(w.running()); n != 1 {
		t.Errorf("tasks running after the new creation = %d, want 1: %s", n, w.taskSummary())
	}
	return channelID
}

func TestFailureRunTaskRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	u := member(1)
	w.aws.RunFailures(1, "RESOURCE:MEMORY")
	ix := failureCreate(t, w, u, "fr")
	failureOutcome(t, w, d, ix, u, failureWant{
		answer: "Ton serveur n'a pas pu être créé : il n'a pas pu être lancé (RESOURCE:MEMORY). Rien n'est resté lancé ; tu peux réessayer.",
		log:    []string{"❌ Échec de la création pour <@" + u.ID + "> : il n'a pas pu être lancé (RESOURCE:MEMORY)"},
		ticket: "Le serveur n'a pas pu être créé : il n'a pas pu être lancé (RESOURCE:MEMORY)",
	})
}

func TestFailureTaskStopsBeforeRunning(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	u := member(1)
	w.aws.FailToStart(1, "CannotPullContainerError: pull access denied")
	ix := failureCreate(t, w, u, "en-US")
	why := "the server stopped on its own (CannotPullContainerError: pull access denied)"
	failureOutcome(t, w, d, ix, u, failureWant{
		answer:  "Your server could not be created: " + why + ". Nothing is left running; you can try again.",
		log:     []string{"❌ Échec de la création pour <@" + u.ID + "> : le serveur s'est arrêté tout seul (CannotPullContainerError: pull access denied)"},
		ticket:  "The server could not be created: " + why,
		started: true,
	})
	got := w.aws.Tasks()[0]
	if got.StopCode != "TaskFailedToStart" || !got.StartedAt.IsZero() {
		t.Errorf("first task: stopCode %q startedAt %v", got.StopCode, got.StartedAt)
	}
	if !w.said(logChannel, "❌ Échec de la création", "tâche `"+got.ID+"`") {
		t.Errorf("log channel does not name the failed task %s: %q", got.ID, w.messagesIn(logChannel))
	}
}

func TestFailureNeverRunning(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"GAMESERVER_READY_TIMEOUT": "1s"}})
	d := w.start(t)
	u := member(1)
	w.aws.HoldNext(1, "PENDING")
	start := time.Now()
	ix := failureCreate(t, w, u, "en-US")
	why := "it did not start within 1 s"
	whyFr := "il n'a pas démarré en 1 s"
	final := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "could not be created") })
	if took := final.EditedAt.Sub(start); took < time.Second {
		t.Errorf("failure told %s after the command, before GAMESERVER_READY_TIMEOUT (1s) ran out", took)
	}
	channelID := failureOutcome(t, w, d, ix, u, failureWant{
		answer:  "Your server could not be created: " + why + ". Nothing is left running; you can try again.",
		log:     []string{"❌ Échec de la création pour <@" + u.ID + "> : " + whyFr},
		ticket:  "The server could not be created: " + why,
		started: true,
	})
	if got := w.aws.Tasks()[0]; got.DesiredStatus != "STOPPED" || !got.StartedAt.IsZero() {
		t.Errorf("held task: desired %s startedAt %v", got.DesiredStatus, got.StartedAt)
	}
	// The status message must not tell the member the server ran.
	if status := w.discord.Messages(channelID)[0].Text(); !strings.Contains(status, "✅ provisioning") || strings.Contains(status, "✅ running") || strings.Contains(status, "✅ ready") {
		t.Errorf("status message of a server that never ran claims it did:\n%s", status)
	}
}

func TestFailureGameNeverAnswers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"GAMESERVER_READY_TIMEOUT": "1s"}})
	d := w.start(t)
	u := member(1)
	w.silent.Store(true)
	start := time.Now()
	ix := failureCreate(t, w, u, "en-US")
	why := "the game did not answer within 1 s of starting"
	whyFr := "le jeu n'a pas répondu dans les 1 s après le démarrage"
	final := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "could not be created") })
	if took := final.EditedAt.Sub(start); took < time.Second {
		t.Errorf("failure told %s after the command, before GAMESERVER_READY_TIMEOUT (1s) ran out", took)
	}
	w.silent.Store(false)
	channelID := failureOutcome(t, w, d, ix, u, failureWant{
		answer:  "Your server could not be created: " + why + ". Nothing is left running; you can try again.",
		log:     []string{"❌ Échec de la création pour <@" + u.ID + "> : " + whyFr},
		ticket:  "The server could not be created: " + why,
		started: true,
	})
	if got := w.aws.Tasks()[0]; got.StartedAt.IsZero() {
		t.Errorf("the silent server's task never ran")
	}
	// The status message shows how far it got: running, never ready.
	if status := w.discord.Messages(channelID)[0].Text(); !strings.Contains(status, "✅ booting") || !strings.Contains(status, "▫️ ready") {
		t.Errorf("status message of a server that ran but never answered:\n%s", status)
	}
}

func TestFailureTicketChannel(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	u := member(1)
	// A 403 is not retried (a 5xx is: TestTransientDiscordErrorsRiddenOut).
	w.discord.FailNext("POST", "/guilds/{guild}/channels", 1, http.StatusForbidden)
	ix := failureCreate(t, w, u, "en-US")
	failureOutcome(t, w, d, ix, u, failureWant{
		answer: "Your server could not be created: the ticket channel could not be created. Nothing is left running; you can try again.",
		log:    []string{"❌ Échec de la création pour <@" + u.ID + "> : le salon de suivi n'a pas pu être créé"},
	})
	if n := w.discord.Count("POST /guilds/{guild}/channels"); n != 2 {
		t.Errorf("channel creations = %d, want the failed one and the new one", n)
	}
}

func TestFailureTableDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	u := member(1)
	w.db.Down()
	ix := failureCreate(t, w, u, "en-US")
	w.waitFor(t, "the daemon to fail recording the creation", func() bool { return strings.Contains(d.logs.String(), "record creation") }, d)
	w.db.Up()
	failureOutcome(t, w, d, ix, u, failureWant{
		answer: "Your server could not be created: the server could not be recorded. Nothing is left running; you can try again.",
		log:    []string{"❌ Échec de la création pour <@" + u.ID + "> : le serveur n'a pas pu être enregistré"},
		ticket: "The server could not be created: the server could not be recorded",
	})
	if n := len(w.aws.Calls("RunTask")); n != 1 {
		t.Errorf("RunTask calls = %d, want only the new creation's", n)
	}
}

func TestFailureECSThrottledOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	w.aws.FailNext("RunTask", 1, fakeaws.Throttle)
	createReady(t, w, d, member(1), nil)
	calls := w.aws.Calls("RunTask")
	if len(calls) != 2 || calls[0].Error != "ThrottlingException" {
		t.Errorf("RunTask calls = %+v, want a throttled one and its retry", calls)
	}
	if n := len(w.aws.Tasks()); n != 1 {
		t.Errorf("tasks = %d, want 1: %s", n, w.taskSummary())
	}
	if n := len(w.tickets()); n != 1 {
		t.Errorf("ticket channels = %d, want 1", n)
	}
}

func TestFailureDiscordRateLimited(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	w.discord.FailNext("POST", "/guilds/{guild}/channels", 1, 429)
	createReady(t, w, d, member(1), nil)
	var statuses []int
	for _, r := range w.discord.Requests() {
		if r.Route == "POST /guilds/{guild}/channels" {
			statuses = append(statuses, r.Status)
		}
	}
	if len(statuses) != 2 || statuses[0] != 429 || statuses[1] != 201 {
		t.Errorf("channel creations answered %v, want 429 then 201", statuses)
	}
	if n := len(w.discord.ChannelsUnder(categoryID)); n != 1 {
		t.Errorf("ticket channels = %d, want 1", n)
	}
	if n := len(w.aws.Tasks()); n != 1 {
		t.Errorf("tasks = %d, want 1", n)
	}
}

// After the gateway connection drops, the bot resumes its session and
// serves commands again.
func TestFailureGatewayResume(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	w.discord.DropConnection()
	w.waitFor(t, "the bot to resume", func() bool { return w.discord.Resumes() >= 1 && w.discord.Connected() }, d)
	createReady(t, w, d, member(1), nil)
	if n := w.discord.Identifies(); n != 1 {
		t.Errorf("identifies = %d, want 1: the session was resumed, not started over", n)
	}
	if n := w.discord.InvalidSessions(); n != 0 {
		t.Errorf("invalid sessions = %d", n)
	}
}

// TestTransientDiscordErrorsRiddenOut: Discord answering 500 twice in a row
// to the ticket channel and to the status message costs the member nothing:
// the creation goes on to the ready message.
func TestTransientDiscordErrorsRiddenOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	u := member(1)
	w.discord.FailNext(http.MethodPost, "/guilds/{guild}/channels", 2, http.StatusInternalServerError)
	w.discord.FailNext(http.MethodPost, "/channels/*/messages", 2, http.StatusBadGateway)
	createReady(t, w, d, u, nil)
	if n := w.discord.Count("POST /guilds/{guild}/channels"); n != 3 {
		t.Errorf("channel creations = %d, want two refused and one made", n)
	}
	if strings.Contains(d.logs.String(), "server ended") {
		t.Errorf("the creation was abandoned over a transient error:\n%s", d.logs.String())
	}
}

// A creation whose RunTask is refused (an ENI limit) does not start the
// member's cooldown: the failure says they can try again, and their
// /server create right after it is accepted. The creation that reaches
// ready does start it.
func TestFailureRunTaskRefusedRetryAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"GAMESERVER_CREATE_COOLDOWN": "1h"}})
	d := w.start(t)
	u := member(1)
	w.aws.RunFailures(1, "RESOURCE:ENI")
	ix := failureCreate(t, w, u, "en-US")
	const failed = "Your server could not be created: it could not be started (RESOURCE:ENI). Nothing is left running; you can try again."
	ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return m.Text() == failed })

	retry := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	if r := retry.WaitResponse(t, waitLong); r.Type != fakediscord.ResponseDeferredChannelMessage {
		t.Fatalf("the retry right after %q was answered %q, want it accepted", failed, r.Text())
	}
	edit := retry.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID := between(edit.Text(), "<#", ">")
	w.waitFor(t, "the retried server to be ready", func() bool { return w.said(channelID, "your server is ready") }, d)

	// The server the member got counts.
	recs := w.table(t)
	if len(recs) != 1 {
		t.Fatalf("records = %+v, want the retried server's", recs)
	}
	hdStop(t, w, u, wdTask(t, w, recs[0].TaskID).ID)
	r := w.discord.Command(u, "en-US", []string{"server", "create"}, nil).WaitResponse(t, waitLong)
	if !strings.HasPrefix(r.Text(), "You created a server a moment ago.") {
		t.Errorf("a creation after a ready server was answered %q, want the cooldown refusal", r.Text())
	}
}

// Discord carries out a message's create and then answers 500, as it may
// during an outage: the retry must not post the message a second time. The
// log channel's post of the creation, the ready message and a player
// warning each get such an answer; each is in its channel once.
func TestHandledCreateAnswered500PostsOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{aws: fakeaws.Options{HoldIn: "PENDING"}})
	d := w.start(t)
	u := member(1)
	posts := func(channelID string) string { return "/channels/" + channelID + "/messages" }
	// retried waits until the n-th create in channelID that got the 500
	// was answered, and a create after it too: the retry of that create.
	retried := func(channelID, what string, n int) {
		t.Helper()
		w.waitFor(t, "the retry of "+what, func() bool {
			injected, answered := 0, false
			for _, r := range w.discord.Requests() {
				switch {
				case r.Method != http.MethodPost || r.Path != posts(channelID):
				case r.Injected:
					injected, answered = injected+1, false
				case injected == n && r.Status == http.StatusOK:
					answered = true
				}
			}
			return injected == n && answered
		}, d)
	}

	w.discord.FailNextAfterEffect(http.MethodPost, posts(logChannel), 1, http.StatusInternalServerError)
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID := between(edit.Text(), "<#", ">")
	w.waitFor(t, "the task to be pending", func() bool {
		ts := w.aws.Tasks()
		return len(ts) == 1 && ts[0].LastStatus == "PENDING"
	}, d)
	retried(logChannel, "the log channel's post of the creation", 1)
	if n := len(w.discord.Messages(channelID)); n != 1 {
		t.Fatalf("want only the status message in the ticket before the ready one, got %q", w.messagesIn(channelID))
	}

	w.discord.FailNextAfterEffect(http.MethodPost, posts(channelID), 1, http.StatusInternalServerError)
	w.aws.SetHoldIn("")
	wdWait(t, w, d, channelID, "your server is ready")
	retried(channelID, "the ready message", 1)

	// The server had enough players at ready; now it has too few.
	w.discord.FailNextAfterEffect(http.MethodPost, posts(channelID), 1, http.StatusInternalServerError)
	w.mc.Get(w.aws.Tasks()[0].PublicIP).SetPlayers(0, 20)
	wdWait(t, w, d, channelID, "warning **1/2**")
	retried(channelID, "warning 1/2", 2)

	if got := wdFind(w, logChannel, "🟢", "<#"+channelID+">"); len(got) != 1 {
		t.Errorf("the creation is in the log channel %d times, want once: %q", len(got), w.messagesIn(logChannel))
	}
	if got := wdFind(w, channelID, "your server is ready"); len(got) != 1 {
		t.Errorf("the ready message is in the ticket %d times, want once: %q", len(got), w.messagesIn(channelID))
	}
	if got := wdFind(w, channelID, "warning **1/2**"); len(got) != 1 {
		t.Errorf("warning 1/2 is in the ticket %d times, want once: %q", len(got), w.messagesIn(channelID))
	}
	injected := 0
	for _, r := range w.discord.Requests() {
		if r.Injected {
			injected++
		}
	}
	if injected != 3 {
		t.Errorf("%d creates answered 500 after they were carried out, want 3\n%s", injected, w.discord.Dump())
	}
}
