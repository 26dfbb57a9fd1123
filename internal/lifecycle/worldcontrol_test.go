package lifecycle

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// A backup of a running world has its game save and hold its writes over
// RCON first (the server's own password, at its RCON address), and lets
// it write again after, also when the backup failed; that failure is told
// to the admin log and raised.
func TestBackupNowOfARunningWorld(t *testing.T) {
	v := newVault()
	r := &rconLog{}
	alerts := &fakeAlerts{}
	w := newWorldsWorld(t, v, append(withRCON(r), withAlerts(alerts))...)
	w.recover()
	srv := w.readyOn(alice, "")
	world := v.only(t)
	password := w.cluster.runs.all()[0].Env["RCON_PASSWORD"]

	b, err := w.m.BackupNow(w.ctx, spawner.Actor{UserID: alice}, world.ID)
	if err != nil || b.Reason != spawner.BackupManual {
		t.Fatalf("BackupNow = %+v, %v", b, err)
	}
	addr := srv.Address + ":25575"
	want := []rconCall{{addr, password, "save-off"}, {addr, password, "save-all flush"}, {addr, password, "save-on"}}
	if !slices.Equal(r.all(), want) {
		t.Errorf("RCON calls %+v, want %+v", r.all(), want)
	}
	if infos, _ := w.m.Worlds(w.ctx, spawner.Actor{UserID: alice}); len(infos) != 1 || infos[0].Backups != 1 || infos[0].Address != srv.HostPort() {
		t.Errorf("alice's worlds %+v, want one with 1 backup and her server's address", infos)
	}

	w.cfg.WorldContent.(*mockContent).BackupFn = func(context.Context, spawner.World, spawner.BackupReason) (spawner.Backup, error) {
		return spawner.Backup{}, errors.New("disk full")
	}
	if _, err := w.m.BackupNow(w.ctx, admin, world.ID); err == nil || isRefusal(err) {
		t.Fatalf("a failed backup returned %v, want its failure", err)
	}
	if calls := r.all(); len(calls) != 6 || calls[5].command != "save-on" {
		t.Errorf("RCON calls %+v, want the game to write again after the failed backup", calls)
	}
	if logs := w.guild.logged("log-backup-failed/"); len(logs) != 1 || !strings.Contains(logs[0].Content, "disk full") {
		t.Errorf("admin log %+v, want the failure and why", logs)
	}
	if as := alerts.all(); len(as) != 1 || as[0].Kind != spawner.AlertBackupFailed {
		t.Errorf("alerts %+v, want backup-failed", as)
	}

	// Where the running content cannot be reached, the member is told it
	// is saved when it stops.
	w.cfg.WorldContent.(*mockContent).BackupFn = func(context.Context, spawner.World, spawner.BackupReason) (spawner.Backup, error) {
		return spawner.Backup{}, worlds.ErrLive
	}
	_, err = w.m.BackupNow(w.ctx, spawner.Actor{UserID: alice}, world.ID)
	expectRefused(t, "backup of a live world on ECS", err, spawner.RefusedWorldLive)
}

// Nobody acts on a world not theirs, nor learns it exists; an admin acts
// on every world.
func TestWorldsAreTheirOwners(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	srv := w.readyOn(alice, "")
	world := v.only(t)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	bobby := spawner.Actor{UserID: bob}
	if infos, _ := w.m.Worlds(w.ctx, bobby); len(infos) != 0 {
		t.Errorf("bob sees %+v", infos)
	}
	_, err := w.m.Backups(w.ctx, bobby, world.ID)
	expectRefused(t, "bob lists alice's backups", err, spawner.RefusedNoWorld)
	_, err = w.m.BackupNow(w.ctx, bobby, world.ID)
	expectRefused(t, "bob backs alice's world up", err, spawner.RefusedNoWorld)
	_, _, err = w.m.DownloadLink(w.ctx, bobby, world.ID, "b01")
	expectRefused(t, "bob downloads alice's world", err, spawner.RefusedNoWorld)
	_, err = w.m.Restore(w.ctx, bobby, world.ID, "b01")
	expectRefused(t, "bob restores alice's world", err, spawner.RefusedNoWorld)
	expectRefused(t, "bob deletes alice's world", w.m.Delete(w.ctx, bobby, world.ID), spawner.RefusedNoWorld)
	_, err = w.m.Backups(w.ctx, bobby, "no-such-world")
	expectRefused(t, "a world that does not exist", err, spawner.RefusedNoWorld)

	if bs, err := w.m.Backups(w.ctx, admin, world.ID); err != nil || len(bs) != 1 {
		t.Errorf("admin lists alice's backups: %+v, %v", bs, err)
	}
	url, _, err := w.m.DownloadLink(w.ctx, spawner.Actor{UserID: alice}, world.ID, "b01")
	if err != nil || !strings.HasSuffix(url, "/b01") {
		t.Errorf("alice's link %q, %v", url, err)
	}
	_, _, err = w.m.DownloadLink(w.ctx, spawner.Actor{UserID: alice}, world.ID, "../b01")
	expectRefused(t, "a forged backup id", err, spawner.RefusedNoBackup)
}

// A restore is refused while the world's server runs; else it backs the
// current content up, restores into a new storage, records it, then
// removes the old storage, in that order.
func TestRestoreAWorld(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	srv := w.readyOn(alice, "")
	world := v.only(t)
	alicia := spawner.Actor{UserID: alice}
	_, err := w.m.Restore(w.ctx, alicia, world.ID, "b01")
	expectRefused(t, "restore while running", err, spawner.RefusedWorldRunning)
	expectRefused(t, "delete while running", w.m.Delete(w.ctx, alicia, world.ID), spawner.RefusedWorldRunning)
	if _, err := w.m.Stop(w.ctx, alicia, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	_, err = w.m.Restore(w.ctx, alicia, world.ID, "b99")
	expectRefused(t, "restore of a backup that does not exist", err, spawner.RefusedNoBackup)

	v.mu.Lock()
	v.calls = nil
	v.mu.Unlock()
	before, err := w.m.Restore(w.ctx, alicia, world.ID, "b01")
	if err != nil || before.Reason != spawner.BackupBeforeRestore {
		t.Fatalf("Restore = %+v, %v", before, err)
	}
	rec, _ := v.record(world.ID)
	want := []string{
		"backup " + world.ID + " before-restore",
		"restore " + world.ID + " b01 spare " + before.ID,
		"put " + world.ID + " stored",
		"delete storage vol-" + world.ID,
	}
	if got := v.called(""); !slices.Equal(got, want) {
		t.Errorf("restore's calls\n%v\nwant\n%v", got, want)
	}
	if rec.Storage == world.Storage || !v.storages[rec.Storage] || v.storages[world.Storage] {
		t.Errorf("the record names storage %q (storages %v), want the new one alone", rec.Storage, v.storages)
	}
	next := w.readyOn(alice, "")
	if m := w.cluster.runs.all()[1].World; next.WorldID != world.ID || m.Storage != rec.Storage {
		t.Errorf("the next server mounts %+v, want the restored storage", m)
	}
}

// A deletion removes the backups, then the record, then the storage, and
// the name is free for a new world.
func TestDeleteAWorld(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	srv := w.readyOn(alice, "")
	world := v.only(t)
	if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	v.mu.Lock()
	v.calls = nil
	v.mu.Unlock()
	if err := w.m.Delete(w.ctx, admin, world.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	want := []string{"delete backups " + world.ID, "delete world " + world.ID, "delete storage vol-" + world.ID}
	if got := v.called(""); !slices.Equal(got, want) {
		t.Errorf("delete's calls %v, want %v", got, want)
	}
	if infos, _ := w.m.Worlds(w.ctx, admin); len(infos) != 0 {
		t.Errorf("worlds left %+v", infos)
	}
	expectRefused(t, "a second delete", w.m.Delete(w.ctx, admin, world.ID), spawner.RefusedNoWorld)
	next := w.readyOn(alice, "")
	if next.WorldID == world.ID {
		t.Errorf("a new server plays the deleted world")
	}
}

// One backup of a world at a time: the save at the end of its server
// makes it busy, so a /world backup meanwhile is refused as busy; two
// /world backup at once run one, the other refused; and a /world backup
// under way when the server ends is finished before the save begins.
func TestWorldBackupsOneAtATime(t *testing.T) {
	v := newVault()
	w := newWorldsWorld(t, v)
	w.recover()
	srv := w.readyOn(alice, "")
	world := v.only(t)
	alicia := spawner.Actor{UserID: alice}
	content := w.cfg.WorldContent.(*mockContent)
	backup, saved := content.BackupFn, content.SavedFn

	// The save at the end of the server, held.
	saving, release := make(chan struct{}), make(chan struct{})
	content.SavedFn = func(ctx context.Context, wd spawner.World, since time.Time) (spawner.Backup, error) {
		close(saving)
		<-release
		return saved(ctx, wd, since)
	}
	stopped := make(chan error, 1)
	go func() {
		_, err := w.m.Stop(w.ctx, alicia, srv.ShortTaskID())
		stopped <- err
	}()
	<-saving
	_, err := w.m.BackupNow(w.ctx, alicia, world.ID)
	expectRefused(t, "/world backup during the save at the end", err, spawner.RefusedWorldBusy)
	_, err = w.m.BackupNow(w.ctx, admin, world.ID)
	expectRefused(t, "an admin's /world backup during the save at the end", err, spawner.RefusedWorldBusy)
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := v.called("backup "); !slices.Equal(got, []string{"backup " + world.ID + " stop"}) {
		t.Errorf("backups taken %v, want the save alone", got)
	}
	content.SavedFn = saved

	// Two clicks at once: one backup, the other refused.
	taking, release := make(chan struct{}), make(chan struct{})
	content.BackupFn = func(ctx context.Context, wd spawner.World, why spawner.BackupReason) (spawner.Backup, error) {
		close(taking)
		<-release
		return backup(ctx, wd, why)
	}
	first := make(chan error, 1)
	go func() {
		_, err := w.m.BackupNow(w.ctx, alicia, world.ID)
		first <- err
	}()
	<-taking
	_, err = w.m.BackupNow(w.ctx, admin, world.ID)
	expectRefused(t, "a second /world backup at once", err, spawner.RefusedWorldBusy)
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("the first /world backup: %v", err)
	}

	// A /world backup of the running world under way when its server
	// ends: the save waits for it, and is never refused.
	srv = w.readyOn(alice, "")
	var inBackup atomic.Bool
	taking, release = make(chan struct{}), make(chan struct{})
	content.BackupFn = func(ctx context.Context, wd spawner.World, why spawner.BackupReason) (spawner.Backup, error) {
		inBackup.Store(true)
		defer inBackup.Store(false)
		close(taking)
		<-release
		return backup(ctx, wd, why)
	}
	var savedDuring atomic.Bool
	savedCalled := make(chan struct{})
	content.SavedFn = func(ctx context.Context, wd spawner.World, since time.Time) (spawner.Backup, error) {
		savedDuring.Store(inBackup.Load())
		close(savedCalled)
		return saved(ctx, wd, since)
	}
	go func() {
		_, err := w.m.BackupNow(w.ctx, alicia, world.ID)
		first <- err
	}()
	<-taking
	go func() {
		_, err := w.m.Stop(w.ctx, alicia, srv.ShortTaskID())
		stopped <- err
	}()
	w.waitFor("the save to wait for the backup, or to begin", func() bool {
		select {
		case <-savedCalled:
			return true
		default:
			return strings.Contains(w.logs.String(), "waits for the world's backup")
		}
	})
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("/world backup of the running world: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if savedDuring.Load() {
		t.Errorf("the save at the end ran while a /world backup of the world was under way")
	}
	rec, _ := v.record(world.ID)
	if got := v.called("backup "); len(got) != 4 || got[3] != "backup "+world.ID+" stop" || rec.State != spawner.WorldStored {
		t.Errorf("backups taken %v, world %+v; want the save last and the world stored", got, rec)
	}
}
