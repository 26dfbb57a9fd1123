package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// TopicMarker starts the marker that ends every ticket channel's topic
// (" · spawner:<creation id>"), so the channels the bot made can be told
// from the others under the category; see ticketCreation.
const TopicMarker = "spawner:"

// A creation is one server's way to ready. Create starts one for a
// member's request; recovery starts one for a server a restart found
// booting (resume). Its worker owns the server in phaseCreating, and the
// creation owns what the way needs: the member's answer, the wake-ups of
// its polls, the image pull's notes. It runs the steps in order, here then
// in boot.go: the ticket channel, the pending record, the task, its
// address, the first ping answer, then it hands the server over to the
// watchdogs. Each failing step ends the server (finish), which undoes what
// the earlier ones did, tells the member and frees their place.
type creation struct {
	m        *Manager
	id       string
	game     spawner.Game
	log      *slog.Logger
	reply    func(spawner.Message) // the member's ephemeral answer; nil after a restart
	answered <-chan struct{}       // closed once the member was first answered (may be nil)
	nudge    chan struct{}         // wakes the worker before its next poll
	notes    progressNotes         // the image pull's notes while the task starts (progress.go)
	booting                        // what the boot remembers between its polls (boot.go)
	// movedFrom is the address of the world the creation plays when
	// another program held its kept port and its server got another.
	movedFrom string
}

func (m *Manager) newCreation(id string, game spawner.Game, log *slog.Logger) *creation {
	return &creation{m: m, id: id, game: game, log: log, nudge: make(chan struct{}, 1), notes: progressNotes{stop: make(chan struct{})}}
}

// wake wakes the creation's worker before its next poll; a wake-up already
// waiting is enough.
func (c *creation) wake() {
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

// wakeWorker wakes the creation that owns e, if any, before its next poll.
func (m *Manager) wakeWorker(e *entry) {
	var c *creation
	m.fleet.updateEntry(e, func(e *entry) { c = e.worker })
	if c != nil {
		c.wake()
	}
}

// Create checks req against the rules and, when accepted, starts the
// creation in the background and returns nil at once. A refused request
// returns a *spawner.Refusal and changes nothing. Create does no I/O. A
// creation of an asleep world wakes it (wake.go): the creation cooldown
// does not apply.
func (m *Manager) Create(req spawner.CreateRequest) error { return m.start(req, wakeBy{}) }

// start is Create, and the creation a wake asks for (wake.go): woke.world
// is then the world it starts, and woke says who woke it.
func (m *Manager) start(req spawner.CreateRequest, woke wakeBy) error {
	if !m.recovered.Load() || m.closed() {
		return &spawner.Refusal{Code: spawner.RefusedShuttingDown}
	}
	game, variant, err := m.choose(req)
	if err != nil {
		return err
	}
	now := m.clock.Now()
	srv := newServer(req, game, variant, newID(16), now)
	id := srv.CreationID
	if srv.WorldID, err = m.claimWorld(req, game, id, woke.world); err != nil {
		return err
	}
	woke = m.wokenBy(woke, req, srv)
	if err := m.admit(id, req, woke.wakes(), now); err != nil {
		if srv.WorldID != "" {
			m.worlds.Unclaim(srv.WorldID, id)
		}
		return err
	}
	srv.WokenBy = m.keepWaker(woke)
	c := m.newCreation(id, game, m.log.With("creation", id, "user", req.Owner))
	if req.Answer != nil {
		c.reply, c.answered = req.Answer.Update, req.Answer.Given()
	}
	e := newEntry(id, srv, game, phaseCreating)
	e.worker = c
	m.track(e)
	if !m.workers.run(func() { c.create(m.ctx) }) {
		m.forget(id)
		return &spawner.Refusal{Code: spawner.RefusedShuttingDown}
	}
	m.log.Info("creation accepted", "creation", id, "user", req.Owner, "game", game.Name, "variant", variant.Name, "world", srv.WorldID, "wake", woke.wakes())
	m.metrics.Created(game.Name)
	return nil
}

// newServer is the record of a new server of game in variant for req,
// with creation id id, asked for at now.
func newServer(req spawner.CreateRequest, game spawner.Game, variant spawner.Variant, id string, now time.Time) spawner.Server {
	srv := spawner.Server{
		Game:      game.Name,
		Variant:   variant.Name,
		Owner:     req.Owner,
		Port:      game.Port,
		Locale:    req.Locale,
		State:     spawner.StateRequested,
		CreatedAt: now,
		// Its rules, kept across restarts whatever becomes of the template.
		GameTemplate: game.Template,
		CreationID:   id,
	}
	if game.TokenEnv != "" {
		srv.Token = newID(12)
	}
	srv.RCONPassword = rconPassword(game)
	return srv
}

// choose finds the game and variant req asks for, or refuses them.
func (m *Manager) choose(req spawner.CreateRequest) (spawner.Game, spawner.Variant, error) {
	game, ok := m.Catalog().Lookup(req.Game)
	if !ok {
		return game, spawner.Variant{}, &spawner.Refusal{Code: spawner.RefusedUnknownGame, Name: req.Game}
	}
	variant, ok := game.Variant(req.Variant)
	if len(game.Variants) == 0 && req.Variant == "" {
		variant, ok = spawner.Variant{}, true // a game without variants
	}
	if !ok {
		return game, variant, &spawner.Refusal{Code: spawner.RefusedUnknownVariant, Name: req.Variant}
	}
	return game, variant, nil
}

// create runs the creation from the ticket channel to the task, then
// hands over to boot.
func (c *creation) create(ctx context.Context) {
	m, id := c.m, c.id
	if c.answered != nil {
		select {
		case <-c.answered:
		case <-ctx.Done():
			m.forget(id)
			return
		}
	}
	_, srv, ok := m.fleet.get(id)
	if !ok {
		return
	}
	channelID, ok := c.openTicket(ctx, srv)
	if !ok {
		return
	}
	c.log = c.log.With("channel", channelID)
	srv = m.postStatus(ctx, id, c.log)
	_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogCreated(srv), Key: msgKey(srv, "log-created")})

	// The pending record: a restart finds it and never starts a second task
	// for this creation (it adopts the task tagged with the creation id).
	if err := m.store.Put(ctx, srv); err != nil {
		if ctx.Err() != nil {
			return
		}
		c.log.Error("record creation", "err", err)
		c.fail(ctx, text.Lang.FailRecord, err)
		return
	}
	if c.stopAsked(ctx) {
		return
	}
	if c.startTask(ctx, srv) {
		c.boot(ctx)
	}
}

// openTicket creates the ticket channel of a creation and points the member
// to it. When the category is full, a lingering ticket of an ended server
// gives its slot up and the creation tries once more; still full, the
// member is told so and nothing is left. It reports whether the creation
// goes on.
func (c *creation) openTicket(ctx context.Context, srv spawner.Server) (string, bool) {
	m := c.m
	lang := m.lang(srv)
	ticket := spawner.Ticket{
		Name:  ticketName(c.game, srv),
		Topic: c.game.Title + " · " + lang.Variant(srv.Variant) + " · " + TopicMarker + c.id,
		Owner: srv.Owner,
	}
	channelID, err := m.chat.CreateTicket(ctx, ticket)
	if isFull(err) && m.closer.OneEarly(ctx) {
		channelID, err = m.chat.CreateTicket(ctx, ticket)
	}
	switch {
	case err == nil:
		m.fleet.update(c.id, func(e *entry) { e.srv.ChannelID = channelID })
		c.replyTo(lang.CreationStarted(channelID))
		return channelID, true
	case ctx.Err() != nil:
		m.forget(c.id) // a channel made just now is removed by the next start's sweep
		return "", false
	case isFull(err):
		c.log.Warn("ticket category full; creation refused", "err", err)
		m.forget(c.id)
		c.replyTo(lang.Refusal(&spawner.Refusal{Code: spawner.RefusedCategoryFull}))
		return "", false
	}
	c.log.Error("create ticket channel", "err", err)
	m.forget(c.id)
	c.replyTo(lang.CreationFailed(lang.FailChannel()))
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
	return errors.Is(err, spawner.ErrCategoryFull) || errors.Is(err, spawner.ErrCommunityFull)
}

// startTask runs the creation's task and records it. It reports whether
// the creation goes on, with the log now naming the task.
func (c *creation) startTask(ctx context.Context, srv spawner.Server) bool {
	m, id := c.m, c.id
	spec := c.taskSpec(srv)
	kept := "" // the address of the world's kept port
	if srv.WorldID != "" {
		w, err := m.worlds.Prepare(ctx, srv.WorldID, id)
		if err != nil {
			c.endProgress()
			if ctx.Err() == nil {
				c.log.Error("prepare world", "world", srv.WorldID, "err", err)
				c.fail(ctx, text.Lang.FailWorld, err)
			}
			return false
		}
		spec.World = &spawner.WorldMount{ID: w.ID, Storage: w.Storage, Path: c.game.World.Path}
		kept = c.keepPort(&spec, w)
	}
	task, err := c.runTask(ctx, spec, kept)
	c.endProgress() // no pull note may land after the steps below
	if err != nil {
		if ctx.Err() == nil { // else the pending record stays; the next start settles it
			c.runFailed(ctx, err)
		}
		return false
	}
	// The runtime accepted the task: it costs from now, whatever follows.
	m.sessions.start(ctx, m.sessions.session(srv, c.game, task, m.clock.Now()))
	c.log = c.log.With("task", task.ID)
	srv, _ = m.fleet.update(id, func(e *entry) {
		e.srv.TaskID = task.ID
		e.srv.State = stateOf(task, spawner.StateProvisioning)
	})
	if err := m.store.Put(ctx, srv); err != nil {
		if ctx.Err() == nil {
			c.log.Error("record task", "err", err)
			c.fail(ctx, text.Lang.FailRecord, err)
		}
		return false
	}
	if err := m.store.Delete(ctx, spawner.PendingKeyPrefix+id); err != nil {
		// Harmless: the next start sees both records and keeps the task's.
		c.log.Warn("delete pending record", "err", err)
	}
	c.log.Info("task started")
	m.editStatus(ctx, srv, "")
	return true
}

// keepPort has the task of world w published on the host port the world
// keeps, where worlds keep ports, and lets that port go from whatever
// answered for the asleep world, so the runtime can bind it now. It
// returns the world's address on that port ("" for none).
func (c *creation) keepPort(spec *spawner.TaskSpec, w spawner.World) string {
	m := c.m
	if m.sleepers != nil && m.sleepers.Release(w.ID) {
		c.log.Info("no longer answering for the world: it wakes", "world", w.ID, "port", w.Port)
	}
	if !m.cfg.KeepPorts || w.Port <= 0 {
		return ""
	}
	spec.HostPort = w.Port
	return cmp.Or(worldAddress(w), strconv.Itoa(w.Port))
}

// runTask runs spec. When the runtime refuses the world's kept port, at
// kept, because another program holds it, the server starts once more on
// a port of the runtime's choice, which the world keeps from its ready
// on; the ready message and the admin log say its address changed.
func (c *creation) runTask(ctx context.Context, spec spawner.TaskSpec, kept string) (spawner.Task, error) {
	task, err := c.m.tasks.RunTask(ctx, spec)
	port := spec.HostPort
	if err == nil || port == 0 || !errors.Is(err, spawner.ErrPortTaken) || ctx.Err() != nil {
		return task, err
	}
	c.log.Warn("the world's port is held by another program; starting on another", "port", port, "err", err)
	c.movedFrom = kept
	spec.HostPort = 0
	return c.m.tasks.RunTask(ctx, spec)
}

// taskSpec is what the runtime is asked to run for the creation's server srv.
func (c *creation) taskSpec(srv spawner.Server) spawner.TaskSpec {
	variant, _ := c.game.Variant(srv.Variant)
	return spawner.TaskSpec{
		CreationID:     c.id,
		TaskDefinition: c.game.TaskDefinition,
		Container:      c.game.Container,
		Env:            taskEnv(c.game, variant, srv),
		Tags: map[string]string{
			spawner.TagCreation: c.id,
			spawner.TagOwner:    srv.Owner,
			spawner.TagChannel:  srv.ChannelID,
			spawner.TagGame:     srv.Game,
			spawner.TagVariant:  srv.Variant,
		},
		CapacityProvider: c.game.CapacityProvider,
		ContainerSpec:    containerSpec(c.game),
	}
}

// runFailed ends a creation whose RunTask failed.
func (c *creation) runFailed(ctx context.Context, err error) {
	c.log.Error("run task", "err", err)
	var rf *spawner.RunFailure
	reason := ""
	if errors.As(err, &rf) {
		reason = rf.Reason
	} else {
		// The call may have started a task before failing: stop any
		// task carrying this creation's tag so nothing is left running.
		c.stopTagged(ctx)
	}
	c.fail(ctx, func(l text.Lang) string { return l.FailRun(reason) }, err)
}

// ticketName is the ticket channel's name: the game and the start of the
// creation id, e.g. "minecraft-3f9a1c".
func ticketName(g spawner.Game, s spawner.Server) string {
	return strings.ToLower(g.Name) + "-" + s.CreationID[:6]
}

func (c *creation) replyTo(content string) {
	if c.reply != nil {
		c.reply(spawner.Message{Content: content})
	}
}

// forget drops a server that left nothing behind: its creation ended
// before its ticket channel, or with the Manager.
func (m *Manager) forget(id string) { m.untrack(m.ctx, id, false) }

// fail ends a creation that failed with why told to the member.
func (c *creation) fail(ctx context.Context, why func(text.Lang) string, err error) {
	_ = c.m.finish(ctx, c.id, ending{cause: spawner.CauseFailed, detail: why, err: err})
}

// stopAsked ends the creation when a member asked for its stop; it
// reports whether the worker must return.
func (c *creation) stopAsked(ctx context.Context) bool {
	var by *spawner.Actor
	if _, ok := c.m.fleet.update(c.id, func(e *entry) { by = stopAskedLocked(e) }); !ok {
		return true
	}
	if by == nil {
		return false
	}
	_ = c.m.finish(ctx, c.id, ending{cause: spawner.CauseCommand, by: by.UserID})
	return true
}

// stopTagged stops every owned task tagged with the creation's id.
func (c *creation) stopTagged(ctx context.Context) {
	owned, err := c.m.tasks.ListOwnedTasks(ctx)
	if err != nil {
		c.log.Error("list owned tasks after a failed run", "err", err)
		return
	}
	for _, t := range owned {
		if t.Tags[spawner.TagCreation] == c.id {
			if err := c.m.tasks.StopTask(ctx, t.ID, "spawner: creation failed"); err != nil {
				c.log.Error("stop task of failed creation", "task", t.ID, "err", err)
			}
		}
	}
}

// taskEnded describes a task that stopped on its own, in any language.
func taskEnded(t spawner.Task) func(text.Lang) string {
	return func(l text.Lang) string { return l.FailTaskEnded(t) }
}

// stateOf maps a task's status to the step shown to the member.
func stateOf(t spawner.Task, fallback spawner.State) spawner.State {
	switch t.Status {
	case spawner.TaskProvisioning:
		return spawner.StateProvisioning
	case spawner.TaskPending:
		return spawner.StatePending
	case spawner.TaskRunning:
		return spawner.StateRunning
	case spawner.TaskStopping, spawner.TaskStopped:
		// Not a step of a boot: the fallback stays, and the creation's
		// poll, seeing the task down, fails it.
	}
	return fallback // and for a status the runtime did not say
}
