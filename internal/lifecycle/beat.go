package lifecycle

import (
	"context"
	"slices"
	"sync"
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

// beat is the booting beat: it owns the last tick's description, under its
// own lock, never held across the call.
type beat struct {
	every   time.Duration          // the poll interval
	tasks   Tasks                  // the runtime
	booting func() map[string]bool // the tasks of the servers booting now (fleet.bootingTasks)

	mu    sync.Mutex
	round *bootRound // the last tick's DescribeTasks
}

// bootRound is one tick's description of every booting task.
type bootRound struct {
	at    time.Time       // the tick
	ids   map[string]bool // the tasks described
	done  chan struct{}   // closed once tasks and err are set
	tasks []spawner.Task
	err   error
}

// next is the first tick of the booting beat after now.
func (b *beat) next(now time.Time) time.Time {
	return now.Truncate(b.every).Add(b.every)
}

// describe returns what the runtime says of the booting task id at tick at,
// among others: callers match by id. A zero at (a worker's first step, or
// one woken by a change or a stop) or a worker late for its tick describes
// id alone.
func (b *beat) describe(ctx context.Context, at time.Time, id string) ([]spawner.Task, error) {
	if at.IsZero() {
		return b.tasks.DescribeTasks(ctx, []string{id})
	}
	b.mu.Lock()
	r := b.round
	lead := r == nil || r.at.Before(at)
	if lead {
		r = &bootRound{at: at, ids: b.booting(), done: make(chan struct{})}
		b.round = r
	}
	b.mu.Unlock()
	if !r.at.Equal(at) || !r.ids[id] {
		return b.tasks.DescribeTasks(ctx, []string{id})
	}
	if lead {
		ids := make([]string, 0, len(r.ids))
		for a := range r.ids {
			ids = append(ids, a)
		}
		slices.Sort(ids)
		r.tasks, r.err = b.tasks.DescribeTasks(ctx, ids)
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
