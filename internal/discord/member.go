package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Discord's error codes of a user who is not in the guild: one who left or
// was kicked (Unknown Member), or whose account is gone (Unknown User).
const (
	codeUnknownMember = 10007
	codeUnknownUser   = 10013
)

// Actor is the member userID of the configured guild as the rules see
// them outside any interaction (a world woken by a player's login is
// created by its owner, who is in no interaction then): their roles are
// read from Discord at each call, through the bot's session, within ctx.
//
// It returns the member with Admin set when they hold an admin role, and
// a *spawner.Refusal when they may not create: RefusedNoRole when they
// hold neither the user nor the admin role (the Actor is returned with
// it, as for an interaction), RefusedNotMember when they are no longer in
// the guild. Any other failure (Discord unreachable, a 5xx past the
// retries, ctx ending) is a plain error: nobody can tell then whether
// they may. A userID that is no Discord id is an error, and nothing is
// sent. It may be called before Open.
func (b *Bot) Actor(ctx context.Context, userID string) (spawner.Actor, error) {
	if _, err := strconv.ParseUint(userID, 10, 64); err != nil {
		return spawner.Actor{}, fmt.Errorf("get guild member: %q is not a Discord user id", userID)
	}
	m, err := b.s.GuildMember(b.cfg.GuildID, userID, discordgo.WithContext(ctx))
	if err != nil {
		if notMember(err) {
			return spawner.Actor{}, &spawner.Refusal{Code: spawner.RefusedNotMember}
		}
		if ctx.Err() != nil {
			return spawner.Actor{}, fmt.Errorf("get guild member %s: %w", userID, ctx.Err())
		}
		b.failed("get member")
		return spawner.Actor{}, fmt.Errorf("get guild member %s: %w", userID, redact(err, b.cfg.Token))
	}
	a, refusal := b.grant(userID, m.Roles)
	if refusal != nil {
		return a, refusal
	}
	return a, nil
}

// grant is what the roles a member holds let them do: the Actor, an admin
// when a role is one of the admin roles, and RefusedNoRole when they hold
// neither a user nor an admin role. The commands (who) and Actor both
// decide by it.
func (b *Bot) grant(userID string, roles []string) (spawner.Actor, *spawner.Refusal) {
	a := spawner.Actor{UserID: userID}
	// Every member holds the @everyone role, whose id is the guild's, though
	// Discord never lists it among a member's roles.
	user := slices.Contains(b.cfg.UserRoleIDs, b.cfg.GuildID)
	a.Admin = slices.Contains(b.cfg.AdminRoleIDs, b.cfg.GuildID)
	for _, r := range roles {
		if slices.Contains(b.cfg.AdminRoleIDs, r) {
			a.Admin = true
		}
		if slices.Contains(b.cfg.UserRoleIDs, r) {
			user = true
		}
	}
	if !user && !a.Admin {
		return a, &spawner.Refusal{Code: spawner.RefusedNoRole}
	}
	return a, nil
}

// notMember reports whether err is Discord saying the user is not in the
// guild (404 Unknown Member or Unknown User), not that the guild or the
// route is unknown.
func notMember(err error) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusNotFound &&
		re.Message != nil && (re.Message.Code == codeUnknownMember || re.Message.Code == codeUnknownUser)
}
