package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/mineral-contest/spawner/internal/backup"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dockerd"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakes3"
)

// wcBucket is the worlds' bucket of these tests.
const wcBucket = "spawner-worlds-123456789012"

// wcConfig is the daemon's configuration for runtime ("docker" or "ecs")
// with env's variables on top: what newWorldContent is given at start.
func wcConfig(tb testing.TB, runtime string, env map[string]string) *config.Config {
	tb.Helper()
	all := map[string]string{
		"DISCORD_TOKEN":                  "wc-token",
		"DISCORD_GUILD_ID":               "100000000000000001",
		"DISCORD_USER_ROLE_ID":           "200000000000000002",
		"DISCORD_ADMIN_ROLE_ID":          "300000000000000003",
		"DISCORD_GAMESERVER_CATEGORY_ID": "400000000000000004",
		"SPAWNER_RUNTIME":                runtime,
		"SPAWNER_DATA_DIR":               filepath.Join(tb.TempDir(), "data"),
		"WEB_SECRET":                     "a-web-secret-of-the-tests",
		"AWS_REGION":                     fakes3.Region,
	}
	dir := tb.TempDir()
	all["AWS_ACCESS_KEY_ID_FILE"] = writeSecret(tb, dir, "aws_access_key_id", "AKIDTEST")
	all["AWS_SECRET_ACCESS_KEY_FILE"] = writeSecret(tb, dir, "aws_secret_access_key", "secret-test")
	if runtime == "docker" {
		all["DOCKER_PUBLIC_HOST"] = "127.0.0.1"
	} else {
		maps.Copy(all, map[string]string{
			"AWS_ECS_CLUSTER_NAME": "games", "ECS_TASK_DEFINITION": family, "DOCKER_IMAGE_NAME": container,
			"ECS_SUBNETS": "subnet-0a1b2c3d", "ECS_SECURITY_GROUPS": "sg-0123abcd",
		})
	}
	maps.Copy(all, env)
	cfg, err := config.LoadWithin(func(k string) string { return all[k] }, os.ReadFile, limits)
	if err != nil {
		tb.Fatalf("configuration: %v", err)
	}
	return cfg
}

// wcContent builds the worlds' content of cfg as the daemon does.
func wcContent(tb testing.TB, cfg *config.Config, rt *docker.Runtime) worldParts {
	tb.Helper()
	parts, err := newWorldContent(context.Background(), cfg, rt, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("worlds' content: %v", err)
	}
	return parts
}

// wcS3 is a fake S3 with the worlds' bucket, whose requests the bot's
// role may make.
func wcS3(tb testing.TB) (*fakes3.Server, *backup.Keeper) {
	tb.Helper()
	fake := fakes3.Start(tb)
	fake.Bucket(tb, wcBucket)
	fake.DenyWhen(fakes3.BotDenies)
	store, err := backup.NewS3(fake.Client(tb), wcBucket, backup.S3Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return fake, &backup.Keeper{Store: store}
}

// wcTar is an uncompressed world archive of files ("name", "content", ...).
func wcTar(tb testing.TB, files ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		h := &tar.Header{Name: files[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[i+1]))}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[i+1]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// wcFiles is "name=content" for each file of a tar stream, sorted.
func wcFiles(tb testing.TB, r io.Reader) []string {
	tb.Helper()
	tr := tar.NewReader(r)
	var out []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			slices.Sort(out)
			return out
		}
		if err != nil {
			tb.Fatalf("read the archive: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, strings.TrimPrefix(h.Name, "./")+"="+string(body))
	}
}

// wcDownload GETs a download link and returns the files of the archive,
// after checking it is the backup's, byte for byte.
func wcDownload(tb testing.TB, url string, b spawner.Backup) []string {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatalf("GET the link: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET the link: %s %v: %s", resp.Status, err, body)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != b.SHA256 || int64(len(body)) != b.Size {
		tb.Fatalf("the link gave %d bytes that are not backup %s's archive", len(body), b.ID)
	}
	gz, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("the download is not a tar.gz: %v", err)
	}
	return wcFiles(tb, gz)
}

// wcContentOf is the files of a backup, read back as a restore reads it.
func wcContentOf(tb testing.TB, k *backup.Keeper, worldID, backupID string) []string {
	tb.Helper()
	var buf bytes.Buffer
	if err := k.RestoreTar(context.Background(), worldID, backupID, &buf); err != nil {
		tb.Fatalf("read backup %s back: %v", backupID, err)
	}
	return wcFiles(tb, &buf)
}

// wcWrite writes a backup of the world with files, as the ECS companion's
// push does, and returns it.
func wcWrite(tb testing.TB, k *backup.Keeper, worldID string, why spawner.BackupReason, files ...string) spawner.Backup {
	tb.Helper()
	b, err := k.Write(context.Background(), worldID, why, backup.TarStream(bytes.NewReader(wcTar(tb, files...)), ""))
	if err != nil {
		tb.Fatalf("write a backup of %s: %v", worldID, err)
	}
	return b
}

// Under ECS, a world's content is its backups: a backup of a stored world
// copies its newest (of a world never played, it is empty); a running
// world's is refused as live; the save of a stopped server is the backup
// its companion pushed, or an error saying it did not arrive; a restore
// makes a copy of the chosen backup the newest, sparing the one the
// caller took first; links are presigned.
func TestWorldContentUnderECS(t *testing.T) {
	t.Parallel()
	fake, k := wcS3(t)
	cfg := wcConfig(t, "ecs", map[string]string{"WORLD_S3_BUCKET": wcBucket, "AWS_ENDPOINT_URL_S3": fake.URL, "WORLD_BACKUPS_KEEP": "1"})
	c := wcContent(t, cfg, nil).content
	ctx := context.Background()
	w := spawner.World{ID: "w-alice-valheim", State: spawner.WorldStored}

	if s, err := c.NewStorage(ctx, w.ID); s != "" || err != nil {
		t.Errorf("NewStorage = %q, %v; want no storage", s, err)
	}
	empty, err := c.Backup(ctx, w, spawner.BackupManual)
	if err != nil || empty.Reason != spawner.BackupManual || empty.ContentSize != 0 {
		t.Fatalf("backup of a world never played = %+v, %v; want an empty manual backup", empty, err)
	}
	if got := wcContentOf(t, k, w.ID, empty.ID); len(got) != 0 {
		t.Errorf("the backup of a world never played holds %q", got)
	}

	since := time.Now()
	if _, err := c.Saved(ctx, w, since); err == nil || !strings.Contains(err.Error(), "did not arrive") || !strings.Contains(err.Error(), `"world" container`) {
		t.Errorf("Saved with no push = %v, want an error saying the companion's save did not arrive", err)
	}
	pushed := wcWrite(t, k, w.ID, spawner.BackupStop, "starts", "1\n")
	saved, err := c.Saved(ctx, w, since)
	if err != nil || saved.ID != pushed.ID {
		t.Fatalf("Saved = %+v, %v; want the companion's push %s", saved, err, pushed.ID)
	}

	running := w
	running.State = spawner.WorldRunning
	if _, err := c.Backup(ctx, running, spawner.BackupManual); !errors.Is(err, worlds.ErrLive) {
		t.Errorf("backup of a running world = %v, want ErrLive", err)
	}
	copied, err := c.Backup(ctx, w, spawner.BackupManual)
	if err != nil {
		t.Fatalf("backup of a stored world: %v", err)
	}
	if got := wcContentOf(t, k, w.ID, copied.ID); !slices.Equal(got, []string{"starts=1\n"}) || copied.Reason != spawner.BackupManual {
		t.Errorf("backup of a stored world holds %q (%s), want a manual copy of its newest: starts=1", got, copied.Reason)
	}

	wcWrite(t, k, w.ID, spawner.BackupStop, "starts", "2\n")
	before, err := c.Backup(ctx, w, spawner.BackupBeforeRestore)
	if err != nil {
		t.Fatalf("backup before a restore: %v", err)
	}
	if list, _ := c.Backups(ctx, w.ID); len(list) != 3 || !slices.ContainsFunc(list, func(b spawner.Backup) bool { return b.ID == copied.ID }) {
		t.Errorf("backups before the restore = %d, want 3: the one taken before a restore prunes nothing, so the one to restore is kept", len(list))
	}
	storage, err := c.Restore(ctx, w, copied.ID, before.ID)
	if err != nil || storage != "" {
		t.Fatalf("restore = %q, %v", storage, err)
	}
	list, err := c.Backups(ctx, w.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("backups after the restore = %v, %v; want the restored copy and the spared one (WORLD_BACKUPS_KEEP=1)", list, err)
	}
	if list[0].Reason != spawner.BackupRestored || !slices.Equal(wcContentOf(t, k, w.ID, list[0].ID), []string{"starts=1\n"}) {
		t.Errorf("newest backup after the restore: %s holding %q, want the restored copy of starts=1", list[0].Reason, wcContentOf(t, k, w.ID, list[0].ID))
	}
	if !slices.ContainsFunc(list, func(b spawner.Backup) bool { return b.ID == before.ID }) {
		t.Errorf("the backup taken before the restore was pruned")
	}
	if _, err := c.Restore(ctx, w, "20200101T000000000Z-00000000", ""); !errors.Is(err, spawner.ErrNotFound) {
		t.Errorf("restore of a backup that does not exist = %v, want ErrNotFound", err)
	}

	url, expires, err := c.Link(ctx, w.ID, list[0].ID)
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	if d := time.Until(expires); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("link expires in %s, want 15 minutes", d)
	}
	if got := wcDownload(t, url, list[0]); !slices.Equal(got, []string{"starts=1\n"}) {
		t.Errorf("the presigned link gave %q", got)
	}

	if err := c.DeleteBackups(ctx, w.ID); err != nil {
		t.Fatalf("delete backups: %v", err)
	}
	if list, err := c.Backups(ctx, w.ID); err != nil || len(list) != 0 {
		t.Errorf("backups after their deletion: %v, %v", list, err)
	}
	if err := c.DeleteStorage(ctx, ""); err != nil {
		t.Errorf("DeleteStorage = %v, want nothing to do", err)
	}
	if removed, err := c.PruneStorage(ctx, nil); err != nil || len(removed) != 0 {
		t.Errorf("PruneStorage = %v, %v; want nothing to do", removed, err)
	}
}

// wcStops is the ECS of TestWorldContentUnderECSWaitsForTheTask: the task
// of creation "c1", described as each look finds it (the last one
// repeated), and onLook called at each look.
type wcStops struct {
	looks  []spawner.Task // a zero Task: ECS lists none
	n      int
	onLook func(n int)
}

func (f *wcStops) next() (spawner.Task, bool) {
	t := f.looks[min(f.n, len(f.looks)-1)]
	f.n++
	if f.onLook != nil {
		f.onLook(f.n)
	}
	return t, t.ID != ""
}

func (f *wcStops) StoppingTask(_ context.Context, creation string) (spawner.Task, bool, error) {
	if creation != "c1" {
		return spawner.Task{}, false, nil
	}
	t, ok := f.next()
	return t, ok, nil
}

func (f *wcStops) DescribeTasks(_ context.Context, arns []string) ([]spawner.Task, error) {
	if t, ok := f.next(); ok && slices.Equal(arns, []string{t.ID}) {
		return []spawner.Task{t}, nil
	}
	return nil, nil
}

// The save of a world's server under ECS is read once its task stopped,
// since the companion pushes while the task stops, after StopTask
// returned: a push made while it stops is the save; a companion that
// failed, or a task that does not stop in time, is an error saying so;
// a task ECS no longer lists has stopped long ago.
func TestWorldContentUnderECSWaitsForTheTask(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:ecs:eu-west-3:123456789012:task/spawner/abc"
	stopping := spawner.Task{ID: arn, Status: spawner.TaskStopping, StopWanted: true}
	stopped := stopping
	stopped.Status = spawner.TaskStopped
	failed := stopped
	failed.WorldSaveFailed, failed.StoppedReason = true, "spawner: command; the world's companion container exited with code 1"
	for _, tc := range []struct {
		name   string
		looks  []spawner.Task
		server string
		push   bool // the companion pushes at the second look
		want   string
	}{
		{name: "pushed while stopping", looks: []spawner.Task{stopping, stopping, stopped}, server: "c1", push: true},
		{name: "companion failed", looks: []spawner.Task{stopping, failed}, server: "c1", want: "not saved: spawner: command; the world's companion container exited with code 1"},
		{name: "never stops", looks: []spawner.Task{stopping}, server: "c1", want: "its server's task " + arn + " did not stop within 50ms"},
		{name: "no longer listed", looks: []spawner.Task{{}}, server: "c1", want: "did not arrive"},
		{name: "no server", looks: []spawner.Task{stopping}, want: "did not arrive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, k := wcS3(t)
			cfg := wcConfig(t, "ecs", map[string]string{"WORLD_S3_BUCKET": wcBucket, "AWS_ENDPOINT_URL_S3": fake.URL})
			c := wcContent(t, cfg, nil).content.(*bucketContent)
			w := spawner.World{ID: "w-carol", State: spawner.WorldRunning, Server: tc.server}
			var pushed spawner.Backup
			stops := &wcStops{looks: tc.looks, onLook: func(n int) {
				if tc.push && n == 2 {
					pushed = wcWrite(t, k, w.ID, spawner.BackupStop, "level.dat", "played")
				}
			}}
			c.tasks, c.poll, c.stopWait = stops, time.Millisecond, 50*time.Millisecond
			got, err := c.Saved(context.Background(), w, time.Now())
			switch {
			case tc.want == "" && (err != nil || got.ID != pushed.ID):
				t.Errorf("Saved = %+v, %v; want the push %s", got, err, pushed.ID)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Saved = %+v, %v; want an error saying %q", got, err, tc.want)
			}
		})
	}

	// The bot stopping meanwhile ends the wait at once.
	fake, _ := wcS3(t)
	cfg := wcConfig(t, "ecs", map[string]string{"WORLD_S3_BUCKET": wcBucket, "AWS_ENDPOINT_URL_S3": fake.URL})
	c := wcContent(t, cfg, nil).content.(*bucketContent)
	ctx, cancel := context.WithCancel(context.Background())
	c.tasks = &wcStops{looks: []spawner.Task{stopping}, onLook: func(int) { cancel() }}
	c.poll, c.stopWait = time.Millisecond, time.Hour
	if _, err := c.Saved(ctx, spawner.World{ID: "w-carol", Server: "c1"}, time.Now()); !errors.Is(err, context.Canceled) {
		t.Errorf("Saved as the bot stops = %v, want context.Canceled", err)
	}
}

// A copy that reads back an archive that is not the one written (its
// checksum differs) fails, and lists nothing new.
func TestWorldContentUnderECSRefusesADamagedBackup(t *testing.T) {
	t.Parallel()
	fake, k := wcS3(t)
	cfg := wcConfig(t, "ecs", map[string]string{"WORLD_S3_BUCKET": wcBucket, "AWS_ENDPOINT_URL_S3": fake.URL})
	c := wcContent(t, cfg, nil).content
	ctx := context.Background()
	w := spawner.World{ID: "w-bob", State: spawner.WorldStored}
	b := wcWrite(t, k, w.ID, spawner.BackupStop, "level.dat", strings.Repeat("x", 10_000))
	other := wcWrite(t, k, "w-other", spawner.BackupStop, "level.dat", strings.Repeat("y", 10_000))
	// The archive of another backup in place of b's: a whole tar.gz, but
	// not the one b's description records.
	client := fake.Client(t)
	rc, _, err := k.Store.Open(ctx, "w-other", other.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if _, err := client.PutObject(ctx, s3Put(wcBucket, backup.S3Prefix+w.ID+"/"+b.ID+".tar.gz", data)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Backup(ctx, w, spawner.BackupManual); !errors.Is(err, backup.ErrChecksum) {
		t.Errorf("backup copying a damaged archive = %v, want ErrChecksum", err)
	}
	if list, _ := c.Backups(ctx, w.ID); len(list) != 1 {
		t.Errorf("%d backups after the failed copy, want the damaged one alone", len(list))
	}
}

// Under Docker without PUBLIC_URL no link can be made: a refusal the
// member is told. With WORLD_S3_BUCKET, links are presigned.
func TestWorldContentLinksUnderDocker(t *testing.T) {
	t.Parallel()
	rt, err := docker.New(docker.Config{Deployment: "wc-links", PublicHost: "127.0.0.1", PortLo: 30000, PortHi: 30001}, client.WithHost("tcp://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	ctx := context.Background()

	parts := wcContent(t, wcConfig(t, "docker", nil), rt)
	var refusal *spawner.Refusal
	if _, _, err := parts.content.Link(ctx, "w-carol", "20200101T000000000Z-00000000"); !errors.As(err, &refusal) || refusal.Code != spawner.RefusedNoDownload {
		t.Errorf("link without PUBLIC_URL = %v, want RefusedNoDownload", err)
	}
	if parts.backups != nil {
		t.Errorf("without links, the pages serve downloads")
	}

	fake, k := wcS3(t)
	parts = wcContent(t, wcConfig(t, "docker", map[string]string{"WORLD_S3_BUCKET": wcBucket, "AWS_ENDPOINT_URL_S3": fake.URL}), rt)
	b := wcWrite(t, k, "w-carol", spawner.BackupManual, "starts", "3\n")
	url, _, err := parts.content.Link(ctx, "w-carol", b.ID)
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	if !strings.HasPrefix(url, fake.URL+"/"+wcBucket+"/") || !strings.Contains(url, "X-Amz-Expires=900") {
		t.Errorf("link %s, want a presigned link of the bucket for 900 s", url)
	}
	if got := wcDownload(t, url, b); !slices.Equal(got, []string{"starts=3\n"}) {
		t.Errorf("the presigned link gave %q", got)
	}
	if parts.backups != nil {
		t.Errorf("with presigned links, the pages serve downloads")
	}
}

// Under Docker with its backups in the data folder: a backup streams the
// world's volume into a backup that is listed, downloaded through the
// bot's pages by its signed link, and restored into a new volume with its
// content, the old one untouched; a damaged archive restores nothing.
func TestWorldContentUnderDocker(t *testing.T) {
	t.Parallel()
	e := dockerd.Shared(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deployment := fmt.Sprintf("wc-%d", time.Now().UnixNano()%1e9)
	cfg := wcConfig(t, "docker", map[string]string{
		"DOCKER_HOST": e.Host(), "SPAWNER_DEPLOYMENT": deployment,
		"PUBLIC_URL": "http://" + ln.Addr().String(), "HTTP_ADDR": ln.Addr().String(), "WORLD_BACKUPS_KEEP": "1",
	})
	a := &adapters{}
	if err := a.newDocker(cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.docker.Close() })
	cli := e.Client(t)
	t.Cleanup(func() { wcRemoveVolumes(cli, deployment) })
	m := NewMain(cfg, slog.New(slog.DiscardHandler))
	m.worlds = wcContent(t, cfg, a.docker)
	if m.worlds.backups == nil {
		t.Fatal("with PUBLIC_URL and HTTP_ADDR, the pages serve no downloads")
	}
	pages := newPages(m, nil)
	t.Cleanup(pages.Close)
	mux := http.NewServeMux()
	pages.mount(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	c, ctx := m.worlds.content, context.Background()
	first, err := a.docker.RestoreWorld(ctx, "w-dave", bytes.NewReader(wcTar(t, "./starts", "1\n", "./region/r.0.0.mca", "chunks")))
	if err != nil {
		t.Fatal(err)
	}
	w := spawner.World{ID: "w-dave", Storage: first, State: spawner.WorldStored}
	b1, err := c.Backup(ctx, w, spawner.BackupManual)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if list, err := c.Backups(ctx, w.ID); err != nil || len(list) != 1 || list[0] != b1 || b1.ContentSize != 8 {
		t.Errorf("backups = %+v, %v; want the one made, of 8 bytes of content", list, err)
	}
	url, expires, err := c.Link(ctx, w.ID, b1.ID)
	if err != nil || !strings.HasPrefix(url, cfg.PublicURL+"/worlds/w-dave/backups/"+b1.ID+".tar.gz?token=") {
		t.Fatalf("link = %q, %v; want a signed link to the pages", url, err)
	}
	if d := time.Until(expires); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("link expires in %s, want 15 minutes", d)
	}
	if got, want := wcDownload(t, url, b1), []string{"region/r.0.0.mca=chunks", "starts=1\n"}; !slices.Equal(got, want) {
		t.Errorf("the download holds %q, want %q", got, want)
	}
	if _, _, err := c.Link(ctx, w.ID, "20200101T000000000Z-00000000"); !errors.Is(err, spawner.ErrNotFound) {
		t.Errorf("link to a backup that does not exist = %v, want ErrNotFound", err)
	}

	second, err := a.docker.RestoreWorld(ctx, w.ID, bytes.NewReader(wcTar(t, "./starts", "2\n")))
	if err != nil {
		t.Fatal(err)
	}
	w.Storage = second
	b2, err := c.Saved(ctx, w, time.Now())
	if err != nil || b2.Reason != spawner.BackupStop {
		t.Fatalf("saved = %+v, %v; want a backup with reason stop", b2, err)
	}
	before, err := c.Backup(ctx, w, spawner.BackupBeforeRestore)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := c.Backups(ctx, w.ID); len(list) != 2 || list[1] != b2 {
		t.Fatalf("backups before the restore: %+v, want the one taken before it and the stop's (WORLD_BACKUPS_KEEP=1, but the backup before a restore prunes nothing)", list)
	}
	restored, err := c.Restore(ctx, w, b2.ID, before.ID)
	if err != nil || restored == second || restored == "" {
		t.Fatalf("restore = %q, %v; want a new storage", restored, err)
	}
	var buf bytes.Buffer
	if _, err := a.docker.BackupWorld(ctx, restored, &buf); err != nil {
		t.Fatal(err)
	}
	if got := wcFiles(t, &buf); !slices.Equal(got, []string{"starts=2\n"}) {
		t.Errorf("the restored storage holds %q, want the backup's starts=2", got)
	}
	if list, _ := c.Backups(ctx, w.ID); len(list) != 1 || list[0] != before {
		t.Errorf("backups after the restore: %+v, want the spared one alone (WORLD_BACKUPS_KEEP=1)", list)
	}

	// The archive of before, damaged in its middle: the restore fails and
	// leaves no new volume.
	path, err := backup.NewLocal(filepath.Join(cfg.DataDir, "backups")).Path(w.ID, before.ID)
	if err != nil {
		t.Fatal(err)
	}
	wcDamage(t, path)
	volumes := wcVolumes(t, cli, deployment)
	if _, err := c.Restore(ctx, w, before.ID, ""); err == nil {
		t.Errorf("restore of a damaged archive succeeded")
	}
	if got := wcVolumes(t, cli, deployment); !slices.Equal(got, volumes) {
		t.Errorf("volumes after a failed restore: %v, want as before: %v", got, volumes)
	}

	for _, s := range []string{first, second, ""} {
		if err := c.DeleteStorage(ctx, s); err != nil {
			t.Errorf("delete storage %q: %v", s, err)
		}
	}
	if got := wcVolumes(t, cli, deployment); !slices.Equal(got, []string{restored}) {
		t.Errorf("volumes after the deletions: %v, want the restored one alone", got)
	}
	if err := c.DeleteBackups(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := c.Backups(ctx, w.ID); err != nil || len(list) != 0 {
		t.Errorf("backups after their deletion: %v, %v", list, err)
	}
}

// wcDamage flips a byte in the middle of the file at path.
func wcDamage(tb testing.TB, path string) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// wcVolumes lists the deployment's volumes, sorted.
func wcVolumes(tb testing.TB, cli *client.Client, deployment string) []string {
	tb.Helper()
	list, err := cli.VolumeList(context.Background(), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", docker.LabelDeployment+"="+deployment))})
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, v := range list.Volumes {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	return names
}

// wcRemoveVolumes removes what the test left of the deployment.
func wcRemoveVolumes(cli *client.Client, deployment string) {
	list, err := cli.VolumeList(context.Background(), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", docker.LabelDeployment+"="+deployment))})
	if err != nil {
		return
	}
	for _, v := range list.Volumes {
		_ = cli.VolumeRemove(context.Background(), v.Name, true)
	}
}

// s3Put is a PutObject of data at key.
func s3Put(bucket, key string, data []byte) *s3.PutObjectInput {
	return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}
}

// Under ECS, /game add refuses a game with a world while WORLD_S3_BUCKET
// is not set, and one whose task definition has no companion container,
// each naming the template's world key and what to do.
func TestWorldGameCheckUnderECS(t *testing.T) {
	t.Parallel()
	srv := fakeaws.New(t, fakeaws.Options{TaskDefinitionFamilies: map[string][]string{
		"valheim": {"valheim", ecs.WorldContainer}, "paper": {"paper"},
	}})
	awsCfg := srv.AWSConfig()
	tasks := ecs.New(ecs.NewECS(awsCfg, nil), ecs.NewEC2(awsCfg, nil), ecs.Config{Cluster: fakeaws.DefaultClusterName})
	game := func(family string) spawner.Game {
		return spawner.Game{Name: family, TaskDefinition: family, Container: family, World: &spawner.WorldSpec{Path: "/data"}}
	}
	for _, tc := range []struct {
		name   string
		bucket string
		game   spawner.Game
		want   []string // in the problem naming "world"; none: no problem
	}{
		{"no bucket", "", game("valheim"), []string{"WORLD_S3_BUCKET", "not set"}},
		{"no companion", wcBucket, game("paper"), []string{`no container named "world"`, "companion"}},
		{"companion", wcBucket, game("valheim"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ecsGames{tasks: tasks, worldBucket: tc.bucket}.CheckGame(context.Background(), tc.game)
			if tc.want == nil {
				if err != nil {
					t.Errorf("CheckGame = %v, want nil", err)
				}
				return
			}
			var p *spawner.Problem
			if !errors.As(err, &p) || p.Var != "world" {
				t.Fatalf("CheckGame = %v, want a problem naming the world key", err)
			}
			for _, s := range tc.want {
				if !strings.Contains(p.Error(), s) {
					t.Errorf("problem %q does not say %q", p.Error(), s)
				}
			}
		})
	}
}
