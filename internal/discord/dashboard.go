package discord

import (
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// Dashboard makes the link /server dashboard answers with: the live page
// of the servers actor may see (all of them for an admin), and how long
// the link works.
type Dashboard func(actor spawner.Actor) (url string, validFor time.Duration)

// commands is what Open registers: Commands, with /world and the world
// option of /server create when the bot keeps worlds (ServeWorlds), and
// /server dashboard when the bot has web pages (Config.Dashboard set). Without them the
// subcommand is not offered at all, rather than offered to say no.
func (b *Bot) commands() []*discordgo.ApplicationCommand {
	cmds := Commands()
	if b.worlds != nil {
		cmds = withWorlds(cmds)
	}
	if b.cfg.Dashboard != nil {
		for _, c := range cmds {
			if c.Name == "server" {
				c.Options = append(c.Options, DashboardCommand())
			}
		}
	}
	return cmds
}

// DashboardCommand is the /server dashboard subcommand (French: tableau).
func DashboardCommand() *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionSubCommand, Name: "dashboard", NameLocalizations: *fr("tableau"),
		Description:              "A private link to the live page of your servers",
		DescriptionLocalizations: *fr("Un lien privé vers la page en direct de tes serveurs"),
	}
}

// dashboard answers /server dashboard privately with the member's link,
// or says there are no web pages (a command registered by an earlier
// start that had PUBLIC_URL).
func (b *Bot) dashboard(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang) {
	if b.cfg.Dashboard == nil {
		b.ephemeral(i, lang.NoDashboard())
		return
	}
	url, validFor := b.cfg.Dashboard(actor)
	b.ephemeral(i, lang.Dashboard(url, actor.Admin, validFor))
}
