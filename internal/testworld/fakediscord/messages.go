package fakediscord

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// messagePatch is a message body as the bot sent it; the *Set fields tell
// which keys were present, since an edit only changes those.
type messagePatch struct {
	content         *string
	embeds          []json.RawMessage
	embedsSet       bool
	components      json.RawMessage
	componentsSet   bool
	allowedMentions *AllowedMentions
	mentionsSet     bool
	flags           *int
}

// badRequest is a 400 to answer: Invalid Form Body on field, or, with code
// set, another Discord error.
type badRequest struct {
	field     string
	msg       string
	code      int
	fieldCode string // the field error's code; BASE_TYPE_INVALID when empty
}

func (e *badRequest) write(w http.ResponseWriter) {
	switch {
	case e.code != 0:
		writeError(w, http.StatusBadRequest, e.code, e.msg)
	case e.fieldCode != "":
		formErrorCode(w, e.field, e.fieldCode, e.msg)
	default:
		formError(w, e.field, e.msg)
	}
}

func decodeMessagePatch(b []byte) (messagePatch, *badRequest) {
	var p messagePatch
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return p, &badRequest{field: "_body", msg: "could not decode: " + err.Error()}
	}
	isNull := func(v json.RawMessage) bool { return string(v) == "null" }
	if v, ok := raw["content"]; ok && !isNull(v) {
		var c string
		if err := json.Unmarshal(v, &c); err != nil {
			return p, &badRequest{field: "content", msg: "Must be a string."}
		}
		p.content = &c
	} else if ok {
		empty := ""
		p.content = &empty
	}
	if v, ok := raw["embeds"]; ok {
		p.embedsSet = true
		if !isNull(v) {
			if err := json.Unmarshal(v, &p.embeds); err != nil {
				return p, &badRequest{field: "embeds", msg: "Must be an array."}
			}
		}
	}
	if v, ok := raw["components"]; ok {
		p.componentsSet = true
		var list []json.RawMessage
		if !isNull(v) {
			if err := json.Unmarshal(v, &list); err != nil {
				return p, &badRequest{field: "components", msg: "Must be an array."}
			}
		}
		if len(list) > 0 {
			p.components = v
		}
	}
	if v, ok := raw["allowed_mentions"]; ok && !isNull(v) {
		p.mentionsSet = true
		p.allowedMentions = &AllowedMentions{}
		if err := json.Unmarshal(v, p.allowedMentions); err != nil {
			return p, &badRequest{field: "allowed_mentions", msg: "Must be an object."}
		}
		am := p.allowedMentions
		if (slices.Contains(am.Parse, "users") && len(am.Users) > 0) || (slices.Contains(am.Parse, "roles") && len(am.Roles) > 0) {
			return p, &badRequest{field: "allowed_mentions", msg: "parse and users/roles are mutually exclusive"}
		}
	}
	if v, ok := raw["flags"]; ok && !isNull(v) {
		var f int
		if err := json.Unmarshal(v, &f); err != nil {
			return p, &badRequest{field: "flags", msg: "Must be an integer."}
		}
		p.flags = &f
	}
	return p, nil
}

// apply writes the patch into m, validating the result as Discord does.
// On error m is unchanged.
func (p messagePatch) apply(m *messageState, now time.Time, edit bool) *badRequest {
	next := m.snapshot()
	rawEmbeds := m.rawEmbeds
	if p.content != nil {
		next.Content = *p.content
	}
	if p.embedsSet {
		rawEmbeds = p.embeds
		next.Embeds = nil
		for i, raw := range p.embeds {
			e, err := decodeEmbed(raw)
			if err != nil {
				return &badRequest{field: fmt.Sprintf("embeds.%d", i), msg: "Must be an object."}
			}
			next.Embeds = append(next.Embeds, e)
		}
	}
	if p.componentsSet {
		next.Components = p.components
	}
	if p.mentionsSet {
		next.AllowedMentions = p.allowedMentions
	}
	if p.flags != nil {
		next.Flags = *p.flags
	}
	if bad := validateMessage(next); bad != nil {
		return bad
	}
	next.Mentions, next.MentionRoles, next.MentionEveryone = mentionsOf(next.Content, next.AllowedMentions)
	if edit {
		next.EditedAt = now
	}
	next.History = append(next.History, MessageVersion{
		Content: next.Content, Embeds: slices.Clone(next.Embeds), Components: next.Components, At: now,
	})
	m.Message = next
	m.rawEmbeds = rawEmbeds
	return nil
}

func validateMessage(m Message) *badRequest {
	if utf8.RuneCountInString(m.Content) > 2000 {
		return &badRequest{field: "content", msg: "Must be 2000 or fewer in length."}
	}
	if len(m.Embeds) > 10 {
		return &badRequest{field: "embeds", msg: "Must be 10 or fewer in length."}
	}
	total := 0
	for i, e := range m.Embeds {
		at := func(f string) string { return fmt.Sprintf("embeds.%d.%s", i, f) }
		n := func(s string) int { return utf8.RuneCountInString(s) }
		switch {
		case n(e.Title) > 256:
			return &badRequest{field: at("title"), msg: "Must be 256 or fewer in length."}
		case n(e.Description) > 4096:
			return &badRequest{field: at("description"), msg: "Must be 4096 or fewer in length."}
		case len(e.Fields) > 25:
			return &badRequest{field: at("fields"), msg: "Must be 25 or fewer in length."}
		case n(e.Footer) > 2048:
			return &badRequest{field: at("footer.text"), msg: "Must be 2048 or fewer in length."}
		}
		total += n(e.Title) + n(e.Description) + n(e.Footer) + n(e.Author)
		for j, f := range e.Fields {
			switch {
			case n(f.Name) < 1 || n(f.Name) > 256:
				return &badRequest{field: at(fmt.Sprintf("fields.%d.name", j)), msg: "Must be between 1 and 256 in length."}
			case n(f.Value) < 1 || n(f.Value) > 1024:
				return &badRequest{field: at(fmt.Sprintf("fields.%d.value", j)), msg: "Must be between 1 and 1024 in length."}
			}
			total += n(f.Name) + n(f.Value)
		}
	}
	if total > 6000 {
		return &badRequest{field: "embeds", msg: "Embed size exceeds maximum size of 6000"}
	}
	if bad := validateComponents(m.Components, m.Flags); bad != nil {
		return bad
	}
	if m.Content == "" && len(m.Embeds) == 0 && len(m.Components) == 0 {
		return &badRequest{code: CodeCannotSendEmpty, msg: "Cannot send an empty message"}
	}
	return nil
}

func (s *Server) messageJSONLocked(m *messageState) map[string]any {
	mentions := []map[string]any{}
	for _, id := range m.Mentions {
		u, ok := s.members[id]
		if !ok {
			u = User{ID: id}
		}
		mentions = append(mentions, userJSON(u))
	}
	embeds := []json.RawMessage{}
	embeds = append(embeds, m.rawEmbeds...)
	components := json.RawMessage("[]")
	if len(m.Components) > 0 {
		components = m.Components
	}
	j := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "type": 0, "content": m.Content,
		"author": s.botUserJSON(), "timestamp": m.CreatedAt.UTC().Format(time.RFC3339Nano),
		"edited_timestamp": nil, "tts": false, "mention_everyone": m.MentionEveryone,
		"mentions": mentions, "mention_roles": append([]string{}, m.MentionRoles...),
		"attachments": []any{}, "embeds": embeds, "components": components,
		"pinned": false, "flags": m.Flags,
	}
	if !m.EditedAt.IsZero() {
		j["edited_timestamp"] = m.EditedAt.UTC().Format(time.RFC3339Nano)
	}
	if m.Nonce != "" {
		j["nonce"] = m.Nonce
	}
	if m.InteractionID != "" {
		j["type"] = 20 // CHAT_INPUT_COMMAND
		j["webhook_id"] = s.opts.ApplicationID
		j["application_id"] = s.opts.ApplicationID
	}
	return j
}

// messageNonce is a create's nonce and whether it asked Discord to
// enforce it.
type messageNonce struct {
	value   string // "" when none
	enforce bool
}

// decodeNonce reads nonce (a string of at most 25 characters, or an
// integer) and enforce_nonce from a create's body, as Discord validates them.
func decodeNonce(b []byte) (messageNonce, *badRequest) {
	var raw struct {
		Nonce   json.RawMessage `json:"nonce"`
		Enforce json.RawMessage `json:"enforce_nonce"`
	}
	var n messageNonce
	if json.Unmarshal(b, &raw) != nil {
		return n, &badRequest{field: "_body", msg: "could not decode"}
	}
	if v := raw.Nonce; len(v) > 0 && string(v) != "null" {
		var str string
		var num json.Number
		switch {
		case json.Unmarshal(v, &str) == nil:
			if utf8.RuneCountInString(str) > 25 {
				return n, &badRequest{field: "nonce", msg: "Must be 25 or fewer in length."}
			}
			n.value = str
		case json.Unmarshal(v, &num) == nil:
			if _, err := num.Int64(); err != nil {
				return n, &badRequest{field: "nonce", msg: "Must be a string or an integer."}
			}
			n.value = num.String()
		default:
			return n, &badRequest{field: "nonce", msg: "Must be a string or an integer."}
		}
	}
	if v := raw.Enforce; len(v) > 0 && string(v) != "null" {
		if json.Unmarshal(v, &n.enforce) != nil {
			return n, &badRequest{field: "enforce_nonce", msg: "Must be a boolean."}
		}
	}
	return n, nil
}

// nonceMessageLocked returns the live message of channelID created with
// nonce within the nonce window, if any.
func (s *Server) nonceMessageLocked(channelID, nonce string, now time.Time) *messageState {
	for _, m := range s.messages {
		if m.ChannelID == channelID && m.Nonce == nonce && !m.Deleted && now.Sub(m.CreatedAt) < s.opts.NonceWindow {
			return m
		}
	}
	return nil
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, body []byte) {
	p, bad := decodeMessagePatch(jsonBody(r, body))
	if bad != nil {
		bad.write(w)
		return
	}
	nonce, bad := decodeNonce(jsonBody(r, body))
	if bad != nil {
		bad.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelForBotLocked(w, r.PathValue("channel"))
	if c == nil {
		return
	}
	if c.Type != ChannelText && c.Type != ChannelNews {
		writeError(w, http.StatusBadRequest, CodeNonTextChannel, "Cannot send messages in a non-text channel")
		return
	}
	if s.channelPermsLocked(c)&PermSendMessages == 0 {
		writeError(w, http.StatusForbidden, CodeMissingPermissions, "Missing Permissions")
		return
	}
	now := time.Now()
	if nonce.enforce && nonce.value != "" {
		if m := s.nonceMessageLocked(c.ID, nonce.value, now); m != nil {
			writeJSON(w, http.StatusOK, s.messageJSONLocked(m))
			return
		}
	}
	m := &messageState{Message: Message{ID: s.ids.next(), ChannelID: c.ID, CreatedAt: now, Nonce: nonce.value}}
	if bad := p.apply(m, now, false); bad != nil {
		bad.write(w)
		return
	}
	s.messages[m.ID] = m
	writeJSON(w, http.StatusOK, s.messageJSONLocked(m))
}

// messageForBotLocked finds a live message in a channel the bot can see, or
// answers the error Discord would.
func (s *Server) messageForBotLocked(w http.ResponseWriter, r *http.Request) *messageState {
	c := s.channelForBotLocked(w, r.PathValue("channel"))
	if c == nil {
		return nil
	}
	m := s.messages[r.PathValue("message")]
	if m == nil || m.Deleted || m.ChannelID != c.ID {
		writeError(w, http.StatusNotFound, CodeUnknownMessage, "Unknown Message")
		return nil
	}
	return m
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.messageForBotLocked(w, r); m != nil {
		writeJSON(w, http.StatusOK, s.messageJSONLocked(m))
	}
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request, body []byte) {
	p, bad := decodeMessagePatch(jsonBody(r, body))
	if bad != nil {
		bad.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messageForBotLocked(w, r)
	if m == nil {
		return
	}
	if bad := p.apply(m, time.Now(), true); bad != nil {
		bad.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.messageJSONLocked(m))
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.messageForBotLocked(w, r); m != nil {
		m.Deleted = true
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) getMessages(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channelForBotLocked(w, r.PathValue("channel"))
	if c == nil {
		return
	}
	out := []map[string]any{}
	if s.channelPermsLocked(c)&PermReadMessageHistory == 0 {
		writeJSON(w, http.StatusOK, out) // Discord shows no history without the permission
		return
	}
	q := r.URL.Query()
	limit := 50
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n >= 1 && n <= 100 {
		limit = n
	}
	before, after := idNum(q.Get("before")), idNum(q.Get("after"))
	msgs := s.liveMessagesLocked(c.ID)
	for i := len(msgs) - 1; i >= 0 && len(out) < limit; i-- { // newest first
		id := idNum(msgs[i].ID)
		if (before != 0 && id >= before) || (after != 0 && id <= after) {
			continue
		}
		out = append(out, s.messageJSONLocked(msgs[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func idNum(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}

// liveMessagesLocked returns a channel's messages, oldest first.
func (s *Server) liveMessagesLocked(channelID string) []*messageState {
	var out []*messageState
	for _, m := range s.messages {
		if m.ChannelID == channelID && !m.Deleted {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return idNum(out[i].ID) < idNum(out[j].ID) })
	return out
}

func (s *Server) channelMessagesLocked(channelID string) []Message {
	var out []Message
	for _, m := range s.messages {
		if m.ChannelID == channelID {
			out = append(out, m.snapshot())
		}
	}
	sort.Slice(out, func(i, j int) bool { return idNum(out[i].ID) < idNum(out[j].ID) })
	return out
}

// Messages returns every message the bot posted in a channel, oldest first,
// deleted ones included (Deleted set), each with its edit history.
// Interaction responses are not in it: see Interaction.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelMessagesLocked(channelID)
}

// Message returns the message with that id, if the bot posted it in a channel.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return m.snapshot(), true
}
