package fakediscord

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Channel is a guild channel as the fake holds it. Deleted channels stay in
// the record with Deleted set; the REST API no longer shows them.
type Channel struct {
	ID                   string
	GuildID              string
	Name                 string
	Type                 int
	ParentID             string
	Topic                string
	Position             int
	PermissionOverwrites []Overwrite // as the bot sent them
	Deleted              bool
	CreatedAt            time.Time
	DeletedAt            time.Time
}

// Overwrite is one permission overwrite of a channel: Type 0 for a role (the
// @everyone role's id is the guild id), 1 for a member.
type Overwrite struct {
	ID    string
	Type  int
	Allow int64
	Deny  int64
}

// Overwrite returns the channel's overwrite for id, if it has one.
func (c Channel) Overwrite(id string) (Overwrite, bool) {
	for _, o := range c.PermissionOverwrites {
		if o.ID == id {
			return o, true
		}
	}
	return Overwrite{}, false
}

// Message is a message the bot posted in a channel, or the original response
// or a followup of an interaction.
type Message struct {
	ID              string
	ChannelID       string
	InteractionID   string // set for interaction responses and followups
	Content         string
	Embeds          []Embed
	Components      json.RawMessage // as sent, nil when none
	Flags           int
	AllowedMentions *AllowedMentions // as sent; nil when the bot sent none
	Mentions        []string         // ids of the users the message pings, after allowed_mentions
	MentionRoles    []string         // ids of the roles it pings
	MentionEveryone bool             // whether it pings @everyone or @here
	CreatedAt       time.Time
	EditedAt        time.Time // zero until edited
	History         []MessageVersion
	Deleted         bool   // deleted itself, or its channel was
	Nonce           string // as the bot created it (an integer in decimal); "" when none
}

// Ephemeral reports whether the message is only shown to the user who ran
// the command (flag 64).
func (m Message) Ephemeral() bool { return m.Flags&FlagEphemeral != 0 }

// Mentioned reports whether the message pings the user.
func (m Message) Mentioned(userID string) bool { return slices.Contains(m.Mentions, userID) }

// Text is the message's content followed by the text of its embeds (title,
// description, field names and values, footer), one per line: what a reader
// sees, for strings.Contains assertions.
func (m Message) Text() string { return textOf(m.Content, m.Embeds) }

// MessageVersion is one state of a message: History holds the state as
// posted first, then one per edit, the last being the current one.
type MessageVersion struct {
	Content    string
	Embeds     []Embed
	Components json.RawMessage
	At         time.Time
}

// Text is like Message.Text for this version.
func (v MessageVersion) Text() string { return textOf(v.Content, v.Embeds) }

// Embed is the readable part of a rich embed.
type Embed struct {
	Title       string
	Description string
	URL         string
	Color       int
	Author      string
	Footer      string
	Fields      []EmbedField
	Raw         json.RawMessage
}

// EmbedField is one field of an embed.
type EmbedField struct {
	Name   string
	Value  string
	Inline bool
}

// AllowedMentions is the allowed_mentions object the bot sent.
type AllowedMentions struct {
	Parse       []string `json:"parse"`
	Users       []string `json:"users"`
	Roles       []string `json:"roles"`
	RepliedUser bool     `json:"replied_user"`
}

// Request is one HTTP request the fake answered.
type Request struct {
	Method         string
	Path           string // without the /api/vN prefix, e.g. /channels/123/messages
	Query          string
	Route          string // the route it matched, e.g. "POST /channels/{channel}/messages"; "" when none
	Status         int
	At             time.Time // when it arrived
	Body           string    // the request body (never carries the token)
	AuditLogReason string
	Injected       bool // the status came from FailNext or FailNextAfterEffect
}

// GatewayOp is one gateway payload, received from the bot or sent to it.
// The token of IDENTIFY and RESUME is replaced by "<redacted>".
type GatewayOp struct {
	Sent bool // false: received from the bot
	Op   int
	Type string // dispatch event name for op 0
	Seq  int64  // for op 0
	At   time.Time
	Data json.RawMessage
}

// Command is an application command the bot registered.
type Command struct {
	ID                       string            `json:"id"`
	ApplicationID            string            `json:"application_id"`
	GuildID                  string            `json:"guild_id,omitempty"`
	Version                  string            `json:"version"`
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
	DefaultMemberPermissions *string           `json:"default_member_permissions"`
	DMPermission             *bool             `json:"dm_permission,omitempty"`
	Contexts                 []int             `json:"contexts,omitempty"`
	NSFW                     bool              `json:"nsfw"`
}

// Option finds the option at the path of names below the command, e.g.
// Option("create", "game").
func (c Command) Option(path ...string) (CommandOption, bool) {
	opts := c.Options
	var found CommandOption
	for _, name := range path {
		i := slices.IndexFunc(opts, func(o CommandOption) bool { return o.Name == name })
		if i < 0 {
			return CommandOption{}, false
		}
		found = opts[i]
		opts = found.Options
	}
	return found, len(path) > 0
}

// CommandOption is an option (or subcommand) of a registered command.
type CommandOption struct {
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Required                 bool              `json:"required,omitempty"`
	Autocomplete             bool              `json:"autocomplete,omitempty"`
	Choices                  []Choice          `json:"choices,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
	ChannelTypes             []int             `json:"channel_types,omitempty"`
	MinValue                 *float64          `json:"min_value,omitempty"`
	MaxValue                 *float64          `json:"max_value,omitempty"`
	MinLength                *int              `json:"min_length,omitempty"`
	MaxLength                *int              `json:"max_length,omitempty"`
}

// Choice is a choice of a command option or of an autocomplete answer.
// Value is a string or a float64, as JSON decodes it.
type Choice struct {
	Name              string            `json:"name"`
	NameLocalizations map[string]string `json:"name_localizations,omitempty"`
	Value             any               `json:"value"`
}

// messageState is a message with the raw JSON the bot sent, to echo it back.
type messageState struct {
	Message
	rawEmbeds []json.RawMessage
}

func (m *messageState) snapshot() Message {
	c := m.Message
	c.Embeds = slices.Clone(m.Embeds)
	c.Mentions = slices.Clone(m.Mentions)
	c.MentionRoles = slices.Clone(m.MentionRoles)
	c.History = slices.Clone(m.History)
	if m.AllowedMentions != nil {
		am := *m.AllowedMentions
		c.AllowedMentions = &am
	}
	return c
}

type channelState struct {
	Channel
}

func (c *channelState) snapshot() Channel {
	out := c.Channel
	out.PermissionOverwrites = slices.Clone(c.PermissionOverwrites)
	return out
}

type guildState struct {
	id        string
	name      string
	roles     []string // besides @everyone and the bot's role
	botRoleID string
	joinedAt  time.Time
}

func textOf(content string, embeds []Embed) string {
	parts := []string{}
	if content != "" {
		parts = append(parts, content)
	}
	for _, e := range embeds {
		for _, s := range []string{e.Author, e.Title, e.Description} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		for _, f := range e.Fields {
			parts = append(parts, f.Name, f.Value)
		}
		if e.Footer != "" {
			parts = append(parts, e.Footer)
		}
	}
	return strings.Join(parts, "\n")
}

// wireEmbed decodes the parts of an embed Embed keeps.
type wireEmbed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Color       int    `json:"color"`
	Author      *struct {
		Name string `json:"name"`
	} `json:"author"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Fields []struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline"`
	} `json:"fields"`
}

func decodeEmbed(raw json.RawMessage) (Embed, error) {
	var w wireEmbed
	if err := json.Unmarshal(raw, &w); err != nil {
		return Embed{}, err
	}
	e := Embed{Title: w.Title, Description: w.Description, URL: w.URL, Color: w.Color, Raw: raw}
	if w.Author != nil {
		e.Author = w.Author.Name
	}
	if w.Footer != nil {
		e.Footer = w.Footer.Text
	}
	for _, f := range w.Fields {
		e.Fields = append(e.Fields, EmbedField{Name: f.Name, Value: f.Value, Inline: f.Inline})
	}
	return e, nil
}

var (
	userMention = regexp.MustCompile(`<@!?(\d+)>`)
	roleMention = regexp.MustCompile(`<@&(\d+)>`)
)

// mentionsOf applies Discord's rules: without allowed_mentions every mention
// in the content pings; with it, only the parsed kinds and the listed ids.
func mentionsOf(content string, am *AllowedMentions) (users, roles []string, everyone bool) {
	allowUsers := am == nil || slices.Contains(am.Parse, "users")
	allowRoles := am == nil || slices.Contains(am.Parse, "roles")
	allowEveryone := am == nil || slices.Contains(am.Parse, "everyone")
	for _, m := range userMention.FindAllStringSubmatch(content, -1) {
		id := m[1]
		if (allowUsers || slices.Contains(am.Users, id)) && !slices.Contains(users, id) {
			users = append(users, id)
		}
	}
	for _, m := range roleMention.FindAllStringSubmatch(content, -1) {
		id := m[1]
		if (allowRoles || slices.Contains(am.Roles, id)) && !slices.Contains(roles, id) {
			roles = append(roles, id)
		}
	}
	everyone = allowEveryone && (strings.Contains(content, "@everyone") || strings.Contains(content, "@here"))
	return users, roles, everyone
}

// flexInt decodes a JSON number or a string holding one, as Discord accepts
// both for ids and permission bits.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}
