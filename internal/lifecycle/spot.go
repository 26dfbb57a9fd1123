package lifecycle

import (
	"github.com/mineral-contest/spawner/internal/spawner"
)

// spotInterrupted handles the warning Fargate Spot gives before it
// reclaims a watched server's capacity: a change with stop code
// SpotInterruption whose task has not stopped yet. The owner is told at
// once in the ticket, once per server however often the event comes; the
// server is then left to end as any task that stopped on its own, when the
// change that says STOPPED comes (or the sweep sees it). It reports
// whether t was such a warning, so the caller does nothing more with it.
func (m *Manager) spotInterrupted(e *entry, t spawner.Task) bool {
	if t.StopCode != spawner.StopSpotInterruption || t.Status == spawner.TaskStopped {
		return false
	}
	m.mu.Lock()
	tell := e.phase == phaseWatched && !e.spotTold && m.entries[e.id] == e
	if tell {
		e.spotTold = true
	}
	srv, gone := e.srv, e.gone
	m.mu.Unlock()
	if !tell {
		return true
	}
	m.log.Warn("Fargate Spot is reclaiming a server; its owner is told", "creation", e.id, "task", t.ARN)
	m.metrics.Warned("spot")
	m.goWorker(func() {
		m.mustSay(m.ctx, srv.ChannelID, spawner.Message{
			Content:  m.lang(srv).SpotInterruption(srv.Owner),
			Mentions: []string{srv.Owner},
			Key:      msgKey(srv, "warn-spot"),
		}, "Spot interruption warning", gone)
	})
	return true
}
