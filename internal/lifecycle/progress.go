package lifecycle

import (
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// ProgressInterval is the least time between two edits of a status message
// for progress notes, so a pull's progress does not flood the chat.
const ProgressInterval = 2 * time.Second

// progressNotes is what Progress remembers of one creation.
type progressNotes struct {
	mu        sync.Mutex            // held while the status message is edited for a note
	last      time.Time             // when a note was last shown
	pending   *spawner.PullProgress // the latest note not shown yet
	scheduled bool                  // a worker shows pending once the interval is over
	done      bool                  // the step is over: no note is shown any more
	stop      chan struct{}
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
	m.mu.Lock()
	e, ok := m.entries[creationID]
	starting := ok && e.phase == phaseCreating && e.srv.TaskID == ""
	m.mu.Unlock()
	if !starting {
		return
	}
	v, _ := m.notes.LoadOrStore(creationID, &progressNotes{stop: make(chan struct{})})
	p := v.(*progressNotes)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	now := m.clock.Now()
	if wait := ProgressInterval - now.Sub(p.last); wait > 0 && !p.last.IsZero() {
		p.pending = &note
		if !p.scheduled {
			p.scheduled = true
			m.goWorker(func() { m.showPending(creationID, p, wait) })
		}
		return
	}
	p.last, p.pending = now, nil
	m.showNote(creationID, note)
}

// showPending shows p's pending note after wait, unless the step ended.
func (m *Manager) showPending(id string, p *progressNotes, wait time.Duration) {
	select {
	case <-m.clock.After(wait):
	case <-p.stop:
		return
	case <-m.ctx.Done():
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scheduled = false
	if p.done || p.pending == nil {
		return
	}
	note := *p.pending
	p.last, p.pending = m.clock.Now(), nil
	m.showNote(id, note)
}

// showNote edits the creation's status message with note, in the
// ticket's language; the caller holds the notes' lock.
func (m *Manager) showNote(id string, note spawner.PullProgress) {
	_, srv, ok := m.get(id)
	if !ok {
		return
	}
	m.editStatus(m.ctx, srv, m.lang(srv).Pull(note))
}

// endProgress ends the notes of creation id: once it returns, no note is
// shown any more (an edit under way has finished), so the steps that
// follow are never overwritten by a late one.
func (m *Manager) endProgress(id string) {
	v, ok := m.notes.LoadAndDelete(id)
	if !ok {
		return
	}
	p := v.(*progressNotes)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		p.done = true
		close(p.stop)
	}
}
