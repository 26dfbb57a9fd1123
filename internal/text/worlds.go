package text

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Sentences of /world and of the world option of /server create. A world
// is named by its name and its game's title (the caller looks the title
// up; the game's name when it is no longer offered).

// worldRefusal is Refusal for the codes of worlds.
func (l Lang) worldRefusal(r *spawner.Refusal) string {
	switch r.Code {
	case spawner.RefusedWorldName:
		return fmt.Sprintf(l.pick("%s is not a world name: %s.", "%s n'est pas un nom de monde : %s."),
			quoteName(r.Name), l.worldNameProblem(r.Name))
	case spawner.RefusedNoWorld:
		return fmt.Sprintf(l.pick("You have no world called %s. Pick one from the list, or see them with `/world list`.",
			"Tu n'as pas de monde nommé %s. Choisis-en un dans la liste, ou vois-les avec `/monde liste`."), quoteName(r.Name))
	case spawner.RefusedWorldAmbiguous:
		return fmt.Sprintf(l.pick("You have several worlds called %s, of different games: pick the one you mean from the list.",
			"Tu as plusieurs mondes nommés %s, de jeux différents : choisis le bon dans la liste."), quoteName(r.Name))
	case spawner.RefusedNoBackup:
		if r.Name == "" {
			return l.pick("This world has no backup yet. Make one with `/world backup`.",
				"Ce monde n'a encore aucune sauvegarde. Fais-en une avec `/monde sauvegarder`.")
		}
		return fmt.Sprintf(l.pick("This world has no backup %s. Pick one from the list.",
			"Ce monde n'a pas de sauvegarde %s. Choisis-en une dans la liste."), quoteName(r.Name))
	case spawner.RefusedWorldRunning:
		return fmt.Sprintf(l.pick("A server of world %s is running. Stop it first with `/server stop`; its world is saved as it stops.",
			"Un serveur du monde %s est lancé. Arrête-le d'abord avec `/serveur arrêter` ; son monde est sauvegardé à l'arrêt."), quoteName(r.Name))
	case spawner.RefusedWorldBusy:
		return fmt.Sprintf(l.pick("World %s is being backed up, restored or deleted right now. Try again in a moment.",
			"Le monde %s est en train d'être sauvegardé, restauré ou supprimé. Réessaie dans un moment."), quoteName(r.Name))
	case spawner.RefusedNoWorldGame:
		return fmt.Sprintf(l.pick("%s keeps no world: its servers start afresh each time. Leave `world` empty.",
			"%s ne garde pas de monde : ses serveurs repartent de zéro à chaque fois. Laisse `monde` vide."), r.Name)
	case spawner.RefusedNoDownload:
		return l.pick("Backups cannot be downloaded here: the bot has no public address (PUBLIC_URL is not set). An admin can set it.",
			"Les sauvegardes ne peuvent pas être téléchargées ici : le bot n'a pas d'adresse publique (PUBLIC_URL n'est pas défini). Un admin peut la définir.")
	case spawner.RefusedWorldsOff:
		return fmt.Sprintf(l.pick("%s keeps its world from one server to the next, but this bot has no world storage configured. An admin must set one up before it can be played.",
			"%s garde son monde d'un serveur au suivant, mais ce bot n'a aucun stockage de mondes configuré. Un admin doit en mettre un en place avant qu'on puisse y jouer."), r.Name)
	case spawner.RefusedWorldLive:
		return fmt.Sprintf(l.pick("World %s cannot be backed up while its server runs here; it is backed up when its server stops. Stop it with `/server stop` to have a backup now.",
			"Le monde %s ne peut pas être sauvegardé pendant que son serveur tourne ici ; il est sauvegardé à l'arrêt de son serveur. Arrête-le avec `/serveur arrêter` pour avoir une sauvegarde maintenant."), quoteName(r.Name))
	default: // a code Refusal and controlRefusal answer before they get here, or one unknown
		return l.pick("Refused.", "Refusé.")
	}
}

// worldNameProblem names what is wrong with name by the rule of
// spawner.ValidWorldName: 1 to 32 characters, a-z, 0-9 and -.
func (l Lang) worldNameProblem(name string) string {
	if name == "" {
		return l.pick("it is empty", "il est vide")
	}
	if n := utf8.RuneCountInString(name); n > 32 {
		return fmt.Sprintf(l.pick("it has %d characters, 32 at most are allowed", "il a %d caractères, 32 au plus sont permis"), n)
	}
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
			continue
		case 'A' <= c && c <= 'Z':
			return fmt.Sprintf(l.pick("%q is a capital letter; only lowercase letters a-z, digits and - are allowed",
				"%q est une majuscule ; seuls les minuscules a-z, les chiffres et - sont permis"), string(c))
		case c == ' ':
			return l.pick("it contains a space; only a-z, 0-9 and - are allowed", "il contient une espace ; seuls a-z, 0-9 et - sont permis")
		case c == utf8.RuneError || c < ' ' || c == '`':
			return l.pick("it contains a character that is not allowed; only a-z, 0-9 and - are", "il contient un caractère interdit ; seuls a-z, 0-9 et - sont permis")
		default:
			return fmt.Sprintf(l.pick("%q is not allowed; only a-z, 0-9 and - are", "%q est interdit ; seuls a-z, 0-9 et - sont permis"), string(c))
		}
	}
	return l.pick("it is not allowed", "il n'est pas permis")
}

// Size renders a number of bytes for people: "694 MiB", "1.2 GiB" (in
// French "1,2 Gio").
func (l Lang) Size(n int64) string {
	units := []string{l.pick("B", "o"), l.pick("KiB", "Kio"), l.pick("MiB", "Mio"), l.pick("GiB", "Gio"), l.pick("TiB", "Tio")}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	s := strconv.FormatFloat(v, 'f', 0, 64)
	if u > 0 && v < 10 {
		s = strconv.FormatFloat(v, 'f', 1, 64)
		if l == Fr {
			s = strings.Replace(s, ".", ",", 1)
		}
	}
	return s + " " + units[u]
}

// WorldState names a world's state.
func (l Lang) WorldState(s spawner.WorldState) string {
	switch s {
	case spawner.WorldRunning:
		return l.pick("running", "lancé")
	case spawner.WorldAsleep:
		return l.pick("asleep", "endormi")
	case spawner.WorldStored:
		return l.pick("stored", "stocké")
	}
	return string(s)
}

// BackupReason says why a backup was taken, in a few words.
func (l Lang) BackupReason(r spawner.BackupReason) string {
	switch r {
	case spawner.BackupStop:
		return l.pick("at a stop", "à un arrêt")
	case spawner.BackupManual:
		return l.pick("by hand", "à la main")
	case spawner.BackupBeforeRestore:
		return l.pick("before a restore", "avant une restauration") //nolint:misspell // French: "restauration" is the word
	case spawner.BackupRestored:
		return l.pick("restored", "restaurée")
	default:
		return string(r)
	}
}

// worldLabel names a world in a sentence: its name and its game.
func worldLabel(w spawner.World, title string) string {
	return fmt.Sprintf("**%s** (%s)", w.Name, title)
}

// WorldChoice is the autocomplete label of a world (plain text: choices
// show no references): name, game, state and size, and its owner's name
// when ownerName is not empty (an admin's choices).
func (l Lang) WorldChoice(w spawner.WorldInfo, title, ownerName string) string {
	parts := []string{w.Name, title, l.WorldState(w.State)}
	if w.Backups > 0 {
		parts = append(parts, l.Size(w.Size))
	}
	if ownerName != "" {
		parts = append(parts, ownerName)
	}
	return strings.Join(parts, " · ")
}

// NewWorldChoice is the autocomplete label offering a new world called name.
func (l Lang) NewWorldChoice(name string) string {
	return fmt.Sprintf(l.pick("%s · new world", "%s · nouveau monde"), name)
}

// BackupChoice is the autocomplete label of a backup: its time (UTC, since
// a choice shows no time in the reader's zone), size and reason.
func (l Lang) BackupChoice(b spawner.Backup) string {
	return strings.Join([]string{b.Time.UTC().Format("2006-01-02 15:04 UTC"), l.Size(b.Size), l.BackupReason(b.Reason)}, " · ")
}

// WorldList is the answer to /world list: the member's worlds, or every
// world for an admin (all), whose lines then name the owner. title gives
// a game's title by its name.
func (l Lang) WorldList(worlds []spawner.WorldInfo, title func(game string) string, all bool) string {
	if len(worlds) == 0 {
		if all {
			return l.pick("There is no world yet.", "Il n'y a encore aucun monde.")
		}
		return l.pick("You have no world yet. A game that keeps one makes it at your first `/server create`.",
			"Tu n'as encore aucun monde. Un jeu qui en garde un le crée à ton premier `/serveur créer`.")
	}
	var b strings.Builder
	fmt.Fprintf(&b, l.pick("**%d world(s):**\n", "**%d monde(s) :**\n"), len(worlds))
	for _, w := range worlds {
		fmt.Fprintf(&b, "- %s", worldLabel(w.World, title(w.Game)))
		if all {
			fmt.Fprintf(&b, " · %s", Mention(w.Owner))
		}
		state := l.WorldState(w.State)
		if w.State == spawner.WorldRunning && w.Address != "" {
			state += " " + w.Address
		}
		fmt.Fprintf(&b, " · %s", state)
		if w.Backups > 0 {
			fmt.Fprintf(&b, " · %s", l.Size(w.Size))
		}
		if w.LastPlayed.IsZero() {
			fmt.Fprintf(&b, " · %s", l.pick("never played", "jamais joué"))
		} else {
			fmt.Fprintf(&b, l.pick(" · last played %s", " · joué %s"), Timestamp(w.LastPlayed, spawner.TimeRelative))
		}
		switch w.Backups {
		case 0:
			fmt.Fprintf(&b, " · %s", l.pick("no backup", "aucune sauvegarde"))
		case 1:
			fmt.Fprintf(&b, " · %s", l.pick("1 backup", "1 sauvegarde"))
		default:
			fmt.Fprintf(&b, l.pick(" · %d backups", " · %d sauvegardes"), w.Backups)
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// WorldsOff answers a /world command when the bot keeps no world (no
// world storage is configured): a command registered by an earlier start.
func (l Lang) WorldsOff() string {
	return l.pick("This bot keeps no worlds: no world storage is configured.",
		"Ce bot ne garde pas de mondes : aucun stockage de mondes n'est configuré.")
}

// WorldsFailed says a world command failed for a reason the member cannot
// act on; the bot's log says why.
func (l Lang) WorldsFailed() string {
	return l.pick("❌ That did not work; nothing was changed. Try again in a moment, or ask an admin to look at the bot's log.",
		"❌ Ça n'a pas marché ; rien n'a été changé. Réessaie dans un moment, ou demande à un admin de regarder le journal du bot.")
}

// WorldBackedUp answers /world backup: the new backup.
func (l Lang) WorldBackedUp(w spawner.World, title string, b spawner.Backup) string {
	return fmt.Sprintf(l.pick("💾 World %s backed up: %s, %s of content. Download it with `/world download`.",
		"💾 Monde %s sauvegardé : %s, %s de contenu. Télécharge-le avec `/monde télécharger`."),
		worldLabel(w, title), l.Size(b.Size), l.Size(b.ContentSize))
}

// WorldBackupFailed answers a /world backup that failed: nothing older
// was removed.
func (l Lang) WorldBackupFailed(w spawner.World, title string) string {
	return fmt.Sprintf(l.pick("❌ World %s could not be backed up; its older backups are untouched. An admin can read why in the bot's log.",
		"❌ Le monde %s n'a pas pu être sauvegardé ; ses anciennes sauvegardes sont intactes. Un admin peut lire pourquoi dans le journal du bot."),
		worldLabel(w, title))
}

// WorldDownload answers /world download: the link to the backup's
// archive, when it stops working, and the archive's SHA-256 to check it.
func (l Lang) WorldDownload(w spawner.World, title string, b spawner.Backup, url string, expires time.Time) string {
	msg := fmt.Sprintf(l.pick("📦 Backup of world %s from %s (%s):\n%s\nThis link is yours and works until %s (%s); ask again for a new one.",
		"📦 Sauvegarde du monde %s du %s (%s) :\n%s\nCe lien est à toi et marche jusqu'à %s (%s) ; redemande-le pour en avoir un nouveau."),
		worldLabel(w, title), Timestamp(b.Time, spawner.TimeDateTime), l.Size(b.Size), spawner.LinkRef(url),
		Timestamp(expires, spawner.TimeOfDay), Timestamp(expires, spawner.TimeRelative))
	if b.SHA256 == "" {
		return msg
	}
	return msg + fmt.Sprintf(l.pick(" SHA-256: `%s`", " SHA-256 : `%s`"), b.SHA256)
}

// WorldDownloadShort is WorldDownload for a link too long to leave room
// for the rest: the link and when it stops working.
func (l Lang) WorldDownloadShort(url string, expires time.Time) string {
	return fmt.Sprintf(l.pick("%s\nWorks until %s.", "%s\nMarche jusqu'à %s."), spawner.LinkRef(url), Timestamp(expires, spawner.TimeOfDay))
}

// WorldRestoreButton is the label of the button that confirms a /world
// restore.
func (l Lang) WorldRestoreButton() string { return l.pick("Restore", "Restaurer") }

// WorldDeleteButton is the label of the button that confirms a /world
// delete: it says the deletion cannot be undone.
func (l Lang) WorldDeleteButton() string { return l.pick("Delete for good", "Supprimer pour de bon") }

// CancelButton is the label of the button that cancels a /world restore
// or delete: nothing is changed.
func (l Lang) CancelButton() string { return l.pick("Cancel", "Annuler") }

// WorldRestoreConfirm asks the member to confirm a restore of w to backup
// b before expires.
func (l Lang) WorldRestoreConfirm(w spawner.World, title string, b spawner.Backup, expires time.Time) string {
	return fmt.Sprintf(l.pick("Restore world %s to its backup from %s (%s, %s)? What it holds now is backed up first, so you can undo this. Confirm %s.",
		"Restaurer le monde %s à sa sauvegarde du %s (%s, %s) ? Ce qu'il contient maintenant est sauvegardé d'abord : tu pourras revenir en arrière. Confirme %s."),
		worldLabel(w, title), Timestamp(b.Time, spawner.TimeDateTime), l.Size(b.Size), l.BackupReason(b.Reason), Timestamp(expires, spawner.TimeRelative))
}

// WorldDeleteConfirm asks the member to confirm the deletion of w, with
// its backups, before expires; others names the owner when the member
// deletes someone else's world (an admin).
func (l Lang) WorldDeleteConfirm(w spawner.WorldInfo, title string, others bool, expires time.Time) string {
	whose := ""
	if others {
		whose = fmt.Sprintf(l.pick(" of %s", " de %s"), Mention(w.Owner))
	}
	return fmt.Sprintf(l.pick("Delete world %s%s with its %d backup(s)? This cannot be undone: download a backup first with `/world download` to keep a copy. Confirm %s.",
		"Supprimer le monde %s%s avec ses %d sauvegarde(s) ? C'est définitif : télécharge d'abord une sauvegarde avec `/monde télécharger` pour en garder une copie. Confirme %s."),
		worldLabel(w.World, title), whose, w.Backups, Timestamp(expires, spawner.TimeRelative))
}

// WorldRestoring replaces a confirmed restore's confirmation while it runs.
func (l Lang) WorldRestoring(w spawner.World, title string) string {
	return fmt.Sprintf(l.pick("⏳ Restoring world %s: its content is backed up first, then replaced. This can take a few minutes.",
		"⏳ Restauration du monde %s : son contenu est sauvegardé d'abord, puis remplacé. Cela peut prendre quelques minutes."), worldLabel(w, title)) //nolint:misspell // French: "Restauration" is the word
}

// WorldRestored says the restore is done; before is the backup of what the
// world held, which undoes it.
func (l Lang) WorldRestored(w spawner.World, title string, b, before spawner.Backup) string {
	return fmt.Sprintf(l.pick("✅ World %s restored to its backup from %s. What it held before is the backup from %s: restore that one to undo this.",
		"✅ Monde %s restauré à sa sauvegarde du %s. Ce qu'il contenait avant est la sauvegarde du %s : restaure-la pour revenir en arrière."),
		worldLabel(w, title), Timestamp(b.Time, spawner.TimeDateTime), Timestamp(before.Time, spawner.TimeDateTime))
}

// WorldRestoreFailed says a confirmed restore failed: the world holds what
// it held.
func (l Lang) WorldRestoreFailed(w spawner.World, title string) string {
	return fmt.Sprintf(l.pick("❌ World %s could not be restored; it holds what it held before. An admin can read why in the bot's log.",
		"❌ Le monde %s n'a pas pu être restauré ; il contient ce qu'il contenait avant. Un admin peut lire pourquoi dans le journal du bot."), worldLabel(w, title))
}

// WorldDeleting replaces a confirmed deletion's confirmation while it runs.
func (l Lang) WorldDeleting(w spawner.World, title string) string {
	return fmt.Sprintf(l.pick("⏳ Deleting world %s…", "⏳ Suppression du monde %s…"), worldLabel(w, title))
}

// WorldDeleted says the world and its backups are gone.
func (l Lang) WorldDeleted(w spawner.World, title string) string {
	return fmt.Sprintf(l.pick("🗑️ World %s deleted, with its backups.", "🗑️ Monde %s supprimé, avec ses sauvegardes."), worldLabel(w, title))
}

// WorldDeleteFailed says a confirmed deletion failed.
func (l Lang) WorldDeleteFailed(w spawner.World, title string) string {
	return fmt.Sprintf(l.pick("❌ World %s could not be deleted. An admin can read why in the bot's log.",
		"❌ Le monde %s n'a pas pu être supprimé. Un admin peut lire pourquoi dans le journal du bot."), worldLabel(w, title))
}

// ConfirmCancelled replaces a confirmation the member cancelled.
func (l Lang) ConfirmCancelled() string {
	return l.pick("Cancelled: nothing was changed.", "Annulé : rien n'a été changé.")
}

// ConfirmExpired replaces a confirmation clicked too late (or that the bot
// no longer knows, after a restart).
func (l Lang) ConfirmExpired() string {
	return l.pick("This confirmation has expired: nothing was changed. Run the command again.",
		"Cette confirmation a expiré : rien n'a été changé. Relance la commande.")
}

// ConfirmUsed answers a second click on a confirmation already answered.
func (l Lang) ConfirmUsed() string {
	return l.pick("This confirmation was already answered.", "Cette confirmation a déjà reçu une réponse.")
}

// ConfirmNotYours answers a click on someone else's confirmation.
func (l Lang) ConfirmNotYours() string {
	return l.pick("This confirmation is not yours.", "Cette confirmation n'est pas à toi.")
}
