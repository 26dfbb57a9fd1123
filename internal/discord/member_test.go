package discord_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

const memberRoute = "GET /guilds/{guild}/members/{user}"

// Actor reads a member's roles from Discord, outside any interaction, by
// the rules of the commands: the user role lets them create, the admin
// role too and makes them an admin, neither refuses them, and a member who
// left the guild (or never was in it) is refused as no longer a member.
func TestActor(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	user := member(1, fakediscord.DefaultUserRoleID)
	admin := member(2, fakediscord.DefaultAdminRoleID)
	both := member(3, fakediscord.DefaultUserRoleID, fakediscord.DefaultAdminRoleID)
	none := member(4)
	left := member(5, fakediscord.DefaultUserRoleID)
	stranger := member(6, fakediscord.DefaultUserRoleID)
	for _, u := range []fakediscord.User{user, admin, both, none, left} {
		srv.AddMember(u)
	}
	srv.RemoveMember(left.ID)

	for _, tc := range []struct {
		name    string
		u       fakediscord.User
		want    spawner.Actor
		refused spawner.RefusalCode
	}{
		{name: "user role", u: user, want: spawner.Actor{UserID: user.ID}},
		{name: "admin role", u: admin, want: spawner.Actor{UserID: admin.ID, Admin: true}},
		{name: "both roles", u: both, want: spawner.Actor{UserID: both.ID, Admin: true}},
		{name: "no role", u: none, refused: spawner.RefusedNoRole},
		{name: "left the guild", u: left, refused: spawner.RefusedNotMember},
		{name: "never joined", u: stranger, refused: spawner.RefusedNotMember},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			got, err := b.Actor(ctx, tc.u.ID)
			var refusal *spawner.Refusal
			switch {
			case tc.refused != 0 && !errors.As(err, &refusal):
				t.Fatalf("Actor(%s) = %+v, %v; want refused %v", tc.u.ID, got, err, tc.refused)
			case tc.refused != 0 && refusal.Code != tc.refused:
				t.Fatalf("Actor(%s) refused %v (%v), want %v", tc.u.ID, refusal.Code, refusal, tc.refused)
			case tc.refused == 0 && err != nil:
				t.Fatalf("Actor(%s): %v, want %+v", tc.u.ID, err, tc.want)
			case tc.refused == 0 && got != tc.want:
				t.Errorf("Actor(%s) = %+v, want %+v", tc.u.ID, got, tc.want)
			}
		})
	}
	for _, r := range srv.Requests() {
		if r.Route == memberRoute && !strings.HasPrefix(r.Path, "/guilds/"+srv.Options().GuildID+"/members/") {
			t.Errorf("member read in another guild: %s", r.Path)
		}
	}
}

// A member's roles are read anew at each call: a role taken away since
// refuses them at once, a role given since lets them in.
func TestActorSeesRoleChanges(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	u := member(1, fakediscord.DefaultUserRoleID)
	srv.AddMember(u)
	ctx := context.Background()
	if _, err := b.Actor(ctx, u.ID); err != nil {
		t.Fatalf("Actor with the user role: %v", err)
	}
	u.Roles = nil
	srv.AddMember(u)
	var refusal *spawner.Refusal
	if _, err := b.Actor(ctx, u.ID); !errors.As(err, &refusal) || refusal.Code != spawner.RefusedNoRole {
		t.Errorf("Actor once the role was taken away: %v, want refused for the role", err)
	}
	if n := srv.Count(memberRoute); n != 2 {
		t.Errorf("%d member reads for 2 calls, want one each", n)
	}
}

// With DISCORD_USER_ROLE_ID set to the @everyone role, a member holding
// no role may create outside an interaction too, as in one.
func TestActorEveryoneRole(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, func(c *discord.Config) { c.UserRoleIDs = []string{srv.Options().GuildID} })
	u := member(1)
	srv.AddMember(u)
	if got, err := b.Actor(context.Background(), u.ID); err != nil || got != (spawner.Actor{UserID: u.ID}) {
		t.Errorf("Actor of a member with no role, @everyone allowed: %+v, %v", got, err)
	}
}

// Discord failing is an error, not a refusal: the caller cannot tell
// whether the member may create. It names what failed and never the
// bot's token.
func TestActorDiscordFails(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, func(c *discord.Config) {
		c.Retry = discord.Retry{First: time.Millisecond, Max: 5 * time.Millisecond, Budget: 200 * time.Millisecond}
	})
	u := member(1, fakediscord.DefaultUserRoleID)
	srv.AddMember(u)

	srv.FailNext("GET", "/guilds/{guild}/members/{user}", 1000, http.StatusInternalServerError)
	_, err := b.Actor(context.Background(), u.ID)
	var refusal *spawner.Refusal
	if err == nil || errors.As(err, &refusal) {
		t.Fatalf("Actor during a Discord outage: %v, want an error that is no refusal", err)
	}
	if !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "member") {
		t.Errorf("error %q, want what failed and the 500", err)
	}
	if strings.Contains(err.Error(), srv.Options().Token) {
		t.Errorf("error %q holds the bot's token", err)
	}
}

// The read ends with the caller's context: a long rate limit is not
// waited out past its deadline.
func TestActorEndsWithContext(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	u := member(1, fakediscord.DefaultUserRoleID)
	srv.AddMember(u)

	srv.RateLimitNext("GET", "/guilds/{guild}/members/{user}", 1, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := b.Actor(ctx, u.ID)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Actor past its deadline: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(wait):
		t.Fatalf("Actor still waiting %v after its deadline\n%s", wait, srv.Dump())
	}
}

// What is no Discord user id is refused before anything is sent, so a
// record's owner can never make the bot call another route.
func TestActorBadUserID(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	for _, id := range []string{"", "abc", "1/../../channels/1", "12345678901234567890123"} {
		_, err := b.Actor(context.Background(), id)
		var refusal *spawner.Refusal
		if err == nil || errors.As(err, &refusal) {
			t.Errorf("Actor(%q) = %v, want an error", id, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for ids that are none: %v", n, srv.Requests())
	}
}
