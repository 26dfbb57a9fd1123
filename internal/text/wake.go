package text

import (
	"fmt"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// What members read of a wake in Discord: the button on the message that
// says a world was saved and sleeps, the answers to a click on it, and the
// line of the ready message that says who woke the world.

// WakeButton is the label of the button that wakes an asleep world.
func (l Lang) WakeButton() string {
	return l.pick("Wake", "Réveiller")
}

// WakeStarted answers a click on the Wake button once the wake was
// accepted: a new ticket channel follows the world's server.
func (l Lang) WakeStarted() string {
	return l.pick("⏰ The world is waking up. A new ticket channel follows its server and says when you can join.",
		"⏰ Le monde se réveille. Un nouveau salon de ticket suit son serveur et dira quand tu pourras le rejoindre.")
}

// WakeFailed answers a click on the Wake button when the wake failed for
// a reason the member cannot act on; the bot's log says why.
func (l Lang) WakeFailed() string {
	return l.pick("❌ The world could not be woken up; nothing was started. Try again in a moment, or ask an admin to look at the bot's log.",
		"❌ Le monde n'a pas pu être réveillé ; rien n'a été lancé. Réessaie dans un moment, ou demande à un admin de regarder le journal du bot.")
}

// WakeOff answers a click on a Wake button of a bot that cannot wake
// worlds (no longer keeps them, or not yet).
func (l Lang) WakeOff() string {
	return l.pick("This bot cannot wake worlds up right now. Use `/server create` with the world instead.",
		"Ce bot ne peut pas réveiller de monde pour l'instant. Utilise plutôt `/serveur créer` avec le monde.")
}

// WokenByPlayer is the line of the ready message of a world that the
// Minecraft player named player woke by joining it.
func (l Lang) WokenByPlayer(player string) string {
	return fmt.Sprintf(l.pick("⏰ Woken up by %s, who tried to join.", "⏰ Réveillé par %s, qui a essayé de le rejoindre."), quoteName(player))
}

// WokenByMember is the line of the ready message of a world that the
// member userID woke (the Wake button, or /server create of the world).
func (l Lang) WokenByMember(userID string) string {
	return fmt.Sprintf(l.pick("⏰ Woken up by %s.", "⏰ Réveillé par %s."), Mention(userID))
}

// WakeRefusal is why the owner's rules refused a wake by login, as a
// Minecraft player reads it under SleepRefused's first line: plain text,
// about the world's owner (the player may be anyone). A member other than
// the owner (an admin) who clicked the Wake button reads it too when the
// owner's role or their one server refused the wake. Empty for a refusal
// a player has nothing to learn from: SleepRefused then says to try again
// later.
func (l Lang) WakeRefusal(r *spawner.Refusal) string {
	switch r.Code {
	case spawner.RefusedNoRole:
		return l.pick("Its owner no longer has a role that allows starting servers.",
			"Son propriétaire n'a plus de rôle qui permet de lancer des serveurs.")
	case spawner.RefusedBusy:
		return l.pick("Its owner already has another server running or being created.",
			"Son propriétaire a déjà un autre serveur lancé ou en cours de création.")
	case spawner.RefusedCap:
		return fmt.Sprintf(l.pick("All %d server slots are taken. Join again when one is free.",
			"Les %d places de serveurs sont prises. Reviens quand une se libère."), r.Limit)
	case spawner.RefusedWorldBusy:
		return l.pick("It is being backed up or restored. Join again in a few minutes.",
			"Il est en cours de sauvegarde ou de restauration. Reviens dans quelques minutes.") //nolint:misspell // French: "restauration" is the word
	case spawner.RefusedWorldRunning:
		return l.pick("Its server is already starting. Join again in about a minute.",
			"Son serveur démarre déjà. Reviens dans une minute environ.")
	case spawner.RefusedShuttingDown:
		return l.pick("The bot is restarting. Join again in a minute.", "Le bot redémarre. Reviens dans une minute.")
	case spawner.RefusedCategoryFull:
		return l.pick("The community has no room for a new server's channel right now.",
			"La communauté n'a plus de place pour le salon d'un nouveau serveur pour l'instant.")
	case spawner.RefusedNoWorld:
		return l.pick("It no longer exists.", "Il n'existe plus.")
	case spawner.RefusedNotMember:
		return l.pick("Its owner is no longer a member of the community.",
			"Son propriétaire ne fait plus partie de la communauté.")
	default:
		return ""
	}
}
