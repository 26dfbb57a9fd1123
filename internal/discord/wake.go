package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// WorldWaker is what the Wake button of a message (spawner.Message.Wake)
// needs of the lifecycle. The WorldControl given to ServeWorlds serves the
// button when it has this method too; otherwise a click is told that
// worlds cannot be woken here.
type WorldWaker interface {
	// WakeWorld wakes the asleep world worldID for by, the member who
	// clicked, as a creation of a server of the world by its owner would
	// start it: only the owner or an admin may (else a *spawner.Refusal,
	// RefusedNoWorld as for a world that does not exist); the owner's
	// role, one server per member and the cap apply, the creation cooldown
	// does not. A refusal is a *spawner.Refusal the member reads in their
	// language; any other error is a failure they are told of without its
	// detail, and which the adapter logs. It returns once the wake is
	// under way (a new ticket channel follows the server), within
	// wakeTimeout. worldID comes from the button, so a forged one reaches
	// it too: it checks it.
	WakeWorld(ctx context.Context, by spawner.Actor, worldID string) error
}

// wakePrefix starts the custom id of a Wake button: "wake:<world id>".
const wakePrefix = "wake:"

// wakeTimeout bounds WakeWorld, which checks the rules and starts the
// wake, not the server's boot.
const wakeTimeout = worldLookupTimeout

// components is what Discord shows under m's content: the Wake button of
// m.Wake, labelled in m.Locale; none when m has none. A world id no
// button can carry (see spawner.ValidWorldID) is an error.
func components(m spawner.Message) ([]discordgo.MessageComponent, error) {
	if m.Wake == "" {
		return []discordgo.MessageComponent{}, nil
	}
	if err := spawner.ValidWorldID(m.Wake); err != nil {
		return nil, fmt.Errorf("wake button: %w", err)
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{
			Label: text.For(m.Locale).WakeButton(), Style: discordgo.PrimaryButton,
			Emoji: &discordgo.ComponentEmoji{Name: "⏰"}, CustomID: wakePrefix + m.Wake,
		},
	}}}, nil
}

// onWakeClick serves a click on a Wake button: refusals at once, the wake
// after a deferred private answer, which then says whether it is under
// way, or why not (about the owner when their rules refused it and the
// clicker is someone else, see ownersRules). The message and its button stay as they are: the button works
// until its ticket channel goes, and a click during a wake is refused by
// the lifecycle.
func (b *Bot) onWakeClick(i *discordgo.Interaction, worldID string) {
	lang := text.For(string(i.Locale))
	actor, refusal := b.who(i)
	if refusal != nil {
		b.ephemeral(i, lang.Refusal(refusal))
		return
	}
	waker, ok := b.worlds.(WorldWaker)
	if !ok {
		b.ephemeral(i, lang.WakeOff())
		return
	}
	if spawner.ValidWorldID(worldID) != nil { // forged: no button carries it
		b.ephemeral(i, lang.Refusal(&spawner.Refusal{Code: spawner.RefusedNoWorld, Name: cut(worldID, maxEcho)}))
		return
	}
	b.rememberName(i)
	b.answerLater(i, wakeTimeout, func(ctx context.Context) string {
		err := waker.WakeWorld(ctx, actor, worldID)
		w := b.wakeWorld(ctx, actor, worldID, err)
		if why := ownersRules(lang, actor, w, err); why != "" {
			return why
		}
		return b.worldOutcome(lang, "wake world", w, err, lang.WakeFailed, lang.WakeStarted)
	})
}

// ownersRules is what actor reads of a wake of world w that the owner's
// rules refused (err: their role, one server per member), when actor is
// not the owner (an admin): the refusal about the owner, as a player
// joining the world reads it. "" for any other outcome, and when the
// owner clicked: the usual answer, worded to them, is then right.
func ownersRules(lang text.Lang, actor spawner.Actor, w spawner.World, err error) string {
	var r *spawner.Refusal
	if !errors.As(err, &r) || w.Owner == "" || w.Owner == actor.UserID {
		return ""
	}
	if r.Code == spawner.RefusedNoRole || r.Code == spawner.RefusedBusy {
		return lang.WakeRefusal(r)
	}
	return ""
}

// wakeWorld is the world of a Wake button that was refused (err), for
// the refusal to name it: the world worldID when actor may see it, else
// one without a name, so that nobody reads a world's id.
func (b *Bot) wakeWorld(ctx context.Context, actor spawner.Actor, worldID string, err error) spawner.World {
	if err == nil {
		return spawner.World{ID: worldID}
	}
	worlds, lerr := b.visibleWorlds(ctx, actor)
	if lerr != nil {
		b.log.Warn("list worlds to name a refused wake", "world", worldID, "err", lerr)
	}
	for _, w := range worlds {
		if w.ID == worldID {
			return w.World
		}
	}
	return spawner.World{ID: worldID}
}

// wakeTarget is the world a click's custom id wakes, if it is a Wake
// button's.
func wakeTarget(customID string) (worldID string, ok bool) {
	return strings.CutPrefix(customID, wakePrefix)
}
