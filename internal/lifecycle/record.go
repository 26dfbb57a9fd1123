package lifecycle

import (
	"context"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// save writes the mirror's copy of server id to the table; on failure the
// entry is marked unsaved and the next sweep writes it again. The writes
// of one server's records are one at a time (entry.io), so an older copy
// never overwrites a newer one.
func (m *Manager) save(ctx context.Context, id string) {
	e, _, ok := m.fleet.get(id)
	if !ok {
		return
	}
	e.io.Lock()
	defer e.io.Unlock()
	var srv spawner.Server
	var ending bool
	if !m.fleet.updateEntry(e, func(e *entry) { srv, ending = e.srv, e.ended() }) || ending {
		return // finish removes the records
	}
	err := m.store.Put(ctx, srv)
	m.fleet.update(id, func(e *entry) { savedLocked(e, err == nil) })
	if err != nil && ctx.Err() == nil {
		m.log.Warn("save record; will retry", "task", srv.TaskID, "err", err)
	}
}
