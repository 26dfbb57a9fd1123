package text

import (
	"fmt"
	"strings"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// GameAdminsOnly refuses /game to a member who is not an admin.
func (l Lang) GameAdminsOnly() string {
	return l.pick("Only admins can manage games.", "Seuls les admins peuvent gérer les jeux.")
}

// GameAdded answers a /game add that stored a new game.
func (l Lang) GameAdded(g spawner.Game) string {
	return fmt.Sprintf(l.pick("✅ Game **%s** (`%s`) added: it can be chosen in `/server create` now.",
		"✅ Jeu **%s** (`%s`) ajouté : il peut être choisi dans `/serveur créer` dès maintenant."), g.Title, g.Name)
}

// GameReplaced answers a /game add that replaced a game of the same name.
func (l Lang) GameReplaced(g spawner.Game) string {
	return fmt.Sprintf(l.pick("✅ Game **%s** (`%s`) replaced: new servers use the new template; servers already running keep their rules.",
		"✅ Jeu **%s** (`%s`) remplacé : les nouveaux serveurs utilisent le nouveau modèle ; ceux déjà lancés gardent leurs règles."), g.Title, g.Name)
}

// GameRemoved answers /game remove.
func (l Lang) GameRemoved(g spawner.Game) string {
	return fmt.Sprintf(l.pick("🗑️ Game **%s** (`%s`) removed; servers already running keep their rules until they stop.",
		"🗑️ Jeu **%s** (`%s`) retiré ; les serveurs déjà lancés gardent leurs règles jusqu'à leur arrêt."), g.Title, g.Name)
}

// GameProblems lists every problem of a refused template, one a line,
// each naming its key; nothing was stored.
func (l Lang) GameProblems(problems spawner.TemplateErrors) string {
	var b strings.Builder
	fmt.Fprintf(&b, l.pick("❌ The template was not added (%d problem(s)); nothing was stored:\n",
		"❌ Le modèle n'a pas été ajouté (%d problème(s)) ; rien n'a été enregistré :\n"), len(problems))
	for _, p := range problems {
		key := p.Key
		if key == "" {
			key = l.pick("template", "modèle")
		}
		fmt.Fprintf(&b, "- `%s`: %s\n", strings.ReplaceAll(key, "`", "'"), p.Problem)
	}
	return strings.TrimRight(b.String(), "\n")
}

// GameNoFile refuses a /game add without a usable attachment.
func (l Lang) GameNoFile() string {
	return l.pick("❌ Attach the game template as a JSON file in `file`.", "❌ Joins le modèle de jeu en fichier JSON dans `fichier`.")
}

// GameDownloadFailed says the attachment could not be read; nothing was stored.
func (l Lang) GameDownloadFailed(why string) string {
	return fmt.Sprintf(l.pick("❌ The file could not be read (%s); nothing was stored.", "❌ Le fichier n'a pas pu être lu (%s) ; rien n'a été enregistré."), why)
}

// GameTooLarge says the attachment is over the size limit; nothing was stored.
func (l Lang) GameTooLarge(limit int) string {
	return fmt.Sprintf(l.pick("❌ The file is larger than %d KiB; nothing was stored.", "❌ Le fichier dépasse %d Kio ; rien n'a été enregistré."), limit>>10)
}

// GameFailed says a valid template could not be checked or saved right
// now; nothing was stored.
func (l Lang) GameFailed() string {
	return l.pick("❌ The game could not be checked or saved right now; nothing was stored. Try again in a moment.",
		"❌ Le jeu n'a pas pu être vérifié ou enregistré pour l'instant ; rien n'a été enregistré. Réessaie dans un instant.")
}

// GameUnknown refuses /game show or remove of a name that is no stored game.
func (l Lang) GameUnknown(name string) string {
	return fmt.Sprintf(l.pick("❌ No stored game is named `%s` (the default game cannot be removed).",
		"❌ Aucun jeu enregistré ne s'appelle `%s` (le jeu par défaut ne peut pas être retiré)."), strings.ReplaceAll(name, "`", "'"))
}

// GameList is the answer to /game list: the default game, then the stored ones.
func (l Lang) GameList(c spawner.Catalog) string {
	var b strings.Builder
	fmt.Fprintf(&b, l.pick("**%d game(s):**\n", "**%d jeu(x) :**\n"), len(c))
	for i, g := range c {
		fmt.Fprintf(&b, "- **%s** (`%s`) · %s", g.Title, g.Name, protocolName(l, g.ProbeProtocol()))
		if len(g.Variants) > 0 {
			names := make([]string, len(g.Variants))
			for j, v := range g.Variants {
				names[j] = l.Variant(v.Name)
			}
			fmt.Fprintf(&b, " · %s %s", l.pick("variants:", "variantes :"), strings.Join(names, ", "))
		}
		if i == 0 {
			b.WriteString(l.pick(" · default, from the variables", " · par défaut, depuis les variables"))
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// GameShowHeader starts /game show, before the template in a code block.
func (l Lang) GameShowHeader(g spawner.Game) string {
	if len(g.Template) == 0 {
		return fmt.Sprintf(l.pick("**%s** (`%s`) is the default game, built from the variables; it has no template.",
			"**%s** (`%s`) est le jeu par défaut, construit depuis les variables ; il n'a pas de modèle."), g.Title, g.Name)
	}
	return fmt.Sprintf(l.pick("Template of **%s** (`%s`):", "Modèle de **%s** (`%s`) :"), g.Title, g.Name)
}

// PlayersNotCounted is said in the ready message of a game whose protocol
// cannot count players (tcp): no player watchdog applies.
func (l Lang) PlayersNotCounted() string {
	return l.pick("**Players:** players are not counted for this game; it stops only at its time limit.",
		"**Joueurs :** les joueurs ne sont pas comptés pour ce jeu ; il ne s'arrête qu'à sa durée maximale.")
}

// Players names how many players the last probe saw, or "" when the
// server's game does not count them (Server.Players < 0).
func (l Lang) Players(n int) string {
	if n < 0 {
		return ""
	}
	return fmt.Sprintf(l.pick("%d player(s)", "%d joueur(s)"), n)
}

// LogBadTemplate is the admin log line when a stored game template could
// not be read at start and is not offered; name is empty when even the
// template's name could not be read.
func (l Lang) LogBadTemplate(name, problem string) string {
	if name == "" {
		return fmt.Sprintf(l.pick("⚠️ Skipped a malformed game template: %s", "⚠️ Modèle de jeu malformé ignoré : %s"), problem)
	}
	return fmt.Sprintf(l.pick("⚠️ Skipped the malformed game template `%s`: %s", "⚠️ Modèle de jeu `%s` malformé ignoré : %s"), name, problem)
}

func protocolName(l Lang, p spawner.Protocol) string {
	switch p {
	case spawner.ProtocolA2S:
		return l.pick("players counted by Steam A2S", "joueurs comptés par Steam A2S")
	case spawner.ProtocolTCP:
		return l.pick("players not counted", "joueurs non comptés")
	default: // spawner.ProtocolMinecraft
		return l.pick("players counted by Server List Ping", "joueurs comptés par Server List Ping")
	}
}
