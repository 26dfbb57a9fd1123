package text

import (
	"fmt"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Sentences of a server's world in its life: its status message, its end,
// and the admin log when a backup failed.

// StatusWorld is the status message's line naming the world the server
// plays.
func (l Lang) StatusWorld(name string) string {
	return fmt.Sprintf(l.pick("🌍 World %s", "🌍 Monde %s"), quoteName(name))
}

// FailWorld is the reason when the server's world could not be made
// ready before its task started.
func (l Lang) FailWorld() string {
	return l.pick("its world could not be made ready (nothing of it was changed)",
		"son monde n'a pas pu être préparé (rien n'y a été changé)")
}

// WorldSavedAtEnd is the end message's line when the world was saved as
// its server stopped: its name and its content's size.
func (l Lang) WorldSavedAtEnd(name string, size int64) string {
	return fmt.Sprintf(l.pick("💾 World %s was saved (%s). The next server of it starts where this one stopped.",
		"💾 Le monde %s a été sauvegardé (%s). Son prochain serveur repart d'où celui-ci s'est arrêté."), quoteName(name), l.Size(size))
}

// WorldSaveFailedAtEnd is the end message's line when the world's backup
// failed as its server stopped.
func (l Lang) WorldSaveFailedAtEnd(name string) string {
	return fmt.Sprintf(l.pick("⚠️ World %s could not be backed up as the server stopped; its older backups are untouched. The admins were told why.",
		"⚠️ Le monde %s n'a pas pu être sauvegardé à l'arrêt du serveur ; ses anciennes sauvegardes sont intactes. Les admins savent pourquoi."), quoteName(name))
}

// LogWorldBackupFailed is the admin log line when a backup of world w
// failed: at the end of its server (atEnd), or asked for by member by.
func (l Lang) LogWorldBackupFailed(w spawner.World, atEnd bool, by, err string) string {
	if atEnd {
		return fmt.Sprintf(l.pick("⚠️ The backup of world %s of %s (%s) at the end of its server failed: %s. Its content and older backups are untouched.",
			"⚠️ La sauvegarde du monde %s de %s (%s) à la fin de son serveur a échoué : %s. Son contenu et ses anciennes sauvegardes sont intacts."),
			quoteName(w.Name), Mention(w.Owner), w.Game, err)
	}
	return fmt.Sprintf(l.pick("⚠️ The backup of world %s of %s (%s) asked for by %s failed: %s. Its older backups are untouched.",
		"⚠️ La sauvegarde du monde %s de %s (%s) demandée par %s a échoué : %s. Ses anciennes sauvegardes sont intactes."),
		quoteName(w.Name), Mention(w.Owner), w.Game, Mention(by), err)
}

// WorldAddressChanged is the ready message's line when the world's kept
// port was held by another program, so its server got another: old is
// the address that no longer reaches it.
func (l Lang) WorldAddressChanged(old string) string {
	return fmt.Sprintf(l.pick("⚠️ This world's address changed: another program held its port. Use the address above from now on; `%s` no longer reaches it.",
		"⚠️ L'adresse de ce monde a changé : un autre programme occupait son port. Utilise désormais l'adresse ci-dessus ; `%s` ne mène plus à lui."), old)
}

// LogWorldAddressChanged is the admin log line when the kept port of
// world w was held by another program: its server started at now, and old
// no longer reaches it.
func (l Lang) LogWorldAddressChanged(w spawner.World, old, now string) string {
	return fmt.Sprintf(l.pick("⚠️ World %s of %s (%s): another program held its port, so its address changed from `%s` to `%s`.",
		"⚠️ Monde %s de %s (%s) : un autre programme occupait son port, son adresse est passée de `%s` à `%s`."),
		quoteName(w.Name), Mention(w.Owner), w.Game, old, now)
}

// LogWorldPortTaken is the admin log line when asleep world w could not
// be answered for on its port, addr, which another program holds: it
// sleeps without a port, and only a command or its Wake button wakes it,
// on a new port.
func (l Lang) LogWorldPortTaken(w spawner.World, addr string) string {
	return fmt.Sprintf(l.pick("⚠️ World %s of %s (%s) sleeps without its port: another program holds `%s`. Joining it cannot wake it; `/server create` or its Wake button does, on a new address.",
		"⚠️ Le monde %s de %s (%s) dort sans son port : un autre programme occupe `%s`. Le rejoindre ne peut pas le réveiller ; `/serveur créer` ou son bouton Réveiller le fait, à une nouvelle adresse."),
		quoteName(w.Name), Mention(w.Owner), w.Game, addr)
}
