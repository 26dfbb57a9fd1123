package docker_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// worldPath is where the test game keeps its world in its container.
const worldPath = "/data"

// volumes lists the names of the engine's volumes of deployment.
func (w *world) volumes(deployment string) []string {
	w.tb.Helper()
	list, err := w.cli.VolumeList(context.Background(), volume.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelDeployment+"="+deployment)),
	})
	if err != nil {
		w.tb.Fatalf("list volumes: %v", err)
	}
	var names []string
	for _, v := range list.Volumes {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	return names
}

// worldSpec is a server of the test game of worlds (the responder counting
// its starts in its world) on storage.
func (w *world) worldSpec(storage string) spawner.TaskSpec {
	spec := w.spec()
	spec.Env["MC_WORLD"] = worldPath
	spec.World = &spawner.WorldMount{Storage: storage, Path: worldPath}
	return spec
}

// serve runs a server of the world on storage and returns it with the
// description it answers pings with: "spawner test server, start N".
func (w *world) serve(r *docker.Runtime, storage string) (spawner.Task, string) {
	w.tb.Helper()
	task := w.run(r, w.worldSpec(storage))
	var status struct {
		Description struct{ Text string } `json:"description"`
	}
	if err := json.Unmarshal([]byte(w.ping(task)), &status); err != nil {
		w.tb.Fatalf("status of the server: %v", err)
	}
	return task, status.Description.Text
}

// play runs a server of the world on storage, stops it as the bot does,
// and returns the start it said it was.
func (w *world) play(r *docker.Runtime, storage string) string {
	w.tb.Helper()
	task, motd := w.serve(r, storage)
	if err := r.StopTask(context.Background(), task.ID, "played"); err != nil {
		w.tb.Fatalf("stop the server of the world: %v", err)
	}
	return strings.TrimPrefix(motd, "spawner test server, ")
}

// backup is the listing of a backup of storage (see list).
func (w *world) backup(r *docker.Runtime, storage string) []string {
	w.tb.Helper()
	var buf bytes.Buffer
	if _, err := r.BackupWorld(context.Background(), storage, &buf); err != nil {
		w.tb.Fatalf("back up %s: %v", storage, err)
	}
	return list(w.tb, buf.Bytes())
}

// list is "name=content" (files) and "name" (others) for each entry of a
// tar stream, with " uid N" when its owner is not root.
func list(tb testing.TB, b []byte) []string {
	tb.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("read the backup: %v", err)
		}
		s := h.Name
		if h.Typeflag == tar.TypeReg {
			body, err := io.ReadAll(tr)
			if err != nil {
				tb.Fatalf("read %s of the backup: %v", h.Name, err)
			}
			s += "=" + string(body)
		}
		if h.Uid != 0 {
			s += fmt.Sprintf(" uid %d", h.Uid)
		}
		out = append(out, s)
	}
}

// worldArchive is a world's archive: its folder owned by uid 1000, as a
// game that runs as that user leaves it, and files.
func worldArchive(tb testing.TB, files ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(h *tar.Header, body string) {
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			tb.Fatal(err)
		}
	}
	write(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 1000, Gid: 1000}, "")
	for i := 0; i+1 < len(files); i += 2 {
		write(&tar.Header{Name: files[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[i+1])), Uid: 1000, Gid: 1000}, files[i+1])
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// A world's storage is a labelled volume mounted at the world's path: what
// one server writes there the next finds; a backup, of a stopped or a
// running server, holds it relative to the world's folder.
func TestWorldOutlivesItsServers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	r := w.runtime()
	ctx := context.Background()

	storage, err := r.NewWorldStorage(ctx, "alice-survival")
	if err != nil {
		t.Fatalf("new world storage: %v", err)
	}
	if prefix := "spawner-world-" + w.cfg.Deployment + "-alice-survival-"; !strings.HasPrefix(storage, prefix) {
		t.Errorf("storage %q, want a volume named %s<generation>", storage, prefix)
	}
	v, err := w.cli.VolumeInspect(ctx, storage)
	if err != nil {
		t.Fatalf("inspect the world's volume: %v", err)
	}
	for k, want := range map[string]string{docker.LabelStartedBy: spawner.StartedBy, docker.LabelDeployment: w.cfg.Deployment, docker.LabelWorld: "alice-survival"} {
		if v.Labels[k] != want {
			t.Errorf("volume label %s = %q, want %q", k, v.Labels[k], want)
		}
	}

	if got := w.play(r, storage); got != "start 1" {
		t.Errorf("first server of the world says %q, want start 1", got)
	}
	if got := w.play(r, storage); got != "start 2" {
		t.Errorf("second server of the world says %q, want start 2: the world did not outlive the first", got)
	}
	var buf bytes.Buffer
	size, err := r.BackupWorld(ctx, storage, &buf)
	if err != nil {
		t.Fatalf("back up the stopped world: %v", err)
	}
	if got, want := list(t, buf.Bytes()), []string{"./", "./starts=2\n"}; !slices.Equal(got, want) {
		t.Errorf("backup of the stopped world holds %q, want %q", got, want)
	}
	if size != 2 {
		t.Errorf("backup says the world holds %d bytes, want 2", size)
	}

	task, motd := w.serve(r, storage)
	if !strings.HasSuffix(motd, "start 3") {
		t.Errorf("third server says %q, want start 3", motd)
	}
	if got, want := w.backup(r, storage), []string{"./", "./starts=3\n"}; !slices.Equal(got, want) {
		t.Errorf("backup of the running world holds %q, want %q", got, want)
	}
	if c, err := w.cli.ContainerInspect(ctx, task.ID); err != nil || !c.State.Running {
		t.Errorf("the server is no longer running after a backup: %v", err)
	}
	if n := len(w.containers(w.cfg.Deployment)); n != 1 {
		t.Errorf("%d containers of the deployment after backups, want the server's alone: a helper was left", n)
	}
}

// A restore fills a new generation of the world, which a server then
// plays on, owners kept; the old generation is untouched until the
// caller deletes it (a crash before the record points at the new one
// loses nothing); deleting is idempotent.
func TestRestoreWorldMakesANewGeneration(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1)
	r := w.runtime()
	ctx := context.Background()
	old, err := r.NewWorldStorage(ctx, "bob-world")
	if err != nil {
		t.Fatal(err)
	}
	if got := w.play(r, old); got != "start 1" {
		t.Fatalf("first server says %q, want start 1", got)
	}

	restored, err := r.RestoreWorld(ctx, "bob-world", bytes.NewReader(worldArchive(t, "./starts", "41\n", "./region/r.0.0.mca", "chunks")))
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if restored == old || !strings.HasPrefix(restored, "spawner-world-"+w.cfg.Deployment+"-bob-world-") {
		t.Errorf("restored into %q, want a new generation of the world (the old is %q)", restored, old)
	}
	if got, want := w.backup(r, old), []string{"./", "./starts=1\n"}; !slices.Equal(got, want) {
		t.Errorf("the old generation holds %q after the restore, want it untouched: %q", got, want)
	}
	if got := w.play(r, restored); got != "start 42" {
		t.Errorf("a server of the restored world says %q, want start 42", got)
	}
	want := []string{"./ uid 1000", "./region/", "./region/r.0.0.mca=chunks uid 1000", "./starts=42\n"}
	if got := w.backup(r, restored); !slices.Equal(got, want) {
		t.Errorf("the restored world holds %q, want %q (the folder's owner restored, so a game running as that user can write)", got, want)
	}

	if err := r.DeleteWorldStorage(ctx, old); err != nil {
		t.Fatalf("delete the old generation: %v", err)
	}
	if _, err := w.cli.VolumeInspect(ctx, old); !cerrdefs.IsNotFound(err) {
		t.Errorf("the old generation is still there after its deletion: %v", err)
	}
	if err := r.DeleteWorldStorage(ctx, old); err != nil {
		t.Errorf("deleting it again: %v, want nil (idempotent)", err)
	}
	if got := w.volumes(w.cfg.Deployment); !slices.Equal(got, []string{restored}) {
		t.Errorf("volumes of the deployment %v, want the restored one alone", got)
	}
}

// A restore from an archive that is cut short or leaves the world's
// folder fails naming the problem, and leaves no volume nor helper behind.
func TestRestoreRefusesABadArchive(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1)
	r := w.runtime()
	ctx := context.Background()
	good := worldArchive(t, "./starts", "7\n", "./big", strings.Repeat("x", 100_000))
	escaping := worldArchive(t, "./../../../etc/cron.d/x", "* * * * * root id\n")
	for _, tc := range []struct {
		name, archive, err string
	}{
		{"cut in a file", string(good[:50_000]), "cut short"},
		{"cut before its end", string(good[:len(good)-1024]), "cut short"},
		{"leaving the folder", string(escaping), "outside the world's folder"},
	} {
		_, err := r.RestoreWorld(ctx, "carol", strings.NewReader(tc.archive))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: restore gave %v, want an error saying %q", tc.name, err, tc.err)
		}
	}
	if got := w.volumes(w.cfg.Deployment); len(got) != 0 {
		t.Errorf("failed restores left volumes %v", got)
	}
	if got := w.containers(w.cfg.Deployment); len(got) != 0 {
		t.Errorf("failed restores left %d containers", len(got))
	}
}

// A server never starts on a world storage that is missing or another
// deployment's: the engine would make an empty volume in its place, and
// the world would look wiped.
func TestRunTaskRefusesAMissingWorld(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1)
	r := w.runtime()
	ctx := context.Background()
	other := w.cfg.Deployment + "-other"
	t.Cleanup(func() { w.removeDeployment(other) })
	theirs, err := w.runtime(func(c *docker.Config) { c.Deployment = other }).NewWorldStorage(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	missing := "spawner-world-" + w.cfg.Deployment + "-gone-1"
	for storage, reason := range map[string]string{missing: "missing", theirs: "not this bot's"} {
		_, err := r.RunTask(ctx, w.worldSpec(storage))
		var failure *spawner.RunFailure
		if !errors.As(err, &failure) || !strings.Contains(failure.Reason, reason) {
			t.Errorf("run on %s: %v, want a run failure saying the storage is %s", storage, err, reason)
		}
	}
	if _, err := w.cli.VolumeInspect(ctx, missing); !cerrdefs.IsNotFound(err) {
		t.Errorf("the missing storage exists after the run: %v", err)
	}
	if n := len(w.containers(w.cfg.Deployment)); n != 0 {
		t.Errorf("%d containers left by refused runs", n)
	}
	if err := r.DeleteWorldStorage(ctx, theirs); err == nil || !strings.Contains(err.Error(), "not a world of deployment") {
		t.Errorf("deleting another deployment's world: %v, want a refusal", err)
	}
	if _, err := r.BackupWorld(ctx, theirs, io.Discard); err == nil {
		t.Errorf("backing up another deployment's world succeeded, want a refusal")
	}
}

// A storage a server uses is not deleted: the error says it is in use and
// by which container; once the server is stopped it is.
func TestDeleteWorldStorageInUse(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1)
	r := w.runtime()
	ctx := context.Background()
	storage, err := r.NewWorldStorage(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	task, _ := w.serve(r, storage)
	err = r.DeleteWorldStorage(ctx, storage)
	if !errors.Is(err, spawner.ErrWorldStorageInUse) || !strings.Contains(err.Error(), docker.ContainerName(task.Tags[spawner.TagCreation])) {
		t.Fatalf("deleting the storage of a running server: %v, want it in use by %s", err, docker.ContainerName(task.Tags[spawner.TagCreation]))
	}
	if err := r.StopTask(ctx, task.ID, "done"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteWorldStorage(ctx, storage); err != nil {
		t.Errorf("deleting the storage once its server stopped: %v", err)
	}
}

// Prune removes the deployment's world volumes the records do not name,
// and the helper containers a crash left that hold them; never what the
// records name, another deployment's volumes or a volume it did not make,
// nor a storage just made, which its caller is about to record.
func TestPruneWorldStorage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1)
	now := time.Now()
	r := w.runtime(func(c *docker.Config) { c.Now = func() time.Time { return now } })
	ctx := context.Background()
	kept, err := r.NewWorldStorage(ctx, "frank")
	if err != nil {
		t.Fatal(err)
	}
	stray, err := r.NewWorldStorage(ctx, "frank")
	if err != nil {
		t.Fatal(err)
	}
	w.backup(r, kept) // the helper image is on the engine
	other := w.cfg.Deployment + "-other"
	t.Cleanup(func() { w.removeDeployment(other) })
	theirs, err := w.runtime(func(c *docker.Config) { c.Deployment = other }).NewWorldStorage(ctx, "frank")
	if err != nil {
		t.Fatal(err)
	}
	plain := "plain-" + w.cfg.Deployment
	if _, err := w.cli.VolumeCreate(ctx, volume.CreateOptions{Name: plain, Labels: map[string]string{docker.LabelDeployment: w.cfg.Deployment}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.cli.VolumeRemove(context.Background(), plain, true) })
	helper := w.leftHelper(stray)

	removed, err := r.PruneWorldStorage(ctx, map[string]bool{kept: true})
	if err != nil || len(removed) != 0 {
		t.Errorf("prune within the grace of the storage just made removed %v (%v), want nothing", removed, err)
	}
	now = now.Add(docker.WorldPruneGrace)
	removed, err = r.PruneWorldStorage(ctx, map[string]bool{kept: true})
	if err != nil || !slices.Equal(removed, []string{stray}) {
		t.Errorf("prune removed %v (%v), want the stray generation %s alone", removed, err, stray)
	}
	if _, err := w.cli.ContainerInspect(ctx, helper); !cerrdefs.IsNotFound(err) {
		t.Errorf("the helper a crash left is still there: %v", err)
	}
	for _, v := range []string{kept, theirs, plain} {
		if _, err := w.cli.VolumeInspect(ctx, v); err != nil {
			t.Errorf("volume %s is gone after the prune: %v", v, err)
		}
	}
}

// leftHelper creates a helper container of the world's deployment opening
// storage, as a bot killed during a backup leaves it, and returns its id.
func (w *world) leftHelper(storage string) string {
	w.tb.Helper()
	c, err := w.cli.ContainerCreate(context.Background(),
		&container.Config{Image: docker.HelperImage, Labels: map[string]string{docker.LabelDeployment: w.cfg.Deployment, docker.LabelWorldHelper: storage}},
		&container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: storage, Target: "/world"}}},
		nil, nil, "")
	if err != nil {
		w.tb.Fatalf("create a left helper: %v", err)
	}
	return c.ID
}

// killedRestoreEnv, set, makes TestRestoreKilledMidway the bot that is
// killed: "<engine host> <deployment> <world id>".
const killedRestoreEnv = "SPAWNER_TEST_KILLED_RESTORE"

// A bot SIGKILLed in the middle of a restore leaves the world's storage
// as it was; the half-filled generation and its helper are strays, which
// the next start's prune removes.
func TestRestoreKilledMidway(t *testing.T) {
	if args := os.Getenv(killedRestoreEnv); args != "" {
		restoreUntilKilled(t, strings.Fields(args))
		return
	}
	t.Parallel()
	w := newWorld(t, 1)
	r := w.runtime()
	ctx := context.Background()
	storage, err := r.NewWorldStorage(ctx, "grace")
	if err != nil {
		t.Fatal(err)
	}
	if got := w.play(r, storage); got != "start 1" {
		t.Fatalf("first server says %q, want start 1", got)
	}

	bot := exec.Command(os.Args[0], "-test.run=^TestRestoreKilledMidway$", "-test.count=1")
	bot.Env = append(os.Environ(), killedRestoreEnv+"="+w.engine.Host()+" "+w.cfg.Deployment+" grace")
	bot.Stderr = os.Stderr
	out, err := bot.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bot.Process.Kill() })
	waitForLine(t, out, "restoring", 60*time.Second)
	if err := bot.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = bot.Wait()

	vols := w.volumes(w.cfg.Deployment)
	if len(vols) != 2 || !slices.Contains(vols, storage) {
		t.Fatalf("volumes after the kill: %v, want the world's and the half-filled one", vols)
	}
	if got, want := w.backup(r, storage), []string{"./", "./starts=1\n"}; !slices.Equal(got, want) {
		t.Errorf("the world holds %q after a restore was killed, want %q", got, want)
	}
	removed, err := w.runtime().PruneWorldStorage(ctx, map[string]bool{storage: true})
	if err != nil || len(removed) != 1 || removed[0] == storage {
		t.Errorf("the next start's prune removed %v (%v), want the half-filled generation", removed, err)
	}
	if got := w.volumes(w.cfg.Deployment); !slices.Equal(got, []string{storage}) {
		t.Errorf("volumes after the prune: %v, want the world's alone", got)
	}
	if n := len(w.containers(w.cfg.Deployment)); n != 0 {
		t.Errorf("%d containers after the prune, want no helper left", n)
	}
	if got := w.play(r, storage); got != "start 2" {
		t.Errorf("the world's next server says %q, want start 2", got)
	}
}

// restoreUntilKilled is the bot of TestRestoreKilledMidway: it restores
// a world from an archive that stops coming halfway through a file, says
// "restoring" once the engine is writing it, and waits to be killed.
func restoreUntilKilled(t *testing.T, args []string) {
	if len(args) != 3 {
		t.Fatalf("%s=%q, want host, deployment and world", killedRestoreEnv, args)
	}
	r, err := docker.New(docker.Config{Deployment: args[1]}, client.WithHost(args[0]))
	if err != nil {
		t.Fatal(err)
	}
	archive := worldArchive(t, "./starts", "99\n", "./big", strings.Repeat("x", 1<<20))
	half := len(archive) / 2
	stalled := io.MultiReader(bytes.NewReader(archive[:half]), readFunc(func([]byte) (int, error) {
		fmt.Println("restoring")
		select {} // until killed
	}))
	_, err = r.RestoreWorld(context.Background(), args[2], stalled)
	t.Fatalf("restore returned (%v) instead of waiting to be killed", err)
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// waitForLine waits, up to within, for a line of r that is line; it
// fails tb saying what was read when none came.
func waitForLine(tb testing.TB, r io.Reader, line string, within time.Duration) {
	tb.Helper()
	found := make(chan []string, 1) // the lines read; the last is line when found
	go func() {
		var read []string
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			read = append(read, sc.Text())
			if sc.Text() == line {
				break
			}
		}
		found <- read
	}()
	select {
	case read := <-found:
		if len(read) == 0 || read[len(read)-1] != line {
			tb.Fatalf("the output ended without %q: %q", line, read)
		}
	case <-time.After(within):
		tb.Fatalf("no line %q within %s", line, within)
	}
}

// Through a socket proxy with docker-compose.yaml's sections, worlds work;
// without VOLUMES, spawner check says so and names the fix.
func TestWorldsThroughTheSocketProxy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2)
	ctx := context.Background()
	compose := []string{"CONTAINERS", "IMAGES", "EVENTS", "INFO", "NETWORKS", "DISTRIBUTION", "VOLUMES", "POST"}
	proxied, err := docker.New(w.cfg, client.WithHost(w.engine.ProxyHost(t, compose...)))
	if err != nil {
		t.Fatal(err)
	}
	defer proxied.Close()
	if problems := proxied.Check(ctx, map[string]string{"GAMESERVER_IMAGE": w.image}); len(problems) != 0 {
		t.Errorf("check through the proxy of docker-compose.yaml: %v, want no problem", problems)
	}
	storage, err := proxied.RestoreWorld(ctx, "heidi", bytes.NewReader(worldArchive(t, "./starts", "4\n")))
	if err != nil {
		t.Fatalf("restore through the proxy: %v", err)
	}
	if got := w.play(proxied, storage); got != "start 5" {
		t.Errorf("a server through the proxy says %q, want start 5", got)
	}
	if got, want := w.backup(proxied, storage), []string{"./ uid 1000", "./starts=5\n"}; !slices.Equal(got, want) {
		t.Errorf("backup through the proxy holds %q, want %q", got, want)
	}
	if err := proxied.DeleteWorldStorage(ctx, storage); err != nil {
		t.Errorf("delete through the proxy: %v", err)
	}

	without := slices.DeleteFunc(slices.Clone(compose), func(s string) bool { return s == "VOLUMES" })
	old, err := docker.New(w.cfg, client.WithHost(w.engine.ProxyHost(t, without...)))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	problems := old.Check(ctx, map[string]string{"GAMESERVER_IMAGE": w.image})
	var p *spawner.Problem
	if len(problems) != 1 || !errors.As(problems[0], &p) || p.Var != docker.VarVolumes || !strings.Contains(p.Err.Error(), `VOLUMES: "1"`) {
		t.Errorf("check through a proxy without VOLUMES: %v, want one problem naming VOLUMES", problems)
	}
}
