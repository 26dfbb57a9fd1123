package text

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// controlRefusal is Refusal for the codes of /server extend and /server op.
func (l Lang) controlRefusal(r *spawner.Refusal) string {
	switch r.Code {
	case spawner.RefusedExtendLimit:
		if r.Limit <= 0 {
			return l.pick("Members may not extend servers here. An admin can.", "Les membres ne peuvent pas prolonger de serveur ici. Un admin le peut.")
		}
		return fmt.Sprintf(l.pick("You already extended this server %d times, the most a member may. An admin can still extend it.",
			"Tu as déjà prolongé ce serveur %d fois, le maximum pour un membre. Un admin peut encore le prolonger."), r.Limit)
	case spawner.RefusedNotReady:
		return l.pick("That server is not ready yet. Try again once its ticket says it is ready.",
			"Ce serveur n'est pas encore prêt. Réessaie quand son salon dit qu'il est prêt.")
	case spawner.RefusedNoRCON:
		return l.pick("This server's game has no RCON console, so the bot cannot make anyone operator in it.",
			"Le jeu de ce serveur n'a pas de console RCON : le bot ne peut y rendre personne opérateur.")
	case spawner.RefusedPlayerName:
		return fmt.Sprintf(l.pick("%s is not a Minecraft player name: %s. Nothing was sent to the server.",
			"%s n'est pas un nom de joueur Minecraft : %s. Rien n'a été envoyé au serveur."), quoteName(r.Name), l.playerNameProblem(r.Name))
	}
	return l.worldRefusal(r)
}

// quoteName shows what a member typed as a player name, on one line.
func quoteName(name string) string {
	name = strings.NewReplacer("\n", `\n`, "\r", `\r`, "`", "'").Replace(name)
	if name == "" {
		return "``"
	}
	return "`" + name + "`"
}

// playerNameProblem names what is wrong with name by the rule of
// spawner.ValidPlayerName: 3 to 16 characters, ASCII letters, digits and _.
func (l Lang) playerNameProblem(name string) string {
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
			continue
		case c == ' ':
			return l.pick("it contains a space; only letters, digits and _ are allowed", "il contient une espace ; seuls les lettres, chiffres et _ sont permis")
		case c == '\n' || c == '\r':
			return l.pick("it contains a line break; only letters, digits and _ are allowed", "il contient un saut de ligne ; seuls les lettres, chiffres et _ sont permis")
		case c == utf8.RuneError || c < ' ' || c == '`':
			return l.pick("it contains a character that is not allowed; only letters, digits and _ are", "il contient un caractère interdit ; seuls les lettres, chiffres et _ sont permis")
		default:
			return fmt.Sprintf(l.pick("%q is not allowed; only letters, digits and _ are", "%q est interdit ; seuls les lettres, chiffres et _ sont permis"), string(c))
		}
	}
	if n := len(name); n < 3 {
		return l.pick("it is too short (3 characters at least)", "il est trop court (3 caractères au moins)")
	}
	return l.pick("it is too long (16 characters at most)", "il est trop long (16 caractères au plus)")
}

// Extended is the answer to /server extend: the new stop time and the
// extensions left (left < 0: an admin, who has no limit).
func (l Lang) Extended(s spawner.Server, stopAt time.Time, left int) string {
	msg := fmt.Sprintf(l.pick("⏰ Server %s extended: it now stops %s (%s).", "⏰ Serveur %s prolongé : il s'arrête maintenant %s (%s)."),
		l.ServerLabel(s), Timestamp(stopAt, spawner.TimeDateTime), Timestamp(stopAt, spawner.TimeRelative))
	switch {
	case left < 0:
		return msg + " " + l.pick("Admins may extend it again without limit.", "Les admins peuvent le prolonger encore sans limite.")
	case left == 0:
		return msg + " " + l.pick("That was its last extension.", "C'était sa dernière prolongation.")
	}
	return msg + " " + fmt.Sprintf(l.pick("Extensions left: %d.", "Prolongations restantes : %d."), left)
}

// ExtendFailed is the answer to /server extend when the new stop time
// could not be recorded; nothing changed.
func (l Lang) ExtendFailed() string {
	return l.pick("The server could not be extended right now (its record could not be saved). Nothing changed; try again in a moment.",
		"Le serveur n'a pas pu être prolongé pour l'instant (son enregistrement n'a pas pu être sauvegardé). Rien n'a changé ; réessaie dans un moment.")
}

// ExtendedTicket is said in the ticket channel: who extended the server
// and its new stop time.
func (l Lang) ExtendedTicket(by string, stopAt time.Time) string {
	return fmt.Sprintf(l.pick("⏰ %s extended the server: it now stops %s (%s).", "⏰ %s a prolongé le serveur : il s'arrête maintenant %s (%s)."),
		Mention(by), Timestamp(stopAt, spawner.TimeOfDay), Timestamp(stopAt, spawner.TimeRelative))
}

// StatusStopsAt is the note of the status message once the stop time moved.
func (l Lang) StatusStopsAt(stopAt time.Time) string {
	return fmt.Sprintf(l.pick("⏰ Stops %s (%s) · extended", "⏰ Arrêt %s (%s) · prolongé"), Timestamp(stopAt, spawner.TimeOfDay), Timestamp(stopAt, spawner.TimeRelative))
}

// LogExtended: a server's stop time moved.
func (l Lang) LogExtended(s spawner.Server, by string, stopAt time.Time) string {
	return fmt.Sprintf(l.pick("⏰ Server of %s extended by %s until %s · task `%s`", "⏰ Serveur de %s prolongé par %s jusqu'à %s · tâche `%s`"),
		Mention(s.Owner), Mention(by), Timestamp(stopAt, spawner.TimeDateTime), s.ShortTaskID())
}

// maxReply bounds what the answer to /server op repeats of the game's reply.
const maxReply = 1500

// OpDone is the answer to /server op: what the game replied to "op <player>".
func (l Lang) OpDone(s spawner.Server, player, reply string) string {
	reply = cleanReply(reply)
	if reply == "" {
		reply = l.pick("(no reply)", "(pas de réponse)")
	}
	return fmt.Sprintf(l.pick("Ran `op %s` on %s. The server replied:\n```\n%s\n```", "`op %s` lancé sur %s. Le serveur a répondu :\n```\n%s\n```"),
		player, l.ServerLabel(s), reply)
}

// cleanReply makes a game's reply safe to show in a code block: no
// Minecraft colour codes, no backticks that would close it, not too long.
func cleanReply(s string) string {
	var b strings.Builder
	skip := false
	for _, c := range s {
		switch {
		case skip:
			skip = false
		case c == '§':
			skip = true
		case c == '`':
			b.WriteRune('\'')
		case c == utf8.RuneError:
		default:
			b.WriteRune(c)
		}
	}
	out := strings.TrimSpace(b.String())
	if utf8.RuneCountInString(out) > maxReply {
		r := []rune(out)
		out = string(r[:maxReply-1]) + "…"
	}
	return out
}

// OpFailed is the answer to /server op when the RCON command could not
// run: the password refused (auth), or the game's console unreachable.
func (l Lang) OpFailed(auth bool) string {
	if auth {
		return l.pick("The game refused the bot's RCON password: its RCON is not set up from the password the bot passed it. An admin should check the game's template (`rcon.passwordEnv`).",
			"Le jeu a refusé le mot de passe RCON du bot : sa console RCON n'utilise pas le mot de passe que le bot lui a passé. Un admin doit vérifier le modèle du jeu (`rcon.passwordEnv`).")
	}
	return l.pick("The game's RCON console did not answer; the server may still be starting it. Try again in a moment.",
		"La console RCON du jeu n'a pas répondu ; le serveur est peut-être encore en train de la lancer. Réessaie dans un moment.")
}
