package discord_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// /server extend, op and dashboard and the /game commands refuse a direct
// message and another guild as /server create does, at once and before any
// work: even an admin of the community, writing from elsewhere, changes
// nothing.
func TestNewCommandsRefuseDMsAndOtherGuilds(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, func(c *discord.Config) {
		c.Dashboard = func(spawner.Actor) (string, time.Duration) { return "https://pages.example.org/?token=t", time.Hour }
	})
	openBot(t, b, &fleet{catalog: spawner.Catalog{minecraft}})

	template := fakediscord.Attachment{Filename: "g.json", ContentType: "application/json", Content: []byte(`{"name": "g"}`)}
	for _, c := range []struct {
		name string
		path []string
		opts map[string]any
	}{
		{"extend", []string{"server", "extend"}, map[string]any{"server": "abc"}},
		{"op", []string{"server", "op"}, map[string]any{"server": "abc", "player": "Steve"}},
		{"dashboard", []string{"server", "dashboard"}, nil},
		{"game add", []string{"game", "add"}, map[string]any{"file": template}},
		{"game list", []string{"game", "list"}, nil},
		{"game show", []string{"game", "show"}, map[string]any{"game": "minecraft"}},
		{"game remove", []string{"game", "remove"}, map[string]any{"game": "minecraft"}},
	} {
		for _, from := range []struct {
			name string
			spec fakediscord.InteractionSpec
		}{
			{"DM", fakediscord.InteractionSpec{DM: true}},
			{"other guild", fakediscord.InteractionSpec{GuildID: "1100000000000000666"}},
		} {
			spec := from.spec
			spec.User = member(1, fakediscord.DefaultAdminRoleID)
			spec.Path, spec.Options = c.path, c.opts
			ix := srv.Interact(t, spec)
			r := ix.WaitResponse(t, wait)
			if !r.Ephemeral() || r.Late || !strings.Contains(r.Text(), "only works in the community's server") {
				t.Errorf("%s from a %s: answer %+v, want an ephemeral refusal in time", c.name, from.name, r)
			}
			if strings.Contains(r.Text(), "pages.example.org") {
				t.Errorf("%s from a %s shows the dashboard link", c.name, from.name)
			}
		}
	}
}
