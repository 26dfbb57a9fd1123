package lifecycle

import (
	"context"
	"slices"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The creation cooldown: a member (not an admin) waits CreateCooldown
// between two creations that counted, counting from when the first was
// asked for. A creation counts once its server is ready, or when its owner
// stopped it themselves (while it was being created or after). One that
// ended before its server was ready for any other reason (RunTask refused,
// the task stopped while booting, an image that cannot be pulled, the
// ready timeout, Discord or the table failing, a restart) does not: its
// failure message tells the member they can try again, and they can at
// once. An admin's creations never count.
//
// The cooldowns live in the mirror (lastCreate) and in the table under
// "cooldown/<member id>", read at start, so a restart does not forget them.

// Cooldowns is the part of the table that keeps the members' creation
// cooldowns, under the key spawner.CooldownKeyPrefix+member id
// (dynamo.Table and bolt.Store satisfy it). Recover reads them with the
// rest of the table (Store.LoadAll).
type Cooldowns interface {
	// PutCooldown records that member's cooldown started at since,
	// replacing the one stored for them, if any.
	PutCooldown(ctx context.Context, member string, since time.Time) error
	// DeleteCooldown removes member's cooldown; removing one absent is not
	// an error.
	DeleteCooldown(ctx context.Context, member string) error
}

// cooldownLocked returns until when owner's cooldown refuses them a
// creation at now; the caller holds m.mu. An expired cooldown is dropped
// from the mirror (its record stays until the next start removes it).
func (m *Manager) cooldownLocked(owner string, now time.Time) (time.Time, bool) {
	since, ok := m.lastCreate[owner]
	if !ok || m.cfg.CreateCooldown <= 0 {
		return time.Time{}, false
	}
	if until := m.cooldownEnd(since); now.Before(until) {
		return until, true
	}
	delete(m.lastCreate, owner)
	return time.Time{}, false
}

// cooldownEnd is when a cooldown started at since is over.
func (m *Manager) cooldownEnd(since time.Time) time.Time { return since.Add(m.cfg.CreateCooldown) }

// countLocked makes the creation of e count toward its owner's cooldown,
// from when it was asked for; the caller holds m.mu. It returns the start
// of the cooldown to record, and false when there is none: the cooldown
// is off, the creation was an admin's, it counted already, or its cooldown
// is already over.
func (m *Manager) countLocked(e *entry) (time.Time, bool) {
	if m.cfg.CreateCooldown <= 0 || e.byAdmin || e.counted {
		return time.Time{}, false
	}
	e.counted = true
	since := e.srv.CreatedAt
	if !m.clock.Now().Before(m.cooldownEnd(since)) {
		return time.Time{}, false
	}
	if last, ok := m.lastCreate[e.srv.Owner]; ok && last.After(since) {
		return time.Time{}, false
	}
	m.lastCreate[e.srv.Owner] = since
	return since, true
}

// countsWhenEnded reports whether ending e for end makes its creation
// count: its owner stopped it (one that reached ready counted already).
func countsWhenEnded(e *entry, end ending) bool {
	return end.cause == spawner.CauseCommand && end.by == e.srv.Owner
}

// saveCooldown records owner's cooldown from since in the table, so that a
// restart keeps it. A failure is logged: the mirror still holds it, and
// only a restart before it is over would forget it.
func (m *Manager) saveCooldown(ctx context.Context, owner string, since time.Time) {
	if m.cooldowns == nil {
		return
	}
	if err := m.cooldowns.PutCooldown(ctx, owner, since); err != nil && ctx.Err() == nil {
		m.log.Warn("record creation cooldown; a restart before it is over forgets it", "user", owner, "err", err)
	}
}

// loadCooldowns puts the cooldowns read from the table at start (stored)
// into the mirror; those over are removed from the table, each failure
// logged (such a record is harmless: the next start tries again). It runs
// before Create accepts anything.
func (m *Manager) loadCooldowns(ctx context.Context, stored map[string]time.Time) {
	if m.cooldowns == nil {
		return
	}
	now := m.clock.Now()
	var over []string
	m.mu.Lock()
	for member, since := range stored {
		if m.cfg.CreateCooldown <= 0 || !now.Before(m.cooldownEnd(since)) {
			over = append(over, member)
			continue
		}
		if last, ok := m.lastCreate[member]; !ok || since.After(last) {
			m.lastCreate[member] = since
		}
	}
	m.mu.Unlock()
	slices.Sort(over)
	for _, member := range over {
		if err := m.cooldowns.DeleteCooldown(ctx, member); err != nil && ctx.Err() == nil {
			m.log.Warn("remove a creation cooldown that is over", "user", member, "err", err)
		}
	}
}
