package lifecycle

import (
	"context"
	"fmt"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Recover reads the table once (Store.LoadAll: servers, game templates and
// cooldowns) into the mirror and reconciles it with the runtime and the
// ticket category, then lets Create accept requests. Every server recorded
// carries on (its watchdogs counting from its stored creation time); a
// creation interrupted before its task existed is cleaned up and its owner
// told; one whose task had started is adopted, never started twice; a record
// whose task is gone is cleaned up and its owner told; an owned task with no
// record is stopped and reported; a ticket channel of ours that no record
// names is deleted; the members' creation cooldowns are restored (those
// over are removed); the sessions of the servers that carry on stay open,
// and those of servers gone are ended, now. Malformed table items are
// reported and skipped.
//
// Recover returns an error, and changes nothing, when the table or the
// runtime cannot be read: the caller retries. The workers it starts
// (servers still booting) are the Manager's: Close waits for them.
func (m *Manager) Recover(ctx context.Context) error {
	table, err := m.store.LoadAll(ctx)
	if err != nil {
		return fmt.Errorf("load table: %w", err)
	}
	m.loadGames(ctx, table.Games, table.GameProblems)
	m.worlds.Load(table.Worlds)
	in, err := m.readWorld(ctx, table.Servers)
	if err != nil {
		return err
	}
	m.admission.Load(ctx, table.Cooldowns, m.clock.Now())
	m.sessions.load(ctx, m.clock.Now())
	p := planRecovery(in)
	m.actRecovery(ctx, p, table.Problems)
	return nil
}

// readWorld reads, besides the table's records, the owned tasks, the
// recorded tasks that are not among them, and the ticket category (which
// may fail: no channel is then deleted).
func (m *Manager) readWorld(ctx context.Context, records []spawner.Server) (observed, error) {
	owned, err := m.tasks.ListOwnedTasks(ctx)
	if err != nil {
		return observed{}, fmt.Errorf("list owned tasks: %w", err)
	}
	in := observed{records: records, owned: owned, recorded: make(map[string]spawner.Task)}
	ownedIDs := make(map[string]bool, len(owned))
	for _, t := range owned {
		ownedIDs[t.ID] = true
	}
	var describe []string
	for _, r := range records {
		if r.TaskID != "" && !ownedIDs[r.TaskID] {
			describe = append(describe, r.TaskID)
		}
	}
	if len(describe) > 0 {
		ts, err := m.tasks.DescribeTasks(ctx, describe)
		if err != nil {
			return observed{}, fmt.Errorf("describe recorded tasks: %w", err)
		}
		for _, t := range ts {
			in.recorded[t.ID] = t
		}
	}
	if in.channels, err = m.chat.CategoryChannels(ctx); err != nil {
		m.log.Warn("list ticket channels; none is cleaned up this time", "err", err)
	}
	return in, nil
}

// actRecovery carries out plan p: fills the mirror, ends what is gone,
// stops orphans, deletes stale channels, then resumes booting servers.
func (m *Manager) actRecovery(ctx context.Context, p recoveryPlan, problems []error) {
	for _, pr := range problems {
		m.log.Warn("skipped malformed table item", "problem", pr.Error())
		_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogBadRecord(pr.Error()), Key: "bad-record/" + pr.Error()})
	}
	var resume []*creation
	var ended []string
	for _, s := range p.servers {
		e, ok := m.mirror(s)
		switch {
		case !ok:
		case e.worker != nil:
			resume = append(resume, e.worker)
		case s.verdict == verdictGone || s.verdict == verdictInterrupted:
			ended = append(ended, e.id)
		}
	}
	for _, s := range p.servers {
		if s.verdict == verdictSuperseded {
			if err := m.store.Delete(ctx, s.srv.Key()); err != nil && ctx.Err() == nil {
				m.log.Warn("delete superseded pending record", "key", s.srv.Key(), "err", err)
			}
		}
	}
	for _, id := range ended {
		m.log.Info("recorded server is gone", "creation", id)
		_ = m.finish(ctx, id, ending{}) // the ending was planned
	}
	m.recoverWorlds(ctx, problems)
	m.sessions.endUnknown(ctx, func(id string) bool {
		_, _, ok := m.fleet.get(id)
		return ok
	}, m.clock.Now())
	m.stopOrphans(ctx, p.orphans)
	for _, ch := range p.stale {
		m.log.Info("deleting a ticket channel no server uses", "channel", ch)
		if err := m.chat.DeleteChannel(ctx, ch); err != nil && ctx.Err() == nil {
			m.log.Warn("delete ticket channel", "channel", ch, "err", err)
		}
	}
	m.recovered.Store(true)
	for _, c := range resume {
		m.goWorker(func() { c.resume(m.ctx) })
	}
	m.log.Info("recovered", "servers", len(m.Servers(spawner.Actor{Admin: true})), "resumed", len(resume), "ended", len(ended), "orphans", len(p.orphans), "malformed", len(problems))
}

// mirror puts a planned server in the fleet, in the phase its verdict
// gives it, with its place held by admission; one that boots gets its
// creation, for resume.
func (m *Manager) mirror(s planned) (*entry, bool) {
	r := s.srv
	game := m.gameOf(r)
	if r.Port == 0 {
		r.Port = game.Port
	}
	id := entryID(r)
	var e *entry
	switch s.verdict {
	case verdictSuperseded:
		return nil, false
	case verdictWatch:
		e = newEntry(id, r, game, phaseWatched)
		e.nextCheck = m.clock.Now().Add(game.CheckInterval)
	case verdictResume, verdictAdopt:
		e = newEntry(id, r, game, phaseCreating)
		savedLocked(e, s.verdict != verdictAdopt) // an adopted task's record is written by its worker
		e.worker = m.newCreation(id, game, m.log.With("creation", id, "task", r.TaskID, "user", r.Owner, "channel", r.ChannelID))
	case verdictInterrupted:
		e = newEntry(id, r, game, phaseEndWanted)
		endWantedLocked(e, ending{cause: spawner.CauseRestart})
	case verdictGone:
		e = newEntry(id, r, game, phaseEndWanted)
		t := s.task
		endWantedLocked(e, ending{cause: spawner.CauseRecordGone, detail: taskEnded(t), task: &t})
	}
	m.admission.Hold(id, r.Owner, r.CreatedAt)
	m.track(e)
	return e, true
}
