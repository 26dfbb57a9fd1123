package lifecycle

import (
	"context"
	"slices"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Booting servers are polled on a shared beat: every boot worker wakes at
// the same ticks (multiples of PollInterval), and the first worker awake at
// a tick describes the tasks of every booting server in one DescribeTasks
// (the adapter splits it in calls of 100); the others read its answer. So
// a fleet of n booting servers costs one call per tick, not n, while each
// worker still pings its own server every tick, with its own deadlines, and
// a slow ping holds back no other server.

// bootRound is one tick's description of every booting task.
type bootRound struct {
	at    time.Time       // the tick
	ids   map[string]bool // the tasks described
	done  chan struct{}   // closed once tasks and err are set
	tasks []spawner.Task
	err   error
}

// nextTick is the first tick of the booting beat after now.
func (m *Manager) nextTick(now time.Time) time.Time {
	return now.Truncate(m.cfg.PollInterval).Add(m.cfg.PollInterval)
}

// describeBooting returns what the runtime says of the booting task id at
// tick at, among others: callers match by id. A zero at (a worker's first
// step, or one woken by a change or a stop) or a worker late for its tick
// describes id alone.
func (m *Manager) describeBooting(ctx context.Context, at time.Time, id string) ([]spawner.Task, error) {
	if at.IsZero() {
		return m.tasks.DescribeTasks(ctx, []string{id})
	}
	m.mu.Lock()
	r := m.round
	lead := r == nil || r.at.Before(at)
	if lead {
		r = &bootRound{at: at, ids: m.bootingTasksLocked(), done: make(chan struct{})}
		m.round = r
	}
	m.mu.Unlock()
	if !r.at.Equal(at) || !r.ids[id] {
		return m.tasks.DescribeTasks(ctx, []string{id})
	}
	if lead {
		ids := make([]string, 0, len(r.ids))
		for a := range r.ids {
			ids = append(ids, a)
		}
		slices.Sort(ids)
		r.tasks, r.err = m.tasks.DescribeTasks(ctx, ids)
		close(r.done)
		return r.tasks, r.err
	}
	select {
	case <-r.done:
		return r.tasks, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// bootingTasksLocked is the set of tasks of the servers being created or
// booted; the caller holds m.mu.
func (m *Manager) bootingTasksLocked() map[string]bool {
	ids := make(map[string]bool)
	for _, e := range m.entries {
		if e.phase == phaseCreating && e.srv.TaskID != "" {
			ids[e.srv.TaskID] = true
		}
	}
	return ids
}
