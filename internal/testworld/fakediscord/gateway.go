package fakediscord

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatAck   = 11
)

const intentGuilds = 1 << 0

// gwSession is a gateway session: what RESUME can pick up again.
type gwSession struct {
	id      string
	intents int64
	seq     int64
	log     []*dispatchEntry
	conn    *gwConn // nil while the bot is disconnected
}

type dispatchEntry struct {
	seq     int64
	event   string
	frame   []byte
	written func(time.Time) // called as each write attempt starts, until one succeeds
}

type gwConn struct {
	ws      *websocket.Conn
	session *gwSession // set once READY or RESUMED was sent
	dead    bool
}

type gatewayFrame struct {
	Op   int             `json:"op"`
	Data json.RawMessage `json:"d"`
	Seq  *int64          `json:"s"`
	Type *string         `json:"t"`
}

var errNoSession = errors.New("the bot has no gateway session")

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	c := &gwConn{ws: ws}
	s.gwMu.Lock()
	if s.closed {
		s.gwMu.Unlock()
		ws.Close()
		return
	}
	s.conns[c] = true
	hello, _ := json.Marshal(map[string]any{"heartbeat_interval": s.opts.HeartbeatInterval.Milliseconds()})
	err = s.writeLocked(c, gatewayFrame{Op: opHello, Data: hello})
	s.gwMu.Unlock()
	if err != nil {
		s.connGone(c)
		return
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			s.connGone(c)
			return
		}
		var f gatewayFrame
		if err := json.Unmarshal(msg, &f); err != nil {
			s.gwMu.Lock()
			s.closeLocked(c, 4002, "Error while decoding payload.")
			s.gwMu.Unlock()
			continue
		}
		s.gwMu.Lock()
		s.handleOpLocked(c, f)
		s.gwMu.Unlock()
	}
}

func (s *Server) handleOpLocked(c *gwConn, f gatewayFrame) {
	rec := GatewayOp{Op: f.Op, At: time.Now(), Data: redactToken(f.Data)}
	s.ops = append(s.ops, rec)
	if c.dead {
		return
	}
	switch f.Op {
	case opHeartbeat:
		_ = s.writeLocked(c, gatewayFrame{Op: opHeartbeatAck}) // a failed write drops the connection
	case opIdentify:
		s.identifies++
		var d struct {
			Token   string `json:"token"`
			Intents int64  `json:"intents"`
		}
		if json.Unmarshal(f.Data, &d) != nil || !s.tokenOK(d.Token) {
			s.closeLocked(c, 4004, "Authentication failed.")
			return
		}
		if c.session != nil && c.session.conn == c {
			c.session.conn = nil // re-identified on the same socket
		}
		sess := &gwSession{id: randomToken(16), intents: d.Intents, conn: c}
		s.sessions[sess.id] = sess
		s.current = sess
		c.session = sess
		// emitLocked fails only to encode, and these payloads are the fake's own.
		_ = s.emitLocked(sess, "READY", s.readyPayload(sess), nil)
		for _, g := range s.guildPayloads() {
			_ = s.emitLocked(sess, "GUILD_CREATE", g, nil)
		}
	case opResume:
		s.resumes++
		var d struct {
			Token     string `json:"token"`
			SessionID string `json:"session_id"`
			Seq       int64  `json:"seq"`
		}
		if json.Unmarshal(f.Data, &d) != nil || !s.tokenOK(d.Token) {
			s.closeLocked(c, 4004, "Authentication failed.")
			return
		}
		sess := s.sessions[d.SessionID]
		if sess == nil {
			s.invalids++
			_ = s.writeLocked(c, gatewayFrame{Op: opInvalidSession, Data: json.RawMessage("false")}) // a failed write drops the connection
			return
		}
		if old := sess.conn; old != nil && old != c {
			s.closeLocked(old, 4009, "Session timed out.")
		}
		if c.session != nil && c.session != sess && c.session.conn == c {
			c.session.conn = nil
		}
		sess.conn = c
		c.session = sess
		s.current = sess
		for _, e := range sess.log {
			if e.seq > d.Seq {
				s.writeEntryLocked(sess, e)
			}
		}
		_ = s.emitLocked(sess, "RESUMED", map[string]any{"_trace": []string{"fakediscord"}}, nil) // fails only to encode
	}
}

// tokenOK accepts the bot token with or without the "Bot " prefix, as
// Discord's gateway does.
func (s *Server) tokenOK(t string) bool {
	return t == s.opts.Token || t == "Bot "+s.opts.Token
}

func redactToken(d json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(d, &m) != nil {
		return d
	}
	if _, ok := m["token"]; !ok {
		return d
	}
	m["token"] = json.RawMessage(`"<redacted>"`)
	out, _ := json.Marshal(m)
	return out
}

// emitLocked numbers a dispatch, keeps it for RESUME and writes it when the
// session has a connection.
func (s *Server) emitLocked(sess *gwSession, event string, data any, written func(time.Time)) error {
	d, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", event, err)
	}
	sess.seq++
	seq := sess.seq
	frame, _ := json.Marshal(gatewayFrame{Op: opDispatch, Data: d, Seq: &seq, Type: &event})
	e := &dispatchEntry{seq: seq, event: event, frame: frame, written: written}
	sess.log = append(sess.log, e)
	s.writeEntryLocked(sess, e)
	return nil
}

func (s *Server) writeEntryLocked(sess *gwSession, e *dispatchEntry) {
	c := sess.conn
	if c == nil || c.dead {
		return
	}
	now := time.Now()
	if e.written != nil {
		// Before the write: the bot may answer before WriteMessage returns.
		e.written(now)
	}
	_ = c.ws.SetWriteDeadline(now.Add(5 * time.Second)) // on a closed connection, the write fails too
	if err := c.ws.WriteMessage(websocket.TextMessage, e.frame); err != nil {
		s.dropLocked(c)
		return
	}
	e.written = nil
	s.ops = append(s.ops, GatewayOp{Sent: true, Op: opDispatch, Type: e.event, Seq: e.seq, At: now})
}

func (s *Server) writeLocked(c *gwConn, f gatewayFrame) error {
	if c.dead {
		return errors.New("connection closed")
	}
	if f.Data == nil {
		f.Data = json.RawMessage("null")
	}
	b, _ := json.Marshal(f)
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)) // on a closed connection, the write fails too
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		s.dropLocked(c)
		return err
	}
	s.ops = append(s.ops, GatewayOp{Sent: true, Op: f.Op, At: time.Now(), Data: f.Data})
	return nil
}

// closeLocked ends a connection the way Discord does, with a close code.
func (s *Server) closeLocked(c *gwConn, code int, text string) {
	if c.dead {
		return
	}
	// The connection is dropped next, whether the close frame went or not.
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	s.dropLocked(c)
}

// dropLocked cuts a connection without a close frame.
func (s *Server) dropLocked(c *gwConn) {
	if c.dead {
		return
	}
	c.dead = true
	c.ws.Close()
	if c.session != nil && c.session.conn == c {
		c.session.conn = nil
	}
}

func (s *Server) connGone(c *gwConn) {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	s.dropLocked(c)
	delete(s.conns, c)
}

// waitSession waits for the bot to have identified (and, with live, to be
// connected), then runs f with the gateway locked.
func (s *Server) waitSession(live bool, f func(*gwSession) error) error {
	ready := func() bool {
		return s.current != nil && (!live || s.current.conn != nil)
	}
	poll(s.opts.ConnectWait, func() bool {
		s.gwMu.Lock()
		defer s.gwMu.Unlock()
		return ready()
	})
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	if !ready() {
		if live && s.current != nil {
			return errors.New("the bot is not connected to the gateway")
		}
		return errNoSession
	}
	return f(s.current)
}

// emitGuildEvent sends a dispatch caused by a REST call (CHANNEL_CREATE, ...) when the
// bot has a session that asked for the GUILDS intent; it never waits.
func (s *Server) emitGuildEvent(event string, data any) {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	if s.current == nil || s.current.intents&intentGuilds == 0 {
		return
	}
	_ = s.emitLocked(s.current, event, data, nil) // fails only to encode the fake's own objects
}

// DropConnection cuts the bot's gateway connection without a close frame, as
// a network failure would. The session is kept, so the bot can RESUME.
func (s *Server) DropConnection() {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	if s.current != nil && s.current.conn != nil {
		s.dropLocked(s.current.conn)
	}
}

// DropSession cuts the connection like DropConnection and forgets every
// session, so the bot's RESUME is answered with op 9 (invalid session, not
// resumable) and it has to IDENTIFY again. Events dispatched before the new
// READY wait for it.
func (s *Server) DropSession() {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	if s.current != nil && s.current.conn != nil {
		s.dropLocked(s.current.conn)
	}
	s.sessions = map[string]*gwSession{}
	s.current = nil
}

// Connected reports whether the bot has a live gateway connection with a
// session (after READY or RESUMED).
func (s *Server) Connected() bool {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	return s.current != nil && s.current.conn != nil
}

// Identifies is the number of IDENTIFY (op 2) payloads received.
func (s *Server) Identifies() int {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	return s.identifies
}

// Resumes is the number of RESUME (op 6) payloads received, successful or not.
func (s *Server) Resumes() int {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	return s.resumes
}

// InvalidSessions is the number of op 9 answers sent to a RESUME.
func (s *Server) InvalidSessions() int {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	return s.invalids
}

// GatewayOps returns every gateway payload received and sent, in order.
// Sent dispatches carry no Data.
func (s *Server) GatewayOps() []GatewayOp {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	return append([]GatewayOp(nil), s.ops...)
}

// ReceivedOps counts the payloads with opcode op received from the bot.
func (s *Server) ReceivedOps(op int) int {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	n := 0
	for _, o := range s.ops {
		if !o.Sent && o.Op == op {
			n++
		}
	}
	return n
}

// AddGuild makes the bot join another guild now: GUILD_CREATE is
// dispatched for it. It waits up to Options.ConnectWait for the bot to have
// identified; while the bot is disconnected the event is kept and replayed
// when it resumes, as Discord does.
func (s *Server) AddGuild(id string) {
	s.tb.Helper()
	s.mu.Lock()
	if s.guilds[id] == nil {
		s.addGuildLocked(id, "Other guild "+id)
	}
	payload := s.guildPayloadLocked(s.guilds[id])
	s.mu.Unlock()
	if err := s.waitSession(false, func(sess *gwSession) error {
		return s.emitLocked(sess, "GUILD_CREATE", payload, nil)
	}); err != nil {
		s.tb.Fatalf("dispatch GUILD_CREATE: %v\n%s", err, s.Dump())
	}
}

func (s *Server) readyPayload(sess *gwSession) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	guilds := []map[string]any{}
	for _, id := range s.guildOrder {
		guilds = append(guilds, map[string]any{"id": id, "unavailable": true})
	}
	return map[string]any{
		"v":                  10,
		"user":               s.botUserJSON(),
		"guilds":             guilds,
		"session_id":         sess.id,
		"resume_gateway_url": s.GatewayURL(),
		"shard":              []int{0, 1},
		"application":        map[string]any{"id": s.opts.ApplicationID, "flags": 0},
		"private_channels":   []any{},
		"user_settings":      map[string]any{},
		"_trace":             []string{"fakediscord"},
	}
}

func (s *Server) guildPayloads() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, id := range s.guildOrder {
		out = append(out, s.guildPayloadLocked(s.guilds[id]))
	}
	return out
}
