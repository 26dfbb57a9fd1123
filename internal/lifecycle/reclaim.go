package lifecycle

import (
	"github.com/mineral-contest/spawner/internal/spawner"
)

// reclaimed handles the warning a runtime gives before its provider takes
// a watched server's capacity back: a task Reclaimed that has not stopped
// yet. The owner is told at once in the ticket, once per server however
// often the runtime says so; the server is then left to end as any task
// that stopped on its own, when the runtime says it stopped (or the sweep
// sees it). It reports whether t was such a warning, so the caller does
// nothing more with it.
func (m *Manager) reclaimed(e *entry, t spawner.Task) bool {
	if !t.Reclaimed || t.Status == spawner.TaskStopped {
		return false
	}
	var tell bool
	var srv spawner.Server
	m.fleet.updateEntry(e, func(e *entry) {
		if tell = e.phase == phaseWatched && !e.reclaimTold; tell {
			e.reclaimTold = true
		}
		srv = e.srv
	})
	gone := e.gone
	if !tell {
		return true
	}
	m.log.Warn("the provider is reclaiming a server's capacity; its owner is told", "creation", e.id, "task", t.ID)
	m.metrics.Warned("spot") // the metric's label since before reclaim had a neutral name
	m.goWorker(func() {
		m.mustSay(m.ctx, srv.ChannelID, spawner.Message{
			Content:  m.lang(srv).Reclaimed(srv.Owner),
			Mentions: []string{srv.Owner},
			Key:      msgKey(srv, "warn-spot"),
		}, "reclaim warning", gone)
	})
	return true
}
