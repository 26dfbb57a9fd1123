package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// checkRetryBudget bounds the retries of Check's calls.
const checkRetryBudget = 2 * time.Second

// problem is a finding of Check, naming the variable to fix.
func problem(v, format string, args ...any) error {
	return &spawner.Problem{Var: v, Err: fmt.Errorf(format, args...)}
}

// requiredPermissions are what the bot needs in the guild: see its channels,
// create and delete ticket channels, put permission overwrites on them, and
// talk in them.
var requiredPermissions = []struct {
	bit  int64
	name string
}{
	{discordgo.PermissionViewChannel, "View Channels"},
	{discordgo.PermissionManageChannels, "Manage Channels"},
	{discordgo.PermissionManageRoles, "Manage Roles"},
	{discordgo.PermissionSendMessages, "Send Messages"},
	{discordgo.PermissionReadMessageHistory, "Read Message History"},
	{discordgo.PermissionEmbedLinks, "Embed Links"},
}

// Check verifies, with REST calls only, that the token works, the bot is in
// the guild, the roles, the category and the log channel exist there, and
// the bot holds the permissions it needs. It changes nothing and returns
// one *spawner.Problem per thing wrong. DISCORD_USER_ROLE_ID or
// DISCORD_ADMIN_ROLE_ID set to the guild's id is the @everyone role: every
// member holds it, and it is no problem.
func (b *Bot) Check(ctx context.Context) []error {
	// Someone is waiting on the report: a short outage is ridden out, a
	// Discord out of reach is told within seconds.
	ctx = withRetryBudget(ctx, checkRetryBudget)
	opt := discordgo.WithContext(ctx)
	me, err := b.s.User("@me", opt)
	if err != nil {
		if status(err) == http.StatusUnauthorized {
			return []error{problem("DISCORD_TOKEN", "Discord rejected the token (401): copy it again from the Developer Portal, Bot page")}
		}
		return []error{problem("DISCORD_API_URL", "cannot reach Discord: %s", redact(err, b.cfg.Token))}
	}
	guild, err := b.s.Guild(b.cfg.GuildID, opt)
	if err != nil {
		return []error{problem("DISCORD_GUILD_ID", "the bot cannot see guild %s (%s): check the id, and invite the bot there", b.cfg.GuildID, short(err))}
	}
	roles, err := b.s.GuildRoles(b.cfg.GuildID, opt)
	if err != nil {
		return []error{problem("DISCORD_GUILD_ID", "cannot list the guild's roles: %s", short(err))}
	}
	byID := make(map[string]*discordgo.Role, len(roles))
	for _, r := range roles {
		byID[r.ID] = r
	}
	problems := b.checkRoles(guild.Name, byID)
	problems = append(problems, b.checkChannel(ctx, "DISCORD_GAMESERVER_CATEGORY_ID", b.cfg.CategoryID, discordgo.ChannelTypeGuildCategory, "a category")...)
	if b.cfg.LogChannelID != "" {
		problems = append(problems, b.checkChannel(ctx, "DISCORD_LOG_CHANNEL_ID", b.cfg.LogChannelID, discordgo.ChannelTypeGuildText, "a text channel")...)
	}
	member, err := b.s.GuildMember(b.cfg.GuildID, me.ID, opt)
	if err != nil {
		return append(problems, problem("DISCORD_GUILD_ID", "cannot read the bot's own roles: %s", short(err)))
	}
	if guild.OwnerID == me.ID {
		return problems // the owner holds every permission
	}
	if missing := missingPermissions(b.permissions(member, byID)); len(missing) > 0 {
		problems = append(problems, problem("bot permissions", "the bot's roles lack %s: give them to its role in Server Settings → Roles, or re-invite it with the URL from the README", strings.Join(missing, ", ")))
	}
	return problems
}

// checkRoles tells each configured role that is not among the guild's
// roles (byID).
func (b *Bot) checkRoles(guild string, byID map[string]*discordgo.Role) []error {
	var problems []error
	for _, v := range []struct {
		name string
		ids  []string
	}{{"DISCORD_USER_ROLE_ID", b.cfg.UserRoleIDs}, {"DISCORD_ADMIN_ROLE_ID", b.cfg.AdminRoleIDs}} {
		for _, id := range v.ids {
			if byID[id] == nil {
				problems = append(problems, problem(v.name, "no role %s in guild %q", id, guild))
			}
		}
	}
	return problems
}

// permissions are the guild-wide permissions member holds through
// @everyone and its roles.
func (b *Bot) permissions(member *discordgo.Member, byID map[string]*discordgo.Role) int64 {
	perms := int64(0)
	if r := byID[b.cfg.GuildID]; r != nil { // @everyone
		perms |= r.Permissions
	}
	for _, id := range member.Roles {
		if r := byID[id]; r != nil {
			perms |= r.Permissions
		}
	}
	return perms
}

// missingPermissions names the required permissions perms lacks; an
// administrator lacks none.
func missingPermissions(perms int64) []string {
	if perms&discordgo.PermissionAdministrator != 0 {
		return nil
	}
	var missing []string
	for _, p := range requiredPermissions {
		if perms&p.bit == 0 {
			missing = append(missing, p.name)
		}
	}
	return missing
}

func (b *Bot) checkChannel(ctx context.Context, name, id string, want discordgo.ChannelType, what string) []error {
	ch, err := b.s.Channel(id, discordgo.WithContext(ctx))
	switch {
	case err != nil:
		return []error{problem(name, "no channel %s visible to the bot (%s)", id, short(err))}
	case ch.GuildID != b.cfg.GuildID:
		return []error{problem(name, "channel %s is in another guild", id)}
	case ch.Type != want:
		return []error{problem(name, "channel %s (%q) is not %s", id, ch.Name, what)}
	}
	return nil
}

func status(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

func short(err error) string {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		if re.Message != nil && re.Message.Message != "" {
			return fmt.Sprintf("%d %s", re.Response.StatusCode, re.Message.Message)
		}
		return re.Response.Status
	}
	return err.Error()
}
