package text

import (
	"fmt"
	"time"
)

// What a Minecraft client shows for an asleep world: the two lines of its
// entry in the server list, and the reasons of the screen it sees after
// trying to join. They are plain text (no Discord markdown, no emoji the
// game's font may lack), one line break at most in a list entry, since the
// list shows two lines.

// SleepAsleep is the description of an asleep world in the server list.
func (l Lang) SleepAsleep() (line1, line2 string) {
	return l.pick("This world is asleep.", "Ce monde dort."),
		l.pick("Join it to wake it up.", "Rejoins-le pour le réveiller.")
}

// SleepWaking is the description of an asleep world whose wake is under
// way, until its server answers on the port.
func (l Lang) SleepWaking() (line1, line2 string) {
	return l.pick("This world is waking up.", "Ce monde se réveille."),
		l.pick("Join again in about a minute.", "Reviens dans une minute environ.")
}

// SleepVersion is the version name an asleep world shows when it never
// answered a status of its own (its version is then unknown).
func (l Lang) SleepVersion() string {
	return l.pick("Asleep", "Endormi")
}

// SleepStarting is the reason of the disconnect screen of a player whose
// login woke the world, or who joined while it wakes.
func (l Lang) SleepStarting() string {
	return l.pick("The server is starting.\n\nJoin again in about a minute.",
		"Le serveur démarre.\n\nReviens dans une minute environ.")
}

// SleepRefused is the reason of the disconnect screen when the world could
// not be woken: why is the reason its owner's rules gave (already in the
// guild's language), empty when there is none to tell.
func (l Lang) SleepRefused(why string) string {
	head := l.pick("This world could not be woken up.", "Ce monde n'a pas pu être réveillé.")
	if why == "" {
		return head + "\n\n" + l.pick("Try again later.", "Réessaie plus tard.")
	}
	return head + "\n\n" + why
}

// SleepRateLimited is the reason of the disconnect screen when the world
// was woken too often by logins lately; it can be woken again after wait.
func (l Lang) SleepRateLimited(wait time.Duration) string {
	head := l.pick("This world was woken up too often lately and stays asleep for now.",
		"Ce monde a été réveillé trop souvent ces derniers temps et reste endormi pour l'instant.")
	minutes := int((wait + time.Minute - 1) / time.Minute)
	if minutes <= 1 {
		return head + "\n\n" + l.pick("Join again in a minute.", "Reviens dans une minute.")
	}
	return head + "\n\n" + fmt.Sprintf(l.pick("Join again in about %d minutes.", "Reviens dans %d minutes environ."), minutes)
}

// SleepBadPlayer is the reason of the disconnect screen when the login
// carried a player name that no Minecraft account can have.
func (l Lang) SleepBadPlayer() string {
	return l.pick("This player name cannot wake this world: a Minecraft name has 1 to 16 letters, digits or _.",
		"Ce nom de joueur ne peut pas réveiller ce monde : un nom Minecraft a 1 à 16 lettres, chiffres ou _.")
}
