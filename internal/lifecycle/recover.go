package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Recover loads the table into the mirror and reconciles it with ECS and the
// ticket category, then lets Create accept requests. Every server recorded
// carries on (its watchdogs counting from its stored creation time); a
// creation interrupted before its task existed is cleaned up and its owner
// told; one whose task had started is adopted, never started twice; a record
// whose task is gone is cleaned up and its owner told; an owned task with no
// record is stopped and reported; a ticket channel of ours that no record
// names is deleted. Malformed table items are reported and skipped.
//
// Recover returns an error, and changes nothing, when the table or ECS
// cannot be read: the caller retries.
func (m *Manager) Recover(ctx context.Context) error {
	records, problems, err := m.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load table: %w", err)
	}
	owned, err := m.tasks.ListOwnedTasks(ctx)
	if err != nil {
		return fmt.Errorf("list owned tasks: %w", err)
	}
	byARN := make(map[string]spawner.Task, len(owned))
	byCreation := make(map[string]spawner.Task, len(owned))
	for _, t := range owned {
		byARN[t.ARN] = t
		if c := t.Tags[spawner.TagCreation]; c != "" {
			byCreation[c] = t
		}
	}

	// A creation that got as far as its task has both records; keep the task's.
	withTask := make(map[string]bool)
	for _, r := range records {
		if r.TaskARN != "" && r.CreationID != "" {
			withTask[r.CreationID] = true
		}
	}
	var describe []string
	for _, r := range records {
		if r.TaskARN != "" {
			if _, ok := byARN[r.TaskARN]; !ok {
				describe = append(describe, r.TaskARN)
			}
		}
	}
	described := make(map[string]spawner.Task)
	if len(describe) > 0 {
		ts, err := m.tasks.DescribeTasks(ctx, describe)
		if err != nil {
			return fmt.Errorf("describe recorded tasks: %w", err)
		}
		for _, t := range ts {
			described[t.ARN] = t
		}
	}

	// Everything is read: from here on Recover acts, and tells.
	for _, p := range problems {
		m.log.Warn("skipped malformed table item", "problem", p.Error())
		_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogBadRecord(p.Error())})
	}

	type gone struct {
		id  string
		end ending
	}
	var (
		resume []string
		ended  []gone
		stale  []string // pending records superseded by their task's record
	)
	channels := make(map[string]bool)
	m.mu.Lock()
	for _, r := range records {
		game := m.gameOf(r)
		if r.Port == 0 {
			r.Port = game.Port
		}
		if r.TaskARN == "" && withTask[r.CreationID] {
			stale = append(stale, spawner.PendingKeyPrefix+r.CreationID)
			continue
		}
		id := r.CreationID
		if id == "" {
			id = r.TaskARN
		}
		e := newEntry(id, r, game)
		m.entries[id] = e
		channels[r.ChannelID] = true

		switch {
		case r.TaskARN == "":
			t, started := byCreation[r.CreationID]
			if !started {
				e.booting = true // keep the watchdogs off it while it is cleaned up
				ended = append(ended, gone{id, ending{cause: spawner.CauseRestart}})
				continue
			}
			e.srv.TaskARN = t.ARN
			e.srv.State = stateOf(t, spawner.StateProvisioning)
			e.dirty = true
			e.booting = true
			resume = append(resume, id)
		default:
			t, alive := byARN[r.TaskARN]
			if !alive {
				t, alive = described[r.TaskARN]
			}
			if !alive || t.Stopped() {
				tc := t
				e.booting = true
				ended = append(ended, gone{id, ending{cause: spawner.CauseRecordGone, detail: taskEnded(tc), task: &tc}})
				continue
			}
			if r.State == "" || r.State == spawner.StateReady {
				// Ready (or written by the original bot, which recorded
				// servers once up): the watchdogs take it from here.
				e.srv.State = spawner.StateReady
				e.nextCheck = m.clock.Now().Add(game.CheckInterval)
				continue
			}
			e.booting = true
			resume = append(resume, id)
		}
	}
	m.mu.Unlock()

	for _, key := range stale {
		if err := m.store.Delete(ctx, key); err != nil {
			m.log.Warn("delete superseded pending record", "key", key, "err", err)
		}
	}
	for _, g := range ended {
		m.log.Info("recorded server is gone", "creation", g.id, "cause", string(g.end.cause))
		_ = m.finish(ctx, g.id, g.end)
	}
	// Owned tasks nobody recorded cost money and nobody can reach them.
	var orphans []spawner.Task
	for _, t := range owned {
		if t.Stopped() {
			continue
		}
		if _, ok := m.entryFor(t); !ok {
			orphans = append(orphans, t)
		}
	}
	m.stopOrphans(ctx, orphans)
	m.sweepChannels(ctx, channels)

	m.recovered.Store(true)
	for _, id := range resume {
		e, srv, ok := m.get(id)
		if !ok {
			continue
		}
		_ = e
		m.workers.Add(1)
		go func() {
			defer m.workers.Done()
			log := m.log.With("creation", id, "task", srv.TaskARN, "user", srv.Owner, "channel", srv.ChannelID)
			log.Info("resuming a server that was booting")
			m.save(m.ctx, id)
			if srv.CreationID != "" {
				_ = m.store.Delete(m.ctx, spawner.PendingKeyPrefix+srv.CreationID)
			}
			m.boot(m.ctx, id, log)
		}()
	}
	m.log.Info("recovered", "servers", len(m.Servers(spawner.Actor{Admin: true})), "resumed", len(resume), "ended", len(ended), "orphans", len(orphans), "malformed", len(problems))
	return nil
}

func (m *Manager) entryFor(t spawner.Task) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, e := range m.entries {
		if e.srv.TaskARN == t.ARN || (e.srv.CreationID != "" && e.srv.CreationID == t.Tags[spawner.TagCreation]) {
			return id, true
		}
	}
	return "", false
}

// sweepChannels deletes the ticket channels of ours (marked in their topic)
// that no record names: left by a restart during a close delay or a creation.
func (m *Manager) sweepChannels(ctx context.Context, known map[string]bool) {
	chans, err := m.chat.CategoryChannels(ctx)
	if err != nil {
		m.log.Warn("list ticket channels", "err", err)
		return
	}
	for _, c := range chans {
		if known[c.ID] || !strings.Contains(c.Topic, TopicMarker) {
			continue
		}
		m.log.Info("deleting a ticket channel no server uses", "channel", c.ID)
		if err := m.chat.DeleteChannel(ctx, c.ID); err != nil {
			m.log.Warn("delete ticket channel", "channel", c.ID, "err", err)
		}
	}
}
