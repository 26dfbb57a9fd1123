package discord

import (
	"context"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// CostReader is what /server cost needs of the store: the sessions that
// ran at some time in [from, to), with the records it could not read
// (skipped, each an error naming its key). The store's Sessions is one.
type CostReader interface {
	Sessions(ctx context.Context, from, to time.Time) ([]spawner.Session, []error, error)
}

// Costs is what /server cost answers from: the sessions, the prices, and
// the clock that says which month is the current one.
type Costs struct {
	Sessions CostReader
	Pricing  cost.Pricing
	Now      func() time.Time // time.Now when nil
}

// costTimeout bounds reading a month's sessions: one Scan of the table.
const costTimeout = 30 * time.Second

// costCommand is the /server cost subcommand (French: coût) and its
// optional month.
func costCommand() *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionSubCommand, Name: "cost", NameLocalizations: *fr("coût"),
		Description:              "Server-hours and estimated cost of a month (admins: everyone's)",
		DescriptionLocalizations: *fr("Heures de serveur et coût estimé d'un mois (admins : ceux de tous)"),
		Options: []*discordgo.ApplicationCommandOption{{
			Type: discordgo.ApplicationCommandOptionString, Name: "month", NameLocalizations: *fr("mois"),
			Description:              "YYYY-MM, like 2026-11 (default: this month)",
			DescriptionLocalizations: *fr("AAAA-MM, comme 2026-11 (par défaut : ce mois-ci)"),
		}},
	}
}

// cost answers /server cost privately: a month it cannot tell is refused
// at once, naming the problem; otherwise the answer is deferred and the
// month's sessions read on a worker (a Scan, too slow for the gateway's
// handler), then estimated: everyone's for an admin, the member's own
// otherwise.
func (b *Bot) cost(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) {
	c := b.Costs
	if c == nil || c.Sessions == nil {
		b.ephemeral(i, lang.CostFailed())
		return
	}
	now := c.now()
	asked, _ := option(sub.Options, "month")
	month, why := cost.AskedMonth(asked, now)
	if why != cost.MonthOK {
		b.ephemeral(i, lang.CostMonthRefused(why, cut(asked, maxEcho), now))
		return
	}
	b.answerLater(i, costTimeout, func(ctx context.Context) string {
		sessions, problems, err := c.Sessions.Sessions(ctx, month.Start(), month.End())
		if err != nil {
			b.log.Error("server cost: read the sessions", "month", month.String(), "err", err)
			return lang.CostFailed()
		}
		if len(problems) > 0 {
			b.log.Warn("server cost: sessions that cannot be read were skipped", "month", month.String(), "skipped", len(problems), "first", problems[0])
		}
		e := cost.EstimateMonth(month, sessions, c.Pricing, c.now())
		if actor.Admin {
			return lang.CostEstimate(e)
		}
		return lang.CostOwn(e.ForMember(actor.UserID))
	})
}

func (c *Costs) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}
