package lifecycle

import (
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Events is told of every change a person following a server should see:
// each step of its life, the players the watchdog counted, the warnings,
// a moved stop time and the end. It is the web feed's hub. Publish must
// not block: the Manager calls it with its own lock held, so that the
// events of one server reach it in order and never cross a Snapshot.
type Events interface{ Publish(spawner.Event) }

// Links makes the web links the ticket's status message carries.
type Links interface {
	// Server returns the address of the live page of srv, a server of game
	// g, with a token good for as long as the server may live; "" for none.
	Server(srv spawner.Server, g spawner.Game) string
}

// maxMessage is Discord's limit on a message's characters: a status
// message with its link over it goes without the link.
const maxMessage = 2000

// feedSeen is what the feed was last told of a server; it lives in the
// entry, under m.mu, and never in the record.
type feedSeen struct {
	steps   map[spawner.State]time.Time // when each step was reached
	at      time.Time                   // the latest change told
	state   spawner.State               // the latest step told
	players *int                        // the latest count told
	stopsAt time.Time                   // the stop time told once ready
}

// stepRank is a state's place in a server's life; later steps never give
// way to earlier ones in the feed.
func stepRank(s spawner.State) int {
	return slices.Index([]spawner.State{spawner.StateRequested, spawner.StateProvisioning, spawner.StatePending,
		spawner.StateRunning, spawner.StateBooting, spawner.StateReady, spawner.StateStopping, spawner.StateStopped}, s)
}

// publicID is the id a server has in the feed and its links: its creation
// id, or the task id of a record of the original bot.
func publicID(s spawner.Server) string {
	if s.CreationID != "" {
		return s.CreationID
	}
	return s.TaskID()
}

// statusMessage is the ticket's status message for srv, with the link to
// its live page while it lives (when Links is set and the message stays
// within Discord's limit). It also tells the feed of the step, or the new
// stop time, the message shows: it is called wherever the status changes.
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
	if srv.State != spawner.StateStopped { // the end is told by publishEnd, with its cause
		m.publishStep(srv)
	}
	return spawner.Message{Content: content, Key: msgKey(srv, "status")}
}

// event is the feed's view of srv now; never a token or a password.
func (m *Manager) event(typ spawner.EventType, srv spawner.Server, game spawner.Game, now time.Time) spawner.Event {
	e := spawner.Event{
		Type: typ, Server: publicID(srv), Owner: srv.Owner, State: srv.State, Time: now,
		Game: game.Name, Title: game.Title, Variant: srv.Variant, Address: srv.HostPort(),
	}
	if game.Protocol.CountsPlayers() {
		e.Min = game.MinPlayers
	}
	if !srv.ReadyAt.IsZero() {
		e.StopsAt = stopsAt(srv, game)
	}
	return e
}

// publishStep tells the feed of srv's step when it moved on (running is
// told on the way to booting, with the address), or of its stop time when
// that moved since ready (/server extend: whatever moves StopsAt edits the
// status message, and so tells the feed). It takes m.mu.
func (m *Manager) publishStep(srv spawner.Server) {
	if m.cfg.Events == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[entryID(srv)]
	if !ok {
		return
	}
	f := &e.feed
	now := m.clock.Now()
	if f.steps == nil {
		f.steps = make(map[spawner.State]time.Time)
	}
	if stepRank(srv.State) > stepRank(f.state) {
		if srv.State == spawner.StateBooting && f.steps[spawner.StateRunning].IsZero() && srv.Address != "" {
			running := srv
			running.State = spawner.StateRunning
			at := srv.RunningAt
			if at.IsZero() {
				at = now
			}
			f.steps[spawner.StateRunning] = at
			m.tell(f, m.event(spawner.EventState, running, e.game, now))
		}
		f.steps[srv.State] = now
		f.state = srv.State
		ev := m.event(spawner.EventState, srv, e.game, now)
		if srv.State == spawner.StateReady {
			f.stopsAt = ev.StopsAt
		}
		m.tell(f, ev)
		return
	}
	// The stop time is the mirror's, never the caller's copy: a copy taken
	// before /server extend must not move it back.
	if !f.stopsAt.IsZero() && !e.srv.ReadyAt.IsZero() {
		if end := stopsAt(e.srv, e.game); !end.Equal(f.stopsAt) {
			f.stopsAt = end
			m.tell(f, m.event(spawner.EventExtended, e.srv, e.game, now))
		}
	}
}

// feedOf runs f with m.mu held on server id, when there is a feed to tell
// and the server is in the mirror.
func (m *Manager) feedOf(id string, f func(e *entry)) {
	if m.cfg.Events == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[id]; ok {
		f(e)
	}
}

// publishPlayers tells the feed how many play on server id, when it changed.
func (m *Manager) publishPlayers(id string, n int) {
	m.feedOf(id, func(e *entry) {
		if e.ended() || (e.feed.players != nil && *e.feed.players == n) {
			return
		}
		ev := m.event(spawner.EventPlayers, e.srv, e.game, m.clock.Now())
		ev.Players = &n
		e.feed.players = &n
		m.tell(&e.feed, ev)
	})
}

// publishWarning tells the feed of a warning to the owner of server id:
// kind "players" (warning k of n) or "runtime".
func (m *Manager) publishWarning(id, kind string, k, n int) {
	m.feedOf(id, func(e *entry) {
		ev := m.event(spawner.EventWarning, e.srv, e.game, m.clock.Now())
		ev.Warning, ev.K, ev.N = kind, k, n
		m.tell(&e.feed, ev)
	})
}

// publishEnd tells the feed that srv ended, and why. The server has left
// the mirror: the event is the last of it.
func (m *Manager) publishEnd(srv spawner.Server, cause spawner.StopCause) {
	if m.cfg.Events == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	srv.State = spawner.StateStopped
	ev := m.event(spawner.EventEnded, srv, m.gameOf(srv), m.clock.Now())
	ev.Cause = cause
	m.cfg.Events.Publish(ev)
}

// tell publishes ev, remembering its time as the server's latest change;
// the caller holds m.mu.
func (m *Manager) tell(f *feedSeen, ev spawner.Event) {
	if ev.Time.Before(f.at) {
		ev.Time = f.at // never older than what was told: pages drop older changes
	}
	f.at = ev.Time
	m.cfg.Events.Publish(ev)
}

// Snapshot returns one event per server in the mirror, oldest first, of
// type spawner.EventSnapshot: its state now, the times of the steps it
// reached, its address, players and stop time when known, and Time its
// latest change. It is the web feed's first message to a new client. It
// carries no token and no password.
func (m *Manager) Snapshot() []spawner.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]spawner.Event, 0, len(m.entries))
	created := make(map[string]time.Time, len(m.entries))
	for _, e := range m.entries {
		at := e.feed.at
		if at.IsZero() {
			at = e.srv.CreatedAt
		}
		ev := m.event(spawner.EventSnapshot, e.srv, e.game, at)
		// A server recovered after a restart has no steps told yet: its
		// record's times stand in for them.
		ev.Steps = make(map[spawner.State]time.Time, len(e.feed.steps)+3)
		for st, t := range map[spawner.State]time.Time{
			spawner.StateRequested: e.srv.CreatedAt, spawner.StateRunning: e.srv.RunningAt, spawner.StateReady: e.srv.ReadyAt,
		} {
			if !t.IsZero() {
				ev.Steps[st] = t
			}
		}
		for st, t := range e.feed.steps {
			ev.Steps[st] = t
		}
		if e.feed.players != nil {
			n := *e.feed.players
			ev.Players = &n
		}
		created[ev.Server] = e.srv.CreatedAt
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := created[out[i].Server], created[out[j].Server]
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].Server < out[j].Server
	})
	return out
}
