package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// ending is why and how a server ends.
type ending struct {
	cause  spawner.StopCause
	by     string                 // the member who stopped it, for CauseCommand
	detail func(text.Lang) string // told to the owner and the log channel, each in their language
	task   *spawner.Task          // what the runtime last said, when it ended on its own
	err    error                  // the error behind a failure, for the logs only
	world  *worldEnd              // how its world fared (endWorld); nil for a server without one
}

// errStopping is returned by finish when another finish of the same server is under way.
var errStopping = &spawner.Refusal{Code: spawner.RefusedStopping}

// finish ends server id: stops its task, removes its records and its
// mirror entry, records the end of its session, tells the owner and the
// log channel, and schedules the ticket channel's deletion. It is idempotent and safe to retry: when the
// runtime or the table fails, the entry stays with the ending remembered and each sweep
// tries again until it succeeds, so a task is never left running unrecorded.
func (m *Manager) finish(ctx context.Context, id string, end ending) error {
	e, srv, prevState, reply, err := m.beginEnd(id, &end)
	if e == nil {
		return err
	}
	log := m.log.With("creation", srv.CreationID, "task", srv.TaskID, "user", srv.Owner, "channel", srv.ChannelID, "cause", string(end.cause))
	if prevState != spawner.StateStopping {
		m.editStatus(ctx, srv, "")
	}

	e.io.Lock()
	err = m.release(ctx, srv, end)
	e.io.Unlock()
	if err != nil {
		var tell bool
		m.fleet.updateEntry(e, func(e *entry) { tell = endFailedLocked(e) })
		if ctx.Err() == nil {
			log.Error("stop server; will retry", "err", err)
			if tell {
				_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogStopRetry(srv, errorSummary(err)), Key: msgKey(srv, "log-stop-retry")})
				m.alert(spawner.StopFailedAlert(srv, errorSummary(err), errorSummary(err), m.clock.Now()))
			}
		}
		return err
	}
	m.sessions.end(ctx, id, srv, m.gameOf(srv), m.clock.Now())
	end.world = m.endWorld(srv, log)

	// Its owner stopped it: their creation counts (one that reached ready
	// counted already).
	ownerStopped := end.cause == spawner.CauseCommand && end.by == srv.Owner
	until := m.untrack(ctx, id, ownerStopped)
	m.metrics.Stopped(end.cause)
	m.announceEnd(ctx, srv, end, reply, until, log)
	m.poke()
	return nil
}

// beginEnd starts the end of server id (beginEndLocked), its step now
// stopping, and returns it with a copy of its record, the step it was at
// and the answer to its member during a creation; *end becomes the ending
// to carry out. It returns a nil entry when id is not in the mirror (nil
// error: nothing to do) or a finish of it is under way (errStopping).
func (m *Manager) beginEnd(id string, end *ending) (*entry, spawner.Server, spawner.State, func(spawner.Message), error) {
	var e *entry
	var prevState spawner.State
	var reply func(spawner.Message)
	started := false
	srv, found := m.fleet.update(id, func(x *entry) {
		if *end, started = beginEndLocked(x, *end); !started {
			return
		}
		e, prevState = x, x.srv.State
		x.srv.State = spawner.StateStopping
		if x.worker != nil {
			reply = x.worker.reply
		}
	})
	switch {
	case !found:
		return nil, srv, "", nil, nil
	case !started:
		return nil, srv, "", nil, errStopping
	}
	return e, srv, prevState, reply, nil
}

// announceEnd tells the owner (in the ticket channel, until it is closed,
// and in their ephemeral answer during a creation) and the log channel why
// server srv ended; cooldown is when the owner may create again (zero: at
// once).
func (m *Manager) announceEnd(ctx context.Context, srv spawner.Server, end ending, reply func(spawner.Message), cooldown time.Time, log *slog.Logger) {
	lang := m.lang(srv)
	detail, logDetail := "", ""
	if end.detail != nil {
		detail, logDetail = end.detail(lang), end.detail(m.logLang())
		log = log.With("detail", end.detail(text.En))
	}
	if end.err != nil {
		log = log.With("err", end.err)
	}
	log.Info("server ended")

	srv.State = spawner.StateStopped
	var saved *bool
	if end.world != nil {
		saved = end.world.saved
	}
	m.feed.End(srv, m.gameOf(srv), end.cause, saved)
	if srv.ChannelID != "" {
		m.editStatus(ctx, srv, "")
		msg := spawner.Message{
			Content:  joinLines(lang.Ended(srv.Owner, end.cause, end.by, detail, m.cfg.TicketCloseDelay), end.world.line(lang)),
			Mentions: []string{srv.Owner},
			Key:      msgKey(srv, "end"),
			Locale:   m.localeOf(srv),
		}
		if end.world != nil {
			msg.Wake = end.world.id // its owner wakes it from here until the ticket closes
		}
		sent := m.trySay(ctx, srv.ChannelID, msg, "end message", new(bool))
		closed := m.closeLater(srv.ChannelID)
		if !sent {
			m.keepSaying(srv.ChannelID, msg, "end message", closed)
		}
	}
	if reply != nil {
		if end.cause == spawner.CauseCommand {
			reply(spawner.Message{Content: lang.CreationStopped(cooldown)})
		} else {
			reply(spawner.Message{Content: lang.CreationFailed(detail)})
		}
	}
	if err := m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogStopped(srv, end.cause, end.by, logDetail), Key: msgKey(srv, "log-end")}); err != nil && ctx.Err() == nil {
		log.Warn("tell log channel", "err", err)
	}
	m.alertEnd(srv, end, logDetail)
}

// release stops the task and deletes the records, idempotently.
func (m *Manager) release(ctx context.Context, srv spawner.Server, end ending) error {
	if srv.TaskID != "" && (end.task == nil || end.task.Status != spawner.TaskStopped) {
		if err := m.tasks.StopTask(ctx, srv.TaskID, "spawner: "+string(end.cause)); err != nil {
			return err
		}
	}
	if srv.TaskID != "" {
		if err := m.store.Delete(ctx, srv.TaskID); err != nil {
			return err
		}
	}
	if srv.CreationID != "" {
		if err := m.store.Delete(ctx, spawner.PendingKeyPrefix+srv.CreationID); err != nil {
			return err
		}
	}
	return nil
}

// closeLater has the closer delete a ticket channel after the close delay
// and wakes the loop that deletes it; see tickets.Closer.Later.
func (m *Manager) closeLater(channelID string) <-chan struct{} {
	done := m.closer.Later(m.ctx, channelID)
	m.poke()
	return done
}

// joinLines joins the lines that are not empty.
func joinLines(lines ...string) string {
	out := ""
	for _, l := range lines {
		switch {
		case l == "":
		case out == "":
			out = l
		default:
			out += "\n" + l
		}
	}
	return out
}

func errorSummary(err error) string {
	var r *spawner.Refusal
	if errors.As(err, &r) {
		return r.Error()
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
