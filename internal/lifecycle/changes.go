package lifecycle

import (
	"github.com/mineral-contest/spawner/internal/spawner"
)

// TaskChanged applies at once what the runtime just said of one task (an
// event of its own: a task's change of state, a container's death),
// without waiting for the next poll or sweep. A change is a hint
// to look, never a fact to act on: what ends or warns a server is what the
// runtime answers when asked (DescribeTasks), so a forged or mistaken
// event ends nothing.
//
//   - a server being created or booted: its worker is woken, reads the
//     task again and goes on (RUNNING: the address, then pings) or fails;
//   - a watched server whose task the change says stopped, is stopping or
//     is reclaimed: the task is described, and then, as the runtime says,
//     the server ends as the sweep would end it (its owner told the
//     runtime's reason and exit code), or its owner is told once that the
//     provider reclaims it, or, while the task still runs, nothing happens
//     but a log line;
//   - a task of no server, or of a server already ending: nothing; the
//     sweep decides about orphans with its grace window.
//
// It never blocks on I/O: the look and the end run in a worker Close waits
// for, one at a time per server (changes that come meanwhile make it look
// once more). It is safe for concurrent use, and applying the same change
// twice does no harm.
func (m *Manager) TaskChanged(t spawner.Task) {
	if t.ID == "" {
		return
	}
	e, ph := m.fleet.byTask(t.ID)
	if e == nil {
		return
	}
	switch ph {
	case phaseCreating:
		m.wakeWorker(e)
	case phaseWatched:
		if !t.Reclaimed && !t.Stopped() {
			return // nothing a change alone could end or warn of
		}
		m.look(e, t)
	case phaseEnding, phaseEndWanted:
		// Already ending: a change adds nothing to an end decided.
	}
}

// look has a worker ask the runtime about e's task and apply its answer
// (confirmTaskChange), unless one is already under way for e: that one
// then looks once more when it is done. hint is the change that asked.
func (m *Manager) look(e *entry, hint spawner.Task) {
	var start bool
	m.fleet.updateEntry(e, func(e *entry) {
		e.hint = hint
		if e.looking {
			e.lookAgain = true
			return
		}
		e.looking, start = true, true
	})
	if !start {
		return
	}
	m.goWorker(func() {
		for {
			m.confirmTaskChange(e)
			var again bool
			m.fleet.updateEntry(e, func(e *entry) {
				again = e.lookAgain
				e.lookAgain, e.looking = false, again
			})
			if !again {
				return
			}
		}
	})
}

// confirmTaskChange describes e's task and does what the runtime's answer
// calls for: a reclaim warning, the end of the server, or nothing. A task the
// runtime no longer knows is gone, as for the sweep; the change's words
// then tell how it ended (a runtime's, for a task it removed).
func (m *Manager) confirmTaskChange(e *entry) {
	var taskID string
	var hint spawner.Task
	var live bool
	m.fleet.updateEntry(e, func(e *entry) { taskID, hint, live = e.srv.TaskID, e.hint, e.phase == phaseWatched })
	if !live {
		return
	}
	id := e.id
	described, err := m.tasks.DescribeTasks(m.ctx, []string{taskID})
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.Warn("task change not confirmed: the runtime could not be asked; the sweep will look", "task", taskID, "err", err)
		}
		return
	}
	t := hint
	t.Status, t.StopWanted = spawner.TaskStopped, true
	for _, d := range described {
		if d.ID == taskID {
			t = d
		}
	}
	if m.reclaimed(e, t) {
		return
	}
	if !t.Stopped() {
		m.log.Warn("task change not confirmed: the runtime reports the task still running; ignored",
			"task", taskID, "change_status", hint.Status, "change_reason", hint.StoppedReason)
		return
	}
	m.log.Info("task stopped on its own; ending its server now", "task", taskID, "reason", t.StoppedReason)
	_ = m.finish(m.ctx, id, ending{cause: spawner.CauseTaskEnded, detail: taskEnded(t), task: &t})
}
