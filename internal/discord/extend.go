package discord

import (
	"context"
	"errors"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// ServerControl is what /server extend and /server op need of the lifecycle.
type ServerControl interface {
	// Extend moves the server's stop time later; a refusal is a *spawner.Refusal.
	Extend(ctx context.Context, by spawner.Actor, serverID string) (spawner.Extension, error)
	// Op makes player an operator in game through RCON and returns the
	// game's reply; a refusal is a *spawner.Refusal, a refused RCON
	// password wraps spawner.ErrRCONAuth.
	Op(ctx context.Context, by spawner.Actor, serverID, player string) (string, error)
}

// controlOptions are the /server extend and /server op subcommands.
func controlOptions() []*discordgo.ApplicationCommandOption {
	server := func(en, frDesc string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionString, Name: "server", NameLocalizations: *fr("serveur"),
			Description: en, DescriptionLocalizations: *fr(frDesc),
			Required: true, Autocomplete: true,
		}
	}
	return []*discordgo.ApplicationCommandOption{
		{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: "extend", NameLocalizations: *fr("prolonger"),
			Description: "Give a server more time before it stops", DescriptionLocalizations: *fr("Donner plus de temps à un serveur avant son arrêt"),
			Options: []*discordgo.ApplicationCommandOption{server("The server to extend", "Le serveur à prolonger")},
		},
		{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: "op", NameLocalizations: *fr("op"),
			Description: "Make a player operator in game", DescriptionLocalizations: *fr("Rendre un joueur opérateur en jeu"),
			Options: []*discordgo.ApplicationCommandOption{
				{
					Type: discordgo.ApplicationCommandOptionString, Name: "player", NameLocalizations: *fr("joueur"),
					Description: "Minecraft player name", DescriptionLocalizations: *fr("Nom du joueur Minecraft"),
					Required: true,
				},
				server("The server to run it on", "Le serveur où le faire"),
			},
		},
	}
}

// controls reports whether subcommand sub takes a server of the member's
// (or any, for an admin) in its server option.
func controls(sub string) bool { return sub == "stop" || sub == "extend" || sub == "op" }

// offers reports whether server s belongs in the server choices of sub:
// /server op offers only servers whose game has RCON.
func offers(sub string, s spawner.Server, catalog spawner.Catalog) bool {
	if sub != "op" {
		return true
	}
	g, ok := catalog.Lookup(s.Game)
	return ok && g.RCON != nil
}

func (b *Bot) extend(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) {
	value, _ := option(sub.Options, "server")
	b.answerLater(i, 30*time.Second, func(ctx context.Context) string {
		ext, err := b.fleet.Extend(ctx, actor, value)
		return answer(lang, err, lang.ExtendFailed, func() string { return lang.Extended(ext.Server, ext.StopsAt, ext.Left) })
	})
}

func (b *Bot) op(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) {
	value, _ := option(sub.Options, "server")
	// The name as typed, untrimmed: a space or a line break in it is refused.
	var player string
	for _, o := range sub.Options {
		if s, ok := o.Value.(string); ok && o.Name == "player" {
			player = s
		}
	}
	b.answerLater(i, 30*time.Second, func(ctx context.Context) string {
		var srv spawner.Server
		for _, s := range b.fleet.Servers(actor) {
			if s.ShortTaskID() == value || s.CreationID == value {
				srv = s
			}
		}
		reply, err := b.fleet.Op(ctx, actor, value, player)
		var refusal *spawner.Refusal
		switch {
		case errors.As(err, &refusal):
			echo := *refusal
			echo.Name = cut(echo.Name, maxEcho)
			return lang.Refusal(&echo)
		case err != nil:
			return lang.OpFailed(errors.Is(err, spawner.ErrRCONAuth))
		default:
			return lang.OpDone(srv, player, reply)
		}
	})
}
