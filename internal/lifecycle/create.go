package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// TopicMarker starts the marker that ends every ticket channel's topic
// (" · spawner:<creation id>"), so the channels the bot made can be told
// from the others under the category; see ticketCreation.
const TopicMarker = "spawner:"

// create runs the creation of entry id from the ticket channel to the task,
// then hands over to boot. Each failing step undoes what the earlier ones
// did (finish), tells the member and frees their slot.
func (m *Manager) create(id string) {
	ctx := m.ctx
	e, srv, ok := m.get(id)
	if !ok {
		return
	}
	log := m.log.With("creation", id, "user", srv.Owner)
	if e.answered != nil {
		select {
		case <-e.answered:
		case <-ctx.Done():
			m.forget(id)
			return
		}
	}
	channelID, ok := m.openTicket(ctx, e, srv, log)
	if !ok {
		return
	}
	log = log.With("channel", channelID)
	srv = m.postStatus(ctx, id, log)
	_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogCreated(srv), Key: msgKey(srv, "log-created")})

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
	if log, ok = m.startTask(ctx, e, srv, log); ok {
		m.boot(ctx, id, log)
	}
}

// openTicket creates the ticket channel of a creation and points the member
// to it. When the category is full, a lingering ticket of an ended server
// gives its slot up and the creation tries once more; still full, the
// member is told so and nothing is left. It reports whether the creation
// goes on.
func (m *Manager) openTicket(ctx context.Context, e *entry, srv spawner.Server, log *slog.Logger) (string, bool) {
	lang := m.lang(srv)
	ticket := spawner.Ticket{
		Name:  ticketName(e.game, srv),
		Topic: e.game.Title + " · " + lang.Variant(srv.Variant) + " · " + TopicMarker + e.id,
		Owner: srv.Owner,
	}
	channelID, err := m.chat.CreateTicket(ctx, ticket)
	if isFull(err) && m.closeOneEarly(ctx) {
		channelID, err = m.chat.CreateTicket(ctx, ticket)
	}
	switch {
	case err == nil:
		m.update(e.id, func(e *entry) { e.srv.ChannelID = channelID })
		m.replyTo(e, lang.CreationStarted(channelID))
		return channelID, true
	case ctx.Err() != nil:
		m.forget(e.id) // a channel made just now is removed by the next start's sweep
		return "", false
	case isFull(err):
		log.Warn("ticket category full; creation refused", "err", err)
		m.forget(e.id)
		m.replyTo(e, lang.Refusal(&spawner.Refusal{Code: spawner.RefusedCategoryFull}))
		return "", false
	}
	log.Error("create ticket channel", "err", err)
	m.forget(e.id)
	m.replyTo(e, lang.CreationFailed(lang.FailChannel()))
	why := m.logLang().FailChannel() + ": " + errorSummary(err)
	_ = m.chat.Log(ctx, spawner.Message{
		Content: m.logLang().LogStopped(srv, spawner.CauseFailed, "", why),
		Key:     msgKey(srv, "log-end"),
	})
	m.alert(spawner.CreationFailedAlert(srv, spawner.CauseFailed, why, text.En.FailChannel()+": "+errorSummary(err), m.clock.Now()))
	m.metrics.Stopped(spawner.CauseFailed)
	return "", false
}

func isFull(err error) bool {
	return errors.Is(err, spawner.ErrCategoryFull) || errors.Is(err, spawner.ErrGuildFull)
}

// postStatus posts the creation's status message. A failure does not stop
// the creation: editStatus posts it at the next step it can.
func (m *Manager) postStatus(ctx context.Context, id string, log *slog.Logger) spawner.Server {
	_, srv, _ := m.get(id)
	msgID, err := m.chat.Send(ctx, srv.ChannelID, m.statusMessage(srv, ""))
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("send status message; it is posted at the next step", errAttrs(err)...)
		}
		return srv
	}
	srv, _ = m.update(id, func(e *entry) { e.srv.StatusMessageID = msgID })
	return srv
}

// startTask runs the creation's task and records it. It reports whether
// the creation goes on, with the log now naming the task.
func (m *Manager) startTask(ctx context.Context, e *entry, srv spawner.Server, log *slog.Logger) (*slog.Logger, bool) {
	id := e.id
	variant, _ := e.game.Variant(srv.Variant)
	task, err := m.tasks.RunTask(ctx, spawner.TaskSpec{
		CreationID:     id,
		TaskDefinition: e.game.TaskDefinition,
		Container:      e.game.Container,
		Env:            taskEnv(e.game, variant, srv),
		Tags: map[string]string{
			spawner.TagCreation: id,
			spawner.TagOwner:    srv.Owner,
			spawner.TagChannel:  srv.ChannelID,
			spawner.TagGame:     srv.Game,
			spawner.TagVariant:  srv.Variant,
		},
		CapacityProvider: e.game.CapacityProvider,
		ContainerSpec:    containerSpec(e.game),
	})
	m.endProgress(id) // no pull note may land after the steps below
	if err != nil {
		if ctx.Err() == nil { // else the pending record stays; the next start settles it
			m.runFailed(ctx, id, err, log)
		}
		return log, false
	}
	log = log.With("task", task.ARN)
	srv, _ = m.update(id, func(e *entry) {
		e.srv.TaskARN = task.ARN
		e.srv.State = stateOf(task, spawner.StateProvisioning)
	})
	if err := m.store.Put(ctx, srv); err != nil {
		if ctx.Err() == nil {
			log.Error("record task", "err", err)
			m.failCreation(ctx, id, text.Lang.FailRecord, err)
		}
		return log, false
	}
	if err := m.store.Delete(ctx, spawner.PendingKeyPrefix+id); err != nil {
		// Harmless: the next start sees both records and keeps the task's.
		log.Warn("delete pending record", "err", err)
	}
	log.Info("task started")
	m.editStatus(ctx, srv, "")
	return log, true
}

// runFailed ends a creation whose RunTask failed.
func (m *Manager) runFailed(ctx context.Context, id string, err error, log *slog.Logger) {
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

// stopAskedDuringCreation ends the creation when a member asked for its
// stop; it reports whether the worker must return.
func (m *Manager) stopAskedDuringCreation(ctx context.Context, id string) bool {
	m.mu.Lock()
	e, ok := m.entries[id]
	var by *spawner.Actor
	if ok {
		by = stopAskedLocked(e)
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
	b := &booting{log: log}
	var tick time.Time // zero: describe this task alone (first step, or woken)
	for {
		if m.stopAskedDuringCreation(ctx, id) {
			return
		}
		if done := m.bootStep(ctx, id, game, b, tick); done || ctx.Err() != nil {
			return
		}
		now := m.clock.Now()
		next := m.nextTick(now)
		select {
		case <-ctx.Done():
			return
		case <-m.clock.After(next.Sub(now)):
			tick = next
		case <-e.nudge:
			tick = time.Time{}
		}
	}
}

// booting is what one boot worker remembers between its polls.
type booting struct {
	log         *slog.Logger
	warnedDescr bool // a failing DescribeTasks was logged
	warnedAddr  bool // a failing address lookup was logged
}

// bootStep is one poll of a booting server at tick (zero: off the beat):
// ECS, then a ping once the address is known, then the deadlines. It
// reports whether the worker is done.
func (m *Manager) bootStep(ctx context.Context, id string, game spawner.Game, b *booting, tick time.Time) bool {
	_, srv, _ := m.get(id)
	tasks, err := m.describeBooting(ctx, tick, srv.TaskARN)
	t, found := taskByARN(tasks, srv.TaskARN)
	switch {
	case ctx.Err() != nil:
		return true
	case err != nil:
		if !b.warnedDescr {
			b.log.Warn("describe booting task; will retry", "err", err)
			b.warnedDescr = true
		}
	case !found || t.Stopped():
		_ = m.finish(ctx, id, ending{cause: spawner.CauseFailed, detail: taskEnded(t), task: &t})
		return true
	default:
		b.warnedDescr = false
		var done bool
		if srv, done = m.advance(ctx, id, t, b); done {
			return true
		}
	}
	if srv.Address != "" && m.pingReady(ctx, id, srv, game, b.log) {
		return true
	}
	now := m.clock.Now() // after the ping, which may have used its whole timeout
	switch {
	case srv.RunningAt.IsZero() && now.Sub(srv.CreatedAt) >= game.ReadyTimeout:
		_ = m.finish(ctx, id, ending{cause: spawner.CauseFailed, detail: func(l text.Lang) string { return l.FailNotRunning(game.ReadyTimeout) }})
		return true
	case !srv.RunningAt.IsZero() && now.Sub(srv.RunningAt) >= game.ReadyTimeout:
		_ = m.finish(ctx, id, ending{cause: spawner.CauseNotReady, detail: func(l text.Lang) string { return l.FailNotReady(game.ReadyTimeout) }})
		return true
	}
	return false
}

// taskByARN finds the task arn in a DescribeTasks answer, which may hold
// others or none: never take the first one on trust.
func taskByARN(tasks []spawner.Task, arn string) (spawner.Task, bool) {
	for _, t := range tasks {
		if t.ARN == arn {
			return t, true
		}
	}
	return spawner.Task{}, false
}

// pingReady pings a booting server; when it answers, the server is ready
// and handed to the watchdogs. It reports whether it was.
func (m *Manager) pingReady(ctx context.Context, id string, srv spawner.Server, game spawner.Game, log *slog.Logger) bool {
	// A game that accepts the connection and says nothing must not hold
	// the creation past its ready deadline.
	left := game.ReadyTimeout - m.clock.Now().Sub(srv.RunningAt)
	pctx, cancel := context.WithTimeout(ctx, max(left, m.cfg.PollInterval))
	ping, err := m.pinger.Ping(pctx, game.ProbeProtocol(), probeAddr(srv, game, m.hostPortsOf(id)))
	cancel()
	if ctx.Err() != nil {
		return true
	}
	m.metrics.Pinged(ping.Latency, err)
	if err != nil {
		log.Debug("not answering yet", "err", err)
		return false
	}
	m.ready(ctx, id, ping, log)
	return true
}

// advance records what ECS says of a booting task: the step, and once
// RUNNING the address, saved so a restart knows it. A RUNNING task that
// AWS gave no public address fails the creation, with that reason; it
// reports whether it did.
func (m *Manager) advance(ctx context.Context, id string, t spawner.Task, b *booting) (spawner.Server, bool) {
	if t.Ports != nil {
		m.update(id, func(e *entry) { e.hostPorts = t.Ports })
	}
	_, before, _ := m.get(id)
	state := stateOf(t, before.State)
	address := before.Address
	if t.Status == spawner.TaskRunning && address == "" {
		a, err := m.tasks.Address(ctx, t)
		switch {
		case errors.Is(err, spawner.ErrNoPublicIP):
			b.log.Warn("task running without a public address", "err", err)
			m.noPublicIP(ctx, id)
			return before, true
		case err != nil:
			if !b.warnedAddr {
				b.log.Warn("task address; will retry", "err", err)
				b.warnedAddr = true
			}
			state = spawner.StatePending // RUNNING without an address yet: say so next poll
		default:
			address = a
		}
	}
	if address != "" && (state == spawner.StateRunning || state == spawner.StateBooting) {
		state = spawner.StateBooting
	}
	if state == before.State && address == before.Address {
		return before, false
	}
	now := m.clock.Now()
	srv, _ := m.update(id, func(e *entry) {
		e.srv.State = state
		if address != "" && e.srv.Address == "" {
			e.srv.Address = address
			e.srv.Port = publicPort(t, e.srv.Port)
			e.srv.RunningAt = now
		}
	})
	if address != "" && before.Address == "" {
		b.log.Info("task running", "address", srv.HostPort())
	}
	m.save(ctx, id)
	m.editStatus(ctx, srv, "")
	return srv, false
}

// noPublicIP ends a creation whose task runs with no public address,
// showing that it got as far as running.
func (m *Manager) noPublicIP(ctx context.Context, id string) {
	now := m.clock.Now()
	m.update(id, func(e *entry) {
		e.srv.State = spawner.StateRunning
		e.srv.RunningAt = now
	})
	_ = m.finish(ctx, id, ending{cause: spawner.CauseFailed, detail: text.Lang.FailNoPublicIP, err: spawner.ErrNoPublicIP})
}

// ready marks a server ready, tells its owner and hands it to the watchdogs.
func (m *Manager) ready(ctx context.Context, id string, ping spawner.Ping, log *slog.Logger) {
	now := m.clock.Now()
	var gone <-chan struct{}
	var cooldown time.Time
	var counted bool
	srv, ok := m.update(id, func(e *entry) {
		e.srv.State = spawner.StateReady
		e.srv.ReadyAt = now
		e.srv.Players = playersSeen(e.game, ping)
		e.nextCheck = now.Add(e.game.CheckInterval)
		gone = e.gone
		cooldown, counted = m.countLocked(e) // the member got their server
	})
	if !ok {
		return
	}
	m.save(ctx, id)
	if counted {
		m.saveCooldown(ctx, srv.Owner, cooldown)
	}
	game := m.gameOf(srv)
	m.editStatus(ctx, srv, "")
	m.publishPlayers(id, ping.Online)
	m.mustSay(ctx, srv.ChannelID, spawner.Message{
		Content:  m.lang(srv).Ready(game, srv, m.StopsAt(srv)),
		Mentions: []string{srv.Owner},
		Key:      msgKey(srv, "ready"),
	}, "ready message", gone)
	_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogReady(srv), Key: msgKey(srv, "log-ready")})
	log.Info("server ready", "address", srv.HostPort(), "players", ping.Online, "latency", ping.Latency)
	// Hand over to the watchdogs last, so a stop never races the messages above.
	var stopBy *spawner.Actor
	m.update(id, func(e *entry) { stopBy = handOverLocked(e) })
	if stopBy != nil { // asked while the last ping was under way
		_ = m.finish(ctx, id, ending{cause: spawner.CauseCommand, by: stopBy.UserID})
		return
	}
	m.poke()
}

// save writes the mirror's copy of a server to the table; on failure the
// entry is marked unsaved and the next sweep writes it again.
func (m *Manager) save(ctx context.Context, id string) {
	e, _, ok := m.get(id)
	if !ok {
		return
	}
	e.io.Lock()
	defer e.io.Unlock()
	m.mu.Lock()
	srv, ending := e.srv, e.ended() || m.entries[id] != e
	m.mu.Unlock()
	if ending {
		return // finish removes the records
	}
	err := m.store.Put(ctx, srv)
	m.update(id, func(e *entry) { savedLocked(e, err == nil) })
	if err != nil && ctx.Err() == nil {
		m.log.Warn("save record; will retry", "task", srv.TaskARN, "err", err)
	}
}

// editStatus shows srv's step in its status message, posting the message
// when the creation could not.
func (m *Manager) editStatus(ctx context.Context, srv spawner.Server, note string) {
	if srv.ChannelID == "" {
		return
	}
	msg := m.statusMessage(srv, note)
	if srv.StatusMessageID == "" {
		msgID, err := m.chat.Send(ctx, srv.ChannelID, msg)
		if err != nil {
			return
		}
		m.update(entryID(srv), func(e *entry) { e.srv.StatusMessageID = msgID })
		// The status message the creation failed to post may have been
		// posted all the same: sent with the same Key, it is the one
		// returned, still at an earlier step.
		srv.StatusMessageID = msgID
	}
	if err := m.chat.Edit(ctx, srv.ChannelID, srv.StatusMessageID, msg); err != nil && ctx.Err() == nil {
		m.log.Warn("edit status message", append([]any{"channel", srv.ChannelID}, errAttrs(err)...)...)
	}
}

// entryID is the mirror's key of a server: its creation id, or its task
// ARN for a record of the original bot.
func entryID(s spawner.Server) string {
	if s.CreationID != "" {
		return s.CreationID
	}
	return s.TaskARN
}
