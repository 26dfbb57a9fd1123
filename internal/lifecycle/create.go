package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// TopicMarker starts the marker put in every ticket channel's topic, so the
// channels the bot made can be told from the others under the category.
const TopicMarker = "spawner:"

// create runs the creation of entry id from the ticket channel to the task,
// then hands over to boot. Each failing step undoes what the earlier ones
// did (finish), tells the member and frees their slot.
func (m *Manager) create(id string) {
	defer m.workers.Done()
	ctx := m.ctx
	e, srv, ok := m.get(id)
	if !ok {
		return
	}
	lang := m.lang(srv)
	log := m.log.With("creation", id, "user", srv.Owner)
	if e.answered != nil {
		select {
		case <-e.answered:
		case <-ctx.Done():
			m.forget(id)
			return
		}
	}

	channelID, err := m.chat.CreateTicket(ctx, spawner.Ticket{
		Name:  ticketName(e.game, srv),
		Topic: e.game.Title + " · " + lang.Variant(srv.Variant) + " · " + TopicMarker + id,
		Owner: srv.Owner,
	})
	if err != nil {
		if ctx.Err() != nil {
			m.forget(id) // a channel made just now is removed by the next start's sweep
			return
		}
		log.Error("create ticket channel", "err", err)
		m.forget(id)
		m.replyTo(e, lang.CreationFailed(lang.FailChannel()))
		_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogStopped(srv, spawner.CauseFailed, "", m.logLang().FailChannel()+": "+errorSummary(err))})
		m.metrics.Stopped(spawner.CauseFailed)
		return
	}
	srv, _ = m.update(id, func(e *entry) { e.srv.ChannelID = channelID })
	log = log.With("channel", channelID)
	m.replyTo(e, lang.CreationStarted(channelID))

	msgID, err := m.chat.Send(ctx, channelID, spawner.Message{Content: lang.Status(e.game, srv, "")})
	if err != nil {
		log.Error("send status message", "err", err)
		m.failCreation(ctx, id, text.Lang.FailInternal, err)
		return
	}
	srv, _ = m.update(id, func(e *entry) { e.srv.StatusMessageID = msgID })
	_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogCreated(srv)})

	// The pending record: a restart finds it and never starts a second task
	// for this creation (it adopts the task tagged with the creation id).
	if err := m.store.Put(ctx, srv); err != nil {
		if ctx.Err() != nil {
			return
		}
		log.Error("record creation", "err", err)
		m.failCreation(ctx, id, text.Lang.FailRecord, err)
		return
	}
	if m.stopAskedDuringCreation(ctx, id) {
		return
	}

	variant, _ := e.game.Variant(srv.Variant)
	task, err := m.tasks.RunTask(ctx, spawner.TaskSpec{
		CreationID:     id,
		TaskDefinition: e.game.TaskDefinition,
		Container:      e.game.Container,
		Env:            e.game.Environment(variant, srv.Token),
		Tags: map[string]string{
			spawner.TagCreation: id,
			spawner.TagOwner:    srv.Owner,
			spawner.TagChannel:  channelID,
			spawner.TagGame:     srv.Game,
			spawner.TagVariant:  srv.Variant,
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return // the pending record stays; the next start settles it
		}
		log.Error("run task", "err", err)
		var rf *spawner.RunFailure
		reason := ""
		if errors.As(err, &rf) {
			reason = rf.Reason
		} else {
			// The call may have started a task before failing: stop any
			// task carrying this creation's tag so nothing is left running.
			m.stopTagged(ctx, id, log)
		}
		m.failCreation(ctx, id, func(l text.Lang) string { return l.FailRun(reason) }, err)
		return
	}
	log = log.With("task", task.ARN)
	srv, _ = m.update(id, func(e *entry) {
		e.srv.TaskARN = task.ARN
		e.srv.State = stateOf(task, spawner.StateProvisioning)
	})
	if err := m.store.Put(ctx, srv); err != nil {
		if ctx.Err() != nil {
			return
		}
		log.Error("record task", "err", err)
		m.failCreation(ctx, id, text.Lang.FailRecord, err)
		return
	}
	if err := m.store.Delete(ctx, spawner.PendingKeyPrefix+id); err != nil {
		// Harmless: the next start sees both records and keeps the task's.
		log.Warn("delete pending record", "err", err)
	}
	log.Info("task started")
	m.editStatus(ctx, srv, "")
	m.boot(ctx, id, log)
}

// ticketName is the ticket channel's name: the game and the start of the
// creation id, e.g. "minecraft-3f9a1c".
func ticketName(g spawner.Game, s spawner.Server) string {
	return strings.ToLower(g.Name) + "-" + s.CreationID[:6]
}

func (m *Manager) replyTo(e *entry, content string) {
	if e.reply != nil {
		e.reply(spawner.Message{Content: content})
	}
}

// forget drops an entry that left nothing behind.
func (m *Manager) forget(id string) {
	m.mu.Lock()
	m.removeLocked(id)
	m.mu.Unlock()
}

// failCreation ends a creation that failed with why told to the member.
func (m *Manager) failCreation(ctx context.Context, id string, why func(text.Lang) string, err error) {
	_ = m.finish(ctx, id, ending{cause: spawner.CauseFailed, detail: why, err: err})
}

func (m *Manager) stopAskedDuringCreation(ctx context.Context, id string) bool {
	m.mu.Lock()
	e, ok := m.entries[id]
	var by *spawner.Actor
	if ok {
		by = e.stopAsked
	}
	m.mu.Unlock()
	if !ok {
		return true
	}
	if by == nil {
		return false
	}
	_ = m.finish(ctx, id, ending{cause: spawner.CauseCommand, by: by.UserID})
	return true
}

// stopTagged stops every owned task tagged with creation id.
func (m *Manager) stopTagged(ctx context.Context, id string, log *slog.Logger) {
	owned, err := m.tasks.ListOwnedTasks(ctx)
	if err != nil {
		log.Error("list owned tasks after a failed run", "err", err)
		return
	}
	for _, t := range owned {
		if t.Tags[spawner.TagCreation] == id {
			if err := m.tasks.StopTask(ctx, t.ARN, "spawner: creation failed"); err != nil {
				log.Error("stop task of failed creation", "task", t.ARN, "err", err)
			}
		}
	}
}

// taskEnded describes a task that stopped on its own, in any language.
func taskEnded(t spawner.Task) func(text.Lang) string {
	return func(l text.Lang) string { return l.FailTaskEnded(t) }
}

// stateOf maps an ECS status to the step shown to the member.
func stateOf(t spawner.Task, fallback spawner.State) spawner.State {
	switch t.Status {
	case spawner.TaskProvisioning:
		return spawner.StateProvisioning
	case spawner.TaskPending:
		return spawner.StatePending
	case spawner.TaskRunning:
		return spawner.StateRunning
	}
	return fallback
}

// boot follows a started task until its game answers a ping: RUNNING, the
// address, then pings. It is the end of a creation, and what a restart runs
// for a server it finds not ready yet.
func (m *Manager) boot(ctx context.Context, id string, log *slog.Logger) {
	e, srv, ok := m.get(id)
	if !ok {
		return
	}
	game := m.gameOf(srv)
	for {
		if m.stopAskedDuringCreation(ctx, id) {
			return
		}
		_, srv, _ = m.get(id)
		tasks, err := m.tasks.DescribeTasks(ctx, []string{srv.TaskARN})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("describe booting task", "err", err)
		case len(tasks) == 0 || tasks[0].Stopped():
			var t spawner.Task
			if len(tasks) > 0 {
				t = tasks[0]
			}
			_ = m.finish(ctx, id, ending{cause: spawner.CauseFailed, detail: taskEnded(t), task: &t})
			return
		default:
			srv = m.advance(ctx, id, tasks[0], log)
		}

		if srv.Address != "" {
			// A game that accepts the connection and says nothing must not
			// hold the creation past its ready deadline.
			left := game.ReadyTimeout - m.clock.Now().Sub(srv.RunningAt)
			pctx, cancel := context.WithTimeout(ctx, max(left, m.cfg.PollInterval))
			ping, err := m.pinger.Ping(pctx, srv.HostPort())
			cancel()
			if ctx.Err() != nil {
				return
			}
			m.metrics.Pinged(ping.Latency, err)
			if err == nil {
				m.ready(ctx, id, ping, log)
				return
			}
			log.Debug("not answering yet", "err", err)
		}

		now := m.clock.Now() // after the ping, which may have used its whole timeout
		switch {
		case srv.RunningAt.IsZero() && now.Sub(srv.CreatedAt) >= game.ReadyTimeout:
			_ = m.finish(ctx, id, ending{cause: spawner.CauseFailed, detail: func(l text.Lang) string { return l.FailNotRunning(game.ReadyTimeout) }})
			return
		case !srv.RunningAt.IsZero() && now.Sub(srv.RunningAt) >= game.ReadyTimeout:
			_ = m.finish(ctx, id, ending{cause: spawner.CauseNotReady, detail: func(l text.Lang) string { return l.FailNotReady(game.ReadyTimeout) }})
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-m.clock.After(m.cfg.PollInterval):
		case <-e.nudge:
		}
	}
}

// advance records what ECS says of a booting task: the step, and once
// RUNNING the address, saved so a restart knows it.
func (m *Manager) advance(ctx context.Context, id string, t spawner.Task, log *slog.Logger) spawner.Server {
	_, before, _ := m.get(id)
	state := stateOf(t, before.State)
	address := before.Address
	if t.Status == spawner.TaskRunning && address == "" {
		a, err := m.tasks.Address(ctx, t)
		if err != nil {
			log.Warn("task address", "err", err)
			state = spawner.StatePending // RUNNING without an address yet: say so next poll
		} else {
			address = a
		}
	}
	if address != "" && (state == spawner.StateRunning || state == spawner.StateBooting) {
		state = spawner.StateBooting
	}
	if state == before.State && address == before.Address {
		return before
	}
	now := m.clock.Now()
	srv, _ := m.update(id, func(e *entry) {
		e.srv.State = state
		if address != "" && e.srv.Address == "" {
			e.srv.Address = address
			e.srv.RunningAt = now
		}
	})
	if address != "" && before.Address == "" {
		log.Info("task running", "address", srv.HostPort())
	}
	m.save(ctx, id)
	m.editStatus(ctx, srv, "")
	return srv
}

// ready marks a server ready, tells its owner and hands it to the watchdogs.
func (m *Manager) ready(ctx context.Context, id string, ping spawner.Ping, log *slog.Logger) {
	now := m.clock.Now()
	srv, ok := m.update(id, func(e *entry) {
		e.srv.State = spawner.StateReady
		e.srv.ReadyAt = now
		e.nextCheck = now.Add(e.game.CheckInterval)
		e.reply = nil
	})
	if !ok {
		return
	}
	m.save(ctx, id)
	game := m.gameOf(srv)
	lang := m.lang(srv)
	m.editStatus(ctx, srv, "")
	if _, err := m.chat.Send(ctx, srv.ChannelID, spawner.Message{
		Content:  lang.Ready(game, srv, m.StopsAt(srv)),
		Mentions: []string{srv.Owner},
	}); err != nil {
		log.Error("send ready message", "err", err)
	}
	_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogReady(srv)})
	log.Info("server ready", "address", srv.HostPort(), "players", ping.Online, "latency", ping.Latency)
	// Hand over to the watchdogs last, so a stop never races the messages above.
	var stopBy *spawner.Actor
	m.update(id, func(e *entry) {
		e.booting = false
		stopBy = e.stopAsked
	})
	if stopBy != nil { // asked while the last ping was under way
		_ = m.finish(ctx, id, ending{cause: spawner.CauseCommand, by: stopBy.UserID})
		return
	}
	m.poke()
}

// save writes the mirror's copy of a server to the table; on failure the
// entry is marked dirty and the next sweep writes it again.
func (m *Manager) save(ctx context.Context, id string) {
	e, _, ok := m.get(id)
	if !ok {
		return
	}
	e.io.Lock()
	defer e.io.Unlock()
	m.mu.Lock()
	srv, ending := e.srv, e.stopping || e.stop != nil || m.entries[id] != e
	m.mu.Unlock()
	if ending {
		return // finish removes the records
	}
	err := m.store.Put(ctx, srv)
	m.update(id, func(e *entry) { e.dirty = err != nil })
	if err != nil && ctx.Err() == nil {
		m.log.Warn("save record; will retry", "task", srv.TaskARN, "err", err)
	}
}

func (m *Manager) editStatus(ctx context.Context, srv spawner.Server, note string) {
	if srv.ChannelID == "" || srv.StatusMessageID == "" {
		return
	}
	game := m.gameOf(srv)
	if err := m.chat.Edit(ctx, srv.ChannelID, srv.StatusMessageID, spawner.Message{Content: m.lang(srv).Status(game, srv, note)}); err != nil && ctx.Err() == nil {
		m.log.Warn("edit status message", "channel", srv.ChannelID, "err", err)
	}
}
