package lifecycle

import (
	"context"
	"errors"

	"github.com/mineral-contest/spawner/internal/backoff"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// A message a member must read (the ready message with its address and
// token, a failure notice, a watchdog warning, the end) is delivered: said
// once at once, then, when that fails, retried with capped backoff until it
// goes through, or the server (or its ticket channel) is gone, or the
// Manager closes. The chat adapter already retries a transient error for a
// short while; what reaches here is an outage or a missing permission.

// mustSay says msg in channelID; when it fails, keepSaying takes over
// until stop is closed.
func (m *Manager) mustSay(ctx context.Context, channelID string, msg spawner.Message, what string, stop <-chan struct{}) {
	if m.trySay(ctx, channelID, msg, what, new(bool)) {
		return
	}
	m.keepSaying(channelID, msg, what, stop)
}

// trySay says msg once. A failure is logged unless *logged says it was
// already: a missing permission as an error naming it, anything else as a
// warning.
func (m *Manager) trySay(ctx context.Context, channelID string, msg spawner.Message, what string, logged *bool) bool {
	_, err := m.chat.Send(ctx, channelID, msg)
	if err == nil {
		return true
	}
	if ctx.Err() != nil || *logged {
		return false
	}
	*logged = true
	var perm *spawner.MissingPermission
	if errors.As(err, &perm) {
		m.log.Error("missing permission; will retry", "what", what, "channel", channelID, "system", perm.System, "need", perm.Need, "err", err)
	} else {
		m.log.Warn("send "+what+"; will retry", "channel", channelID, "err", err)
	}
	return false
}

// keepSaying retries msg in a worker, with capped backoff, until it goes
// through, stop is closed or the Manager closes.
func (m *Manager) keepSaying(channelID string, msg spawner.Message, what string, stop <-chan struct{}) {
	m.goWorker(func() {
		logged := true // trySay's first failure was logged
		b := backoff.Backoff{Min: m.cfg.PollInterval, Max: m.cfg.MaxBackoff}
		for {
			select {
			case <-m.ctx.Done():
				return
			case <-stop:
				return
			case <-m.clock.After(b.Next()):
			}
			if m.trySay(m.ctx, channelID, msg, what, &logged) {
				m.log.Info("sent "+what+" after retrying", "channel", channelID, "tries", b.Failures()+1)
				return
			}
		}
	})
}

// msgKey is the Key of the message about server srv for purpose ("ready",
// "log-created", "warn-players-1-<check time>"): the same each time that
// message is sent again, different for any other message, so the chat
// adapter never posts one message twice.
func msgKey(srv spawner.Server, purpose string) string {
	return entryID(srv) + "/" + purpose
}

// errAttrs are the log attributes of the chat's error: the error, and the
// permission to grant when it is a missing one.
func errAttrs(err error) []any {
	var perm *spawner.MissingPermission
	if errors.As(err, &perm) {
		return []any{"err", err, "need", perm.Need}
	}
	return []any{"err", err}
}
