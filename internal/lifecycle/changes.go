package lifecycle

import (
	"github.com/mineral-contest/spawner/internal/spawner"
)

// TaskChanged applies at once what the runtime just said of one task (an
// ECS event from the queue, a container's death from the Docker events
// stream), without waiting for the next poll or sweep:
//
//   - a server being created or booted: its worker is woken, reads the
//     task again and goes on (RUNNING: the address, then pings) or fails;
//   - a watched server whose task stopped (or is stopping): it ends as the
//     sweep would end it, its owner told the reason and the exit code;
//   - a watched server whose task Fargate Spot reclaims (stop code
//     SpotInterruption, not stopped yet): its owner is told at once, once;
//     it ends as above when the task has stopped;
//   - a task of no server, or of a server already ending: nothing; the
//     sweep decides about orphans with its grace window.
//
// It never blocks on I/O: the end runs in a worker Close waits for. It is
// safe for concurrent use, and applying the same change twice does no harm.
func (m *Manager) TaskChanged(t spawner.Task) {
	if t.ARN == "" {
		return
	}
	m.mu.Lock()
	var e *entry
	for _, o := range m.entries {
		if o.srv.TaskARN == t.ARN {
			e = o
			break
		}
	}
	if e == nil {
		m.mu.Unlock()
		return
	}
	id, ph := e.id, e.phase
	m.mu.Unlock()

	switch ph {
	case phaseCreating:
		e.nudgeWorker()
	case phaseWatched:
		if m.spotInterrupted(e, t) {
			return
		}
		if !t.Stopped() {
			return
		}
		task := t
		m.log.Info("task stopped on its own; ending its server now", "task", t.ARN, "reason", t.StoppedReason)
		m.goWorker(func() {
			_ = m.finish(m.ctx, id, ending{cause: spawner.CauseTaskEnded, detail: taskEnded(task), task: &task})
		})
	}
}
