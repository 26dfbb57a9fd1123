package lifecycle

import (
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// ProgressInterval is the least time between two edits of a status message
// for progress notes, so a pull's progress does not flood the chat.
const ProgressInterval = 2 * time.Second

// progressNotes is what Progress remembers of one creation; the creation
// holds them.
type progressNotes struct {
	mu        sync.Mutex            // guards the fields below, never held across an edit
	last      time.Time             // when a note was last shown
	pending   *spawner.PullProgress // the latest note not shown yet
	scheduled bool                  // a worker shows pending once the interval is over
	done      bool                  // the step is over: no note is shown any more
	stop      chan struct{}         // closed when done

	// edit is held across the edit of a note, and only that: notes are
	// shown one at a time, in order, and endProgress waits for the one
	// under way, as entry.io orders a server's records.
	edit sync.Mutex
}

// Progress shows an image pull's progress under the steps of the status
// message of the creation creationID, while its task is being started, in
// the language of the ticket (text.Lang.Pull). Edits are at most one per
// ProgressInterval: a note that comes sooner replaces the one waiting and
// is shown when the interval is over, unless the step ended first. A
// creation that is not starting its task is left alone.
//
// It is safe for concurrent use and may be called from the runtime's
// RunTask (its pull hook); it blocks at most for one edit.
func (m *Manager) Progress(creationID string, note spawner.PullProgress) {
	if c := m.fleet.starting(creationID); c != nil {
		c.progress(note)
	}
}

// progress shows note now, or once the interval since the last is over.
func (c *creation) progress(note spawner.PullProgress) {
	p := &c.notes
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	now := c.m.clock.Now()
	if wait := ProgressInterval - now.Sub(p.last); wait > 0 && !p.last.IsZero() {
		p.pending = &note
		if !p.scheduled {
			p.scheduled = true
			c.m.goWorker(func() { c.showPending(wait) })
		}
		p.mu.Unlock()
		return
	}
	p.last, p.pending = now, nil
	p.mu.Unlock()
	c.show(note)
}

// showPending shows the pending note after wait, unless the step ended.
func (c *creation) showPending(wait time.Duration) {
	p := &c.notes
	select {
	case <-c.m.clock.After(wait):
	case <-p.stop:
		return
	case <-c.m.ctx.Done():
		return
	}
	p.mu.Lock()
	p.scheduled = false
	if p.done || p.pending == nil {
		p.mu.Unlock()
		return
	}
	note := *p.pending
	p.last, p.pending = c.m.clock.Now(), nil
	p.mu.Unlock()
	c.show(note)
}

// show edits the creation's status message with note, in the ticket's
// language, unless the step ended meanwhile.
func (c *creation) show(note spawner.PullProgress) {
	p := &c.notes
	p.edit.Lock()
	defer p.edit.Unlock()
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done {
		return
	}
	_, srv, ok := c.m.fleet.get(c.id)
	if !ok {
		return
	}
	c.m.editStatus(c.m.ctx, srv, c.m.lang(srv).Pull(note))
}

// endProgress ends the creation's notes: once it returns, no note is
// shown any more (an edit under way has finished), so the steps that
// follow are never overwritten by a late one.
func (c *creation) endProgress() {
	p := &c.notes
	p.mu.Lock()
	if !p.done {
		p.done = true
		close(p.stop)
	}
	p.mu.Unlock()
	p.waitEdit()
}

// waitEdit returns once the edit under way, if any, is over. show holds
// edit across its edit, so taking edit and letting it go at once is that
// wait: a barrier, with nothing to guard. endProgress marks the notes done
// first, so the edits queued behind are skipped, not waited for.
func (p *progressNotes) waitEdit() {
	p.edit.Lock()
	p.edit.Unlock() //nolint:staticcheck // SA2001: an empty critical section on purpose, the barrier above
}
