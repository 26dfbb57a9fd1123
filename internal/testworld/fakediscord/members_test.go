package fakediscord_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// GET /guilds/{guild}/members/{user} answers the main guild's members with
// their roles as they are now, and 404 Unknown Member (10007) for a user
// who never joined or who left; it is rate-limited like every route.
func TestGuildMember(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{RateLimitRetryAfter: 10 * time.Millisecond})
	b := newBot(t, srv)
	guild := srv.Options().GuildID
	const route = "GET /guilds/{guild}/members/{user}"
	alice := fakediscord.User{ID: "1300000000000000001", Roles: []string{fakediscord.DefaultUserRoleID}}

	if _, err := b.s.GuildMember(guild, alice.ID); err == nil {
		t.Fatal("a user who never joined is a member")
	} else if status, code := restCode(t, err); status != http.StatusNotFound || code != fakediscord.CodeUnknownMember {
		t.Errorf("a user who never joined: %d code %d, want 404 code %d", status, code, fakediscord.CodeUnknownMember)
	}

	srv.AddMember(alice)
	m, err := b.s.GuildMember(guild, alice.ID)
	if err != nil {
		t.Fatalf("get a member: %v", err)
	}
	if m.User == nil || m.User.ID != alice.ID || !slices.Equal(m.Roles, alice.Roles) {
		t.Errorf("member %+v, want %s with roles %v", m, alice.ID, alice.Roles)
	}

	alice.Roles = []string{fakediscord.DefaultAdminRoleID}
	srv.AddMember(alice)
	if m, err := b.s.GuildMember(guild, alice.ID); err != nil || !slices.Equal(m.Roles, alice.Roles) {
		t.Errorf("member after a role change: %+v, %v; want roles %v", m, err, alice.Roles)
	}

	srv.RateLimitNext("GET", "/guilds/{guild}/members/{user}", 1, 0)
	if _, err := b.s.GuildMember(guild, alice.ID); err != nil {
		t.Errorf("get a member after a 429: %v", err)
	}
	var statuses []int
	for _, r := range srv.Requests() {
		if r.Route == route {
			statuses = append(statuses, r.Status)
		}
	}
	if want := []int{404, 200, 200, 429, 200}; !slices.Equal(statuses, want) {
		t.Errorf("member requests answered %v, want %v", statuses, want)
	}

	srv.RemoveMember(alice.ID)
	if _, err := b.s.GuildMember(guild, alice.ID); err == nil {
		t.Fatal("a member who left is still a member")
	} else if status, code := restCode(t, err); status != http.StatusNotFound || code != fakediscord.CodeUnknownMember {
		t.Errorf("a member who left: %d code %d, want 404 code %d", status, code, fakediscord.CodeUnknownMember)
	}
}
