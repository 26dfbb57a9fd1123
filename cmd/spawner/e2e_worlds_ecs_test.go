package main

// End-to-end tests of worlds under ECS: the real daemon against the fake
// ECS, dynalite and a fake S3 that speaks the wire protocol, with a game
// whose task definition has the world's companion container. The fake
// runs no container: the test does what the companion would (its push
// at the stop, its exit code) through the same backup package, on the
// same bucket, before it lets the task stop.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/alert"
	"github.com/mineral-contest/spawner/internal/backup"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/fakes3"
	"github.com/mineral-contest/spawner/internal/testworld/goaws"
	"github.com/mineral-contest/spawner/internal/text"
)

const (
	ewBucket = "spawner-worlds-123456789012"
	ewFamily = "keeper-world" // the task definition of the game with a world
	ewGame   = "keeper"
	ewPath   = "/data" // the game's world path
)

// ewTaskDefinition is the task definition deploy/terraform/games.tf
// registers for a game with a world: the game on the volume "world",
// depending on the companion "world" being HEALTHY.
func ewTaskDefinition() fakeaws.TaskDefinition {
	stop := int32(120)
	return fakeaws.TaskDefinition{
		TaskRoleArn: "arn:aws:iam::123456789012:role/spawner-world-task",
		Volumes:     []fakeaws.Volume{{Name: "world"}},
		ContainerDefinitions: []fakeaws.ContainerDefinition{
			{
				Name:        "game",
				MountPoints: []fakeaws.MountPoint{{SourceVolume: "world", ContainerPath: ewPath}},
				DependsOn:   []fakeaws.ContainerDependency{{ContainerName: ecs.WorldContainer, Condition: "HEALTHY"}},
			},
			{
				Name:        ecs.WorldContainer,
				Command:     []string{"world", "sidecar"},
				User:        "0",
				Environment: []fakeaws.KeyValuePair{{Name: "WORLD_S3_BUCKET", Value: ewBucket}, {Name: "WORLD_PATH", Value: "/world"}},
				MountPoints: []fakeaws.MountPoint{{SourceVolume: "world", ContainerPath: "/world"}},
				HealthCheck: &fakeaws.HealthCheck{Command: []string{"CMD", "/spawner", "world", "ready"}},
				StopTimeout: &stop,
			},
		},
	}
}

// ecsWorldWorld is a world whose game "keeper" keeps a world in the fake
// S3's bucket, with an alert webhook receiver.
type ecsWorldWorld struct {
	*world
	s3     *fakes3.Server
	keeper *backup.Keeper // the bucket as the companion reaches it
	recv   *alertReceiver
	// q is the SNS the alerts are published to, its topic subscribed by
	// the queue alertQueue.
	q *goaws.SQS
}

func newECSWorldWorld(t *testing.T) *ecsWorldWorld {
	t.Helper()
	s3 := fakes3.Start(t)
	s3.Bucket(t, ewBucket)
	// The bot's requests (signed with its key) get what its role allows.
	s3.DenyWhen(func(r *http.Request) bool {
		return strings.Contains(r.Header.Get("Authorization"), "Credential="+fakeaws.AccessKeyID+"/") && fakes3.BotDenies(r)
	})
	recv := newAlertReceiver(t)
	q := goaws.Start(t)
	topic := q.CreateTopic(t, "spawner-alerts")
	q.Subscribe(t, topic, alertQueue)
	w := newWorld(t, worldOptions{
		aws: fakeaws.Options{TaskDefinitions: map[string]fakeaws.TaskDefinition{ewFamily: ewTaskDefinition()}},
		env: map[string]string{
			"WORLD_S3_BUCKET":      ewBucket,
			"AWS_ENDPOINT_URL_S3":  s3.URL,
			"WORLD_BACKUPS_KEEP":   "5",
			"ALERT_WEBHOOK_URL":    recv.srv.URL + alertHook,
			"ALERT_SNS_TOPIC_ARN":  topic,
			"AWS_ENDPOINT_URL_SNS": q.Endpoint(),
		},
	})
	store, err := backup.NewS3(s3.Client(t), ewBucket, backup.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	ew := &ecsWorldWorld{world: w, s3: s3, keeper: &backup.Keeper{Store: store}, recv: recv, q: q}
	ewPutGame(t, ew)
	return ew
}

// ewPutGame stores the game "keeper" in the table before the daemon
// starts, as /game add would have: the family ewFamily, its game
// container, the fake's game servers' port, and a world at ewPath.
func ewPutGame(tb testing.TB, w *ecsWorldWorld) {
	tb.Helper()
	cfg, err := config.LoadWithin(w.getenv, os.ReadFile, limits)
	if err != nil {
		tb.Fatalf("configuration: %v", err)
	}
	doc, err := json.Marshal(map[string]any{
		"name": ewGame, "title": "Keeper", "taskDefinition": ewFamily, "container": "game",
		"port": w.mc.Port(), "protocol": "minecraft",
		"world": map[string]any{"path": ewPath},
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := spawner.ParseTemplateWithin(doc, cfg.Catalog()[0], limits); err != nil {
		tb.Fatalf("the test's template is refused: %v", err)
	}
	table := w.serverTable(tb)
	if err := table.EnsureTable(context.Background()); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	if err := table.PutGame(context.Background(), ewGame, doc); err != nil {
		tb.Fatalf("store the template: %v", err)
	}
}

// ewReady creates a server of u's world name, its task held in STOPPING
// once asked to stop (so the test can act as the companion before it
// stops), and returns its ticket channel and task.
func ewReady(t *testing.T, w *ecsWorldWorld, d *daemonHandle, u fakediscord.User, name string) (string, fakeaws.Task) {
	t.Helper()
	w.aws.HoldNext(1, "STOPPING")
	channelID, arn := createReady(t, w.world, d, u, map[string]any{"game": ewGame, "world": name})
	return channelID, wdTask(t, w.world, arn)
}

// ewWorldID is the id of u's world name, as the table records it.
func ewWorldID(t *testing.T, w *ecsWorldWorld, u fakediscord.User, name string) string {
	t.Helper()
	snap, err := w.serverTable(t).LoadAll(context.Background())
	if err != nil {
		t.Fatalf("read table: %v", err)
	}
	for _, wl := range snap.Worlds {
		if wl.Owner == u.ID && wl.Name == name {
			return wl.ID
		}
	}
	t.Fatalf("no world %q of %s in the table: %+v", name, u.ID, snap.Worlds)
	return ""
}

// ewStop stops the server of channelID as u. Once its task is stopping
// and the daemon has looked at it since (the game saves and quits, and
// its companion pushes, while ECS tells the bot the task is stopping),
// or has already ended the server (it did not wait for the push), act
// does what its companion does, then the task stops. It returns the
// ticket's last message.
func ewStop(t *testing.T, w *ecsWorldWorld, d *daemonHandle, u fakediscord.User, channelID string, task fakeaws.Task, act func()) fakediscord.Message {
	t.Helper()
	stop := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": task.ID})
	stop.WaitResponse(t, waitLong)
	var looks int
	w.waitFor(t, "the task to be asked to stop", func() bool {
		looks = ewDescribed(w, task.ARN)
		got, _ := w.aws.Task(task.ARN)
		return got.DesiredStatus == "STOPPED"
	}, d)
	ended := "Server stopped by <@" + u.ID + ">"
	w.waitFor(t, "the daemon to describe the stopping task", func() bool {
		return ewDescribed(w, task.ARN) > looks || len(wdFind(w.world, channelID, ended)) > 0
	}, d)
	act()
	w.aws.Release(task.ARN)
	return wdWait(t, w.world, d, channelID, ended)
}

// ewDescribed counts the DescribeTasks calls the fake ECS got for arn.
func ewDescribed(w *ecsWorldWorld, arn string) int {
	n := 0
	for _, c := range w.aws.Calls("DescribeTasks") {
		if strings.Contains(string(c.Body), arn) {
			n++
		}
	}
	return n
}

// ewPush writes files as a backup of the world, exactly as the task's
// companion pushes WORLD_PATH once the game exited.
func ewPush(t *testing.T, w *ecsWorldWorld, worldID string, files map[string]string) spawner.Backup {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "world")
	writeTree(t, dir, files)
	b, err := w.keeper.PushWithoutPrune(context.Background(), worldID, dir)
	if err != nil {
		t.Fatalf("push as the companion: %v", err)
	}
	return b
}

// ewDownload follows the presigned link of a /world download answer and
// returns the files of the archive it serves, by name.
func ewDownload(t *testing.T, w *ecsWorldWorld, answer string) map[string]string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(w.s3.URL) + `/[^\s<>)]+`).FindString(answer)
	if link == "" {
		t.Fatalf("no link to the bucket in %q", answer)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatalf("GET %s: %v", link, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the presigned link: %s", resp.Status)
	}
	return wlFiles(t, resp.Body)
}

// ewPulled is what the next task of the world would pull: the files of
// its newest backup, and that backup.
func ewPulled(t *testing.T, w *ecsWorldWorld, worldID string) (map[string]string, spawner.Backup) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pulled")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := w.keeper.Pull(context.Background(), worldID, dir)
	if err != nil {
		t.Fatalf("pull as the next companion: %v", err)
	}
	return readTree(t, dir), b
}

// A world under ECS, through the daemon: each task names the world to its
// companion; a running world cannot be backed up by the bot, it is saved
// when its server stops, by the companion's push, and the ticket says so;
// a download is a presigned link to the archive; a stop whose push failed
// is told in the ticket, the admin log and one alert; a restore makes a
// copy of the backup the newest, which the next task pulls.
func TestECSWorldThroughTheDaemon(t *testing.T) {
	t.Parallel()
	w := newECSWorldWorld(t)
	d := w.start(t)
	u := member(1)

	channelID, task := ewReady(t, w, d, u, "home")
	worldID := ewWorldID(t, w, u, "home")
	if env := task.Environment(ecs.WorldContainer); env["WORLD_ID"] != worldID {
		t.Errorf("the companion's overrides = %v, want WORLD_ID=%s", env, worldID)
	}
	if env := task.Environment("game"); env["WORLD_ID"] != "" {
		t.Errorf("the game's overrides name the world: %v", env)
	}

	// The running world's content is in its task: saved at its stop.
	live := text.En.Refusal(&spawner.Refusal{Code: spawner.RefusedWorldLive, Name: "home"})
	if got := wlAnswer(t, w.world, u, "backup", map[string]any{"world": "home"}, "home"); got != live {
		t.Errorf("/world backup of a running world on ECS answered %q, want %q", got, live)
	}

	var first spawner.Backup
	end := ewStop(t, w, d, u, channelID, task, func() {
		first = ewPush(t, w, worldID, map[string]string{"level.dat": "session 1"})
	})
	if want := text.En.WorldSavedAtEnd("home", first.ContentSize); !strings.Contains(end.Text(), want) {
		t.Errorf("the ticket's last message %q does not say %q", end.Text(), want)
	}

	// The same world again: the same WORLD_ID, so the companion pulls
	// what the first pushed.
	channelID, task = ewReady(t, w, d, u, "home")
	if env := task.Environment(ecs.WorldContainer); env["WORLD_ID"] != worldID {
		t.Errorf("the second task's companion overrides = %v, want WORLD_ID=%s", env, worldID)
	}
	files := ewDownload(t, w, wlAnswer(t, w.world, u, "download", map[string]any{"world": "home"}, w.s3.URL))
	if files["level.dat"] != "session 1" {
		t.Errorf("the downloaded archive holds %v, want level.dat = session 1", files)
	}

	// Its companion's push fails: nothing new in the bucket.
	w.aws.ExitAtStop(task.ARN, ecs.WorldContainer, 1, "")
	end = ewStop(t, w, d, u, channelID, task, func() {})
	if want := text.En.WorldSaveFailedAtEnd("home"); !strings.Contains(end.Text(), want) {
		t.Errorf("the ticket's last message %q does not say %q", end.Text(), want)
	}
	w.waitFor(t, "the admin log to tell why the backup failed", func() bool {
		return w.said(logChannel, "home", "<@"+u.ID+">", "companion container exited with code 1")
	}, d)
	var got []alert.Body
	w.waitFor(t, "the backup-failed alert on the webhook", func() bool {
		got = nil
		for _, p := range w.recv.all() {
			got = append(got, decodeAlert(t, p))
		}
		return len(got) > 0
	}, d)
	if len(got) != 1 || got[0].Kind != "backup-failed" || got[0].Member != u.ID || !strings.Contains(got[0].Detail, "code 1") {
		t.Errorf("alerts on the webhook: %+v, want one backup-failed of %s saying the companion exited with code 1", got, u.ID)
	}
	var sns []goaws.Notification
	w.waitFor(t, "the backup-failed alert on SNS", func() bool {
		sns = append(sns, w.q.Notifications(t, alertQueue)...)
		return len(sns) > 0
	}, d)
	if b := decodeAlert(t, sns[0].Message); len(sns) != 1 || b.ID != got[0].ID || b.Kind != "backup-failed" {
		t.Errorf("alerts on SNS: %d, the first %+v; want the webhook's one backup-failed %s", len(sns), b, got[0].ID)
	}
	raw := strings.Join(append(w.recv.all(), sns[0].Message), "\n")
	for _, secret := range []string{w.discord.Options().Token, fakeaws.SecretAccessKey, fakeaws.AccessKeyID, alertHook, "alert-hook-token"} {
		if strings.Contains(raw, secret) {
			t.Errorf("an alert carries the secret %q:\n%s", secret, raw)
		}
	}

	// Restore the first backup: a copy of it becomes the newest (reason
	// restored), after a copy of the current content.
	click := wlConfirmed(t, w.world, u, "restore", map[string]any{"world": "home", "backup": first.ID})
	click.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "restored") })
	pulled, newest := ewPulled(t, w, worldID)
	if newest.Reason != spawner.BackupRestored || newest.ID == first.ID || pulled["level.dat"] != "session 1" {
		t.Errorf("the next task would pull backup %s (%s) holding %v, want a restored copy of %s holding level.dat = session 1", newest.ID, newest.Reason, pulled, first.ID)
	}
	if list, err := w.keeper.List(context.Background(), worldID); err != nil || len(list) != 3 {
		t.Errorf("backups after the restore: %+v (%v), want the restored copy, the before-restore one and the first", list, err)
	}
	if got := w.recv.all(); len(got) != 1 {
		t.Errorf("the webhook got %d alerts, want the one backup-failed", len(got))
	}
	if more := w.q.Notifications(t, alertQueue); len(more) != 0 {
		t.Errorf("SNS got %d more alerts, want the one backup-failed", len(more))
	}
}
