package main

// The ECS companion of a game with a world (`spawner world sidecar` and
// `spawner world ready`), run as the real binary against a fake S3 that
// speaks the wire protocol, with the world task role's policy enforced on
// the companion's credentials. SIGTERM and SIGKILL are the real thing; a
// request the fake holds in its middle is where the test acts, so nothing
// waits on time.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mineral-contest/spawner/internal/backup"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakes3"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

const (
	scBucket = "spawner-worlds-123456789012"
	scWorld  = "w-0a1b2c3d"
	// The companion's credentials: the fake applies the world task role's
	// policy to requests signed with this key id, and the secret key must
	// never reach its logs.
	scKeyID     = "AKIDWORLDTASK"
	scSecretKey = "world-task-secret-key-0123456789"
)

// scEnv is one test's S3, the companion's folders, and the bot's view of
// the backups (its own credentials, not bound by the task role).
type scEnv struct {
	s3     *fakes3.Server
	client *s3.Client
	keeper *backup.Keeper
	bin    string
	dir    string // WORLD_PATH
	tmp    string // the companion's TMPDIR, where its ready marker goes
	env    []string
}

func newSidecarEnv(tb testing.TB) *scEnv {
	tb.Helper()
	e := &scEnv{s3: fakes3.Start(tb), bin: rsSpawnerBinary(tb)}
	e.s3.Bucket(tb, scBucket)
	e.s3.DenyWhen(scWorldTask(nil))
	e.client = e.s3.Client(tb)
	store, err := backup.NewS3(e.client, scBucket, backup.S3Options{})
	if err != nil {
		tb.Fatal(err)
	}
	e.keeper = &backup.Keeper{Store: store}
	root := tb.TempDir()
	e.dir = filepath.Join(root, "world")
	e.tmp = filepath.Join(root, "tmp")
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(e.tmp, 0o755); err != nil {
		tb.Fatal(err)
	}
	e.env = []string{
		"HOME=" + root, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + e.tmp,
		"WORLD_S3_BUCKET=" + scBucket, "WORLD_ID=" + scWorld, "WORLD_PATH=" + e.dir,
		"AWS_REGION=" + fakes3.Region, "AWS_ACCESS_KEY_ID=" + scKeyID, "AWS_SECRET_ACCESS_KEY=" + scSecretKey,
		"AWS_ENDPOINT_URL_S3=" + e.s3.URL, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(root, "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(root, "no-aws-credentials"),
	}
	return e
}

// scWorldTask denies the companion (requests signed with scKeyID) what the
// world task role may not do, and what also refuses; the test's own
// requests pass.
func scWorldTask(also func(*http.Request) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+scKeyID+"/") {
			return false
		}
		return fakes3.WorldTaskDenies(r) || (also != nil && also(r))
	}
}

// requestsSince are the requests the fake received from the n-th on,
// described as "METHOD /path?query-names".
func (e *scEnv) requestsSince(n int) []string { return e.s3.Requests()[n:] }

// writes are the requests among reqs that write or delete.
func writes(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") {
			out = append(out, r)
		}
	}
	return out
}

// seed backs files up as a backup of the world, as an earlier session's
// push would have; owned by uid:gid 1000 as a non-root game writes them.
func (e *scEnv) seed(tb testing.TB, files map[string]string) spawner.Backup {
	tb.Helper()
	src := filepath.Join(tb.TempDir(), "seed")
	writeTree(tb, src, files)
	_ = filepath.WalkDir(src, func(p string, _ os.DirEntry, _ error) error { return os.Lchown(p, 1000, 1000) })
	b, err := e.keeper.Write(context.Background(), scWorld, spawner.BackupStop, backup.Dir(src))
	if err != nil {
		tb.Fatalf("seed a backup: %v", err)
	}
	return b
}

func writeTree(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// readTree reads every regular file under dir, by slash path.
func readTree(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

func sameFiles(tb testing.TB, what string, got, want map[string]string) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("%s: %d files %v, want %d", what, len(got), keysOf(got), len(want))
	}
	for name, content := range want {
		if got[name] != content {
			tb.Errorf("%s: %s holds %q, want %q", what, name, short(got[name]), short(content))
		}
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// newest restores the world's newest backup into a new folder and returns
// it with its files.
func (e *scEnv) newest(tb testing.TB) (spawner.Backup, map[string]string) {
	tb.Helper()
	ctx := context.Background()
	b, err := e.keeper.Newest(ctx, scWorld)
	if err != nil {
		tb.Fatalf("newest backup: %v", err)
	}
	dir := filepath.Join(tb.TempDir(), "restored")
	if _, err := e.keeper.RestoreDir(ctx, scWorld, b.ID, dir); err != nil {
		tb.Fatalf("restore the newest backup: %v", err)
	}
	return b, readTree(tb, dir)
}

// listed is the world's backups as the bot lists them.
func (e *scEnv) listed(tb testing.TB) []spawner.Backup {
	tb.Helper()
	list, err := e.keeper.List(context.Background(), scWorld)
	if err != nil {
		tb.Fatalf("list backups: %v", err)
	}
	return list
}

// objects lists the keys and the unfinished uploads under the world's prefix.
func (e *scEnv) objects(tb testing.TB) (keys, uploads []string) {
	tb.Helper()
	ctx := context.Background()
	prefix := aws.String(backup.S3Prefix + scWorld + "/")
	out, err := e.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(scBucket), Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	ups, err := e.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(scBucket), Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range ups.Uploads {
		uploads = append(uploads, aws.ToString(u.Key))
	}
	return keys, uploads
}

// ready runs `spawner world ready` as ECS's health check does.
func (e *scEnv) ready(tb testing.TB) bool {
	tb.Helper()
	cmd := exec.Command(e.bin, "world", "ready")
	cmd.Env = e.env
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false
	}
	tb.Fatalf("spawner world ready: %v, want exit 0 or 1", err)
	return false
}

// scProcess is one run of `spawner world sidecar`.
type scProcess struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// start runs the companion with the env's environment plus extra.
func (e *scEnv) start(tb testing.TB, extra ...string) *scProcess {
	tb.Helper()
	cmd := exec.Command(e.bin, "world", "sidecar")
	cmd.Env = append(append([]string(nil), e.env...), extra...)
	p := &scProcess{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start the companion: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if tb.Failed() {
			tb.Logf("companion logs:\n%s", p.logs.String())
		}
	})
	return p
}

func (p *scProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *scProcess) signal(tb testing.TB, sig os.Signal) {
	tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("send %v to the companion: %v", sig, err)
	}
}

// exit waits for the companion to end on its own and returns its status.
func (p *scProcess) exit(tb testing.TB, what string) int {
	tb.Helper()
	select {
	case <-p.done:
	case <-time.After(wait.ContextTimeout):
		tb.Fatalf("the companion did not exit %s within %v; logs:\n%s", what, wait.ContextTimeout, p.logs.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// untilReady waits for the health check to pass, failing if the companion
// exits first.
func (e *scEnv) untilReady(tb testing.TB, p *scProcess) {
	tb.Helper()
	wait.For(tb, "the companion to be ready", func() bool {
		if p.exited() {
			tb.Fatalf("the companion exited (%s) before it was ready; logs:\n%s", p.cmd.ProcessState, p.logs.String())
		}
		return e.ready(tb)
	})
}

// arrived waits for a held request.
func arrived(tb testing.TB, h *fakes3.Hold, what string) {
	tb.Helper()
	select {
	case <-h.Arrived():
	case <-time.After(wait.ContextTimeout):
		tb.Fatalf("%s never arrived at the fake S3", what)
	}
}

func isArchive(method string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == method && strings.HasSuffix(r.URL.Path, ".tar.gz")
	}
}

// noSecret asserts the companion's logs never show its secret key.
func noSecret(tb testing.TB, p *scProcess) {
	tb.Helper()
	if strings.Contains(p.logs.String(), scSecretKey) {
		tb.Errorf("the companion's logs show its secret key:\n%s", p.logs.String())
	}
}

// TestSidecarPullsThenPushesAtTheStop: a world with a backup. The
// companion is not ready while its pull is under way, is once the world is
// in WORLD_PATH with its owners, stays up until SIGTERM, then pushes the
// world as the game left it; a second SIGTERM during the push does not cut
// it. The new backup is the newest, and nothing was pruned.
func TestSidecarPullsThenPushesAtTheStop(t *testing.T) {
	t.Parallel()
	e := newSidecarEnv(t)
	seeded := map[string]string{"level.dat": "day 1", "region/r.0.0.mca": strings.Repeat("chunk ", 1000), "server.properties": "motd=hello\n"}
	older := e.seed(t, seeded)

	if e.ready(t) {
		t.Fatal("world ready says ready before the companion started")
	}
	pull := e.s3.HoldNext(isArchive(http.MethodGet))
	p := e.start(t)
	arrived(t, pull, "the pull's download")
	if e.ready(t) {
		t.Fatal("world ready says ready while the pull is under way")
	}
	pull.Release()
	e.untilReady(t, p)
	sameFiles(t, "WORLD_PATH once ready", readTree(t, e.dir), seeded)
	if os.Geteuid() == 0 {
		info, err := os.Stat(filepath.Join(e.dir, "region", "r.0.0.mca"))
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
			t.Errorf("a pulled file is owned by %d:%d, want 1000:1000 as archived (a non-root game must write it)", st.Uid, st.Gid)
		}
	} else {
		t.Log("not root: owners cannot be restored, only the content is checked")
	}
	if _, err := os.Stat(filepath.Join(e.dir, readyMarkerName)); err == nil {
		t.Error("the ready marker is in the world, which the game sees")
	}
	if p.exited() {
		t.Fatalf("the companion exited after its pull, before SIGTERM: %s", p.cmd.ProcessState)
	}

	// The game plays, then ECS stops it, then the companion.
	played := map[string]string{"level.dat": "day 2", "region/r.0.0.mca": seeded["region/r.0.0.mca"], "server.properties": seeded["server.properties"], "playerdata/alice.dat": "diamonds: 3"}
	writeTree(t, e.dir, played)
	push := e.s3.HoldNext(isArchive(http.MethodPut))
	p.signal(t, syscall.SIGTERM)
	arrived(t, push, "the push's upload")
	p.signal(t, syscall.SIGTERM) // ECS or an impatient operator again: the push goes on
	push.Release()
	if code := p.exit(t, "after its push"); code != 0 {
		t.Fatalf("the companion exited %d after its push, want 0; logs:\n%s", code, p.logs.String())
	}

	b, files := e.newest(t)
	sameFiles(t, "the newest backup", files, played)
	if b.Reason != spawner.BackupStop || b.ID == older.ID {
		t.Errorf("the newest backup is %+v, want a new one of reason stop", b)
	}
	if n := len(e.listed(t)); n != 2 {
		t.Errorf("%d backups listed, want the seeded one and the pushed one", n)
	}
	logs := p.logs.String()
	for _, says := range []string{"ready: pulled", "backup=" + older.ID, "stop asked: pushing", "pushed: the world is saved", "backup=" + b.ID} {
		if !strings.Contains(logs, says) {
			t.Errorf("the companion's logs do not say %q:\n%s", says, logs)
		}
	}
	noSecret(t, p)
}

// TestSidecarNewWorld: no backup yet: the world starts empty, and the
// stop pushes what the game wrote.
func TestSidecarNewWorld(t *testing.T) {
	t.Parallel()
	e := newSidecarEnv(t)
	p := e.start(t)
	e.untilReady(t, p)
	if files := readTree(t, e.dir); len(files) != 0 {
		t.Fatalf("a new world holds %v", keysOf(files))
	}
	played := map[string]string{"world/level.dat": "seed 42", "ops.json": "[]"}
	writeTree(t, e.dir, played)
	p.signal(t, syscall.SIGTERM)
	if code := p.exit(t, "after its push"); code != 0 {
		t.Fatalf("exit %d after the push of a new world, want 0", code)
	}
	_, files := e.newest(t)
	sameFiles(t, "the first backup", files, played)
	if !strings.Contains(p.logs.String(), "ready: a new world, empty") {
		t.Errorf("the logs do not say the world is new:\n%s", p.logs.String())
	}
	noSecret(t, p)
}

// TestSidecarPullFails: an archive that is not the one its backup
// recorded. The companion exits at once, non-zero (3), without SIGTERM:
// never ready (the game never starts), WORLD_PATH empty, nothing written
// to the bucket.
func TestSidecarPullFails(t *testing.T) {
	t.Parallel()
	e := newSidecarEnv(t)
	b := e.seed(t, map[string]string{"level.dat": "the real one"})
	// Another world's archive, whole and well formed, in its place: its
	// files are extracted before its checksum is known, then thrown away.
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "other")
	writeTree(t, src, map[string]string{"level.dat": "someone else's", "region/r.0.0.mca": strings.Repeat("x", 5000)})
	ob, err := e.keeper.Write(ctx, "w-other", spawner.BackupStop, backup.Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(scBucket), Key: aws.String(backup.S3Prefix + "w-other/" + ob.ID + ".tar.gz")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	key := backup.S3Prefix + scWorld + "/" + b.ID + ".tar.gz"
	if _, err := e.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(scBucket), Key: aws.String(key), Body: bytes.NewReader(other)}); err != nil {
		t.Fatal(err)
	}
	before := len(e.s3.Requests())
	p := e.start(t)
	if code := p.exit(t, "after a failed pull"); code != sidecarPullFailed {
		t.Fatalf("exit %d after a failed pull, want %d", code, sidecarPullFailed)
	}
	if e.ready(t) {
		t.Error("world ready says ready after a failed pull")
	}
	if files := readTree(t, e.dir); len(files) != 0 {
		t.Errorf("WORLD_PATH holds %v after a failed pull: the game would start on half a world", keysOf(files))
	}
	if w := writes(e.requestsSince(before)); len(w) != 0 {
		t.Errorf("the companion wrote to the bucket after a failed pull: %v", w)
	}
	if !strings.Contains(p.logs.String(), "pull failed") || !strings.Contains(p.logs.String(), backup.ErrChecksum.Error()) {
		t.Errorf("the logs do not say the pull failed, and why:\n%s", p.logs.String())
	}
	noSecret(t, p)
}

// TestSidecarStoppedDuringPull: SIGTERM while the pull is under way (the
// task stopped before its game started): exit 3, never ready, no push.
func TestSidecarStoppedDuringPull(t *testing.T) {
	t.Parallel()
	e := newSidecarEnv(t)
	e.seed(t, map[string]string{"level.dat": "day 1"})
	pull := e.s3.HoldNext(isArchive(http.MethodGet))
	before := len(e.s3.Requests())
	p := e.start(t)
	arrived(t, pull, "the pull's download")
	p.signal(t, syscall.SIGTERM)
	if code := p.exit(t, "after SIGTERM during its pull"); code != sidecarPullFailed {
		t.Fatalf("exit %d after SIGTERM during the pull, want %d", code, sidecarPullFailed)
	}
	if e.ready(t) {
		t.Error("world ready says ready after a pull cut short")
	}
	if w := writes(e.requestsSince(before)); len(w) != 0 {
		t.Errorf("the companion wrote to the bucket after a pull cut short: %v", w)
	}
	if n := len(e.listed(t)); n != 1 {
		t.Errorf("%d backups listed, want the seeded one alone", n)
	}
}

// TestSidecarPushFails: the bucket refuses the upload: exit 1 (the bot
// says the backup failed), nothing listed, nothing left half written.
func TestSidecarPushFails(t *testing.T) {
	t.Parallel()
	e := newSidecarEnv(t)
	older := e.seed(t, map[string]string{"level.dat": "day 1"})
	p := e.start(t)
	e.untilReady(t, p)
	writeTree(t, e.dir, map[string]string{"level.dat": "day 2"})
	e.s3.DenyWhen(scWorldTask(func(r *http.Request) bool { return r.Method == http.MethodPut || r.Method == http.MethodPost }))
	keysBefore, _ := e.objects(t)
	p.signal(t, syscall.SIGTERM)
	if code := p.exit(t, "after a failed push"); code != sidecarPushFailed {
		t.Fatalf("exit %d after a refused push, want %d", code, sidecarPushFailed)
	}
	if list := e.listed(t); len(list) != 1 || list[0].ID != older.ID {
		t.Errorf("after a failed push, listed %+v: want the older backup alone", list)
	}
	keys, uploads := e.objects(t)
	if len(keys) != len(keysBefore) || len(uploads) != 0 {
		t.Errorf("after a failed push: objects %v (before %v), unfinished uploads %v", keys, keysBefore, uploads)
	}
	if !strings.Contains(p.logs.String(), "push failed: the world was not saved") || !strings.Contains(p.logs.String(), "AccessDenied") {
		t.Errorf("the logs do not say the push failed, and why:\n%s", p.logs.String())
	}
	noSecret(t, p)
}

// TestSidecarKilledDuringPush: Fargate kills the companion (SIGKILL) in
// the middle of the multipart upload of a world larger than a part: the
// upload is never completed, so no backup is listed and no object is
// there; the older backup stays the newest. The bot's later sweep aborts
// the unfinished upload.
func TestSidecarKilledDuringPush(t *testing.T) {
	t.Parallel()
	e := newSidecarEnv(t)
	older := e.seed(t, map[string]string{"level.dat": "day 1"})
	p := e.start(t)
	e.untilReady(t, p)
	// More than one 8 MiB part of bytes that do not compress.
	big := make([]byte, backup.DefaultPartSize+backup.DefaultPartSize/2)
	rng := rand.NewChaCha8([32]byte{7})
	if _, err := io.ReadFull(rng, big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "region.mca"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	part := e.s3.HoldNext(func(r *http.Request) bool { return r.Method == http.MethodPut && r.URL.Query().Has("partNumber") })
	p.signal(t, syscall.SIGTERM)
	arrived(t, part, "a part of the push's multipart upload")
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.exit(t, "after SIGKILL")

	if list := e.listed(t); len(list) != 1 || list[0].ID != older.ID {
		t.Fatalf("after a SIGKILL mid-push, listed %+v: want the older backup alone", list)
	}
	keys, uploads := e.objects(t)
	for _, k := range keys {
		if !strings.Contains(k, older.ID) {
			t.Errorf("after a SIGKILL mid-push, object %s is there", k)
		}
	}
	if len(uploads) != 1 {
		t.Errorf("unfinished uploads %v, want the one the SIGKILL cut", uploads)
	}
	// The bot prunes once the task stopped; an hour later its sweep
	// aborts what was left.
	k := &backup.Keeper{Store: e.keeper.Store, Now: func() time.Time { return time.Now().Add(backup.SweepGrace + time.Minute) }}
	if err := k.Prune(context.Background(), scWorld); err != nil {
		t.Fatal(err)
	}
	if _, uploads := e.objects(t); len(uploads) != 0 {
		t.Errorf("the bot's sweep left the unfinished upload %v", uploads)
	}
}

// TestSidecarConfiguration: what is missing or malformed is told at once,
// every variable named; exit 2, never ready, nothing asked of S3.
func TestSidecarConfiguration(t *testing.T) {
	t.Parallel()
	e := newSidecarEnv(t)
	before := len(e.s3.Requests())
	p := e.start(t, "WORLD_S3_BUCKET=", "WORLD_ID=../other", "WORLD_PATH=world")
	if code := p.exit(t, "with a bad configuration"); code != sidecarBadConfig {
		t.Fatalf("exit %d with a bad configuration, want %d", code, sidecarBadConfig)
	}
	for _, v := range []string{"WORLD_S3_BUCKET: required", "WORLD_ID: ", "WORLD_PATH: must be an absolute folder"} {
		if !strings.Contains(p.logs.String(), v) {
			t.Errorf("the companion does not tell %q:\n%s", v, p.logs.String())
		}
	}
	if e.ready(t) {
		t.Error("world ready says ready with a bad configuration")
	}
	if got := e.requestsSince(before); len(got) != 0 {
		t.Errorf("the companion asked S3 %v with a bad configuration", got)
	}
}
