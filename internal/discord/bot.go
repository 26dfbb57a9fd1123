// Package discord is the Discord adapter: the gateway session, the slash
// commands and their answers, and the ticket and log channels the lifecycle
// talks through (it satisfies lifecycle.Chat). It serves one guild and
// leaves any other.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Fleet is what the commands need of the lifecycle.
type Fleet interface {
	Create(req spawner.CreateRequest) error
	Stop(ctx context.Context, by spawner.Actor, taskID string) (spawner.Server, error)
	Servers(who spawner.Actor) []spawner.Server
	StopsAt(s spawner.Server) time.Time
	Catalog() spawner.Catalog
	ServerControl // /server extend and /server op (extend.go)
}

// Config is the adapter's part of the configuration.
type Config struct {
	Token        string
	GuildID      string
	UserRoleIDs  []string
	AdminRoleIDs []string
	CategoryID   string
	LogChannelID string
	// APIURL is the base URL all REST traffic goes to (and through it the
	// gateway discovery): https://discord.com, or a proxy, or a test server.
	APIURL *url.URL
	// Now is the clock for autocomplete labels; time.Now when nil.
	Now func() time.Time
	// Retry is how transient REST failures (5xx, network errors, 429) are
	// retried; the zero value takes the Default... constants.
	Retry Retry
	// Dashboard, when set (PUBLIC_URL is), makes the link of /server
	// dashboard, which is then registered; see dashboard.go.
	Dashboard Dashboard
}

// Bot is a connected Discord bot. Its Chat methods may be used before Open
// (they are plain REST calls); commands are served once Open returned.
type Bot struct {
	cfg   Config
	s     *discordgo.Session
	log   *slog.Logger
	fleet Fleet

	connected atomic.Bool
	readyOnce sync.Once
	readyCh   chan *discordgo.Ready
	appID     atomic.Value // string
	botID     atomic.Value // string
	left      sync.Map     // guild id → struct{}: guilds already left
	names     sync.Map     // user id → display name seen in interactions
	workers   sync.WaitGroup
	gate      gate // no work starts once Close began (lifetime.go)
	ctx       context.Context
	// Errors counts failed REST calls, for metrics; may be nil.
	Errors func(op string)
	// Costs is what /server cost answers from (cost.go); set before Open.
	Costs *Costs

	// worlds serves /world; nil when the bot keeps no worlds (worlds.go).
	worlds WorldControl
	// confirms are the restores and deletions waiting for a click.
	confirms confirmations
}

// New returns a Bot for cfg. It dials nothing.
func New(cfg Config, log *slog.Logger) (*Bot, error) {
	// A token pasted with its "Bot " prefix would be sent as "Bot Bot …".
	cfg.Token = strings.TrimPrefix(strings.TrimSpace(cfg.Token), "Bot ")
	s, err := discordgo.New("Bot " + cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	s.Identify.Intents = discordgo.IntentsGuilds
	// No state cache: the bot reads nothing from it, and discordgo overwrites
	// READY's guilds in place when GUILD_CREATE arrives, a data race.
	s.StateEnabled = false
	s.ShouldReconnectOnError = true
	// The adapter's transport retries 5xx, network errors and 429 with waits
	// that end with the caller's context; discordgo's own retries would sleep
	// through a shutdown, and multiply the attempts.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	s.Client = &http.Client{Transport: newRetrying(Rewrite(cfg.APIURL, http.DefaultTransport), cfg.Retry)}
	s.LogLevel = -1 // discordgo's own logger is silent; we log what matters
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &Bot{cfg: cfg, s: s, log: log, readyCh: make(chan *discordgo.Ready, 1), ctx: context.Background()}
	b.appID.Store("")
	b.botID.Store("")
	return b, nil
}

// Rewrite returns a RoundTripper sending every request for https://discord.com
// to base instead, keeping path and query. With base nil or discord.com
// itself it is next unchanged.
func Rewrite(base *url.URL, next http.RoundTripper) http.RoundTripper {
	if base == nil || (base.Scheme == "https" && base.Host == "discord.com" && strings.Trim(base.Path, "/") == "") {
		return next
	}
	return rewrite{base: base, next: next}
}

type rewrite struct {
	base *url.URL
	next http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "discord.com" {
		return r.next.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme = r.base.Scheme
	u.Host = r.base.Host
	u.Path = strings.TrimRight(r.base.Path, "/") + u.Path
	u.RawPath = ""
	out.URL = &u
	out.Host = u.Host
	return r.next.RoundTrip(out)
}

// Open connects to the gateway, waits for READY, leaves every other guild,
// registers the slash commands in the guild with one bulk overwrite, and
// starts serving interactions with fleet. ctx bounds the wait and is the
// lifetime of the answers' background work.
func (b *Bot) Open(ctx context.Context, fleet Fleet) error {
	b.fleet = fleet
	b.ctx = ctx
	b.s.AddHandler(b.onReady)
	b.s.AddHandler(b.onGuildCreate)
	b.s.AddHandler(b.onInteraction)
	b.s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Connect) { b.connected.Store(true) })
	b.s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		b.connected.Store(false)
		b.log.Warn("discord gateway disconnected; reconnecting")
	})
	b.s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) {
		b.connected.Store(true)
		b.log.Info("discord gateway resumed")
	})
	if err := b.s.Open(); err != nil {
		return fmt.Errorf("connect to discord gateway: %w", redact(err, b.cfg.Token))
	}
	var r *discordgo.Ready
	select {
	case r = <-b.readyCh:
	case <-ctx.Done():
		_ = b.s.Close()
		return ctx.Err()
	case <-time.After(30 * time.Second):
		_ = b.s.Close()
		return errors.New("discord gateway: no READY within 30s")
	}
	if _, err := b.s.ApplicationCommandBulkOverwrite(r.Application.ID, b.cfg.GuildID, b.commands(), discordgo.WithContext(ctx)); err != nil {
		_ = b.s.Close()
		return fmt.Errorf("register slash commands: %w", err)
	}
	b.log.Info("discord ready", "bot", r.User.ID, "guild", b.cfg.GuildID)
	return nil
}

// Close disconnects from the gateway and waits for the answers under way.
func (b *Bot) Close() error {
	b.shut()
	err := b.s.Close()
	b.workers.Wait()
	return err
}

// Connected reports whether the gateway connection is up.
func (b *Bot) Connected() bool { return b.connected.Load() }

// GuildLocale returns the guild's preferred locale ("fr", "en-US"), for
// messages to no one in particular. It is a REST call.
func (b *Bot) GuildLocale(ctx context.Context) (string, error) {
	// The start retries this call with its own backoff and says why it
	// waits: a long retry here would keep it silent.
	g, err := b.s.Guild(b.cfg.GuildID, discordgo.WithContext(withRetryBudget(ctx, checkRetryBudget)))
	if err != nil {
		return "", fmt.Errorf("get guild: %w", err)
	}
	return g.PreferredLocale, nil
}

func (b *Bot) onReady(s *discordgo.Session, r *discordgo.Ready) {
	b.connected.Store(true)
	b.appID.Store(r.Application.ID)
	b.botID.Store(r.User.ID)
	for _, g := range r.Guilds {
		b.leaveIfForeign(g.ID)
	}
	b.readyOnce.Do(func() { b.readyCh <- r })
}

func (b *Bot) onGuildCreate(s *discordgo.Session, g *discordgo.GuildCreate) {
	b.leaveIfForeign(g.ID)
}

// leaveIfForeign leaves a guild that is not the configured one: the bot
// serves one community, and nobody else should run servers on its bill.
func (b *Bot) leaveIfForeign(guildID string) {
	if guildID == b.cfg.GuildID {
		return
	}
	if _, done := b.left.LoadOrStore(guildID, struct{}{}); done {
		return
	}
	if !b.enter() {
		b.left.Delete(guildID)
		return
	}
	go func() {
		defer b.workers.Done()
		if err := b.s.GuildLeave(guildID, discordgo.WithContext(b.ctx)); err != nil {
			b.left.Delete(guildID)
			b.log.Error("leave foreign guild", "guild", guildID, "err", err)
			return
		}
		b.log.Warn("left a guild that is not DISCORD_GUILD_ID", "guild", guildID)
	}()
}

// redact removes the token from an error's text.
func redact(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "[redacted]"))
}
