package main

// End-to-end tests of worlds under SPAWNER_RUNTIME=docker: the real daemon
// against a real Docker engine, with the test game as a game that keeps a
// world. The test game counts its starts in a file of its world and shows
// the count in its status ("start 2"), so a test sees, from a player's
// Server List Ping alone, which content a server started on.

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/testworld/dockerd"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// worldGamePath is where the test game keeps its world in its container.
const worldGamePath = "/world"

// worldGameMax is the maximum of players the test game's status reports:
// not a vanilla server's 20, so that an asleep world's status shows
// whose maximum it is.
const worldGameMax = 12

// putWorldGame stores in the world's embedded store, before the daemon
// starts, a game "keeper" of the test image that keeps a world at
// worldGamePath, with RCON for its save and resume commands, as /game add
// would have.
func putWorldGame(tb testing.TB, w *dockerWorld) {
	tb.Helper()
	putDockerGame(tb, w, map[string]any{
		"name": "keeper", "title": "Keeper", "image": w.engine.ResponderImage(tb),
		"port": dockerd.ResponderPort, "protocol": "minecraft",
		"env":  map[string]string{"MC_WORLD": worldGamePath, "MC_MAX_PLAYERS": strconv.Itoa(worldGameMax)},
		"rcon": map[string]any{"port": responderRCONPort, "passwordEnv": "RCON_PASSWORD"},
		"world": map[string]any{
			"path":           worldGamePath,
			"saveCommands":   []string{"save-off", "save-all flush"},
			"resumeCommands": []string{"save-on"},
		},
	})
}

// newWorldsWorld is a Docker world with the game "keeper" and the web
// pages on (for download links).
func newWorldsWorld(t *testing.T, env map[string]string) *dockerWorld {
	t.Helper()
	all := map[string]string{
		"HTTP_ADDR":          "127.0.0.1:0",
		"PUBLIC_URL":         publicURL, // a proxy's, mapped to the daemon's listener by local
		"WEB_SECRET":         webSecret,
		"WORLD_BACKUPS_KEEP": "5",
	}
	for k, v := range env {
		all[k] = v
	}
	w := newDockerWorld(t, 4, all)
	putWorldGame(t, w)
	return w
}

// wlReady creates a server of the member's world name and returns its
// ticket channel and address, once ready.
func wlReady(t *testing.T, w *dockerWorld, d *daemonHandle, u fakediscord.User, name string) (channelID, addr string) {
	t.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, map[string]any{"game": "keeper", "world": name})
	ix.WaitResponse(t, waitLong)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID = between(edit.Text(), "<#", ">")
	ready := wdWait(t, w.world, d, channelID, "your server is ready")
	return channelID, between(ready.Text(), "**Address:** `", "`")
}

var startRE = regexp.MustCompile(`start (\d+)`)

// wlStarts is the count of starts the game at addr shows: how many servers
// its world has seen.
func wlStarts(t *testing.T, addr string) int {
	t.Helper()
	status := dockerd.WaitForPing(t, addr, 20*time.Second)
	m := startRE.FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("the game at %s shows no count of starts: %s", addr, status)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// wlStop stops the server of channelID as u and returns the ticket's
// last message, which says what became of the world.
func wlStop(t *testing.T, w *dockerWorld, d *daemonHandle, u fakediscord.User, channelID string) fakediscord.Message {
	t.Helper()
	c := w.containerOf(t, channelID)
	stop := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": c.ID})
	stop.WaitResponse(t, waitLong)
	return wdWait(t, w.world, d, channelID, "Server stopped by <@"+u.ID+">")
}

// wlAnswer runs /world sub as u and returns its private answer once final.
func wlAnswer(t *testing.T, w *world, u fakediscord.User, sub string, opts map[string]any, final string) string {
	t.Helper()
	ix := w.discord.Command(u, "en-US", []string{"world", sub}, opts)
	if r := ix.WaitResponse(t, waitLong); !r.Ephemeral() {
		t.Errorf("/world %s answered in public: %+v", sub, r)
	}
	return ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), final) }).Text()
}

// wlConfirmed runs /world sub as u, clicks its danger button and returns
// the interaction of the click, whose edits say how it went.
func wlConfirmed(t *testing.T, w *world, u fakediscord.User, sub string, opts map[string]any) *fakediscord.Interaction {
	t.Helper()
	ix := w.discord.Command(u, "en-US", []string{"world", sub}, opts)
	ix.WaitResponse(t, waitLong)
	m := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return len(m.Buttons()) > 0 })
	for _, b := range m.Buttons() {
		if b.Style == fakediscord.ButtonDanger {
			click := w.discord.Click(u, "en-US", m.ChannelID, m.ID, b.CustomID)
			click.WaitResponse(t, waitLong)
			return click
		}
	}
	t.Fatalf("/world %s asked no confirmation: %q %+v", sub, m.Text(), m.Buttons())
	return nil
}

// wlBackups are the backups /world download offers for u's world name,
// newest first.
func wlBackups(t *testing.T, w *dockerWorld, u fakediscord.User, name string) []string {
	t.Helper()
	return gmChoices(t, w.world, u, []string{"world", "download"}, map[string]any{"world": name, "backup": ""}, "backup")
}

// wlArchives lists the archives in the backups folder of the data folder,
// and anything else found there that is not an archive's description.
func wlArchives(t *testing.T, w *dockerWorld) (archives, other []string) {
	t.Helper()
	root := filepath.Join(w.dataDir, "backups")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case strings.HasSuffix(p, ".tar.gz"):
			archives = append(archives, rel)
		case strings.HasSuffix(p, ".json"):
		default:
			other = append(other, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return archives, other
}

// wlVolumes lists the engine's world volumes of the world's deployment.
func wlVolumes(t *testing.T, w *dockerWorld) []string {
	t.Helper()
	f := filters.NewArgs()
	f.Add("label", docker.LabelDeployment+"="+w.deployment)
	f.Add("label", docker.LabelWorld)
	list, err := w.cli.VolumeList(context.Background(), volume.ListOptions{Filters: f})
	if err != nil {
		t.Fatalf("list volumes: %v", err)
	}
	var names []string
	for _, v := range list.Volumes {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	return names
}

// wlDownload follows the link of a /world download answer, through the
// daemon's listener at httpAddr as a proxy on PUBLIC_URL would, and
// returns the files of the archive, by name.
func wlDownload(t *testing.T, answer, httpAddr string) map[string]string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(publicURL) + `/[^\s<>)]+`).FindString(answer)
	if link == "" {
		t.Fatalf("no link on PUBLIC_URL in %q", answer)
	}
	resp, err := http.Get(local(t, link, httpAddr))
	if err != nil {
		t.Fatalf("GET %s: %v", link, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the download link: %s", resp.Status)
	}
	return wlFiles(t, resp.Body)
}

// A world outlives its servers: a second server of the member's world
// starts on what the first left (its count of starts goes on); a backup
// of a running server sends the game its save commands first and its
// resume commands after; every stop saves the world and the ticket says
// so; the download link serves the archive; a restore of an older backup
// brings its content back, after backing up the current one; a deletion
// removes the world, its volume and its backups.
func TestDockerWorldOutlivesItsServers(t *testing.T) {
	t.Parallel()
	w := newWorldsWorld(t, nil)
	d := w.start(t)
	u := member(1)

	channelID, addr := wlReady(t, w, d, u, "home")
	if n := wlStarts(t, addr); n != 1 {
		t.Fatalf("a new world's first server shows start %d, want 1", n)
	}
	if list := wlAnswer(t, w.world, u, "list", nil, "home"); !strings.Contains(list, "running") {
		t.Errorf("/world list while its server runs: %q", list)
	}

	// A backup of the running server: the game saves first, resumes after.
	got := wlAnswer(t, w.world, u, "backup", map[string]any{"world": "home"}, "backed up")
	if !strings.Contains(got, "World **home**") {
		t.Errorf("/world backup answered %q", got)
	}
	logs := containerLogs(t, w, w.containerOf(t, channelID).ID)
	iOff, iFlush, iOn := strings.Index(logs, "rcon: save-off"), strings.Index(logs, "rcon: save-all flush"), strings.Index(logs, "rcon: save-on")
	if iOff < 0 || iFlush < iOff || iOn < iFlush {
		t.Errorf("the game was told save-off, save-all flush, save-on at %d, %d, %d:\n%s", iOff, iFlush, iOn, logs)
	}

	end := wlStop(t, w, d, u, channelID)
	if !strings.Contains(end.Text(), "saved") {
		t.Errorf("the ticket's last message does not say the world was saved: %q", end.Text())
	}

	// The same world again (it slept meanwhile: /server create wakes it),
	// at the same address: its content is the last server's.
	first := addr
	channelID, addr = wlReady(t, w, d, u, "home")
	if addr != first {
		t.Errorf("the world's second server is at %s, want its kept address %s", addr, first)
	}
	if n := wlStarts(t, addr); n != 2 {
		t.Errorf("the world's second server shows start %d, want 2: the world was not kept", n)
	}
	wlStop(t, w, d, u, channelID)

	backups := wlBackups(t, w, u, "home")
	if len(backups) != 3 {
		t.Fatalf("backups after a manual backup and two stops: %v, want 3", backups)
	}
	// The newest holds two starts.
	files := wlDownload(t, wlAnswer(t, w.world, u, "download", map[string]any{"world": "home"}, publicURL), httpAddrOf(t, w.world, d))
	if strings.TrimSpace(files["starts"]) != "2" {
		t.Errorf("the newest backup's archive holds %v, want starts = 2", files)
	}

	// Restore the manual backup (one start): the current content is backed
	// up first, and the next server starts on the restored one.
	manual := backups[len(backups)-1]
	click := wlConfirmed(t, w.world, u, "restore", map[string]any{"world": "home", "backup": manual})
	click.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "restored") })
	if after := wlBackups(t, w, u, "home"); len(after) != 4 {
		t.Errorf("backups after a restore: %v, want the before-restore one added to %v", after, backups)
	}
	channelID, addr = wlReady(t, w, d, u, "home")
	if n := wlStarts(t, addr); n != 2 {
		t.Errorf("after restoring the backup of start 1, the server shows start %d, want 2", n)
	}
	wlStop(t, w, d, u, channelID)
	if vols := wlVolumes(t, w); len(vols) != 1 {
		t.Errorf("world volumes after a restore: %v, want the restored one alone", vols)
	}

	// Another member neither sees nor touches it.
	other := member(2)
	if list := wlAnswer(t, w.world, other, "list", nil, ""); strings.Contains(list, "home") {
		t.Errorf("another member's /world list shows the world: %q", list)
	}

	// Delete: the world, its volume and its backups are gone.
	click = wlConfirmed(t, w.world, u, "delete", map[string]any{"world": "home"})
	click.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "deleted") })
	if vols := wlVolumes(t, w); len(vols) != 0 {
		t.Errorf("world volumes after the deletion: %v", vols)
	}
	if archives, other := wlArchives(t, w); len(archives)+len(other) != 0 {
		t.Errorf("backups left after the deletion: %v %v", archives, other)
	}
	if list := wlAnswer(t, w.world, u, "list", nil, ""); strings.Contains(list, "home") {
		t.Errorf("/world list after the deletion: %q", list)
	}
}

// wlFiles reads the regular files of a tar.gz, by name.
func wlFiles(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("the archive is not gzip: %v", err)
	}
	files := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("read the archive: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[h.Name] = string(b)
		}
	}
}

// containerLogs is what the container id wrote on stdout and stderr.
func containerLogs(t *testing.T, w *dockerWorld, id string) string {
	t.Helper()
	rc, err := w.cli.ContainerLogs(context.Background(), id, ctypes.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs of %s: %v", id, err)
	}
	defer rc.Close()
	var out strings.Builder
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		t.Fatalf("read the logs of %s: %v", id, err)
	}
	return out.String()
}

// bigWorldFile is the size of the file wlFill puts in a world: large
// enough, and random so it does not compress, that a backup or a restore
// of it is still under way when the test sees it begin.
const bigWorldFile = 256 << 20

// wlFill copies into the world of the running container id a file "big"
// of bigWorldFile random bytes, as a game that wrote a large world, and
// returns its SHA-256.
func wlFill(t *testing.T, w *dockerWorld, id string) string {
	t.Helper()
	pr, pw := io.Pipe()
	sum := sha256.New()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: bigWorldFile, Typeflag: tar.TypeReg})
		if err == nil {
			_, err = io.CopyN(io.MultiWriter(tw, sum), rand.NewChaCha8([32]byte{1}), bigWorldFile)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	if err := w.cli.CopyToContainer(context.Background(), id, worldGamePath, pr, ctypes.CopyToContainerOptions{}); err != nil {
		t.Fatalf("fill the world: %v", err)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// wlWaitUntil polls cond until it holds, failing the test after waitLong.
func wlWaitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// backupUnderWay reports whether an archive is being written in the
// backups folder: a temporary file beside the complete archives.
func backupUnderWay(t *testing.T, w *dockerWorld) bool {
	t.Helper()
	_, other := wlArchives(t, w)
	return len(other) > 0
}

// The real binary SIGKILLed in the middle of a backup, then in the middle
// of a restore: no half backup is ever listed, the world keeps its
// previous content whole, and the next server starts on it.
func TestDockerWorldSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	w := newWorldsWorld(t, nil)
	bin := rsSpawnerBinary(t)
	p := rsStartBinary(t, w.world, bin)
	u := member(1)

	channelID, addr := wlReady(t, w, p.handle(w.world), u, "big")
	if n := wlStarts(t, addr); n != 1 {
		t.Fatalf("first start shows %d", n)
	}
	sum := wlFill(t, w, w.containerOf(t, channelID).ID)
	wlStop(t, w, p.handle(w.world), u, channelID)
	before := wlBackups(t, w, u, "big")
	if len(before) != 1 {
		t.Fatalf("backups after the first stop: %v, want 1", before)
	}

	// SIGKILL while /world backup writes its archive.
	w.discord.Command(u, "en-US", []string{"world", "backup"}, map[string]any{"world": "big"})
	wlWaitUntil(t, "the backup to begin writing", func() bool { return backupUnderWay(t, w) })
	p.kill(t)
	p = rsStartBinary(t, w.world, bin)
	if after := wlBackups(t, w, u, "big"); !slices.Equal(after, before) {
		t.Errorf("backups after a SIGKILL mid-backup: %v, want %v (no half backup listed)", after, before)
	}

	// A second server: the world now holds two starts; its first backup
	// one. SIGKILL while a restore of that first backup fills the world's
	// new volume.
	channelID, addr = wlReady(t, w, p.handle(w.world), u, "big")
	if n := wlStarts(t, addr); n != 2 {
		t.Fatalf("after a SIGKILL mid-backup the server shows start %d, want 2", n)
	}
	wlStop(t, w, p.handle(w.world), u, channelID)
	vols := wlVolumes(t, w)
	wlConfirmed(t, w.world, u, "restore", map[string]any{"world": "big", "backup": before[0]})
	wlWaitUntil(t, "the restore to make a new volume", func() bool { return len(wlVolumes(t, w)) > len(vols) })
	p.kill(t)
	restored := strings.Contains(p.logs.String(), "world restored")
	p = rsStartBinary(t, w.world, bin)

	// The world is whole, never a mix: its next server starts on the
	// content it had (three starts) or, had the restore been complete
	// before the SIGKILL, on the restored one (two), and the large file
	// is whole either way.
	channelID, addr = wlReady(t, w, p.handle(w.world), u, "big")
	n := wlStarts(t, addr)
	switch {
	case n == 3:
	case n == 2 && restored:
		t.Log("the restore was complete before the SIGKILL: this run did not test a restore cut short")
	default:
		t.Errorf("after a SIGKILL mid-restore the server shows start %d, want 3 (the content before the restore)", n)
	}
	if got := wlSum(t, w, w.containerOf(t, channelID).ID); got != sum {
		t.Errorf("the world's large file has SHA-256 %s after the SIGKILLs, want %s", got, sum)
	}
	wlStop(t, w, p.handle(w.world), u, channelID)
}

// wlSum is the SHA-256 of the world's file "big" in the container id.
func wlSum(t *testing.T, w *dockerWorld, id string) string {
	t.Helper()
	rc, _, err := w.cli.CopyFromContainer(context.Background(), id, worldGamePath+"/big")
	if err != nil {
		t.Fatalf("read the world's large file: %v", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatalf("read the world's large file: %v", err)
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, tr); err != nil {
		t.Fatalf("read the world's large file: %v", err)
	}
	return hex.EncodeToString(sum.Sum(nil))
}
