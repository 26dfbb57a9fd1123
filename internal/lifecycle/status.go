package lifecycle

import (
	"context"
	"log/slog"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Links makes the web links the ticket's status message carries.
type Links interface {
	// Server returns the address of the live page of srv, a server of game
	// g, with a token good for as long as the server may live; "" for none.
	Server(srv spawner.Server, g spawner.Game) string
}

// statusMessage is the ticket's status message for srv, with the link to
// its live page as its footer while it lives (when Links is set): the
// chat leaves it out when the message would be too long with it.
func (m *Manager) statusMessage(srv spawner.Server, note string) spawner.Message {
	game := m.gameOf(srv)
	lang := m.lang(srv)
	content := lang.Status(game, srv, note)
	if w, ok := m.worlds.Get(srv.WorldID); ok {
		content = joinLines(content, lang.StatusWorld(w.Name))
	}
	msg := spawner.Message{Content: content, Key: msgKey(srv, "status")}
	if m.cfg.Links != nil && srv.State != spawner.StateStopped {
		if link := m.cfg.Links.Server(srv, game); link != "" {
			msg.Footer = lang.StatusLink(link)
		}
	}
	return msg
}

// tellStep tells the feed of the step srv shows, or of its new stop time:
// wherever the status message changes, the feed is told. The end is told
// by announceEnd, with its cause.
func (m *Manager) tellStep(srv spawner.Server) {
	if srv.State != spawner.StateStopped {
		m.feed.Step(entryID(srv), srv, m.gameOf(srv))
	}
}

// Snapshot returns one event per server in the mirror, oldest first, of
// type spawner.EventSnapshot (feed.Feed.Snapshot): the web feed's first
// message to a new client. It carries no token and no password.
func (m *Manager) Snapshot() []spawner.Event {
	return m.feed.Snapshot(m.fleet.followed())
}

// postStatus posts the creation's status message and tells the feed of
// its first step. A failure does not stop the creation: editStatus posts
// it at the next step it can.
func (m *Manager) postStatus(ctx context.Context, id string, log *slog.Logger) spawner.Server {
	_, srv, _ := m.fleet.get(id)
	m.tellStep(srv)
	msgID, err := m.chat.Send(ctx, srv.ChannelID, m.statusMessage(srv, ""))
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("send status message; it is posted at the next step", errAttrs(err)...)
		}
		return srv
	}
	srv, _ = m.fleet.update(id, func(e *entry) { e.srv.StatusMessageID = msgID })
	return srv
}

// editStatus shows srv's step in its status message, posting the message
// when the creation could not, and tells the feed of it.
func (m *Manager) editStatus(ctx context.Context, srv spawner.Server, note string) {
	if srv.ChannelID == "" {
		return
	}
	m.tellStep(srv)
	msg := m.statusMessage(srv, note)
	if srv.StatusMessageID == "" {
		msgID, err := m.chat.Send(ctx, srv.ChannelID, msg)
		if err != nil {
			return
		}
		m.fleet.update(entryID(srv), func(e *entry) { e.srv.StatusMessageID = msgID })
		// The status message the creation failed to post may have been
		// posted all the same: sent with the same Key, it is the one
		// returned, still at an earlier step.
		srv.StatusMessageID = msgID
	}
	if err := m.chat.Edit(ctx, srv.ChannelID, srv.StatusMessageID, msg); err != nil && ctx.Err() == nil {
		m.log.Warn("edit status message", append([]any{"channel", srv.ChannelID}, errAttrs(err)...)...)
	}
}
