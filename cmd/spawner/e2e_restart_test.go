package main

// End-to-end tests of restarts (interface.md, "State"): the table is the
// truth, a restarted daemon carries on every server it names, adopts the
// original JavaScript bot's records, and reconciles with ECS. Some tests run
// the real binary, so a SIGKILL or a SIGTERM is the real thing.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// rsBinary is the spawner binary built for the tests of this run: built by
// the first test that needs it, removed when the last one using it ends.
var rsBinary struct {
	mu    sync.Mutex
	dir   string
	users int
}

// rsSpawnerBinary builds ./cmd/spawner with the tests' world's limits
// (-tags testworld; once while tests use it) and
// returns the path of the executable.
func rsSpawnerBinary(tb testing.TB) string {
	tb.Helper()
	rsBinary.mu.Lock()
	defer rsBinary.mu.Unlock()
	if rsBinary.dir == "" {
		dir, err := os.MkdirTemp("", "spawner-e2e-") //nolint:usetesting // shared by the tests running at once and removed by the last: tb.TempDir would go with the first
		if err != nil {
			tb.Fatalf("binary directory: %v", err)
		}
		out, err := exec.Command("go", "build", "-tags", "testworld", "-o", filepath.Join(dir, "spawner"), ".").CombinedOutput()
		if err != nil {
			if rerr := os.RemoveAll(dir); rerr != nil {
				tb.Errorf("remove the binary's directory: %v", rerr)
			}
			tb.Fatalf("go build: %v\n%s", err, out)
		}
		rsBinary.dir = dir
	}
	rsBinary.users++
	tb.Cleanup(func() {
		rsBinary.mu.Lock()
		defer rsBinary.mu.Unlock()
		if rsBinary.users--; rsBinary.users == 0 {
			if err := os.RemoveAll(rsBinary.dir); err != nil {
				tb.Errorf("remove the binary's directory: %v", err)
			}
			rsBinary.dir = ""
		}
	})
	return filepath.Join(rsBinary.dir, "spawner")
}

// rsProcess is the real spawner binary running against a world.
type rsProcess struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{} // closed once the process has exited
}

// rsStartBinary runs the binary with the world's environment (plus HOME and
// PATH) and waits until it serves commands. The process is killed, if still
// running, when the test ends.
func rsStartBinary(tb testing.TB, w *world, bin string) *rsProcess {
	tb.Helper()
	cmd := exec.Command(bin, "run")
	cmd.Dir = tb.TempDir() // no .env to pick up
	cmd.Env = []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
	for k, v := range w.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &rsProcess{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start spawner: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if tb.Failed() {
			tb.Logf("spawner process %d logs:\n%s", cmd.Process.Pid, p.logs.String())
		}
	})
	w.waitFor(tb, "the spawner binary to serve commands", func() bool {
		if p.exited() {
			tb.Fatalf("spawner exited at start (%s):\n%s", cmd.ProcessState, p.logs.String())
		}
		return strings.Contains(p.logs.String(), "spawner started") && w.discord.Connected()
	}, p.handle(w))
	return p
}

func (p *rsProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// handle lets waitFor show the process's logs when a wait times out.
func (p *rsProcess) handle(w *world) *daemonHandle { return &daemonHandle{w: w, logs: p.logs} }

// kill sends SIGKILL and waits for the process to be gone.
func (p *rsProcess) kill(tb testing.TB) {
	tb.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		tb.Fatalf("kill: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		tb.Fatalf("spawner still running 10s after SIGKILL")
	}
}

// rsTable creates the server table as an operator would before the daemon
// first starts, and returns it through the real adapter.
func rsTable(tb testing.TB, w *world) *dynamo.Table {
	tb.Helper()
	table := w.serverTable(tb)
	if err := table.EnsureTable(context.Background()); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	return table
}

// rsLoad reads the table, malformed items apart.
func rsLoad(tb testing.TB, table *dynamo.Table) ([]spawner.Server, []error) {
	tb.Helper()
	stored, err := table.LoadAll(context.Background())
	if err != nil {
		tb.Fatalf("read table: %v", err)
	}
	return stored.Servers, stored.Problems
}

// rsPut writes a record with the real adapter.
func rsPut(tb testing.TB, table *dynamo.Table, s spawner.Server) {
	tb.Helper()
	if err := table.Put(context.Background(), s); err != nil {
		tb.Fatalf("put %+v: %v", s, err)
	}
}

// rsChannel creates a text channel under the ticket category, as a ticket
// of an earlier daemon (or of the original bot) left behind, and returns its id.
func rsChannel(tb testing.TB, w *world, name, topic string) string {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "type": 0, "parent_id": categoryID, "topic": topic})
	req, _ := http.NewRequest(http.MethodPost, w.discord.URL()+"/api/v10/guilds/"+guildID+"/channels", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bot "+w.discord.Options().Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("create channel %s: %v", name, err)
	}
	defer resp.Body.Close()
	var ch struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil || resp.StatusCode != http.StatusCreated || ch.ID == "" {
		tb.Fatalf("create channel %s: %s %v", name, resp.Status, err)
	}
	return ch.ID
}

// rsWaitDeleted waits for a channel to be deleted.
func rsWaitDeleted(tb testing.TB, w *world, d *daemonHandle, channelID string) {
	tb.Helper()
	w.waitFor(tb, "channel "+channelID+" to be deleted", func() bool {
		c, _ := w.discord.Channel(channelID)
		return c.Deleted
	}, d)
}

// rsRunTasks counts the RunTask calls that ECS accepted.
func rsRunTasks(w *world) int {
	n := 0
	for _, c := range w.aws.Calls("RunTask") {
		if c.Error == "" {
			n++
		}
	}
	return n
}

// A ready server carries on through a restart: same task, no new RunTask,
// record kept, and its runtime watchdog counts from the stored creation
// time, not from the restart.
func TestRestartCarriesOnReadyServer(t *testing.T) {
	t.Parallel()
	const maxDuration = 5 * time.Second
	w := newWorld(t, worldOptions{env: map[string]string{
		"GAMESERVER_MAX_DURATION":         maxDuration.String(),
		"GAMESERVER_MAX_DURATION_WARNING": "1s",
	}})
	d1 := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d1, u, nil)
	before := w.table(t)[0]
	created := before.CreatedAt
	end := created.Add(maxDuration)

	// Let a good part of its life pass before the restart.
	w.waitFor(t, "1.5 s of the server's life", func() bool { return time.Since(created) >= 1500*time.Millisecond }, d1)
	if err := d1.stop(t); err != nil {
		t.Fatalf("first daemon: %v", err)
	}
	if got := wdTask(t, w, arn); got.DesiredStatus != "RUNNING" {
		t.Fatalf("task %s after the daemon stopped, want it running", got.DesiredStatus)
	}
	restarted := time.Now()
	d2 := w.start(t)

	if n := len(w.aws.Calls("RunTask")); n != 1 || len(w.aws.Tasks()) != 1 {
		t.Errorf("RunTask calls = %d, tasks = %d after the restart, want 1 and 1", n, len(w.aws.Tasks()))
	}
	if recs := w.table(t); len(recs) != 1 || recs[0].TaskID != arn || !recs[0].CreatedAt.Equal(created) || recs[0].State != spawner.StateReady {
		t.Errorf("records after the restart = %+v, want the one of before: %+v", recs, before)
	}
	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !strings.Contains(list.Text(), "<#"+channelID+">") || !strings.Contains(list.Text(), fmt.Sprintf("<t:%d:R>", end.Unix())) {
		t.Errorf("list after the restart = %q, want the server stopping at %s", list.Text(), end)
	}

	warn := wdWait(t, w, d2, channelID, "reaches its maximum duration")
	stop := wdWait(t, w, d2, channelID, "Server stopped: it reached its maximum duration.")
	if !strings.Contains(warn.Text(), fmt.Sprintf("<t:%d:R>", end.Unix())) {
		t.Errorf("runtime warning after the restart = %q, want the end at %s", warn.Text(), end)
	}
	if stop.CreatedAt.Before(end) {
		t.Errorf("stopped at %s, before creation + max duration = %s", stop.CreatedAt, end)
	}
	if limit := restarted.Add(maxDuration); !stop.CreatedAt.Before(limit) {
		t.Errorf("stopped at %s: counted from the restart (%s), not from the creation (%s)", stop.CreatedAt, restarted, created)
	}
	if n := len(wdFind(w, channelID, "your server is ready")); n != 1 {
		t.Errorf("%d ready messages, want the one of the creation only", n)
	}
	wdAssertGone(t, w, d2, arn, channelID)
}

// A table written by the original JavaScript bot (its attributes only) is
// adopted: its server is listed, watched by both watchdogs from its stored
// creation time, and stopped by its owner. A malformed item is reported in
// the log channel and skipped.
func TestRestartAdoptsOriginalBotTable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	table := rsTable(t, w)
	db := w.dynamo(t)
	u := member(1)
	channelID := rsChannel(t, w, "serveur-minecraft", "")

	w.players.Store(1)
	task := w.aws.StartExternalTask(fakeaws.ExternalTask{Family: family})
	w.players.Store(5)
	created := time.Now().Add(-55 * time.Minute).Truncate(time.Millisecond)
	const token = "originaltoken42"
	put := func(item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tableName), Item: item}); err != nil {
			t.Fatalf("put item: %v", err)
		}
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	put(map[string]types.AttributeValue{
		"taskId":          s(task.ARN),
		"publicIpAddress": s(task.PublicIP),
		"token":           s(token),
		"creationDate":    &types.AttributeValueMemberN{Value: strconv.FormatInt(created.UnixMilli(), 10)},
		"channelId":       s(channelID),
		"typeServer":      s("official"),
		"userId":          s(u.ID),
	})
	brokenKey := "arn:aws:ecs:eu-west-3:123456789012:task/spawner/0000000000000000broken"
	put(map[string]types.AttributeValue{
		"taskId":       s(brokenKey),
		"creationDate": s("2024-05-01"),
		"channelId":    s(channelID),
		"userId":       s(member(2).ID),
	})

	d := w.start(t)
	if !w.said(logChannel, "Élément de table malformé ignoré", brokenKey, "creationDate") {
		t.Errorf("malformed item not reported in the log channel: %q", w.messagesIn(logChannel))
	}
	address := task.PublicIP + ":" + w.env["GAMESERVER_PORT"]
	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !strings.Contains(list.Text(), address) || !strings.Contains(list.Text(), "<#"+channelID+">") {
		t.Errorf("owner's list = %q, want the adopted server %s", list.Text(), address)
	}
	ac := w.discord.Autocomplete(u, "en-US", []string{"server", "stop"}, map[string]any{"server": ""}, "server").WaitResponse(t, waitLong)
	if len(ac.Choices) != 1 || ac.Choices[0].Value != task.ID {
		t.Errorf("stop autocomplete = %+v, want the adopted server %s", ac.Choices, task.ID)
	}

	// The runtime watchdog counts from the stored milliseconds: 55 min of a
	// 1 h life are over, so the 10 min warning is due at once. The record
	// has no locale: the guild's French.
	end := created.Add(time.Hour)
	runtime := wdWait(t, w, d, channelID, "atteint sa durée maximale")
	if !strings.Contains(runtime.Text(), fmt.Sprintf("<t:%d:R>", end.Unix())) || !runtime.Mentioned(u.ID) {
		t.Errorf("runtime warning = %q, want it to ping the owner and say %s", runtime.Text(), end)
	}
	// The player-count watchdog pings it.
	warn := wdWait(t, w, d, channelID, "avertissement **1/2**")
	w.mc.Get(task.PublicIP).SetPlayers(5, 20)
	if !strings.Contains(warn.Text(), "1 joueur(s) en ligne, 2 requis") || !warn.Mentioned(u.ID) {
		t.Errorf("player warning = %q", warn.Text())
	}
	wdWait(t, w, d, channelID, "5 joueurs en ligne : avertissements remis à zéro")

	stop := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": task.ID})
	answer := stop.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return m.Text() != "" })
	if !strings.Contains(answer.Text(), address) || !strings.Contains(answer.Text(), "stopped") {
		t.Errorf("stop answer = %q", answer.Text())
	}
	if got := wdTask(t, w, task.ARN); got.DesiredStatus != "STOPPED" {
		t.Errorf("adopted task desired status = %s after its owner stopped it", got.DesiredStatus)
	}
	servers, problems := rsLoad(t, table)
	if len(servers) != 0 {
		t.Errorf("records after the stop = %+v", servers)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), brokenKey) {
		t.Errorf("the malformed item should be left as it was: problems = %v", problems)
	}
	if !w.said(channelID, "Serveur arrêté par <@"+u.ID+">") {
		t.Errorf("ticket channel not told: %q", w.messagesIn(channelID))
	}
	rsWaitDeleted(t, w, d, channelID)
	if !w.said(logChannel, "arrêté par <@"+u.ID+">", task.ID) {
		t.Errorf("log channel not told: %q", w.messagesIn(logChannel))
	}
	for _, m := range w.messagesIn(logChannel) {
		if strings.Contains(m, token) {
			t.Errorf("the original's admin token reached the log channel: %q", m)
		}
	}
	if strings.Contains(d.logs.String(), token) {
		t.Errorf("the original's admin token reached the daemon's logs")
	}
}

// At start the daemon reconciles the table with ECS: an owned task with no
// record is stopped and reported; a record whose task is gone (stopped, or
// unknown to ECS) is cleaned up and its owner told; a creation interrupted
// before its task existed is cleaned up and its owner told; a ticket channel
// of ours that no record names is deleted; tasks of others are left alone.
func TestRestartReconcilesTableWithECS(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	table := rsTable(t, w)
	now := time.Now()

	orphan := w.aws.StartExternalTask(fakeaws.ExternalTask{
		Family: family, StartedBy: spawner.StartedBy, CreatedAt: now.Add(-10 * time.Minute),
		Tags: map[string]string{spawner.TagOwner: member(9).ID, spawner.TagCreation: "0123456789abcdef0123456789abcdef"},
	})
	foreign := w.aws.StartExternalTask(fakeaws.ExternalTask{Family: "other-service", StartedBy: "ecs-svc/1234"})

	// A server whose task crashed while no daemon ran.
	uCrash := member(1)
	crashed := w.aws.StartExternalTask(fakeaws.ExternalTask{Family: family, StartedBy: spawner.StartedBy})
	w.aws.Crash(crashed.ARN, "Essential container in task exited", 1)
	crashCh := rsChannel(t, w, "minecraft-crash", "Minecraft · official · "+"spawner:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	rsPut(t, table, spawner.Server{
		TaskID: crashed.ARN, CreationID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Game: "minecraft", Variant: "official",
		Owner: uCrash.ID, ChannelID: crashCh, Address: crashed.PublicIP, Port: w.mc.Port(), Locale: "en-US",
		State: spawner.StateReady, CreatedAt: now.Add(-20 * time.Minute),
	})
	// A server whose task ECS does not know any more, recorded without a locale.
	uMissing := member(2)
	missingARN := "arn:aws:ecs:eu-west-3:123456789012:task/spawner/0123456789abcdef0123456789abcdef"
	missingCh := rsChannel(t, w, "minecraft-missing", "")
	rsPut(t, table, spawner.Server{
		TaskID: missingARN, Owner: uMissing.ID, ChannelID: missingCh, Address: "127.2.200.1", Variant: "official",
		CreatedAt: now.Add(-2 * time.Hour),
	})
	// A creation interrupted before its task existed.
	uPending := member(3)
	pendingCh := rsChannel(t, w, "minecraft-pending", "Minecraft · official · spawner:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	rsPut(t, table, spawner.Server{
		CreationID: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Game: "minecraft", Variant: "official", Owner: uPending.ID,
		ChannelID: pendingCh, Locale: "en-US", State: spawner.StateRequested, CreatedAt: now.Add(-time.Minute),
	})
	// A ticket channel of ours that nothing names any more.
	strayCh := rsChannel(t, w, "minecraft-stray", "Minecraft · official · spawner:cccccccccccccccccccccccccccccccc")
	otherCh := rsChannel(t, w, "not-a-ticket", "the members' own channel")
	w.waitFor(t, "the crashed task to be stopped", func() bool { return wdTask(t, w, crashed.ARN).LastStatus == "STOPPED" }, nil)

	d := w.start(t)

	if got := wdTask(t, w, orphan.ARN); got.DesiredStatus != "STOPPED" {
		t.Errorf("orphaned task desired status = %s, want it stopped", got.DesiredStatus)
	}
	if !w.said(logChannel, "Tâche `"+orphan.ID+"` arrêtée : lancée par le bot mais absente de la table") {
		t.Errorf("orphan not reported in the log channel: %q", w.messagesIn(logChannel))
	}
	if got := wdTask(t, w, foreign.ARN); got.DesiredStatus != "RUNNING" {
		t.Errorf("a task the bot does not own was stopped: %+v", got)
	}

	wdWait(t, w, d, crashCh, "Server gone: the server stopped on its own (Essential container in task exited, exit code 1)")
	wdWait(t, w, d, missingCh, "Serveur disparu : le serveur s'est arrêté tout seul (sans raison donnée)")
	wdWait(t, w, d, pendingCh, "The creation was interrupted by a bot restart before the server started. Nothing is running; you can try again.")
	// The log channel speaks the guild's French.
	for _, c := range []struct{ who, says string }{
		{uCrash.ID, "disparu : le serveur s'est arrêté tout seul (Essential container in task exited, code de sortie 1) · tâche `" + crashed.ID + "`"},
		{uMissing.ID, "disparu : le serveur s'est arrêté tout seul (sans raison donnée) · tâche `" + spawner.ShortTaskID(missingARN) + "`"},
		{uPending.ID, "interrompue par un redémarrage avant le lancement de sa tâche"},
	} {
		if !w.said(logChannel, "<@"+c.who+">", c.says) {
			t.Errorf("log channel not told of the server of %s (%q): %q", c.who, c.says, w.messagesIn(logChannel))
		}
	}
	for _, ch := range []string{crashCh, missingCh, pendingCh, strayCh} {
		rsWaitDeleted(t, w, d, ch)
	}
	if c, _ := w.discord.Channel(otherCh); c.Deleted {
		t.Errorf("a channel under the category that is not a ticket was deleted")
	}
	if servers, problems := rsLoad(t, table); len(servers) != 0 || len(problems) != 0 {
		t.Errorf("table after the start = %+v %v, want it empty", servers, problems)
	}
	if n := len(w.aws.Calls("RunTask")); n != 0 {
		t.Errorf("%d RunTask calls at start", n)
	}
	list := w.discord.Command(uPending, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !strings.Contains(list.Text(), "You have no server running") {
		t.Errorf("the interrupted creation still counts for its owner: %q", list.Text())
	}
}

// SIGKILL of the real binary while a creation waits for its task: the
// next process adopts the task and makes the server ready, with exactly one
// RunTask and one ticket channel for that creation.
func TestRestartAfterSIGKILLDuringCreation(t *testing.T) {
	t.Parallel()
	bin := rsSpawnerBinary(t)
	w := newWorld(t, worldOptions{aws: fakeaws.Options{HoldIn: "PENDING"}})
	p1 := rsStartBinary(t, w, bin)
	u := member(1)

	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID := between(edit.Text(), "<#", ">")
	var task fakeaws.Task
	w.waitFor(t, "the task to be pending and recorded", func() bool {
		ts := w.aws.Tasks()
		if len(ts) != 1 || ts[0].LastStatus != "PENDING" {
			return false
		}
		task = ts[0]
		for _, s := range w.table(t) {
			if s.TaskID == task.ARN {
				return true
			}
		}
		return false
	}, p1.handle(w))

	p1.kill(t)
	w.aws.SetHoldIn("")
	p2 := rsStartBinary(t, w, bin)
	w.waitFor(t, "the ready message after the restart", func() bool { return w.said(channelID, "your server is ready") }, p2.handle(w))

	if n := len(w.aws.Calls("RunTask")); n != 1 || len(w.aws.Tasks()) != 1 {
		t.Errorf("RunTask calls = %d, tasks = %d, want one task ever for this creation", n, len(w.aws.Tasks()))
	}
	if got := wdTask(t, w, task.ARN); got.LastStatus != "RUNNING" || got.DesiredStatus != "RUNNING" {
		t.Errorf("task %s/%s, want it running", got.LastStatus, got.DesiredStatus)
	}
	if chans := w.discord.ChannelsUnder(categoryID); len(chans) != 1 || chans[0].ID != channelID || chans[0].Deleted {
		t.Errorf("ticket channels = %+v, want only %s", chans, channelID)
	}
	recs := w.table(t)
	if len(recs) != 1 || recs[0].TaskID != task.ARN || recs[0].State != spawner.StateReady || recs[0].Address != task.PublicIP {
		t.Errorf("records = %+v, want the one ready server", recs)
	}
	// The status message of the first process is the one brought to ready.
	msgs := w.discord.Messages(channelID)
	if len(msgs) == 0 || !strings.Contains(msgs[0].Text(), "✅ ready") || len(wdFind(w, channelID, "🎮")) != 1 {
		t.Errorf("ticket channel = %q, want one status message, brought to ready", w.messagesIn(channelID))
	}
	if n := len(wdFind(w, channelID, "your server is ready")); n != 1 {
		t.Errorf("%d ready messages", n)
	}
	ready := wdFind(w, channelID, "your server is ready")[0]
	if !ready.Mentioned(u.ID) || !strings.Contains(ready.Text(), task.PublicIP+":"+w.env["GAMESERVER_PORT"]) {
		t.Errorf("ready message = %q", ready.Text())
	}
}

// SIGKILL of the real binary after the creation was recorded but before
// ECS started its task (RunTask is being retried): the next start cleans
// the interrupted creation up and tells its owner.
func TestRestartAfterSIGKILLBeforeRunTask(t *testing.T) {
	t.Parallel()
	bin := rsSpawnerBinary(t)
	w := newWorld(t, worldOptions{})
	p1 := rsStartBinary(t, w, bin)
	u := member(1)

	// Every attempt of this RunTask is throttled: the SDK backs off between
	// them, and the process is killed meanwhile.
	w.aws.FailNext("RunTask", 3, fakeaws.Throttle)
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID := between(edit.Text(), "<#", ">")
	w.waitFor(t, "a throttled RunTask and the pending record", func() bool {
		if len(w.aws.Calls("RunTask")) == 0 {
			return false
		}
		recs := w.table(t)
		return len(recs) == 1 && recs[0].TaskID == "" && recs[0].ChannelID == channelID
	}, p1.handle(w))
	p1.kill(t)
	if n := len(w.aws.Tasks()); n != 0 {
		t.Fatalf("%d tasks started before the kill; the test wants none", n)
	}

	d := w.start(t)
	wdWait(t, w, d, channelID, "The creation was interrupted by a bot restart before the server started. Nothing is running; you can try again.")
	rsWaitDeleted(t, w, d, channelID)
	if recs := w.table(t); len(recs) != 0 {
		t.Errorf("records after the start = %+v", recs)
	}
	if !w.said(logChannel, "<@"+u.ID+">", "interrompue par un redémarrage") {
		t.Errorf("log channel not told: %q", w.messagesIn(logChannel))
	}
	if n := len(w.aws.Tasks()); n != 0 || rsRunTasks(w) != 0 {
		t.Errorf("tasks = %d, accepted RunTask calls = %d after the start, want none", n, rsRunTasks(w))
	}
	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !strings.Contains(list.Text(), "You have no server running") {
		t.Errorf("the interrupted creation still counts for its owner: %q", list.Text())
	}
}

// SIGTERM of the real binary with a ready server and a creation waiting
// for its task: it exits 0 within 10 s, the ready server keeps running and
// recorded, and the next daemon finishes the creation without a second task.
func TestRestartSIGTERMKeepsServers(t *testing.T) {
	t.Parallel()
	bin := rsSpawnerBinary(t)
	w := newWorld(t, worldOptions{})
	p1 := rsStartBinary(t, w, bin)
	u1, u2 := member(1), member(2)
	readyCh, readyARN := createReady(t, w, p1.handle(w), u1, nil)

	w.aws.SetHoldIn("PENDING")
	ix := w.discord.Command(u2, "en-US", []string{"server", "create"}, nil)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	heldCh := between(edit.Text(), "<#", ">")
	var held fakeaws.Task
	w.waitFor(t, "the second task to be pending and recorded", func() bool {
		for _, task := range w.aws.Tasks() {
			if task.ARN != readyARN && task.LastStatus == "PENDING" {
				held = task
			}
		}
		for _, s := range w.table(t) {
			if held.ARN != "" && s.TaskID == held.ARN {
				return true
			}
		}
		return false
	}, p1.handle(w))

	sent := time.Now()
	if err := p1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p1.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("spawner still running 10 s after SIGTERM:\n%s", p1.logs.String())
	}
	if code := p1.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	t.Logf("exited %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
	if got := wdTask(t, w, readyARN); got.DesiredStatus != "RUNNING" || got.LastStatus != "RUNNING" {
		t.Errorf("ready server's task %s/%s after SIGTERM, want it running", got.LastStatus, got.DesiredStatus)
	}
	if got := wdTask(t, w, held.ARN); got.DesiredStatus != "RUNNING" {
		t.Errorf("held task desired %s after SIGTERM, want it left running", got.DesiredStatus)
	}
	recs := w.table(t)
	var readyRec, heldRec bool
	for _, s := range recs {
		readyRec = readyRec || (s.TaskID == readyARN && s.State == spawner.StateReady)
		heldRec = heldRec || s.TaskID == held.ARN
	}
	if !readyRec || !heldRec {
		t.Errorf("records after SIGTERM = %+v, want both servers", recs)
	}
	for _, ch := range []string{readyCh, heldCh} {
		if c, _ := w.discord.Channel(ch); c.Deleted {
			t.Errorf("ticket channel %s deleted by the shutdown", ch)
		}
		if len(wdFind(w, ch, "⏹️")) != 0 {
			t.Errorf("ticket channel %s told of an end: %q", ch, w.messagesIn(ch))
		}
	}

	w.aws.SetHoldIn("")
	d := w.start(t)
	wdWait(t, w, d, heldCh, "your server is ready")
	if n := len(w.aws.Calls("RunTask")); n != 2 || len(w.aws.Tasks()) != 2 {
		t.Errorf("RunTask calls = %d, tasks = %d, want two: one per creation", n, len(w.aws.Tasks()))
	}
	if len(w.tickets()) != 2 || len(w.table(t)) != 2 || len(w.running()) != 2 {
		t.Errorf("tickets %d, records %d, running tasks %d: want 2 of each", len(w.tickets()), len(w.table(t)), len(w.running()))
	}
	list := w.discord.Command(admin(1), "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	for _, ch := range []string{readyCh, heldCh} {
		if !strings.Contains(list.Text(), "<#"+ch+">") {
			t.Errorf("admin list = %q, want %s", list.Text(), ch)
		}
	}
}

// The creation cooldown survives a restart, in the table and in the
// embedded store: a member who created a server and stopped it is still
// refused after the bot restarts, until an hour after their creation. The
// cooldown's item is no server: the table's servers and the daemon's start
// ignore it. A malformed cooldown item is reported in the log channel and
// skipped.
func TestRestartKeepsCreateCooldown(t *testing.T) {
	t.Parallel()
	for _, embedded := range []bool{false, true} {
		name := map[bool]string{false: "table", true: "data folder"}[embedded]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"GAMESERVER_CREATE_COOLDOWN": "1h"}
			if embedded {
				env["AWS_DYNAMODB_TABLE_NAME"], env["DYNAMODB_CREATE_TABLE"] = "", ""
				env["SPAWNER_DATA_DIR"] = filepath.Join(t.TempDir(), "data")
			}
			w := newWorld(t, worldOptions{env: env})
			d1 := w.start(t)
			u := member(1)
			asked := time.Now()
			channelID := dkCreate(t, w, u)
			wdWait(t, w, d1, channelID, "your server is ready")
			hdStop(t, w, u, w.aws.Tasks()[0].ID)
			if err := d1.stop(t); err != nil {
				t.Fatalf("first daemon: %v", err)
			}
			const brokenKey = "cooldown/1300000000000000099"
			if !embedded {
				if _, err := w.dynamo(t).PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tableName), Item: map[string]types.AttributeValue{
					"taskId":    &types.AttributeValueMemberS{Value: brokenKey},
					"startedAt": &types.AttributeValueMemberS{Value: "a moment ago"},
				}}); err != nil {
					t.Fatalf("put item: %v", err)
				}
			}

			d2 := w.start(t)
			r := w.discord.Command(u, "en-US", []string{"server", "create"}, nil).WaitResponse(t, waitLong)
			answered := time.Now()
			const prefix = "You created a server a moment ago. You can create another <t:"
			if !r.Ephemeral() || !strings.HasPrefix(r.Text(), prefix) || !strings.HasSuffix(r.Text(), ":R>.") {
				t.Fatalf("creation after the restart answered %q (ephemeral %v), want the cooldown refusal", r.Text(), r.Ephemeral())
			}
			at, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.Text(), prefix), ":R>."), 10, 64)
			if err != nil {
				t.Fatalf("timestamp of %q: %v", r.Text(), err)
			}
			if from, to := asked.Add(time.Hour).Unix()-1, answered.Add(time.Hour).Unix()+1; at < from || at > to {
				t.Errorf("may create again at %d, want an hour after the creation, in [%d, %d]", at, from, to)
			}
			if n := rsRunTasks(w); n != 1 {
				t.Errorf("%d tasks started, want the first creation's only", n)
			}
			if embedded {
				if w.said(logChannel, "malformé") {
					t.Errorf("the cooldown was reported as a malformed item: %q", w.messagesIn(logChannel))
				}
				return
			}
			if recs := w.table(t); len(recs) != 0 { // w.table fails on a malformed item
				t.Errorf("servers in the table = %+v, want none", recs)
			}
			w.waitFor(t, "the malformed cooldown item to be reported", func() bool {
				return w.said(logChannel, "Élément de table malformé ignoré", brokenKey, "startedAt")
			}, d2)
			if n := strings.Count(strings.Join(w.messagesIn(logChannel), "\n"), "malformé"); n != 1 {
				t.Errorf("%d malformed items reported, want the broken cooldown only: %q", n, w.messagesIn(logChannel))
			}
		})
	}
}
