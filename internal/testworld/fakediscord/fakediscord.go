// Package fakediscord is a Discord that lives inside a test: an HTTP server on
// loopback that answers the REST routes the bot uses and speaks the gateway
// websocket protocol, so an unmodified discordgo Session can be pointed at it
// by changing addresses only.
//
// It keeps the state a user would see (channels, messages and their
// buttons, commands, the guilds the bot is in), records every request and
// gateway op, and lets a test play the users' side: dispatch slash commands
// and autocompletes (with attached files, served at the URL the interaction
// gives), click the buttons of the bot's messages (Click), drop the
// connection or the session, make the next requests fail (FailNext), fail
// after doing what they asked (FailNextAfterEffect) or be rate limited
// (RateLimitNext). Everything it returns is a copy, safe to keep and to read
// from any goroutine.
//
// It answers the API paths under any version prefix (/api/v9/... as
// discordgo v0.29.0 sends, /api/v10/...).
//
// Wiring a discordgo session to it: give the session an http.Client whose
// transport sends https://discord.com/... to URL() with the same path and
// query; discordgo then finds the gateway through GET /gateway, which points
// at GatewayURL(). Create the fake before the code under test, so that the
// code's cleanup (closing its session) runs before the fake's.
//
// What Discord enforces and the fake enforces too, so a test sees the failure
// production would: the bot token on every call; Manage Channels to create or
// delete a channel; a parent that is a category; overwrites granting only what
// the bot holds itself; View Channel (computed from the bot's role and the
// channel's overwrites, as Discord does) to read or post in a channel — a
// private channel needs an overwrite for the bot; Send Messages to post;
// message, embed, component (action rows of buttons), autocomplete and
// command limits; 50 channels per category and 500 per guild; one callback
// per interaction, within the deadline, of a type valid for it (6 and 7 only
// for a click); who may click a button (the message visible to them, the
// button enabled and not a link); a message created with a nonce and
// enforce_nonce is created once: the same nonce again in the same channel
// within Options.NonceWindow returns it.
package fakediscord

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Identifiers New uses for whatever Options leaves empty. They are valid
// snowflakes, so code that parses ids accepts them.
const (
	DefaultGuildID       = "1100000000000000001"
	DefaultBotUserID     = "1100000000000000002"
	DefaultApplicationID = DefaultBotUserID // Discord gives a bot the id of its application
	DefaultToken         = "fake-discord-token"
	DefaultCategoryID    = "1100000000000000010"
	DefaultLogChannelID  = "1100000000000000011"
	DefaultGeneralID     = "1100000000000000012"
	DefaultUserRoleID    = "1100000000000000020"
	DefaultAdminRoleID   = "1100000000000000021"
)

// Discord permission bits the fake checks. The values are Discord's.
const (
	PermAdministrator      int64 = 1 << 3
	PermManageChannels     int64 = 1 << 4
	PermViewChannel        int64 = 1 << 10
	PermSendMessages       int64 = 1 << 11
	PermManageMessages     int64 = 1 << 13
	PermEmbedLinks         int64 = 1 << 14
	PermReadMessageHistory int64 = 1 << 16
	PermMentionEveryone    int64 = 1 << 17
	PermManageRoles        int64 = 1 << 28

	permAll int64 = 1<<50 - 1
)

// DefaultBotPermissions are the guild-level permissions of the bot's role when
// Options.BotPermissions is zero: what an operator would grant the bot, without
// Administrator.
const DefaultBotPermissions = PermViewChannel | PermSendMessages | PermReadMessageHistory |
	PermManageChannels | PermManageRoles | PermEmbedLinks

// Channel types the fake knows.
const (
	ChannelText     = 0
	ChannelVoice    = 2
	ChannelCategory = 4
	ChannelNews     = 5
)

// Options describes the Discord a test wants. Every zero field takes a default.
type Options struct {
	GuildID       string // the guild the bot serves; DefaultGuildID
	GuildName     string // "Test guild"
	OwnerID       string // the guild's owner; a fixed id that is nobody in particular
	BotUserID     string // DefaultBotUserID
	BotUsername   string // "spawner"
	ApplicationID string // DefaultApplicationID
	// Token is the bot token without the "Bot " prefix. REST calls must carry
	// "Authorization: Bot <Token>" and IDENTIFY/RESUME the token (with or
	// without the prefix); anything else is refused with 401 / close 4004.
	Token string
	// ExtraGuildIDs are other guilds the bot is in at READY, each sent with a
	// GUILD_CREATE like the main one.
	ExtraGuildIDs        []string
	GuildPreferredLocale string // "fr"
	// BotPermissions are the permissions of the bot's role in every guild
	// (@everyone has none). Zero means DefaultBotPermissions; use
	// SetBotPermissions(0) for a bot with no permission at all.
	BotPermissions int64
	// Roles are role ids existing in the main guild besides @everyone (whose
	// id is the guild id) and the bot's own role. Nil means DefaultUserRoleID
	// and DefaultAdminRoleID.
	Roles []string
	// Channels exist in the main guild from the start. Nil means a category
	// DefaultCategoryID "Game servers", a text channel DefaultLogChannelID
	// "spawner-log" and a text channel DefaultGeneralID "general".
	Channels []Channel
	// CommandChannelID is where dispatched interactions come from: the first
	// text channel of Channels when empty.
	CommandChannelID string
	// HeartbeatInterval is sent in HELLO; 41.25 s like Discord when zero.
	HeartbeatInterval time.Duration
	// InteractionDeadline is how long after the dispatch an interaction may
	// be answered (3 s like Discord). A later callback is refused with
	// 404 "Unknown interaction" and recorded as late.
	InteractionDeadline time.Duration
	// RateLimitRetryAfter is the retry_after of injected 429s; 50 ms when zero.
	RateLimitRetryAfter time.Duration
	// ConnectWait bounds how long Dispatch, Command and friends wait for the
	// bot to have identified before failing the test; 5 s when zero.
	ConnectWait time.Duration
	// NonceWindow is how long a message's nonce is remembered for
	// enforce_nonce: a create in the same channel with the same nonce within
	// it returns that message instead of posting another. Discord says "the
	// past few minutes"; 2 minutes when zero.
	NonceWindow time.Duration
}

func (o *Options) fill() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.GuildID, DefaultGuildID)
	def(&o.GuildName, "Test guild")
	def(&o.OwnerID, "1100000000000000099")
	def(&o.BotUserID, DefaultBotUserID)
	def(&o.BotUsername, "spawner")
	def(&o.ApplicationID, o.BotUserID)
	def(&o.Token, DefaultToken)
	def(&o.GuildPreferredLocale, "fr")
	if o.BotPermissions == 0 {
		o.BotPermissions = DefaultBotPermissions
	}
	if o.Roles == nil {
		o.Roles = []string{DefaultUserRoleID, DefaultAdminRoleID}
	}
	if o.Channels == nil {
		o.Channels = []Channel{
			{ID: DefaultCategoryID, Name: "Game servers", Type: ChannelCategory},
			{ID: DefaultLogChannelID, Name: "spawner-log", Type: ChannelText},
			{ID: DefaultGeneralID, Name: "general", Type: ChannelText},
		}
	}
	if o.CommandChannelID == "" {
		for _, c := range o.Channels {
			if c.Type == ChannelText {
				o.CommandChannelID = c.ID
				break
			}
		}
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 41250 * time.Millisecond
	}
	if o.InteractionDeadline == 0 {
		o.InteractionDeadline = 3 * time.Second
	}
	if o.RateLimitRetryAfter == 0 {
		o.RateLimitRetryAfter = 50 * time.Millisecond
	}
	if o.ConnectWait == 0 {
		o.ConnectWait = 5 * time.Second
	}
	if o.NonceWindow == 0 {
		o.NonceWindow = 2 * time.Minute
	}
}

// Server is a running fake Discord. All its methods are safe for concurrent
// use. The methods that can fail the test (Dispatch, Command, ...) use the
// testing.TB given to New, so call them from that test's goroutine.
type Server struct {
	tb   testing.TB
	opts Options
	http *httptest.Server
	ids  snowflakes

	upgrader websocket.Upgrader

	mu           sync.Mutex // guards everything below up to gwMu
	botPerms     int64
	guilds       map[string]*guildState // guilds the bot is in
	guildOrder   []string
	left         []string
	channels     map[string]*channelState
	channelOrder []string
	messages     map[string]*messageState // by message id
	commands     map[string][]Command     // by guild id; "" for global commands
	members      map[string]User
	interactions map[string]*interactionState // by id
	byToken      map[string]*interactionState
	requests     []Request
	unexpected   []string
	faults       []*fault
	attachments  map[string]*attachmentState // by id

	gwMu       sync.Mutex // guards the gateway state below
	sessions   map[string]*gwSession
	current    *gwSession
	conns      map[*gwConn]bool
	ops        []GatewayOp
	identifies int
	resumes    int
	invalids   int
	closed     bool
}

// New starts a fake Discord on 127.0.0.1 with a free port and stops it when
// the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	opts.fill()
	s := &Server{
		tb:           tb,
		opts:         opts,
		botPerms:     opts.BotPermissions,
		guilds:       map[string]*guildState{},
		channels:     map[string]*channelState{},
		messages:     map[string]*messageState{},
		commands:     map[string][]Command{},
		members:      map[string]User{},
		interactions: map[string]*interactionState{},
		byToken:      map[string]*interactionState{},
		attachments:  map[string]*attachmentState{},
		sessions:     map[string]*gwSession{},
		conns:        map[*gwConn]bool{},
	}
	s.upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

	main := s.addGuildLocked(opts.GuildID, opts.GuildName)
	main.roles = append(main.roles, opts.Roles...)
	for _, c := range opts.Channels {
		c.GuildID = opts.GuildID
		cs := &channelState{Channel: c}
		cs.PermissionOverwrites = append([]Overwrite(nil), c.PermissionOverwrites...)
		if cs.CreatedAt.IsZero() {
			cs.CreatedAt = time.Now()
		}
		s.channels[c.ID] = cs
		s.channelOrder = append(s.channelOrder, c.ID)
	}
	for _, id := range opts.ExtraGuildIDs {
		s.addGuildLocked(id, "Other guild "+id)
	}

	s.http = httptest.NewUnstartedServer(s.routes())
	s.http.Start()
	tb.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	s.gwMu.Lock()
	s.closed = true
	for c := range s.conns {
		c.ws.Close()
	}
	s.gwMu.Unlock()
	s.http.CloseClientConnections()
	s.http.Close()
}

// URL is the base to give the bot as DISCORD_API_URL, like
// "http://127.0.0.1:41234": it serves /api/v9/... and /api/v10/....
func (s *Server) URL() string { return s.http.URL }

// GatewayURL is the websocket address GET /gateway hands out.
func (s *Server) GatewayURL() string {
	return "ws" + strings.TrimPrefix(s.http.URL, "http") + "/gateway"
}

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// SetBotPermissions changes the permissions of the bot's role from now on.
func (s *Server) SetBotPermissions(p int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.botPerms = p
}

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test when timeout passes first with "timed out waiting for <what>" and a
// dump of what the fake recorded.
func (s *Server) WaitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	if !poll(timeout, cond) {
		tb.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, s.Dump())
	}
}

// poll reports whether cond became true within timeout.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(3 * time.Millisecond)
	}
}

// Dump describes what the fake recorded: requests, unexpected calls, gateway
// counters, channels and their messages. It never contains the token.
func (s *Server) Dump() string {
	var b strings.Builder
	s.mu.Lock()
	fmt.Fprintf(&b, "fake discord: %d requests\n", len(s.requests))
	for _, r := range s.requests {
		fmt.Fprintf(&b, "  %s %s %s -> %d\n", r.At.Format("15:04:05.000"), r.Method, r.Path, r.Status)
	}
	if len(s.unexpected) > 0 {
		fmt.Fprintf(&b, "unexpected requests: %s\n", strings.Join(s.unexpected, ", "))
	}
	for _, id := range s.channelOrder {
		c := s.channels[id]
		state := ""
		if c.Deleted {
			state = " (deleted)"
		}
		fmt.Fprintf(&b, "channel %s #%s type %d parent %q%s\n", c.ID, c.Name, c.Type, c.ParentID, state)
		for _, m := range s.channelMessagesLocked(id) {
			fmt.Fprintf(&b, "  message %s: %q\n", m.ID, clip(m.Text(), 300))
		}
	}
	ixs := make([]*interactionState, 0, len(s.interactions))
	for _, ix := range s.interactions {
		ixs = append(ixs, ix)
	}
	sort.Slice(ixs, func(i, j int) bool { return ixs[i].id < ixs[j].id })
	for _, ix := range ixs {
		fmt.Fprintf(&b, "interaction %s %s:", ix.id, ix.name)
		if ix.response == nil {
			b.WriteString(" no response")
		} else {
			fmt.Fprintf(&b, " response type %d %q", ix.response.Type, clip(ix.response.Text(), 200))
		}
		if ix.original != nil {
			fmt.Fprintf(&b, ", original %q", clip(ix.original.Text(), 200))
		}
		for _, f := range ix.followups {
			fmt.Fprintf(&b, ", followup %q", clip(f.Text(), 200))
		}
		b.WriteString("\n")
	}
	s.mu.Unlock()
	s.gwMu.Lock()
	fmt.Fprintf(&b, "gateway: connected=%v identifies=%d resumes=%d invalid_sessions=%d ops=%d\n",
		s.current != nil && s.current.conn != nil, s.identifies, s.resumes, s.invalids, len(s.ops))
	s.gwMu.Unlock()
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
