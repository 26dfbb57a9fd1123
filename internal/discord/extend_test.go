package discord_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

func (f *fleet) Extend(context.Context, spawner.Actor, string) (spawner.Extension, error) {
	return spawner.Extension{}, &spawner.Refusal{Code: spawner.RefusedExtendLimit, Limit: 2}
}

// Op refuses what the lifecycle refuses before any RCON call, and else
// answers as a game would.
func (f *fleet) Op(_ context.Context, _ spawner.Actor, _ string, player string) (string, error) {
	if err := spawner.ValidPlayerName(player); err != nil {
		return "", &spawner.Refusal{Code: spawner.RefusedPlayerName, Name: player}
	}
	return "§aMade " + player + " a server operator `@everyone`", nil
}

// /server extend and /server op are registered with their French names,
// answered privately in time, and their refusals say why.
func TestExtendAndOpCommands(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	openBot(t, b, &fleet{catalog: spawner.Catalog{minecraft}})

	names := map[string]string{}
	for _, c := range srv.CommandsIn(fakediscord.DefaultGuildID) {
		for _, o := range c.Options {
			names[o.Name] = o.NameLocalizations["fr"]
		}
	}
	if names["extend"] != "prolonger" || names["op"] != "op" {
		t.Errorf("subcommands and their French names = %v, want extend=prolonger and op=op", names)
	}

	u := member(1, fakediscord.DefaultUserRoleID)
	ix := srv.Command(u, "fr", []string{"server", "extend"}, map[string]any{"server": "abc"})
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || r.Late {
		t.Errorf("extend answer %+v, want an ephemeral one in time", r)
	}
	ix.WaitEdit(t, wait, func(m fakediscord.Message) bool {
		return strings.Contains(m.Text(), "déjà prolongé ce serveur 2 fois")
	})

	ix = srv.Command(u, "en-US", []string{"server", "op"}, map[string]any{"server": "abc", "player": "Steve;stop"})
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || r.Late {
		t.Errorf("op answer %+v, want an ephemeral one in time", r)
	}
	ix.WaitEdit(t, wait, func(m fakediscord.Message) bool {
		return strings.Contains(m.Text(), "`Steve;stop` is not a Minecraft player name") && strings.Contains(m.Text(), `";" is not allowed`)
	})

	ix = srv.Command(u, "en-US", []string{"server", "op"}, map[string]any{"server": "abc", "player": "Steve"})
	edit := ix.WaitEdit(t, wait, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "Made Steve a server operator") })
	if strings.Contains(edit.Text(), "§") || strings.Count(edit.Text(), "```") != 2 {
		t.Errorf("the game's reply is shown raw: %q", edit.Text())
	}
}
