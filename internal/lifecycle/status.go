package lifecycle

import (
	"unicode/utf8"

	"github.com/mineral-contest/spawner/internal/lifecycle/feed"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// Links makes the web links the ticket's status message carries.
type Links interface {
	// Server returns the address of the live page of srv, a server of game
	// g, with a token good for as long as the server may live; "" for none.
	Server(srv spawner.Server, g spawner.Game) string
}

// maxMessage is Discord's limit on a message's characters: a status
// message with its link over it goes without the link.
const maxMessage = 2000

// statusMessage is the ticket's status message for srv, with the link to
// its live page while it lives (when Links is set and the message stays
// within Discord's limit).
func (m *Manager) statusMessage(srv spawner.Server, note string) spawner.Message {
	game := m.gameOf(srv)
	lang := m.lang(srv)
	content := lang.Status(game, srv, note)
	if m.cfg.Links != nil && srv.State != spawner.StateStopped {
		if link := m.cfg.Links.Server(srv, game); link != "" {
			line := "\n" + lang.StatusLink(link)
			if utf8.RuneCountInString(content)+utf8.RuneCountInString(line) <= maxMessage {
				content += line
			}
		}
	}
	return spawner.Message{Content: content, Key: msgKey(srv, "status")}
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
	m.mu.Lock()
	servers := make([]feed.Followed, 0, len(m.entries))
	for id, e := range m.entries {
		servers = append(servers, feed.Followed{ID: id, Server: e.srv, Game: e.game})
	}
	m.mu.Unlock()
	return m.feed.Snapshot(servers)
}
