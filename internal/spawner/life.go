package spawner

import (
	"slices"
	"time"
)

// states are every State in the order a server goes through them. It is
// the one statement of that order: the feed never lets a later step give
// way to an earlier one, and the status message shows the steps in it.
var states = []State{
	StateRequested, StateProvisioning, StatePending, StateRunning,
	StateBooting, StateReady, StateStopping, StateStopped,
}

// Rank is s's place in a server's life, 0 for StateRequested; -1 for a
// state that is not one of the constants (the zero State included).
func (s State) Rank() int { return slices.Index(states, s) }

// States are every state, in the order a server goes through them. The
// caller may change the slice.
func States() []State { return slices.Clone(states) }

// Steps are the states a creation goes through up to ready, in order: the
// steps a status message shows. The caller may change the slice.
func Steps() []State { return slices.Clone(states[:StateReady.Rank()+1]) }

// Reached is the last of the Steps that s got to, from what it recorded on
// the way (its task, its address, its times), so that the status of an
// ended server never claims a step that did not happen: a creation that
// failed while pending is not shown ready.
func (s Server) Reached() State {
	switch {
	case !s.ReadyAt.IsZero():
		return StateReady
	case s.Address != "":
		return StateBooting
	case !s.RunningAt.IsZero():
		return StateRunning
	case s.TaskID != "":
		return StateProvisioning
	}
	return StateRequested
}

// StopTime is when the runtime watchdog stops s, a server of game g: its
// StopsAt when set (moved by /server extend), else its creation time plus
// g's MaxDuration.
func (s Server) StopTime(g Game) time.Time {
	if !s.StopsAt.IsZero() {
		return s.StopsAt
	}
	return s.CreatedAt.Add(g.MaxDuration)
}
