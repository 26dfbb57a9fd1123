package fakediscord

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Interaction types.
const (
	InteractionCommand      = 2
	InteractionComponent    = 3 // a click on a button (MESSAGE_COMPONENT)
	InteractionAutocomplete = 4
)

// Interaction callback types and the ephemeral flag.
const (
	ResponseChannelMessage         = 4
	ResponseDeferredChannelMessage = 5
	ResponseDeferredUpdateMessage  = 6 // components only: edit the clicked message later
	ResponseUpdateMessage          = 7 // components only: edit the clicked message now
	ResponseAutocomplete           = 8
	ResponseModal                  = 9
	FlagEphemeral                  = 64
)

// User is a member of the guild playing a part in a test.
type User struct {
	ID          string
	Username    string   // "user<ID>" when empty
	Roles       []string // role ids the member holds
	Permissions int64    // guild-level permissions of the member; 0 is none
}

// InteractionSpec describes an interaction for Interact. Command and
// Autocomplete cover the usual cases.
type InteractionSpec struct {
	User    User
	Locale  string         // the user's client locale; "en-US" when empty
	Type    int            // InteractionCommand (the default) or InteractionAutocomplete
	Path    []string       // command name then subcommand group/subcommand: {"server", "create"}
	Options map[string]any // leaf options by name: string, int, int64, float64, bool, Attachment
	Focused string         // for autocomplete: the option being typed
	// GuildID is the guild the interaction comes from: the main guild when
	// empty. With DM set it comes from a direct message: no guild_id, and
	// "user" instead of "member".
	GuildID   string
	DM        bool
	ChannelID string // Options.CommandChannelID when empty
}

// Response is the bot's answer to an interaction: the body of its POST
// /interactions/{id}/{token}/callback. For an UPDATE_MESSAGE (type 7) the
// content, embeds and components are those of the clicked message after
// the update.
type Response struct {
	Type            int
	Content         string
	Flags           int
	Embeds          []Embed
	Components      json.RawMessage
	Choices         []Choice // autocomplete answers
	AllowedMentions *AllowedMentions
	At              time.Time // when the callback arrived
	// Late is set when the callback came after the interaction deadline;
	// the fake refused it with 404 Unknown interaction, as Discord would.
	Late bool
	Raw  json.RawMessage
}

// Ephemeral reports whether the response is only shown to the user.
func (r Response) Ephemeral() bool { return r.Flags&FlagEphemeral != 0 }

// Text is the content followed by the embeds' text, as Message.Text.
func (r Response) Text() string { return textOf(r.Content, r.Embeds) }

// Interaction is a handle on an interaction a test dispatched, to wait for
// and read what the bot answered.
type Interaction struct {
	ID    string
	Token string
	// DispatchedAt is when the INTERACTION_CREATE was written to the bot's
	// socket.
	DispatchedAt time.Time

	srv *Server
}

type interactionState struct {
	id, token    string
	typ          int
	name         string // what the user did, for Dump and refusals: "/server create", "button confirm"
	channelID    string
	guildID      string // "" in a direct message
	dm           bool
	user         User
	dispatchedAt time.Time
	response     *Response
	// original is the message @original names: the answer of a type 4 or 5
	// callback, or for a click answered with type 6 or 7 the clicked message.
	original  *messageState
	message   *messageState // for a click: the message the button is on
	edits     []Message
	followups []*messageState
}

// Command dispatches a chat input command from user in the main guild, e.g.
// Command(u, "fr", []string{"server", "create"}, map[string]any{"game": "minecraft"}).
// It waits for the bot to be connected and fails the test otherwise.
func (s *Server) Command(user User, locale string, path []string, opts map[string]any) *Interaction {
	s.tb.Helper()
	return s.Interact(s.tb, InteractionSpec{User: user, Locale: locale, Path: path, Options: opts})
}

// Autocomplete dispatches an autocomplete interaction with the focused option
// marked, its partial value taken from opts (empty when absent).
func (s *Server) Autocomplete(user User, locale string, path []string, opts map[string]any, focused string) *Interaction {
	s.tb.Helper()
	return s.Interact(s.tb, InteractionSpec{
		User: user, Locale: locale, Path: path, Options: opts, Focused: focused, Type: InteractionAutocomplete,
	})
}

// Interact dispatches the interaction spec describes and returns its handle.
// When the command is registered, option types come from its definition and
// an option it does not declare fails the test: Discord would never send it.
func (s *Server) Interact(tb testing.TB, spec InteractionSpec) *Interaction {
	tb.Helper()
	if len(spec.Path) == 0 {
		tb.Fatalf("fakediscord: interaction without a command name")
	}
	if spec.Type == 0 {
		spec.Type = InteractionCommand
	}
	if spec.Locale == "" {
		spec.Locale = "en-US"
	}
	s.mu.Lock()
	payload, ix, err := s.interactionPayloadLocked(spec)
	if err == nil {
		s.interactions[ix.id] = ix
		s.byToken[ix.token] = ix
	}
	s.mu.Unlock()
	if err != nil {
		tb.Fatalf("fakediscord: %v", err)
	}
	return s.dispatch(tb, "/"+strings.Join(spec.Path, " "), payload, ix)
}

// dispatch sends a registered interaction to the bot as INTERACTION_CREATE
// and returns its handle; it fails the test when the bot is not connected.
func (s *Server) dispatch(tb testing.TB, what string, payload map[string]any, ix *interactionState) *Interaction {
	tb.Helper()
	written := func(t time.Time) {
		s.mu.Lock()
		ix.dispatchedAt = t
		s.mu.Unlock()
	}
	if err := s.waitSession(true, func(sess *gwSession) error {
		return s.emitLocked(sess, "INTERACTION_CREATE", payload, written)
	}); err != nil {
		tb.Fatalf("dispatch %s: %v\n%s", what, err, s.Dump())
	}
	s.mu.Lock()
	at := ix.dispatchedAt
	s.mu.Unlock()
	return &Interaction{ID: ix.id, Token: ix.token, DispatchedAt: at, srv: s}
}

func (s *Server) interactionPayloadLocked(spec InteractionSpec) (map[string]any, *interactionState, error) {
	guildID := spec.GuildID
	if guildID == "" && !spec.DM {
		guildID = s.opts.GuildID
	}
	channelID := spec.ChannelID
	if channelID == "" {
		channelID = s.opts.CommandChannelID
		if spec.DM || guildID != s.opts.GuildID {
			channelID = s.ids.next()
		}
	}
	var cmd *Command
	for _, scope := range []string{guildID, ""} {
		if spec.DM && scope != "" {
			continue
		}
		for i, c := range s.commands[scope] {
			if c.Name == spec.Path[0] && c.Type == 1 {
				cmd = &s.commands[scope][i]
				break
			}
		}
		if cmd != nil {
			break
		}
	}
	data := map[string]any{"name": spec.Path[0], "type": 1, "id": s.ids.next()}
	var declared []CommandOption
	if cmd != nil {
		data["id"] = cmd.ID
		if cmd.GuildID != "" {
			data["guild_id"] = cmd.GuildID
		}
		declared = cmd.Options
	}

	var resolved map[string]any
	spec.Options, resolved = s.addAttachmentsLocked(spec.Options, channelID)
	leaf, err := leafOptions(spec, declared, cmd != nil)
	if err != nil {
		return nil, nil, err
	}
	if len(resolved) > 0 {
		data["resolved"] = map[string]any{"attachments": resolved}
	}
	options := leaf
	// Wrap the leaf options in their subcommand, then group, innermost first.
	for i := len(spec.Path) - 1; i >= 1; i-- {
		typ := OptionSubCommand
		if i < len(spec.Path)-1 {
			typ = OptionSubCommandGroup
		}
		options = []map[string]any{{"name": spec.Path[i], "type": typ, "options": options}}
	}
	data["options"] = options

	ix := &interactionState{
		id: s.ids.next(), token: "fake-ix-" + randomToken(24), typ: spec.Type,
		name: "/" + strings.Join(spec.Path, " "), channelID: channelID, guildID: guildID, dm: spec.DM,
		user: spec.User,
	}
	return s.payloadLocked(ix, spec.Locale, data), ix, nil
}

// payloadLocked is the INTERACTION_CREATE payload of ix with its data, the
// user as a member of the guild it comes from or as the user of a direct
// message.
func (s *Server) payloadLocked(ix *interactionState, locale string, data map[string]any) map[string]any {
	channelType := ChannelText
	if c := s.channels[ix.channelID]; c != nil {
		channelType = c.Type
	}
	p := map[string]any{
		"id": ix.id, "application_id": s.opts.ApplicationID, "type": ix.typ, "token": ix.token,
		"version": 1, "locale": locale, "channel_id": ix.channelID,
		"channel":         map[string]any{"id": ix.channelID, "type": channelType},
		"app_permissions": strconv.FormatInt(s.basePermsLocked(), 10),
		"entitlements":    []any{}, "data": data,
	}
	if ix.dm {
		p["channel"] = map[string]any{"id": ix.channelID, "type": 1}
		p["user"] = userJSON(ix.user)
		p["context"] = 1
		p["authorizing_integration_owners"] = map[string]any{"0": s.opts.GuildID}
		return p
	}
	guildLocale := "en-US"
	if ix.guildID == s.opts.GuildID {
		guildLocale = s.opts.GuildPreferredLocale
		s.members[ix.user.ID] = ix.user
	}
	p["guild_id"] = ix.guildID
	p["guild_locale"] = guildLocale
	p["member"] = s.memberJSONLocked(ix.user)
	p["context"] = 0
	p["authorizing_integration_owners"] = map[string]any{"0": ix.guildID}
	return p
}

// leafOptions builds the options of the innermost subcommand, typed from
// the registered command when there is one.
func leafOptions(spec InteractionSpec, declared []CommandOption, registered bool) ([]map[string]any, error) {
	for _, name := range spec.Path[1:] {
		i := slices.IndexFunc(declared, func(o CommandOption) bool { return o.Name == name })
		if i < 0 {
			if registered {
				return nil, fmt.Errorf("/%s: %q is not a subcommand the bot registered", spec.Path[0], name)
			}
			declared = nil
			break
		}
		declared = declared[i].Options
	}
	values := map[string]any{}
	for k, v := range spec.Options {
		values[k] = v
	}
	if spec.Focused != "" {
		if _, ok := values[spec.Focused]; !ok {
			values[spec.Focused] = ""
		}
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	// The user fills options in the order the command declares them.
	order := func(n string) int {
		i := slices.IndexFunc(declared, func(o CommandOption) bool { return o.Name == n })
		if i < 0 {
			return len(declared)
		}
		return i
	}
	sort.Slice(names, func(i, j int) bool {
		if oi, oj := order(names[i]), order(names[j]); oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	out := []map[string]any{}
	for _, name := range names {
		v := values[name]
		typ := inferType(v)
		if registered {
			i := slices.IndexFunc(declared, func(o CommandOption) bool { return o.Name == name })
			if i < 0 {
				return nil, fmt.Errorf("/%s: option %q is not declared by the registered command", strings.Join(spec.Path, " "), name)
			}
			typ = declared[i].Type
		}
		o := map[string]any{"name": name, "type": typ, "value": convertValue(v, typ)}
		if name == spec.Focused && spec.Type == InteractionAutocomplete {
			o["focused"] = true
			o["value"] = fmt.Sprint(v) // what the user has typed so far
		}
		out = append(out, o)
	}
	return out, nil
}

func inferType(v any) int {
	switch v.(type) {
	case attachmentRef:
		return OptionAttachment
	case bool:
		return OptionBoolean
	case int, int32, int64:
		return OptionInteger
	case float32, float64:
		return OptionNumber
	default:
		return OptionString
	}
}

func convertValue(v any, typ int) any {
	if a, ok := v.(attachmentRef); ok {
		return a.id
	}
	switch typ {
	case OptionString:
		return fmt.Sprint(v)
	case OptionInteger:
		if f, ok := v.(float64); ok {
			return int64(f)
		}
	}
	return v
}

// interactionCallback answers POST /interactions/{id}/{token}/callback.
func (s *Server) interactionCallback(w http.ResponseWriter, r *http.Request, body []byte) {
	at := time.Now()
	var req struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	raw := jsonBody(r, body)
	if err := json.Unmarshal(raw, &req); err != nil {
		formError(w, "_body", "could not decode: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.interactions[r.PathValue("id")]
	if ix == nil || ix.token != r.PathValue("token") {
		writeError(w, http.StatusNotFound, CodeUnknownInteraction, "Unknown interaction")
		return
	}
	late := at.Sub(ix.dispatchedAt) > s.opts.InteractionDeadline
	if ix.response != nil && !ix.response.Late {
		writeError(w, http.StatusBadRequest, CodeAlreadyAcknowledged, "Interaction has already been acknowledged.")
		return
	}
	allowed := []int{ResponseChannelMessage, ResponseDeferredChannelMessage, ResponseModal}
	switch ix.typ {
	case InteractionAutocomplete:
		allowed = []int{ResponseAutocomplete}
	case InteractionComponent:
		allowed = append(allowed, ResponseDeferredUpdateMessage, ResponseUpdateMessage)
	}
	if !slices.Contains(allowed, req.Type) {
		formError(w, "type", "Interaction callback type is invalid for this interaction")
		return
	}
	resp := Response{Type: req.Type, At: at, Late: late, Raw: raw}
	var original *messageState
	switch req.Type {
	case ResponseChannelMessage, ResponseDeferredChannelMessage:
		p := messagePatch{}
		if len(req.Data) > 0 && string(req.Data) != "null" {
			var bad *badRequest
			if p, bad = decodeMessagePatch(req.Data); bad != nil {
				bad.write(w)
				return
			}
		}
		original = &messageState{Message: Message{
			ID: s.ids.next(), ChannelID: ix.channelID, InteractionID: ix.id, CreatedAt: at,
		}}
		if req.Type == ResponseDeferredChannelMessage {
			// "The bot is thinking": only the flags count until the first edit.
			if p.flags != nil {
				original.Flags = *p.flags
			}
			original.History = []MessageVersion{{At: at}}
		} else if bad := p.apply(original, at, false); bad != nil {
			bad.write(w)
			return
		}
		m := original.snapshot()
		resp.Content, resp.Flags, resp.Embeds = m.Content, m.Flags, m.Embeds
		resp.Components, resp.AllowedMentions = m.Components, m.AllowedMentions
	case ResponseDeferredUpdateMessage:
		original = ix.message
	case ResponseUpdateMessage:
		p := messagePatch{}
		if len(req.Data) > 0 && string(req.Data) != "null" {
			var bad *badRequest
			if p, bad = decodeMessagePatch(req.Data); bad != nil {
				bad.write(w)
				return
			}
		}
		p.flags = nil // an update cannot make a message ephemeral or public
		if ix.message.Deleted {
			writeError(w, http.StatusNotFound, CodeUnknownMessage, "Unknown Message")
			return
		}
		// Applied to a copy: a late update is refused and changes nothing.
		updated := &messageState{Message: ix.message.snapshot(), rawEmbeds: ix.message.rawEmbeds}
		if bad := p.apply(updated, at, true); bad != nil {
			bad.write(w)
			return
		}
		if !late {
			*ix.message = *updated
			ix.edits = append(ix.edits, updated.snapshot())
		}
		original = ix.message
		m := updated.snapshot()
		resp.Content, resp.Flags, resp.Embeds = m.Content, m.Flags, m.Embeds
		resp.Components, resp.AllowedMentions = m.Components, m.AllowedMentions
	case ResponseAutocomplete:
		var d struct {
			Choices []Choice `json:"choices"`
		}
		if err := json.Unmarshal(req.Data, &d); err != nil {
			formError(w, "data", "could not decode: "+err.Error())
			return
		}
		if len(d.Choices) > 25 {
			formError(w, "data.choices", "Must be 25 or fewer in length.")
			return
		}
		for i, c := range d.Choices {
			n := utf8.RuneCountInString(c.Name)
			v, isString := c.Value.(string)
			if n < 1 || n > 100 || (isString && utf8.RuneCountInString(v) > 100) {
				formError(w, fmt.Sprintf("data.choices.%d", i), "Must be between 1 and 100 in length.")
				return
			}
		}
		resp.Choices = d.Choices
		if resp.Choices == nil {
			resp.Choices = []Choice{}
		}
	}
	ix.response = &resp
	if late {
		writeError(w, http.StatusNotFound, CodeUnknownInteraction, "Unknown interaction")
		return
	}
	ix.original = original
	w.WriteHeader(http.StatusNoContent)
}

// webhookInteractionLocked finds the interaction of a webhook route, or
// answers 404 Unknown Webhook.
func (s *Server) webhookInteractionLocked(w http.ResponseWriter, r *http.Request) *interactionState {
	ix := s.byToken[r.PathValue("token")]
	if ix == nil || r.PathValue("app") != s.opts.ApplicationID {
		writeError(w, http.StatusNotFound, CodeUnknownWebhook, "Unknown Webhook")
		return nil
	}
	return ix
}

// webhookMessageLocked finds @original or a followup of the interaction.
func (s *Server) webhookMessageLocked(w http.ResponseWriter, r *http.Request) (*interactionState, *messageState) {
	ix := s.webhookInteractionLocked(w, r)
	if ix == nil {
		return nil, nil
	}
	id := r.PathValue("message")
	var m *messageState
	if id == "@original" {
		m = ix.original
	} else {
		for _, f := range ix.followups {
			if f.ID == id {
				m = f
			}
		}
	}
	if m == nil || m.Deleted {
		writeError(w, http.StatusNotFound, CodeUnknownMessage, "Unknown Message")
		return nil, nil
	}
	return ix, m
}

func (s *Server) getWebhookMessage(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, m := s.webhookMessageLocked(w, r); m != nil {
		writeJSON(w, http.StatusOK, s.messageJSONLocked(m))
	}
}

func (s *Server) editWebhookMessage(w http.ResponseWriter, r *http.Request, body []byte) {
	p, bad := decodeMessagePatch(jsonBody(r, body))
	if bad != nil {
		bad.write(w)
		return
	}
	p.flags = nil // flags cannot be changed by an edit
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, m := s.webhookMessageLocked(w, r)
	if m == nil {
		return
	}
	if bad := p.apply(m, time.Now(), true); bad != nil {
		bad.write(w)
		return
	}
	if m == ix.original {
		ix.edits = append(ix.edits, m.snapshot())
	}
	writeJSON(w, http.StatusOK, s.messageJSONLocked(m))
}

func (s *Server) deleteWebhookMessage(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, m := s.webhookMessageLocked(w, r); m != nil {
		m.Deleted = true
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) followup(w http.ResponseWriter, r *http.Request, body []byte) {
	p, bad := decodeMessagePatch(jsonBody(r, body))
	if bad != nil {
		bad.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.webhookInteractionLocked(w, r)
	if ix == nil {
		return
	}
	if ix.response == nil || ix.response.Late || ix.response.Type == ResponseAutocomplete {
		writeError(w, http.StatusNotFound, CodeUnknownWebhook, "Unknown Webhook")
		return
	}
	now := time.Now()
	m := &messageState{Message: Message{ID: s.ids.next(), ChannelID: ix.channelID, InteractionID: ix.id, CreatedAt: now}}
	if bad := p.apply(m, now, false); bad != nil {
		bad.write(w)
		return
	}
	ix.followups = append(ix.followups, m)
	if r.URL.Query().Get("wait") != "true" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, s.messageJSONLocked(m))
}

func (ix *Interaction) state() *interactionState { return ix.srv.interactions[ix.ID] }

// Response returns the bot's callback, if it has answered.
func (ix *Interaction) Response() (Response, bool) {
	ix.srv.mu.Lock()
	defer ix.srv.mu.Unlock()
	st := ix.state()
	if st.response == nil {
		return Response{}, false
	}
	return *st.response, true
}

// WaitResponse waits for the bot's callback and returns it; late callbacks
// are returned too, with Late set. It fails the test after timeout.
func (ix *Interaction) WaitResponse(tb testing.TB, timeout time.Duration) Response {
	tb.Helper()
	var resp Response
	ix.srv.WaitFor(tb, "the response to interaction "+ix.ID, timeout, func() bool {
		var ok bool
		resp, ok = ix.Response()
		return ok
	})
	return resp
}

// Late reports whether the bot answered after the deadline (Discord's 3 s),
// which Discord refuses.
func (ix *Interaction) Late() bool {
	r, ok := ix.Response()
	return ok && r.Late
}

// Latency is the time from the dispatch to the callback's arrival, once the
// bot has answered.
func (ix *Interaction) Latency() (time.Duration, bool) {
	ix.srv.mu.Lock()
	defer ix.srv.mu.Unlock()
	st := ix.state()
	if st.response == nil {
		return 0, false
	}
	return st.response.At.Sub(st.dispatchedAt), true
}

// Original returns the current state of the original response message (after
// a type 4 or 5 callback; for a click answered with type 6 or 7, the
// message the button is on).
func (ix *Interaction) Original() (Message, bool) {
	ix.srv.mu.Lock()
	defer ix.srv.mu.Unlock()
	st := ix.state()
	if st.original == nil {
		return Message{}, false
	}
	return st.original.snapshot(), true
}

// Edits returns the state of the original response after each PATCH of
// @original, in order; for a click, an UPDATE_MESSAGE (type 7) counts as
// an edit of the clicked message.
func (ix *Interaction) Edits() []Message {
	ix.srv.mu.Lock()
	defer ix.srv.mu.Unlock()
	return slices.Clone(ix.state().edits)
}

// WaitEdit waits for an edit of the original response after which the
// message satisfies cond (any edit when cond is nil), and returns the message
// as it was then. It fails the test after timeout.
func (ix *Interaction) WaitEdit(tb testing.TB, timeout time.Duration, cond func(Message) bool) Message {
	tb.Helper()
	var found Message
	ix.srv.WaitFor(tb, "an edit of the response to interaction "+ix.ID, timeout, func() bool {
		for _, m := range ix.Edits() {
			if cond == nil || cond(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// Reply is what the user sees as the bot's answer now: the original response
// after its edits (a direct or deferred answer), else the autocomplete
// choices' names, one per line.
func (ix *Interaction) Reply() string {
	if m, ok := ix.Original(); ok {
		return m.Text()
	}
	if r, ok := ix.Response(); ok {
		names := make([]string, len(r.Choices))
		for i, c := range r.Choices {
			names[i] = c.Name
		}
		return strings.Join(names, "\n")
	}
	return ""
}
