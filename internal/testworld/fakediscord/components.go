package fakediscord

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Component types the fake knows: action rows holding buttons (and select
// menus, which it validates and records but cannot click).
const (
	ComponentActionRow = 1
	ComponentButton    = 2
)

// Button styles. A link button carries a url and no custom_id; clicking it
// opens the link and sends the bot nothing.
const (
	ButtonPrimary   = 1
	ButtonSecondary = 2
	ButtonSuccess   = 3
	ButtonDanger    = 4
	ButtonLink      = 5
)

// Discord's limits on message components, which the fake enforces.
const (
	MaxActionRows     = 5   // action rows in one message
	MaxRowComponents  = 5   // buttons in one action row
	MaxCustomIDLength = 100 // characters of a custom_id
	MaxButtonLabel    = 80  // characters of a button's label
	MaxButtonURL      = 512 // characters of a link button's url
)

// flagComponentsV2 marks a message laid out with Discord's newer components
// (sections, containers...), which the fake does not model.
const flagComponentsV2 = 1 << 15

// selectMenuTypes are the string, user, role, mentionable and channel
// select menus: each fills an action row alone.
var selectMenuTypes = []int{3, 5, 6, 7, 8}

// Button is a button of a message, as the bot sent it.
type Button struct {
	Row      int // index of its action row, from 0
	Style    int // ButtonPrimary ... ButtonLink
	Label    string
	CustomID string // "" for a link button
	URL      string // link buttons only
	Disabled bool
	Emoji    string // the emoji's name (its id for a custom emoji without one); "" when none
}

// Buttons returns the message's buttons, row by row.
func (m Message) Buttons() []Button { return buttonsOf(m.Components) }

// Button returns the message's button whose custom_id is customID.
func (m Message) Button(customID string) (Button, bool) { return buttonIn(m.Components, customID) }

// Buttons returns the buttons of this version of the message.
func (v MessageVersion) Buttons() []Button { return buttonsOf(v.Components) }

// Buttons returns the buttons of the response's message.
func (r Response) Buttons() []Button { return buttonsOf(r.Components) }

// wireComponent is a component as the bot sends it.
type wireComponent struct {
	Type       int               `json:"type"`
	Style      int               `json:"style"`
	Label      string            `json:"label"`
	CustomID   *string           `json:"custom_id"`
	URL        *string           `json:"url"`
	Disabled   bool              `json:"disabled"`
	Emoji      json.RawMessage   `json:"emoji"`
	Components []json.RawMessage `json:"components"`
}

type wireEmoji struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// componentError is a field error of a component, with Discord's code.
func componentError(field, code, msg string) *badRequest {
	return &badRequest{field: field, fieldCode: code, msg: msg}
}

func decodeComponent(raw json.RawMessage, at string) (wireComponent, *badRequest) {
	var c wireComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, componentError(at, "BASE_TYPE_INVALID", "Invalid component: "+err.Error())
	}
	return c, nil
}

// validateComponents applies Discord's rules to a message's components: at
// most MaxActionRows action rows at the top, each holding 1 to
// MaxRowComponents buttons or one select menu; a link button has a url and
// no custom_id, any other button a custom_id and no url; custom_ids are 1
// to MaxCustomIDLength characters and unique within the message; labels at
// most MaxButtonLabel characters.
func validateComponents(raw json.RawMessage, flags int) *badRequest {
	if len(raw) == 0 {
		return nil
	}
	if flags&flagComponentsV2 != 0 {
		return componentError("flags", "BASE_TYPE_INVALID",
			"fakediscord does not model Components V2 (flag 32768): send action rows of buttons")
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return componentError("components", "BASE_TYPE_INVALID", "Must be an array.")
	}
	if len(rows) > MaxActionRows {
		return componentError("components", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxActionRows))
	}
	seen := map[string]bool{}
	for i, rawRow := range rows {
		at := fmt.Sprintf("components.%d", i)
		row, bad := decodeComponent(rawRow, at)
		if bad != nil {
			return bad
		}
		if row.Type != ComponentActionRow {
			return componentError(at+".type", "BASE_TYPE_CHOICES", "Value must be one of {1}.")
		}
		if n := len(row.Components); n < 1 || n > MaxRowComponents {
			return componentError(at+".components", "BASE_TYPE_BAD_LENGTH",
				fmt.Sprintf("Must be between 1 and %d in length.", MaxRowComponents))
		}
		for j, rawChild := range row.Components {
			cat := fmt.Sprintf("%s.components.%d", at, j)
			c, bad := decodeComponent(rawChild, cat)
			if bad != nil {
				return bad
			}
			switch {
			case c.Type == ComponentButton:
				bad = validateButton(c, cat)
			case slices.Contains(selectMenuTypes, c.Type):
				if len(row.Components) > 1 {
					return componentError(cat, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
				}
				bad = validateCustomID(c.CustomID, cat)
			default:
				return componentError(cat+".type", "BASE_TYPE_CHOICES", "Value must be one of {2, 3, 5, 6, 7, 8}.")
			}
			if bad != nil {
				return bad
			}
			if c.CustomID != nil {
				if seen[*c.CustomID] {
					return componentError(cat+".custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
				}
				seen[*c.CustomID] = true
			}
		}
	}
	return nil
}

func validateButton(c wireComponent, at string) *badRequest {
	switch {
	case c.Style == 6:
		return componentError(at+".style", "BASE_TYPE_CHOICES", "fakediscord does not model premium buttons (style 6)")
	case c.Style < ButtonPrimary || c.Style > ButtonLink:
		return componentError(at+".style", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
	case utf8.RuneCountInString(c.Label) > MaxButtonLabel:
		return componentError(at+".label", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxButtonLabel))
	}
	if len(c.Emoji) > 0 && string(c.Emoji) != "null" {
		var e wireEmoji
		if json.Unmarshal(c.Emoji, &e) != nil {
			return componentError(at+".emoji", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
		}
		if e.ID == "" && e.Name == "" {
			return componentError(at+".emoji", "BUTTON_COMPONENT_INVALID_EMOJI", "Invalid emoji")
		}
	}
	if c.Style == ButtonLink {
		switch {
		case c.CustomID != nil:
			return componentError(at+".custom_id", "BUTTON_COMPONENT_CUSTOM_ID_URL_MUTUALLY_EXCLUSIVE", "A custom id and url cannot both be specified")
		case c.URL == nil || *c.URL == "":
			return componentError(at+".url", "BUTTON_COMPONENT_URL_REQUIRED", "A url is required")
		case utf8.RuneCountInString(*c.URL) > MaxButtonURL:
			return componentError(at+".url", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxButtonURL))
		}
		u, err := url.Parse(*c.URL)
		if err != nil || !slices.Contains([]string{"http", "https", "discord"}, u.Scheme) {
			scheme := ""
			if u != nil {
				scheme = u.Scheme
			}
			return componentError(at+".url", "URL_TYPE_INVALID_SCHEME",
				fmt.Sprintf("Scheme %q is not supported. Scheme must be one of ('http', 'https', 'discord').", scheme))
		}
		return nil
	}
	if c.URL != nil {
		return componentError(at+".url", "BUTTON_COMPONENT_CUSTOM_ID_URL_MUTUALLY_EXCLUSIVE", "A custom id and url cannot both be specified")
	}
	return validateCustomID(c.CustomID, at)
}

func validateCustomID(id *string, at string) *badRequest {
	if id == nil {
		return componentError(at+".custom_id", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED", "A custom id is required")
	}
	if n := utf8.RuneCountInString(*id); n < 1 || n > MaxCustomIDLength {
		return componentError(at+".custom_id", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", MaxCustomIDLength))
	}
	return nil
}

// componentsOf decodes validated components into their rows' children.
func componentsOf(raw json.RawMessage) [][]wireComponent {
	var rows []wireComponent
	if len(raw) == 0 || json.Unmarshal(raw, &rows) != nil {
		return nil
	}
	out := make([][]wireComponent, len(rows))
	for i, r := range rows {
		for _, rawChild := range r.Components {
			var c wireComponent
			if json.Unmarshal(rawChild, &c) == nil {
				out[i] = append(out[i], c)
			}
		}
	}
	return out
}

func buttonsOf(raw json.RawMessage) []Button {
	var out []Button
	for i, row := range componentsOf(raw) {
		for _, c := range row {
			if c.Type != ComponentButton {
				continue
			}
			b := Button{Row: i, Style: c.Style, Label: c.Label, Disabled: c.Disabled}
			if c.CustomID != nil {
				b.CustomID = *c.CustomID
			}
			if c.URL != nil {
				b.URL = *c.URL
			}
			var e wireEmoji
			if len(c.Emoji) > 0 && json.Unmarshal(c.Emoji, &e) == nil {
				b.Emoji = e.Name
				if b.Emoji == "" {
					b.Emoji = e.ID
				}
			}
			out = append(out, b)
		}
	}
	return out
}

func buttonIn(raw json.RawMessage, customID string) (Button, bool) {
	for _, b := range buttonsOf(raw) {
		if b.CustomID == customID && b.Style != ButtonLink {
			return b, true
		}
	}
	return Button{}, false
}

// clickableLocked finds the button a user clicks and checks that Discord
// would let them: the message exists in that channel, the user sees it, and
// the button is there, enabled, and not a link.
func (s *Server) clickableLocked(user User, channelID, messageID, customID string) (*messageState, *interactionState, error) {
	m, owner := s.anyMessageLocked(messageID)
	switch {
	case m == nil:
		return nil, nil, fmt.Errorf("no message %s: the bot posted no channel message, interaction response or followup with that id", messageID)
	case m.ChannelID != channelID:
		return nil, nil, fmt.Errorf("message %s is in channel %s, not %s", messageID, m.ChannelID, channelID)
	case m.Deleted:
		return nil, nil, fmt.Errorf("message %s was deleted (or its channel was)", messageID)
	}
	if err := s.canSeeLocked(user, m, owner); err != nil {
		return nil, nil, err
	}
	rows := componentsOf(m.Components)
	for _, row := range rows {
		for _, c := range row {
			if c.CustomID == nil || *c.CustomID != customID {
				continue
			}
			switch {
			case c.Type != ComponentButton:
				return nil, nil, fmt.Errorf("component %q of message %s is a select menu (type %d), not a button", customID, messageID, c.Type)
			case c.Disabled:
				return nil, nil, fmt.Errorf("button %q of message %s is disabled: Discord does not let a user click it", customID, messageID)
			}
			return m, owner, nil
		}
	}
	// A link button has no custom_id: a test naming it names its url or label.
	for _, row := range rows {
		for _, c := range row {
			if c.Type == ComponentButton && c.Style == ButtonLink && c.URL != nil && (*c.URL == customID || c.Label == customID) {
				return nil, nil, fmt.Errorf("button %q of message %s is a link button to %s: clicking it opens the link, Discord sends the bot no interaction", customID, messageID, *c.URL)
			}
		}
	}
	return nil, nil, fmt.Errorf("message %s has no button %q; its buttons: %s", messageID, customID, describeButtons(buttonsOf(m.Components)))
}

func describeButtons(bs []Button) string {
	if len(bs) == 0 {
		return "none"
	}
	parts := make([]string, len(bs))
	for i, b := range bs {
		switch {
		case b.Style == ButtonLink:
			parts[i] = fmt.Sprintf("link %q → %s", b.Label, b.URL)
		case b.Disabled:
			parts[i] = fmt.Sprintf("%q (%q, disabled)", b.CustomID, b.Label)
		default:
			parts[i] = fmt.Sprintf("%q (%q)", b.CustomID, b.Label)
		}
	}
	return strings.Join(parts, ", ")
}

// anyMessageLocked finds a message by id among the channel messages and the
// interactions' responses and followups; owner is the interaction it
// answers, nil for a channel message.
func (s *Server) anyMessageLocked(id string) (m *messageState, owner *interactionState) {
	if m := s.messages[id]; m != nil {
		return m, nil
	}
	for _, ix := range s.interactions {
		if o := ix.original; o != nil && o.ID == id && o.InteractionID == ix.id {
			return o, ix
		}
		for _, f := range ix.followups {
			if f.ID == id {
				return f, ix
			}
		}
	}
	return nil, nil
}

// canSeeLocked says why user cannot see m, if they cannot: an ephemeral
// answer is shown to the user who ran the interaction only, a direct
// message to its user only, and a channel message to the members Discord's
// permission rules give View Channel (PermissionsOf). The user who ran an
// interaction sees its answers in the channel they ran it from.
func (s *Server) canSeeLocked(u User, m *messageState, owner *interactionState) error {
	if c := s.channels[m.ChannelID]; c != nil && c.Deleted {
		return fmt.Errorf("user %s cannot see message %s: channel #%s was deleted", u.ID, m.ID, c.Name)
	}
	if owner != nil {
		if owner.user.ID == u.ID {
			return nil
		}
		if m.Ephemeral() {
			return fmt.Errorf("user %s cannot see message %s: it is ephemeral, shown only to user %s, who ran %s", u.ID, m.ID, owner.user.ID, owner.name)
		}
		if owner.dm {
			return fmt.Errorf("user %s cannot see message %s: it is in a direct message with user %s", u.ID, m.ID, owner.user.ID)
		}
	}
	c := s.channels[m.ChannelID]
	if c == nil || s.guilds[c.GuildID] == nil {
		return fmt.Errorf("user %s cannot see message %s: channel %s is not a channel of a guild the bot is in", u.ID, m.ID, m.ChannelID)
	}
	if memberPerms(c, u)&PermViewChannel == 0 {
		return fmt.Errorf("user %s cannot see message %s: no View Channel in #%s (%s) from User.Permissions (%d) nor from the channel's overwrites for @everyone, the user's roles %v or the user",
			u.ID, m.ID, c.Name, c.ID, u.Permissions, u.Roles)
	}
	return nil
}

// Click clicks, as user, the button whose custom_id is customID on message
// messageID of channel channelID, as Discord does: it dispatches an
// INTERACTION_CREATE of type 3 (MESSAGE_COMPONENT) with data {custom_id,
// component_type 2} and the message as it is now, from the member (or the
// user of a direct message) with their locale ("en-US" when empty), and
// returns its handle. The bot may answer with a message (type 4 or 5) or
// by updating the clicked message (type 7, or 6 then an edit of
// @original): see Interaction.Message.
//
// The message may be a channel message, an interaction's response or a
// followup, ephemeral or not. Click fails the test, as a user could not
// click, when the message does not exist (or was deleted), is in another
// channel, has no such button, when the button is disabled or is a link
// (name a link button by its url or label to check that), or when the user
// cannot see the message: an ephemeral answer is seen only by the user who
// ran the interaction; a channel message only by members with View Channel
// there (PermissionsOf: the fake's @everyone holds no permission, so give
// User.Permissions PermViewChannel to a member who sees public channels).
// It waits for the bot to be connected and fails the test otherwise.
func (s *Server) Click(user User, locale, channelID, messageID, customID string) *Interaction {
	s.tb.Helper()
	if locale == "" {
		locale = "en-US"
	}
	s.mu.Lock()
	payload, ix, err := s.clickPayloadLocked(user, locale, channelID, messageID, customID)
	if err == nil {
		s.interactions[ix.id] = ix
		s.byToken[ix.token] = ix
	}
	s.mu.Unlock()
	if err != nil {
		s.tb.Fatalf("fakediscord: click %q on message %s: %v\n%s", customID, messageID, err, s.Dump())
	}
	return s.dispatch(s.tb, fmt.Sprintf("the click on %q of message %s", customID, messageID), payload, ix)
}

// CanClick reports why user could not click the button customID of message
// messageID in channelID, with the reasons Click fails the test for; nil
// when they could. It dispatches nothing: use it to assert that a button
// is out of someone's reach (another member's ephemeral answer, a closed
// ticket, a button the bot disabled).
func (s *Server) CanClick(user User, channelID, messageID, customID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, err := s.clickableLocked(user, channelID, messageID, customID)
	return err
}

func (s *Server) clickPayloadLocked(user User, locale, channelID, messageID, customID string) (map[string]any, *interactionState, error) {
	m, owner, err := s.clickableLocked(user, channelID, messageID, customID)
	if err != nil {
		return nil, nil, err
	}
	ix := &interactionState{
		id: s.ids.next(), token: "fake-ix-" + randomToken(24), typ: InteractionComponent,
		name: "button " + customID, channelID: m.ChannelID, user: user, message: m,
	}
	if owner != nil {
		ix.guildID, ix.dm = owner.guildID, owner.dm
	} else {
		ix.guildID = s.channels[m.ChannelID].GuildID
	}
	data := map[string]any{"custom_id": customID, "component_type": ComponentButton}
	p := s.payloadLocked(ix, locale, data)
	p["message"] = s.messageJSONLocked(m)
	return p, ix, nil
}

// Message returns, for a click, the message the button is on as it is now:
// after the bot's UPDATE_MESSAGE (type 7) or its edits of @original after a
// DEFERRED_UPDATE_MESSAGE (type 6). It is false for other interactions.
func (ix *Interaction) Message() (Message, bool) {
	ix.srv.mu.Lock()
	defer ix.srv.mu.Unlock()
	st := ix.state()
	if st.message == nil {
		return Message{}, false
	}
	return st.message.snapshot(), true
}
