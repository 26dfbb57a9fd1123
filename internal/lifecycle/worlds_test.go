package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// vault is the model behind the worlds' fakes: the worlds' records, the
// runtime's storages and each world's backups, newest first, with every
// call in order.
type vault struct {
	mu       sync.Mutex
	records  map[string]spawner.World
	storages map[string]bool
	backups  map[string][]spawner.Backup
	n        int
	calls    []string
	size     int64 // the content size of the next backup
}

func newVault() *vault {
	return &vault{records: map[string]spawner.World{}, storages: map[string]bool{}, backups: map[string][]spawner.Backup{}, size: 3 << 20}
}

// callf records a call, its text formatted as fmt.Sprintf does; v.mu is
// held.
func (v *vault) callf(format string, args ...any) {
	v.calls = append(v.calls, fmt.Sprintf(format, args...))
}

// called returns the calls whose text starts with prefix.
func (v *vault) called(prefix string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, c := range v.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (v *vault) record(id string) (spawner.World, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	w, ok := v.records[id]
	return w, ok
}

// only returns the one world recorded, failing when there is not one.
func (v *vault) only(tb testing.TB) spawner.World {
	tb.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.records) != 1 {
		tb.Fatalf("%d worlds recorded, want 1: %+v", len(v.records), v.records)
	}
	for _, w := range v.records {
		return w
	}
	return spawner.World{}
}

func (v *vault) take(w spawner.World, why spawner.BackupReason) spawner.Backup {
	v.n++
	b := spawner.Backup{ID: fmt.Sprintf("b%02d", v.n), WorldID: w.ID, Size: v.size / 2, ContentSize: v.size, Reason: why}
	v.backups[w.ID] = append([]spawner.Backup{b}, v.backups[w.ID]...)
	v.callf("backup %s %s", w.ID, why)
	return b
}

func (v *vault) fakes() (*mockWorldStore, *mockContent) {
	store := &mockWorldStore{
		PutWorldFn: func(_ context.Context, w spawner.World) error {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.records[w.ID] = w
			v.callf("put %s %s", w.ID, w.State)
			return nil
		},
		DeleteWorldFn: func(_ context.Context, id string) error {
			v.mu.Lock()
			defer v.mu.Unlock()
			delete(v.records, id)
			v.callf("delete world %s", id)
			return nil
		},
	}
	return store, v.content()
}

func (v *vault) content() *mockContent {
	return &mockContent{
		NewStorageFn: func(_ context.Context, id string) (string, error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.storages["vol-"+id] = true
			v.callf("new storage %s", id)
			return "vol-" + id, nil
		},
		BackupFn: func(_ context.Context, w spawner.World, why spawner.BackupReason) (spawner.Backup, error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			return v.take(w, why), nil
		},
		SavedFn: func(_ context.Context, w spawner.World, _ time.Time) (spawner.Backup, error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			return v.take(w, spawner.BackupStop), nil
		},
		BackupsFn: func(_ context.Context, id string) ([]spawner.Backup, error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			return slices.Clone(v.backups[id]), nil
		},
		RestoreFn: func(_ context.Context, w spawner.World, backupID, spare string) (string, error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.n++
			s := fmt.Sprintf("vol-%s-r%d", w.ID, v.n)
			v.storages[s] = true
			v.callf("restore %s %s spare %s", w.ID, backupID, spare)
			return s, nil
		},
		DeleteStorageFn: func(_ context.Context, s string) error {
			v.mu.Lock()
			defer v.mu.Unlock()
			delete(v.storages, s)
			v.callf("delete storage %s", s)
			return nil
		},
		DeleteBackupsFn: func(_ context.Context, id string) error {
			v.mu.Lock()
			defer v.mu.Unlock()
			delete(v.backups, id)
			v.callf("delete backups %s", id)
			return nil
		},
		LinkFn: func(_ context.Context, id, backupID string) (string, time.Time, error) {
			return "https://bot.example/dl/" + id + "/" + backupID, t0.Add(time.Hour), nil
		},
		PruneStorageFn: func(_ context.Context, keep map[string]bool) ([]string, error) {
			v.mu.Lock()
			defer v.mu.Unlock()
			var gone []string
			for _, s := range slices.Sorted(maps.Keys(v.storages)) {
				if !keep[s] {
					delete(v.storages, s)
					gone = append(gone, s)
				}
			}
			v.callf("prune %v", gone)
			return gone, nil
		},
	}
}

// worldSpec is the world of the tests' game: a Minecraft world saved
// around a backup.
func worldSpec() *spawner.WorldSpec {
	return &spawner.WorldSpec{Path: "/data", SaveCommands: []string{"save-off", "save-all flush"}, ResumeCommands: []string{"save-on"}}
}

// withWorlds gives the game a world and the Manager v's fakes.
func withWorlds(v *vault) option {
	return func(c *Options) {
		c.Catalog[0].World = worldSpec()
		c.Worlds, c.WorldContent = v.fakes()
	}
}

// newWorldsWorld is a world whose game keeps a world in v, whose table
// reads v's world records at start.
func newWorldsWorld(tb testing.TB, v *vault, opts ...option) *world {
	w := newWorld(tb, append([]option{withWorlds(v)}, opts...)...)
	w.store.LoadAllFn = func(ctx context.Context) (spawner.Snapshot, error) {
		s, err := w.table.LoadAll(ctx)
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, id := range slices.Sorted(maps.Keys(v.records)) {
			s.Worlds = append(s.Worlds, v.records[id])
		}
		return s, err
	}
	return w
}

// readyOn creates a server for owner on their world name ("" for the
// rules' choice) and lets it boot to ready.
func (w *world) readyOn(owner, name string) spawner.Server {
	w.tb.Helper()
	w.cluster.startIn(spawner.TaskRunning)
	w.players.answer(w.game().MinPlayers)
	req, _ := w.request(owner, "")
	req.World = name
	if err := w.m.Create(req); err != nil {
		w.tb.Fatalf("Create for %s on world %q: %v\n%s", owner, name, err, w)
	}
	w.waitWorkers()
	srv, ok := w.serverOf(owner)
	if !ok || srv.State != spawner.StateReady {
		w.tb.Fatalf("server of %s not ready: %+v\n%s", owner, srv, w)
	}
	return srv
}

// A member's first server of a game with a world gets a new world named
// after the game, mounted at the game's path; its record says it runs
// that server. The end saves it after the task stopped, the ticket says
// so, and the next server plays the same world from where it stopped.
func TestWorldKeptFromOneServerToTheNext(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	srv := w.readyOn(alice, "")

	world := v.only(t)
	if world.Name != "minecraft" || world.Owner != alice || world.State != spawner.WorldRunning || world.Server != srv.CreationID {
		t.Fatalf("world recorded %+v, want alice's minecraft running server %s", world, srv.CreationID)
	}
	spec := w.cluster.runs.all()[0]
	if m := spec.World; m == nil || *m != (spawner.WorldMount{ID: world.ID, Storage: "vol-" + world.ID, Path: "/data"}) {
		t.Fatalf("the task mounts %+v, want the world's storage at /data", m)
	}
	if srv.WorldID != world.ID || w.table.items[srv.Key()].WorldID != world.ID {
		t.Errorf("the server's record names world %q, want %q", w.table.items[srv.Key()].WorldID, world.ID)
	}
	if status, _ := w.said(srv, "status"); !strings.Contains(status.content, text.En.StatusWorld("minecraft")) {
		t.Errorf("the status message does not name the world:\n%s", status.content)
	}

	content := w.cfg.WorldContent.(*mockContent)
	saved := content.SavedFn
	content.SavedFn = func(ctx context.Context, wd spawner.World, since time.Time) (spawner.Backup, error) {
		if task := w.cluster.get(srv.TaskID); task.Status != spawner.TaskStopped {
			t.Errorf("the world is saved while its task is %s", task.Status)
		}
		if _, _, ok := w.m.fleet.get(srv.CreationID); !ok {
			t.Errorf("the server left the fleet before its world was saved")
		}
		return saved(ctx, wd, since)
	}
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	world, _ = v.record(world.ID)
	if world.State != spawner.WorldStored || world.Server != "" || world.Size != 3<<20 || !world.LastPlayed.Equal(w.clock.Now()) {
		t.Errorf("world after the end %+v, want stored, 3 MiB, played now", world)
	}
	end, _ := w.said(srv, "end")
	if !strings.Contains(end.content, text.En.WorldSavedAtEnd("minecraft", 3<<20)) {
		t.Errorf("the end message does not say the world was saved:\n%s", end.content)
	}
	evs := w.feed.all()
	if last := evs[len(evs)-1]; last.Type != spawner.EventEnded || last.World == nil || last.World.Saved == nil || !*last.World.Saved || last.World.Name != "minecraft" {
		t.Errorf("the ended event carries world %+v, want minecraft saved", last.World)
	}

	w.clock.Advance(time.Hour) // alice's cooldown
	next := w.readyOn(alice, "")
	if next.WorldID != world.ID || len(v.called("new storage")) != 1 {
		t.Errorf("the next server plays world %q (%d storages made), want %q again", next.WorldID, len(v.called("new storage")), world.ID)
	}
	if m := w.cluster.runs.all()[1].World; m == nil || m.Storage != "vol-"+world.ID {
		t.Errorf("the next task mounts %+v, want the same storage", m)
	}
}

// A world runs one server at a time; the world option is refused for a
// game that keeps none and a game with a world is refused when the bot
// keeps none; a world name is checked.
func TestWorldCreationRefusals(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	w.readyOn(admin.UserID, "survival")
	req, _ := w.request(admin.UserID, "")
	req.Admin, req.World = true, "survival"
	if err := w.m.Create(req); refusalCode(err) != spawner.RefusedWorldRunning {
		t.Errorf("a second server of a running world: %v, want RefusedWorldRunning", err)
	}
	req.World = "Survival World"
	if err := w.m.Create(req); refusalCode(err) != spawner.RefusedWorldName {
		t.Errorf("a bad world name: %v, want RefusedWorldName", err)
	}

	plain := newWorld(t)
	plain.recover()
	req, _ = plain.request(alice, "")
	req.World = "survival"
	if err := plain.m.Create(req); refusalCode(err) != spawner.RefusedNoWorldGame {
		t.Errorf("world option for a game without a world: %v, want RefusedNoWorldGame", err)
	}

	off := newWorld(t, withGame(func(g *spawner.Game) { g.World = worldSpec() }))
	off.recover()
	req, _ = off.request(alice, "")
	if err := off.m.Create(req); refusalCode(err) != spawner.RefusedWorldsOff {
		t.Errorf("a game with a world and no world storage: %v, want RefusedWorldsOff", err)
	}
	if len(off.cluster.runs.all()) != 0 {
		t.Errorf("a task was started")
	}
}

// A failed backup at the end never blocks the end: the world is no longer
// running, the ticket says its backup failed, the admin log says why, an
// alert is raised, and the ended event says it was not saved.
func TestWorldSaveFailsAtTheEnd(t *testing.T) {
	v := newVault()
	alerts := &fakeAlerts{}
	w := newWorldsWorld(t, v, withAlerts(alerts))
	w.recover()
	srv := w.readyOn(alice, "build")
	w.cfg.WorldContent.(*mockContent).SavedFn = func(context.Context, spawner.World, time.Time) (spawner.Backup, error) {
		return spawner.Backup{}, errors.New("disk full")
	}
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	world := v.only(t)
	if world.State != spawner.WorldStored || world.Server != "" {
		t.Errorf("world %+v, want stored with no server", world)
	}
	if end, _ := w.said(srv, "end"); !strings.Contains(end.content, text.En.WorldSaveFailedAtEnd("build")) {
		t.Errorf("the end message does not say the backup failed:\n%s", end.content)
	}
	if logs := w.guild.logged("log-backup-failed/"); len(logs) != 1 || !strings.Contains(logs[0].Content, "disk full") {
		t.Errorf("admin log %+v, want the backup's failure and why", logs)
	}
	if as := alerts.all(); !slices.ContainsFunc(as, func(a spawner.Alert) bool { return a.Kind == spawner.AlertBackupFailed }) {
		t.Errorf("alerts %+v, want backup-failed", as)
	}
	evs := w.feed.all()
	if last := evs[len(evs)-1]; last.World == nil || last.World.Saved == nil || *last.World.Saved {
		t.Errorf("the ended event carries %+v, want not saved", last.World)
	}
	if _, ok := w.serverOf(alice); ok {
		t.Errorf("the server is still in the fleet")
	}
}

// A new world whose storage cannot be made fails its creation cleanly: no
// task, no world recorded, and the member may try again.
func TestWorldPrepareFails(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	w.cfg.WorldContent.(*mockContent).NewStorageFn = func(context.Context, string) (string, error) {
		return "", errors.New("docker: no space left")
	}
	r := w.create(alice, "")
	w.waitWorkers()
	if n := len(w.cluster.runs.all()); n != 0 {
		t.Errorf("%d tasks started, want none", n)
	}
	if len(v.records) != 0 {
		t.Errorf("worlds recorded %+v, want none", v.records)
	}
	if !strings.Contains(r.last(), text.En.FailWorld()) {
		t.Errorf("the member was told %q, want the world's failure", r.last())
	}
	w.cfg.WorldContent.(*mockContent).NewStorageFn = v.content().NewStorageFn
	w.readyOn(alice, "")
	if world := v.only(t); world.Name != "minecraft" {
		t.Errorf("the retry plays %+v, want a new minecraft world", world)
	}
}

// A world recorded running whose server is gone at start (the bot was
// killed between the end and the save) is saved then; a world whose
// server still runs keeps it; storages no world names are removed.
func TestRecoverSavesWorldsOfServersGone(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	srv := w.readyOn(alice, "")
	kept := v.only(t)
	w.cancel()

	// bob's world was left running by a server that is no more.
	v.records["w-bob"] = spawner.World{ID: "w-bob", Owner: bob, Game: "minecraft", Name: "old", State: spawner.WorldRunning,
		Server: "feedfacefeedfacefeedfacefeedface", Storage: "vol-w-bob", CreatedAt: t0}
	v.storages["vol-w-bob"], v.storages["vol-orphan"] = true, true
	w.restart()
	w.recover()
	w.waitWorkers() // the save of bob's world, in the background

	if bobs, _ := v.record("w-bob"); bobs.State != spawner.WorldStored || bobs.Server != "" || !slices.Contains(v.called("backup w-bob"), "backup w-bob stop") {
		t.Errorf("bob's world %+v after restart (calls %v), want saved and stored", bobs, v.called("backup"))
	}
	if now, _ := v.record(kept.ID); now.State != spawner.WorldRunning || now.Server != srv.CreationID {
		t.Errorf("alice's world %+v, want still running her server", now)
	}
	if got := v.called("prune"); len(got) != 2 || got[1] != "prune [vol-orphan]" {
		t.Errorf("prunes %v, want one at each start, the orphan storage alone at the second", got)
	}
	infos, _ := w.m.Worlds(w.ctx, admin)
	if len(infos) != 2 || infos[0].Address == "" && infos[1].Address == "" {
		t.Errorf("worlds %+v, want 2 with alice's address", infos)
	}
}

// The save at the end of a server outlives the request that stopped it: a
// member's /server stop whose budget runs out while the world is being
// backed up does not cut the backup, and the world is saved.
func TestWorldSaveOutlivesTheStopRequest(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	srv := w.readyOn(alice, "")

	content := w.cfg.WorldContent.(*mockContent)
	saved := content.SavedFn
	reqCtx, endRequest := context.WithCancel(w.ctx)
	content.SavedFn = func(ctx context.Context, wd spawner.World, since time.Time) (spawner.Backup, error) {
		endRequest() // the member's request gives up while the backup runs
		if err := ctx.Err(); err != nil {
			return spawner.Backup{}, err
		}
		return saved(ctx, wd, since)
	}
	if _, err := w.m.Stop(reqCtx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop: %v", err)
	}
	w.waitWorkers()
	world := v.only(t)
	if world.State != spawner.WorldStored || world.Size != 3<<20 {
		t.Errorf("world after a stop whose request ended mid-save: %+v, want it saved and stored", world)
	}
	if end, _ := w.said(srv, "end"); !strings.Contains(end.content, text.En.WorldSavedAtEnd("minecraft", 3<<20)) {
		t.Errorf("the end message does not say the world was saved:\n%s", end.content)
	}
}

// A world record that cannot be read names no storage: while one is
// there, the start removes no storage at all, so that world's content is
// never taken for an orphan's.
func TestRecoverKeepsStoragesWhileAWorldRecordIsUnreadable(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	v.storages["vol-unreadable"] = true
	load := w.store.LoadAllFn
	w.store.LoadAllFn = func(ctx context.Context) (spawner.Snapshot, error) {
		s, err := load(ctx)
		s.Problems = append(s.Problems, &spawner.RecordError{Key: spawner.WorldKeyPrefix + "w-unreadable", Err: errors.New("state is not a known world state")})
		return s, err
	}
	w.recover()
	if got := v.called("prune"); len(got) != 0 {
		t.Errorf("storages pruned while a world record is unreadable: %v", got)
	}
	if !strings.Contains(w.logs.String(), "no world storage is removed") {
		t.Errorf("the log does not say why no storage was removed:\n%s", w.logs)
	}
}

// The save of a world whose server ended while the bot was away does not
// hold the start up: Recover returns while it runs, creations are
// accepted meanwhile, the world itself counts as running until saved,
// and it is saved and stored once its backup is done.
func TestRecoverSavesInTheBackground(t *testing.T) {
	v := newVault()
	v.records["w-bob"] = spawner.World{ID: "w-bob", Owner: bob, Game: "minecraft", Name: "old", State: spawner.WorldRunning,
		Server: "feedfacefeedfacefeedfacefeedface", Storage: "vol-w-bob", CreatedAt: t0}
	v.storages["vol-w-bob"] = true
	w := newWorldsWorld(t, v)
	content := w.cfg.WorldContent.(*mockContent)
	saved := content.SavedFn
	saving, release := make(chan struct{}), make(chan struct{})
	content.SavedFn = func(ctx context.Context, wd spawner.World, since time.Time) (spawner.Backup, error) {
		close(saving)
		<-release
		return saved(ctx, wd, since)
	}
	recovered := make(chan error, 1)
	go func() { recovered <- w.m.Recover(w.ctx) }()
	select {
	case err := <-recovered:
		if err != nil {
			t.Fatalf("Recover: %v", err)
		}
	case <-time.After(waitTimeout):
		close(release)
		t.Fatalf("Recover waits for the save of a world\n%s", w)
	}
	<-saving
	req, _ := w.request(bob, "")
	req.World = "old"
	if err := w.m.Create(req); refusalCode(err) != spawner.RefusedWorldBusy {
		t.Errorf("a creation on the world being saved: %v, want it refused as busy", err)
	}
	// Another member's creation is accepted meanwhile, and goes to ready.
	w.cluster.startIn(spawner.TaskRunning)
	w.players.answer(w.game().MinPlayers)
	if req, _ := w.request(alice, ""); w.m.Create(req) != nil {
		t.Errorf("a creation is refused while a world is being saved")
	}
	close(release)
	w.waitWorkers()
	if srv, ok := w.serverOf(alice); !ok || srv.State != spawner.StateReady {
		t.Errorf("alice's server %+v, want ready", srv)
	}
	if bobs, _ := v.record("w-bob"); bobs.State == spawner.WorldRunning || bobs.Server != "" || bobs.Size != 3<<20 {
		t.Errorf("bob's world after its save: %+v, want saved, no server", bobs)
	}
}
