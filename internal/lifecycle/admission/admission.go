// Package admission decides whether a member may have a server now: the
// fleet's cap on servers, one server per member, and the cooldown between
// a member's creations (admins are exempt from the last two). It owns the
// places the fleet's servers take and the members' cooldowns, which it
// keeps in the table so that a restart does not forget them.
//
// The creation cooldown: a member (not an admin) waits the cooldown
// between two creations that counted, counting from when the first was
// asked for. A creation counts once its server is ready, or when its owner
// stopped it themselves (while it was being created or after). One that
// ended before its server was ready for any other reason (the runtime refused,
// the task stopped while booting, an image that cannot be pulled, the
// ready timeout, the chat or the table failing, a restart) does not: its
// failure message tells the member they can try again, and they can at
// once. An admin's creations never count, nor does a wake (AdmitWake):
// the server of a world that exists, which the cooldown does not refuse.
package admission

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// DefaultCooldown is the time a member waits between two creations that
// counted when GAMESERVER_CREATE_COOLDOWN is unset.
const DefaultCooldown = 2 * time.Minute

// Cooldowns is the part of the table that keeps the members' creation
// cooldowns, under the key spawner.CooldownKeyPrefix+member id
// (dynamo.Table and bolt.Store satisfy it). The cooldowns stored are read
// with the rest of the table at start, and given to Load.
type Cooldowns interface {
	// PutCooldown records that member's cooldown started at since,
	// replacing the one stored for them, if any.
	PutCooldown(ctx context.Context, member string, since time.Time) error
	// DeleteCooldown removes member's cooldown; removing one absent is not
	// an error.
	DeleteCooldown(ctx context.Context, member string) error
}

// Admission holds the places of the servers in the fleet and the members'
// cooldowns. It is safe for concurrent use, and calls its store with no
// lock held.
type Admission struct {
	max      int           // servers at once, all members together
	cooldown time.Duration // zero: none
	store    Cooldowns     // nil: the cooldowns live in memory only
	log      *slog.Logger

	mu     sync.Mutex
	places map[string]place     // by server id, while the server is in the fleet
	since  map[string]time.Time // member → when their last creation that counted was asked for
}

// place is what admission knows of one server of the fleet.
type place struct {
	owner   string
	asked   time.Time // when its creation was asked for: a cooldown counts from then
	byAdmin bool      // an admin asked for it: it starts no cooldown
	wake    bool      // it wakes a world (AdmitWake): it starts no cooldown
	counted bool      // it counted toward its owner's cooldown
}

// New returns an Admission that lets maxServers run at once and makes a
// member wait cooldown between two creations that counted (zero: no
// cooldown), keeping the cooldowns in store (nil: in memory only).
func New(maxServers int, cooldown time.Duration, store Cooldowns, log *slog.Logger) *Admission {
	return &Admission{
		max: maxServers, cooldown: cooldown, store: store, log: log,
		places: make(map[string]place), since: make(map[string]time.Time),
	}
}

// Admit gives server id, which owner asked for at now (admin: an admin
// did), a place in the fleet, or refuses it with a *spawner.Refusal and
// changes nothing: the owner has a server or a creation already, or their
// cooldown is not over (neither applies to an admin), or the fleet is full.
func (a *Admission) Admit(id, owner string, admin bool, now time.Time) error {
	return a.admit(place{owner: owner, asked: now, byAdmin: admin}, id)
}

// AdmitWake is Admit for a wake: the creation of a server of a world that
// exists, by its owner (admin: an admin), as a login on the asleep world,
// its Wake button or /server create of it asks for it. One server per
// member and the fleet's cap apply; the creation cooldown neither refuses
// it nor starts with it.
func (a *Admission) AdmitWake(id, owner string, admin bool, now time.Time) error {
	return a.admit(place{owner: owner, asked: now, byAdmin: admin, wake: true}, id)
}

// admit gives p the place of server id, or refuses it (Admit).
func (a *Admission) admit(p place, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !p.byAdmin {
		for _, other := range a.places {
			if other.owner == p.owner {
				return &spawner.Refusal{Code: spawner.RefusedBusy}
			}
		}
		if until, ok := a.cooldownLocked(p.owner, p.asked); ok && !p.wake {
			return &spawner.Refusal{Code: spawner.RefusedCooldown, Until: until}
		}
	}
	if len(a.places) >= a.max {
		return &spawner.Refusal{Code: spawner.RefusedCap, Limit: a.max}
	}
	a.places[id] = p
	return nil
}

// Hold gives server id, which owner asked for at asked, its place without
// a question: a server found at start is in the fleet whatever the rules.
func (a *Admission) Hold(id, owner string, asked time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.places[id] = place{owner: owner, asked: asked}
}

// Count makes the creation of server id count toward its owner's
// cooldown, from when it was asked for: its member got their server. The
// cooldown started is kept in the table.
func (a *Admission) Count(ctx context.Context, id string, now time.Time) {
	a.mu.Lock()
	owner, since, ok := a.countLocked(id, now)
	a.mu.Unlock()
	if ok {
		a.save(ctx, owner, since)
	}
}

// Leave frees the place of server id, which left the fleet. When its
// owner stopped it themselves (ownerStopped), its creation counts toward
// their cooldown, in the same step: no creation of theirs may slip in
// between. It returns until when the owner's cooldown refuses them a
// creation (zero: none, or the server was an admin's).
func (a *Admission) Leave(ctx context.Context, id string, ownerStopped bool, now time.Time) (until time.Time) {
	a.mu.Lock()
	p, ok := a.places[id]
	var owner string
	var since time.Time
	var counted bool
	if ok && ownerStopped {
		owner, since, counted = a.countLocked(id, now)
	}
	delete(a.places, id)
	if ok && !p.byAdmin {
		until, _ = a.cooldownLocked(p.owner, now)
	}
	a.mu.Unlock()
	if counted {
		a.save(ctx, owner, since)
	}
	return until
}

// cooldownLocked returns until when owner's cooldown refuses them a
// creation at now; the caller holds a.mu. An expired cooldown is dropped
// (its record stays until the next start removes it).
func (a *Admission) cooldownLocked(owner string, now time.Time) (time.Time, bool) {
	since, ok := a.since[owner]
	if !ok || a.cooldown <= 0 {
		return time.Time{}, false
	}
	if until := since.Add(a.cooldown); now.Before(until) {
		return until, true
	}
	delete(a.since, owner)
	return time.Time{}, false
}

// countLocked makes the creation of server id count toward its owner's
// cooldown; the caller holds a.mu. It returns the cooldown to record, and
// false when there is none: the cooldown is off, the creation was an
// admin's or a wake, it counted already, or its cooldown is already over.
func (a *Admission) countLocked(id string, now time.Time) (owner string, since time.Time, ok bool) {
	p, found := a.places[id]
	if !found || a.cooldown <= 0 || p.byAdmin || p.wake || p.counted {
		return "", time.Time{}, false
	}
	p.counted = true
	a.places[id] = p
	if !now.Before(p.asked.Add(a.cooldown)) {
		return "", time.Time{}, false
	}
	if last, ok := a.since[p.owner]; ok && last.After(p.asked) {
		return "", time.Time{}, false
	}
	a.since[p.owner] = p.asked
	return p.owner, p.asked, true
}

// save records owner's cooldown from since in the table, so that a
// restart keeps it. A failure is logged: memory still holds it, and only
// a restart before it is over would forget it.
func (a *Admission) save(ctx context.Context, owner string, since time.Time) {
	if a.store == nil {
		return
	}
	if err := a.store.PutCooldown(ctx, owner, since); err != nil && ctx.Err() == nil {
		a.log.Warn("record creation cooldown; a restart before it is over forgets it", "user", owner, "err", err)
	}
}

// Load puts the cooldowns read from the table at start (stored: when each
// member's started), before any Admit; those over at now are removed from
// the table, each failure logged (such a record is harmless: the next
// start tries again). With no store, nothing stored is kept.
func (a *Admission) Load(ctx context.Context, stored map[string]time.Time, now time.Time) {
	if a.store == nil {
		return
	}
	var over []string
	a.mu.Lock()
	for member, since := range stored {
		if a.cooldown <= 0 || !now.Before(since.Add(a.cooldown)) {
			over = append(over, member)
			continue
		}
		if last, ok := a.since[member]; !ok || since.After(last) {
			a.since[member] = since
		}
	}
	a.mu.Unlock()
	slices.Sort(over)
	for _, member := range over {
		if err := a.store.DeleteCooldown(ctx, member); err != nil && ctx.Err() == nil {
			a.log.Warn("remove a creation cooldown that is over", "user", member, "err", err)
		}
	}
}
