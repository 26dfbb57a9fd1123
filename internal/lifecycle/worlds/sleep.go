package worlds

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Idle is the state world w takes when its server ends, or when a
// creation of it ends before its task started: asleep while it keeps a
// host port (a runtime that publishes games on host ports it chooses
// gave its server one, see Played), else stored.
func Idle(w spawner.World) spawner.WorldState {
	if w.Port > 0 {
		return spawner.WorldAsleep
	}
	return spawner.WorldStored
}

// Played records where players reached the ready server of world id (its
// server, by creation id): the host and the host port, which the world
// keeps from now on while it is running or asleep, so that its next
// server is published on the same port. The record is written when they
// changed. It returns the world as it was before, and false when server
// does not play it.
func (p *Worlds) Played(ctx context.Context, id, server, host string, port int) (spawner.World, bool) {
	p.mu.Lock()
	k, ok := p.worlds[id]
	if !ok || k.w.Server != server {
		p.mu.Unlock()
		return spawner.World{}, false
	}
	before := k.w
	k.w.Host, k.w.Port = host, port
	w := k.w
	p.mu.Unlock()
	if before.Host != host || before.Port != port {
		p.put(ctx, w)
	}
	return before, true
}

// Status records the version name, protocol number and maximum of
// players that the game of world id, played by server, answered a status
// with (a maximum over spawner.MaxPlayers is kept as that), so that an
// asleep world answers as its game would. The record is written only when
// they changed; an answer with neither a version nor a protocol changes
// nothing.
func (p *Worlds) Status(ctx context.Context, id, server string, ping spawner.Ping) {
	if ping.Version == "" && ping.Protocol == 0 {
		return
	}
	maxPlayers := min(max(ping.Max, 0), spawner.MaxPlayers)
	p.mu.Lock()
	k, ok := p.worlds[id]
	if !ok || !k.recorded || k.w.Server != server ||
		(k.w.StatusVersion == ping.Version && k.w.StatusProtocol == ping.Protocol && k.w.StatusMax == maxPlayers) {
		p.mu.Unlock()
		return
	}
	k.w.StatusVersion, k.w.StatusProtocol, k.w.StatusMax = ping.Version, ping.Protocol, maxPlayers
	w := k.w
	p.mu.Unlock()
	p.put(ctx, w)
}

// Ports returns the host ports the worlds running or asleep keep, sorted:
// the runtime hands none of them to another server.
func (p *Worlds) Ports() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, k := range p.worlds {
		if k.w.Port > 0 && (k.w.State == spawner.WorldRunning || k.w.State == spawner.WorldAsleep) {
			out = append(out, k.w.Port)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Asleep returns the recorded worlds asleep now that no creation claims,
// by id.
func (p *Worlds) Asleep() []spawner.World {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []spawner.World
	for _, k := range p.worlds {
		if k.recorded && k.w.State == spawner.WorldAsleep && k.w.Server == "" {
			out = append(out, k.w)
		}
	}
	slices.SortFunc(out, func(a, b spawner.World) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Overslept reports whether asleep world w was last played sleepMax or more
// before now (made, when it never was): it is then stored.
func Overslept(w spawner.World, now time.Time, sleepMax time.Duration) bool {
	last := w.LastPlayed
	if last.IsZero() {
		last = w.CreatedAt
	}
	return !now.Before(last.Add(sleepMax))
}

// Unport takes port away from world id while it is asleep with that port
// and no creation claims it, and records it: stored, it becomes stored
// (it slept past WORLD_SLEEP_MAX, or the runtime keeps no ports);
// otherwise it stays asleep without a port (another process took the
// port), until a server of it gets a new one. It reports the world as it
// is now, and whether it changed it.
func (p *Worlds) Unport(ctx context.Context, id string, port int, stored bool) (spawner.World, bool) {
	p.mu.Lock()
	k, ok := p.worlds[id]
	if !ok || !k.recorded || k.w.State != spawner.WorldAsleep || k.w.Server != "" || k.w.Port != port {
		var w spawner.World
		if ok {
			w = k.w
		}
		p.mu.Unlock()
		return w, false
	}
	k.w.Port = 0
	if stored {
		k.w.State = spawner.WorldStored
	}
	w := k.w
	p.mu.Unlock()
	p.put(ctx, w)
	return w, true
}

// ClaimID is Claim of the world id itself, for a wake: refused with
// spawner.RefusedNoWorld when there is no such world, and as Claim when
// it is busy or a server of it runs.
func (p *Worlds) ClaimID(id, server string) (spawner.World, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.worlds[id]
	if !ok || !k.recorded {
		return spawner.World{}, &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: id}
	}
	return p.claimLocked(k, server)
}

// Woken reports whether world id, claimed by server, was asleep before
// that claim: its creation wakes it.
func (p *Worlds) Woken(id, server string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.worlds[id]
	return ok && k.w.Server == server && k.before.State == spawner.WorldAsleep
}
