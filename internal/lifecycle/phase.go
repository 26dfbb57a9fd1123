package lifecycle

import "github.com/mineral-contest/spawner/internal/spawner"

// A server in the mirror is in exactly one phase, which says who may act
// on it. Every change of phase is a function of this file, called with
// the fleet's lock held (fleet.update).
//
//	creating ──handOver──▶ watched
//	   │                     │
//	   └──────beginEnd───────┴──▶ ending ──(done: removed from the mirror)
//	                               │  ▲
//	                      endFailed▼  │beginEnd (each sweep)
//	                             endWanted
//
// Recovery puts a server it finds gone or interrupted straight in
// endWanted: no watchdog looks at it, and the end is retried until done.
type phase int

const (
	// phaseCreating: its creation (create.go), started by Create or by a
	// restart that found it booting, owns the server until it is ready
	// or ended.
	phaseCreating phase = iota + 1
	// phaseWatched: ready; the watchdogs and the sweep own it.
	phaseWatched
	// phaseEnding: a finish is in flight.
	phaseEnding
	// phaseEndWanted: its end is decided (e.end) but not done: the last
	// try failed, or none was made yet. Each sweep tries again.
	phaseEndWanted
)

func (p phase) String() string {
	switch p {
	case phaseCreating:
		return "creating"
	case phaseWatched:
		return "watched"
	case phaseEnding:
		return "ending"
	case phaseEndWanted:
		return "endWanted"
	}
	return "none"
}

// ended reports whether e's end is decided: in flight or to be retried.
func (e *entry) ended() bool { return e.phase == phaseEnding || e.phase == phaseEndWanted }

// handOverLocked gives a server that became ready to the watchdogs. It
// returns who asked for a stop while it was being created, if anyone: the
// caller ends it then.
func handOverLocked(e *entry) *spawner.Actor {
	if e.phase != phaseCreating {
		return nil
	}
	e.phase = phaseWatched
	e.worker = nil
	return e.stopBy
}

// controlRefusal says why a member may not act on e now (/server extend,
// /server op): it must be ready, with no end decided nor stop asked; nil
// when they may.
func (e *entry) controlRefusal() error {
	switch {
	case e.ended() || e.stopBy != nil:
		return &spawner.Refusal{Code: spawner.RefusedStopping}
	case e.phase != phaseWatched:
		return &spawner.Refusal{Code: spawner.RefusedNotReady}
	}
	return nil
}

// askStopLocked records a /server stop by by. It returns creating when the
// creation worker will end the server (the caller waits for it), and
// ok=false when the server is already ending or a stop was already asked.
func askStopLocked(e *entry, by spawner.Actor) (creating, ok bool) {
	if e.ended() || e.stopBy != nil {
		return false, false
	}
	if e.phase == phaseCreating {
		e.stopBy = &by
		return true, true
	}
	return false, true
}

// stopAskedLocked returns who asked to stop a server being created, if anyone.
func stopAskedLocked(e *entry) *spawner.Actor {
	if e.phase != phaseCreating {
		return nil
	}
	return e.stopBy
}

// beginEndLocked starts a finish of e for end. A retry keeps the first
// reason. It returns the ending to carry out, and false when a finish is
// already in flight.
func beginEndLocked(e *entry, end ending) (ending, bool) {
	if e.phase == phaseEnding {
		return ending{}, false
	}
	if e.end != nil {
		end = *e.end
	}
	e.phase = phaseEnding
	e.end = &end
	return end, true
}

// endFailedLocked records that the finish in flight failed: each sweep
// retries it. It returns true the first time, when the log channel should
// be told.
func endFailedLocked(e *entry) (tell bool) {
	e.phase = phaseEndWanted
	tell = !e.endTold
	if tell {
		close(e.failed) // a Stop waiting on a creation's end answers now
	}
	e.endTold = true
	return tell
}

// endWantedLocked puts a server whose end is decided, but not tried yet,
// where the sweep retries it (recovery's gone and interrupted servers).
func endWantedLocked(e *entry, end ending) {
	e.phase = phaseEndWanted
	e.end = &end
}

// savedLocked records whether the table holds the mirror's copy of e.
func savedLocked(e *entry, ok bool) { e.unsaved = !ok }
