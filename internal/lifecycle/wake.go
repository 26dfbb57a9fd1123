package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// A wake is a creation of a server of a world that exists, by its owner,
// asked for by someone else than a command of theirs: a player's login on
// the asleep world's port (Wake, for mcsleep), a click on the Wake button
// of the message that said the world was saved (WakeWorld), or the
// owner's /server create of their asleep world (Create). The owner's
// role, one server per member and the fleet's cap apply to it as to the
// owner's creation; the creation cooldown neither refuses it nor starts
// with it (admission.AdmitWake). Accepted, it is the usual creation in its
// worker: a new ticket for the owner, the steps, and a ready message that
// says who woke the world, kept in the server's record (WokenBy) so that
// a creation a restart resumed says it too. Whatever answered for the asleep world lets
// its port go before the task starts (keepPort); a wake whose creation
// ends before its server ran puts the world back to sleep on its port
// (untrack, endWorld), as does the end of its server.

// wakeBy is the wake a creation is: the world it wakes (for Wake and
// WakeWorld; empty for a creation whose rules chose an asleep world), and
// who woke it, the Minecraft player or the member.
type wakeBy struct {
	world string
	by    spawner.WokenBy
}

// wakes reports whether the creation wakes a world.
func (b wakeBy) wakes() bool { return !b.by.Zero() }

// wokenLine is the ready message's line that says who woke the world of
// a server, by; "" for a server whose creation woke none.
func wokenLine(by spawner.WokenBy, l text.Lang) string {
	switch {
	case by.Player != "":
		return l.WokenByPlayer(by.Player)
	case by.Member != "":
		return l.WokenByMember(by.Member)
	}
	return ""
}

// wokenBy is the wake of the creation of srv for req: woke as asked, or,
// for a creation that claimed an asleep world (its owner's /server
// create), a wake by its member.
func (m *Manager) wokenBy(woke wakeBy, req spawner.CreateRequest, srv spawner.Server) wakeBy {
	if !woke.wakes() && srv.WorldID != "" && m.worlds.Woken(srv.WorldID, srv.CreationID) {
		woke.by.Member = req.Owner
	}
	return woke
}

// keepWaker is who woke the world of a new server, as its record keeps
// it; nobody when a record cannot keep them (a name no Minecraft login
// gives, an id Discord never gives): the wake goes on, and its ready
// message names nobody.
func (m *Manager) keepWaker(woke wakeBy) spawner.WokenBy {
	if err := woke.by.Storable(); err != nil {
		m.log.Warn("who woke a world cannot be kept; its ready message will not name them", "world", woke.world, "err", err)
		return spawner.WokenBy{}
	}
	return woke.by
}

// admit gives the creation id of req its place, by the rules of a wake
// when it is one.
func (m *Manager) admit(id string, req spawner.CreateRequest, wake bool, now time.Time) error {
	if wake {
		return m.admission.AdmitWake(id, req.Owner, req.Admin, now)
	}
	return m.admission.Admit(id, req.Owner, req.Admin, now)
}

// Wake wakes the asleep world worldID because player logged in on its
// port (mcsleep.Waker). It reads the owner's roles (Members), then starts
// the creation of a server of the world by its owner in a worker, and
// returns at once: accepted, or refused with the reason the player reads,
// in the guild's language, about the owner. A world a server of which
// already starts is accepted without starting anything more. Nothing but
// the Members call, bounded by ctx, does I/O. The worker lets the world's
// port go only once Wake returned, so the player reads its answer.
func (m *Manager) Wake(ctx context.Context, worldID, player string) (accepted bool, reason string) {
	lang := m.logLang()
	w, ok := m.worlds.Get(worldID)
	switch {
	case !m.recovered.Load() || m.closed(): // asleep worlds are answered for before Recover ends
		return false, lang.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedShuttingDown})
	case !ok:
		return false, lang.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedNoWorld})
	case w.State == spawner.WorldRunning || w.Server != "":
		return true, "" // its server is starting: the player joins again in a minute
	case m.members == nil:
		m.log.Warn("a login cannot wake a world: the owner's roles cannot be read", "world", worldID, "player", player)
		return false, ""
	}
	owner, err := m.members.Actor(ctx, w.Owner)
	if err == nil {
		returned := make(chan struct{})
		defer close(returned)
		err = m.startWake(owner, w, wakeBy{world: w.ID, by: spawner.WokenBy{Player: player}}, &quietAnswer{given: returned})
	}
	return m.wakeAnswer(w, "player", player, err, lang)
}

// WakeWorld wakes the world worldID for by, who clicked its Wake button
// (discord.WorldWaker): only its owner or an admin may (else, as for a
// world that does not exist, spawner.RefusedNoWorld). It is the creation
// of a server of the world by its owner, whose roles are by's when they
// clicked themselves, else read with Members. A refusal is a
// *spawner.Refusal; the creation runs in a worker, and WakeWorld returns
// once it is under way.
func (m *Manager) WakeWorld(ctx context.Context, by spawner.Actor, worldID string) error {
	w, ok := m.worlds.Get(worldID)
	if !ok || !m.worlds.Enabled() || (!by.Admin && w.Owner != by.UserID) {
		return &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: worldID}
	}
	owner := by
	if by.UserID != w.Owner {
		if m.members == nil {
			return fmt.Errorf("wake world %s for its owner: the owner's roles cannot be read here", worldID)
		}
		var err error
		if owner, err = m.members.Actor(ctx, w.Owner); err != nil {
			m.wakeAnswer(w, "member", by.UserID, err, m.logLang())
			return err
		}
	}
	err := m.startWake(owner, w, wakeBy{world: w.ID, by: spawner.WokenBy{Member: by.UserID}}, nil)
	m.wakeAnswer(w, "member", by.UserID, err, m.logLang())
	return err
}

// startWake starts the creation of a server of world w by its owner, whose
// roles are owner's, as woke asks for; answer, when set, holds the worker
// until the one who woke it was answered.
func (m *Manager) startWake(owner spawner.Actor, w spawner.World, woke wakeBy, answer spawner.Answer) error {
	req := spawner.CreateRequest{Owner: w.Owner, Admin: owner.Admin, Locale: m.cfg.Locale, Game: w.Game}
	if answer != nil {
		req.Answer = answer
	}
	return m.start(req, woke)
}

// wakeAnswer logs what became of the wake of w by who (a "player" or a
// "member"), and is Wake's answer: accepted, or refused with why in lang.
// A world already starting counts as accepted.
func (m *Manager) wakeAnswer(w spawner.World, kind, who string, err error, lang text.Lang) (bool, string) {
	log := m.log.With("world", w.ID, "name", w.Name, "owner", w.Owner, kind, who)
	var r *spawner.Refusal
	switch {
	case err == nil:
		log.Info("world woken")
		return true, ""
	case errors.As(err, &r) && r.Code == spawner.RefusedWorldRunning:
		return true, ""
	case errors.As(err, &r):
		log.Info("wake refused", "refusal", r.Error())
		return false, lang.WakeRefusal(r)
	}
	log.Warn("wake failed", "err", err)
	return false, ""
}

// quietAnswer is the answer of a wake nobody reads in the chat: the
// player on the world's port reads Wake's reason. given is closed once
// that answer is given.
type quietAnswer struct{ given <-chan struct{} }

func (a *quietAnswer) Given() <-chan struct{} { return a.given }
func (a *quietAnswer) Update(spawner.Message) {}
