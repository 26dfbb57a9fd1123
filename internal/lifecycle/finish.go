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
	task   *spawner.Task          // what ECS last said, when it ended on its own
	err    error                  // the error behind a failure, for the logs only
}

// errStopping is returned by finish when another finish of the same server is under way.
var errStopping = &spawner.Refusal{Code: spawner.RefusedStopping}

// finish ends server id: stops its task, removes its records and its
// mirror entry, tells the owner and the log channel, and schedules the
// ticket channel's deletion. It is idempotent and safe to retry: when AWS or
// the table fails, the entry stays with the ending remembered and each sweep
// tries again until it succeeds, so a task is never left running unrecorded.
func (m *Manager) finish(ctx context.Context, id string, end ending) error {
	m.mu.Lock()
	e, ok := m.entries[id]
	if !ok {
		m.mu.Unlock()
		return nil
	}
	end, ok = beginEndLocked(e, end)
	if !ok {
		m.mu.Unlock()
		return errStopping
	}
	prevState := e.srv.State
	e.srv.State = spawner.StateStopping
	srv, reply := e.srv, e.reply
	m.mu.Unlock()

	log := m.log.With("creation", srv.CreationID, "task", srv.TaskARN, "user", srv.Owner, "channel", srv.ChannelID, "cause", string(end.cause))
	if prevState != spawner.StateStopping {
		m.editStatus(ctx, srv, "")
	}

	e.io.Lock()
	err := m.release(ctx, srv, end)
	e.io.Unlock()
	if err != nil {
		m.mu.Lock()
		tell := endFailedLocked(e)
		m.mu.Unlock()
		if ctx.Err() == nil {
			log.Error("stop server; will retry", "err", err)
			if tell {
				_ = m.chat.Log(ctx, spawner.Message{Content: m.logLang().LogStopRetry(srv, errorSummary(err)), Key: msgKey(srv, "log-stop-retry")})
				m.alert(spawner.StopFailedAlert(srv, errorSummary(err), errorSummary(err), m.clock.Now()))
			}
		}
		return err
	}

	m.mu.Lock()
	m.removeLocked(id)
	// In the same critical section: no creation of the owner's may slip
	// in between the end of this one and its cooldown.
	var cooldown time.Time
	var counted bool
	if countsWhenEnded(e, end) {
		cooldown, counted = m.countLocked(e)
	}
	var until time.Time
	if !e.byAdmin {
		until, _ = m.cooldownLocked(srv.Owner, m.clock.Now())
	}
	m.mu.Unlock()
	if counted {
		m.saveCooldown(ctx, srv.Owner, cooldown)
	}
	m.metrics.Stopped(end.cause)
	m.announceEnd(ctx, srv, end, reply, until, log)
	m.poke()
	return nil
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
	m.publishEnd(srv, end.cause)
	if srv.ChannelID != "" {
		m.editStatus(ctx, srv, "")
		msg := spawner.Message{
			Content:  lang.Ended(srv.Owner, end.cause, end.by, detail, m.cfg.TicketCloseDelay),
			Mentions: []string{srv.Owner},
			Key:      msgKey(srv, "end"),
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
	if srv.TaskARN != "" && (end.task == nil || end.task.Status != spawner.TaskStopped) {
		if err := m.tasks.StopTask(ctx, srv.TaskARN, "spawner: "+string(end.cause)); err != nil {
			return err
		}
	}
	if srv.TaskARN != "" {
		if err := m.store.Delete(ctx, srv.TaskARN); err != nil {
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

// closeLater deletes a ticket channel after the close delay, so its owner
// can read why the server ended. A restart in between leaves it to the
// start's sweep of the category. The channel returned is closed once the
// ticket channel is deleted.
func (m *Manager) closeLater(channelID string) <-chan struct{} {
	done := make(chan struct{})
	if m.cfg.TicketCloseDelay <= 0 {
		if err := m.chat.DeleteChannel(m.ctx, channelID); err != nil && m.ctx.Err() == nil {
			m.log.Warn("delete ticket channel", "channel", channelID, "err", err)
		}
		close(done)
		return done
	}
	m.mu.Lock()
	m.closes = append(m.closes, closing{channelID: channelID, at: m.clock.Now().Add(m.cfg.TicketCloseDelay), done: done})
	m.mu.Unlock()
	m.poke()
	return done
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
