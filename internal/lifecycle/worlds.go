package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// claimWorld chooses and claims the world the creation id of req plays,
// for a game with a world (package worlds, Claim; ClaimID of worldID, the
// world a wake starts, when set), and returns its id; "" for a game
// without. The world option of a game without a world is refused
// (spawner.RefusedNoWorldGame), as is a game with a world when the bot
// keeps none (spawner.RefusedWorldsOff: the daemon always wires worlds,
// so that is a configuration to fix, never a temporary server in place of
// a world's). An admin plays their own worlds, as any member.
func (m *Manager) claimWorld(req spawner.CreateRequest, game spawner.Game, id, worldID string) (string, error) {
	switch {
	case game.World == nil && (req.World != "" || worldID != ""):
		return "", &spawner.Refusal{Code: spawner.RefusedNoWorldGame, Name: game.Title}
	case game.World == nil:
		return "", nil
	case !m.worlds.Enabled():
		return "", &spawner.Refusal{Code: spawner.RefusedWorldsOff, Name: game.Title}
	}
	if worldID != "" {
		w, err := m.worlds.ClaimID(worldID, id)
		return w.ID, err
	}
	w, err := m.worlds.Claim(req.Owner, game.Name, req.World, id)
	if err != nil {
		return "", err
	}
	return w.ID, nil
}

// worldEnd is how the world of a server that ended fared, for its end
// message: nil for a server without a world.
type worldEnd struct {
	id    string
	name  string
	size  int64
	saved *bool // nil: nothing to save (its task never started)
}

// endWorld saves the world of srv, whose task stopped (or never started),
// before srv leaves the fleet, so that the world and the member's place
// stay taken until it is saved; a world that keeps a port is then asleep
// on it (sleep). A failed backup is told to the admin log and raised as
// an alert, and never blocks the end.
func (m *Manager) endWorld(srv spawner.Server, log *slog.Logger) *worldEnd {
	if srv.WorldID == "" {
		return nil
	}
	// The save outlives what ended the server (a member's /server stop
	// has a short budget, a game's stop and an ECS companion's push take
	// minutes); it ends with the Manager, and a world left running by a
	// shutdown is saved at the next start.
	ctx := m.ctx
	since := srv.RunningAt
	if since.IsZero() {
		since = srv.CreatedAt
	}
	s, found := m.worlds.Ended(ctx, srv.WorldID, entryID(srv), since, srv.TaskID != "")
	if !found {
		return nil
	}
	if s.Err != nil {
		log.Error("world not saved at the end of its server", "world", srv.WorldID, "err", s.Err)
		m.tellBackupFailed(ctx, s.World, entryID(srv), "", s.Err)
	}
	m.sleep(ctx, s.World)
	return &worldEnd{id: s.World.ID, name: s.World.Name, size: s.World.Size, saved: s.Saved()}
}

// tellBackupFailed tells the admin log and the alerts that a backup of w
// failed: at the end of server (by empty), or asked for by by.
func (m *Manager) tellBackupFailed(ctx context.Context, w spawner.World, server, by string, err error) {
	why := errorSummary(err)
	_ = m.chat.Log(ctx, spawner.Message{
		Content: m.logLang().LogWorldBackupFailed(w, server != "", by, why),
		Key:     "log-backup-failed/" + w.ID + "/" + server,
	})
	m.alert(spawner.BackupFailedAlert(w.Name, w.Game, w.Owner, server, why, why, m.clock.Now()))
}

// worldLine is the end message's line on the world of a server, in lang;
// "" for none.
func (we *worldEnd) line(lang text.Lang) string {
	switch {
	case we == nil || we.saved == nil:
		return ""
	case *we.saved:
		return lang.WorldSavedAtEnd(we.name, we.size)
	}
	return lang.WorldSaveFailedAtEnd(we.name)
}

// recoverWorlds saves, at start, the worlds recorded running whose server
// is no longer in the fleet (the bot stopped between the end of their
// server and their save), then removes the storages no world names, reads
// the count of each world's backups, and puts the asleep worlds back to
// sleep on their ports (recoverSleep). It runs before any creation is
// accepted; the saves run in the background (saveOrphan), so a large
// world does not hold the start up. When a world's record could not be
// read (among problems), no storage is removed: that world's may be one
// no readable record names.
func (m *Manager) recoverWorlds(ctx context.Context, problems []error) {
	if !m.worlds.Enabled() {
		return
	}
	orphans := m.worlds.Orphans(func(server string) bool {
		_, _, ok := m.fleet.get(server)
		return ok
	})
	for _, w := range orphans {
		m.log.Info("saving a world whose server ended while the bot was away", "world", w.ID, "server", w.Server)
		m.goWorker(func() { m.saveOrphan(w) })
	}
	if key, ok := unreadableWorld(problems); ok {
		m.log.Warn("a world's record could not be read: no world storage is removed until it is repaired or deleted", "key", key)
	} else {
		m.worlds.Prune(ctx)
	}
	m.worlds.Count(ctx)
	m.recoverSleep(ctx)
}

// saveOrphan saves w, found running at start with its server gone, as
// the end of that server would have, then puts it to sleep on its port.
// Until it is saved the world counts as running: no creation plays it.
// It ends with the Manager; the next start saves the world again.
func (m *Manager) saveOrphan(w spawner.World) {
	s := m.worlds.SaveOrphan(m.ctx, w)
	if s.Err != nil {
		m.tellBackupFailed(m.ctx, w, w.Server, "", s.Err)
	}
	m.sleep(m.ctx, s.World)
}

// unreadableWorld returns the key of the first world record among
// problems (the records Recover skipped), if any.
func unreadableWorld(problems []error) (string, bool) {
	for _, p := range problems {
		var re *spawner.RecordError
		if errors.As(p, &re) && strings.HasPrefix(re.Key, spawner.WorldKeyPrefix) {
			return re.Key, true
		}
	}
	return "", false
}

// Worlds returns the worlds by may act on (their own; every world for an
// admin), with their counts of backups and the address of the server that
// plays each, or the address an asleep world keeps. It reads no archive.
func (m *Manager) Worlds(_ context.Context, by spawner.Actor) ([]spawner.WorldInfo, error) {
	if !m.worlds.Enabled() {
		return nil, nil
	}
	out := m.worlds.List(by)
	for i, w := range out {
		if w.State == spawner.WorldAsleep {
			out[i].Address = worldAddress(w.World)
		}
		if w.Server == "" {
			continue
		}
		if _, srv, ok := m.fleet.get(w.Server); ok {
			out[i].Address = srv.HostPort()
		}
	}
	return out, nil
}

// Backups returns the world's complete backups, newest first.
func (m *Manager) Backups(ctx context.Context, by spawner.Actor, worldID string) ([]spawner.Backup, error) {
	if !m.worlds.Enabled() {
		return nil, &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: worldID}
	}
	return m.worlds.Backups(ctx, by, worldID)
}

// BackupNow takes a backup of the world now (reason manual). With a server
// of it running, the game's saveCommands are sent over RCON first and its
// resumeCommands after, also when the backup failed. A runtime that
// cannot reach a running server's content refuses with
// spawner.RefusedWorldLive: the world is saved when its server stops. One
// backup of a world runs at a time: during another, or during the save at
// the end of its server, it is refused with spawner.RefusedWorldBusy. A
// failed backup is told to the admin log and raised as an alert; it
// removes no older backup.
func (m *Manager) BackupNow(ctx context.Context, by spawner.Actor, worldID string) (spawner.Backup, error) {
	if !m.worlds.Enabled() {
		return spawner.Backup{}, &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: worldID}
	}
	b, err := m.worlds.Backup(ctx, by, worldID, m.holdWorld)
	var r *spawner.Refusal
	switch {
	case err == nil || errors.As(err, &r):
		return b, err
	case errors.Is(err, worlds.ErrLive):
		w, _ := m.worlds.Get(worldID)
		return b, &spawner.Refusal{Code: spawner.RefusedWorldLive, Name: w.Name}
	}
	if w, ok := m.worlds.Get(worldID); ok && ctx.Err() == nil {
		m.log.Error("world backup failed", "world", worldID, "by", by.UserID, "err", err)
		m.tellBackupFailed(ctx, w, "", by.UserID, err)
	}
	return b, err
}

// DownloadLink returns a link that downloads the backup's archive, and
// when it stops working.
func (m *Manager) DownloadLink(ctx context.Context, by spawner.Actor, worldID, backupID string) (string, time.Time, error) {
	if !m.worlds.Enabled() {
		return "", time.Time{}, &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: worldID}
	}
	return m.worlds.Link(ctx, by, worldID, backupID)
}

// Restore replaces the world's content by the backup's while no server of
// it runs, after backing the current content up, and returns that backup
// (package worlds, Restore).
func (m *Manager) Restore(ctx context.Context, by spawner.Actor, worldID, backupID string) (spawner.Backup, error) {
	if !m.worlds.Enabled() {
		return spawner.Backup{}, &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: worldID}
	}
	before, err := m.worlds.Restore(ctx, by, worldID, backupID)
	if err != nil && !isRefusal(err) {
		m.log.Error("world restore failed", "world", worldID, "backup", backupID, "by", by.UserID, "err", err)
	}
	return before, err
}

// Delete removes the world, its backups and its storage, while no server
// of it runs (package worlds, Delete).
func (m *Manager) Delete(ctx context.Context, by spawner.Actor, worldID string) error {
	if !m.worlds.Enabled() {
		return &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: worldID}
	}
	err := m.worlds.Delete(ctx, by, worldID)
	if err != nil && !isRefusal(err) {
		m.log.Error("world delete failed", "world", worldID, "by", by.UserID, "err", err)
	}
	if err == nil && m.sleepers != nil {
		m.sleepers.Release(worldID) // its port goes back to the runtime's range
	}
	return err
}

func isRefusal(err error) bool {
	var r *spawner.Refusal
	return errors.As(err, &r)
}

// holdWorld has the game of w's running server save and hold its writes
// before a backup: its saveCommands over RCON, as /server op reaches it;
// the release it returns sends its resumeCommands. A game with no such
// commands, or without RCON, is backed up as it runs.
func (m *Manager) holdWorld(ctx context.Context, w spawner.World) (func(context.Context), error) {
	none := func(context.Context) {}
	_, srv, ok := m.fleet.get(w.Server)
	if !ok {
		return none, nil
	}
	game := m.gameOf(srv)
	spec := game.World
	switch {
	case spec == nil || len(spec.SaveCommands)+len(spec.ResumeCommands) == 0:
		return none, nil
	case game.RCON == nil || m.rcon == nil || srv.RCONPassword == "":
		m.log.Warn("backing a running world up without its save commands: its server has no RCON", "world", w.ID, "server", w.Server)
		return none, nil
	}
	actx, cancel := context.WithTimeout(ctx, DefaultRCONTimeout)
	addr, err := m.rconAddr(actx, srv, game)
	cancel()
	if err != nil {
		return nil, err
	}
	log := m.log.With("world", w.ID, "server", w.Server, "rcon", addr)
	run := func(ctx context.Context, commands []string) error {
		for _, c := range commands {
			rctx, cancel := context.WithTimeout(ctx, DefaultRCONTimeout)
			_, err := m.rcon.Run(rctx, addr, srv.RCONPassword, c)
			cancel()
			if err != nil {
				return fmt.Errorf("RCON %q: %w", c, err)
			}
		}
		return nil
	}
	resume := func(ctx context.Context) {
		if err := run(ctx, spec.ResumeCommands); err != nil {
			log.Error("resume the game's saving after a backup", "err", err)
		}
	}
	if err := run(ctx, spec.SaveCommands); err != nil {
		resume(context.WithoutCancel(ctx))
		return nil, err
	}
	log.Info("the game saved and holds its writes for a backup")
	return resume, nil
}
