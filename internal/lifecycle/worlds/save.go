package worlds

import (
	"context"
	"fmt"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Prepare makes world id, claimed by server, ready to mount before its
// task starts: a new world gets its storage (Content.NewStorage), then the
// world's record is written, running and naming server. It returns the
// world to mount. On failure nothing is left: a storage made for it is
// removed, and the world stays claimed until the creation's end Unclaims
// it (forgotten when it was new).
func (p *Worlds) Prepare(ctx context.Context, id, server string) (spawner.World, error) {
	p.mu.Lock()
	k, ok := p.worlds[id]
	if !ok || k.w.Server != server {
		p.mu.Unlock()
		return spawner.World{}, fmt.Errorf("world %s is not claimed by server %s", id, server)
	}
	w, fresh := k.w, !k.recorded
	p.mu.Unlock()

	if fresh {
		storage, err := p.content.NewStorage(ctx, id)
		if err != nil {
			return w, fmt.Errorf("new world storage: %w", err)
		}
		w.Storage = storage
	}
	if err := p.store.PutWorld(ctx, w); err != nil {
		if fresh && w.Storage != "" {
			if derr := p.content.DeleteStorage(context.WithoutCancel(ctx), w.Storage); derr != nil {
				p.log.Warn("delete the storage of a world never recorded; it is removed at the next start", "world", id, "err", derr)
			}
		}
		return w, fmt.Errorf("record world: %w", err)
	}
	p.mu.Lock()
	if k, ok := p.worlds[id]; ok {
		k.w.Storage, k.recorded = w.Storage, true
		w = k.w
	}
	p.mu.Unlock()
	p.log.Info("world ready to mount", "world", id, "name", w.Name, "owner", w.Owner, "server", server, "new", fresh)
	return w, nil
}

// Saving is how the save at the end of a server went.
type Saving struct {
	World  spawner.World   // the world as it is now
	Backup *spawner.Backup // the backup that saved it; nil when none was needed or it failed
	Err    error           // why the backup failed
}

// Saved reports whether the world was saved: nil when its server never
// started a task (nothing to save).
func (s Saving) Saved() *bool {
	if s.Backup == nil && s.Err == nil {
		return nil
	}
	ok := s.Err == nil
	return &ok
}

// Ended saves world id after its server (server, whose task started at
// since; ran false when it never started one) ended and its task stopped:
// Content.Saved, then the record, no longer running. A backup that fails
// still ends the world's run: its content stays where it was, and older
// backups are untouched. A world of a creation that never ran is given
// back as Unclaim does. found is false when server plays no world.
func (p *Worlds) Ended(ctx context.Context, id, server string, since time.Time, ran bool) (s Saving, found bool) {
	w, ok := p.Get(id)
	if !ok || w.Server != server {
		return s, false
	}
	if !ran {
		w, ok = p.Unclaim(id, server)
		if ok {
			p.put(ctx, w)
		}
		return Saving{World: w}, true
	}
	return p.save(ctx, w, since), true
}

// save saves w, whose server ended, and records it no longer running.
func (p *Worlds) save(ctx context.Context, w spawner.World, since time.Time) Saving {
	b, err := p.content.Saved(ctx, w, since)
	s := Saving{Err: err}
	if err == nil {
		s.Backup = &b
		p.log.Info("world saved", "world", w.ID, "name", w.Name, "owner", w.Owner, "backup", b.ID, "size", b.ContentSize)
	} else {
		p.log.Error("save world", "world", w.ID, "name", w.Name, "owner", w.Owner, "err", err)
	}
	p.mu.Lock()
	if k, ok := p.worlds[w.ID]; ok {
		if s.Backup != nil {
			k.w.Size = b.ContentSize
		}
		k.w.State, k.w.Server, k.w.LastPlayed = Idle, "", p.now()
		if k.busy == opSave {
			k.busy = ""
		}
		w = k.w
	}
	p.mu.Unlock()
	p.put(ctx, w)
	if s.Backup != nil {
		_, _ = p.countBackups(ctx, w.ID)
	}
	s.World = w
	return s
}

// Idle is the state of a world between its servers.
const Idle = spawner.WorldStored

// SaveOrphan saves w, found running at start with its server gone
// (Orphans), as the end of that server would have; since is when its
// server may have started at the earliest: its last play, or its making.
func (p *Worlds) SaveOrphan(ctx context.Context, w spawner.World) Saving {
	since := w.LastPlayed
	if since.IsZero() {
		since = w.CreatedAt
	}
	return p.save(ctx, w, since)
}

// put writes w's record; a failure is logged: the record still says
// running, and the next start saves the world again.
func (p *Worlds) put(ctx context.Context, w spawner.World) {
	if err := p.store.PutWorld(ctx, w); err != nil {
		p.log.Error("record world", "world", w.ID, "state", string(w.State), "err", err)
	}
}
