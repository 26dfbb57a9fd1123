// Package text holds every sentence the bot says to people, in English and
// French, so wording lives in one place and never in the middle of an
// adapter's code. Functions take a Lang chosen from a member's locale. A
// sentence refers to members, channels, moments and pages through the
// domain's references (Mention, ChannelLink, Timestamp, spawner.LinkRef),
// which the chat adapter renders: no sentence carries a chat's markup.
package text

import (
	"fmt"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Lang is a language the bot speaks.
type Lang int

// The languages the bot speaks: every sentence of this package has both.
const (
	En Lang = iota
	Fr
)

// For picks the language for a member's locale ("fr", "en-US", ...); English
// when there is no translation.
func For(locale string) Lang {
	if strings.HasPrefix(strings.ToLower(locale), "fr") {
		return Fr
	}
	return En
}

func (l Lang) pick(en, fr string) string {
	if l == Fr {
		return fr
	}
	return en
}

// Mention refers to a member; the chat adapter renders the mention.
func Mention(userID string) string { return spawner.UserRef(userID) }

// ChannelLink refers to a channel; the chat adapter renders a link to it.
func ChannelLink(channelID string) string { return spawner.ChannelRef(channelID) }

// Timestamp refers to the moment t, shown in style; the chat adapter
// renders it in each reader's time zone and language.
func Timestamp(t time.Time, style spawner.TimeStyle) string { return spawner.TimeRef(t, style) }

// Variant is how a variant is shown.
func (l Lang) Variant(name string) string {
	switch name {
	case "": // a game without variants
		return l.pick("standard", "standard")
	case "official":
		return l.pick("official", "officiel")
	case "non_official":
		return l.pick("non-official", "non officiel")
	}
	return name
}

// Refusal is the ephemeral answer to a refused request.
func (l Lang) Refusal(r *spawner.Refusal) string {
	switch r.Code {
	case spawner.RefusedNoRole:
		return l.pick("You don't have a role that allows this.", "Tu n'as pas de rôle qui permet cela.")
	case spawner.RefusedElsewhere:
		return l.pick("This command only works in the community's server.", "Cette commande ne marche que sur le serveur de la communauté.")
	case spawner.RefusedBusy:
		return l.pick("You already have a server running or being created. Stop it first with `/server stop`.",
			"Tu as déjà un serveur lancé ou en cours de création. Arrête-le d'abord avec `/serveur arrêter`.")
	case spawner.RefusedCap:
		return fmt.Sprintf(l.pick("All %d server slots are taken. Try again when one is free.",
			"Les %d places de serveurs sont prises. Réessaie quand une se libère."), r.Limit)
	case spawner.RefusedUnknownGame:
		return fmt.Sprintf(l.pick("There is no game called %q.", "Il n'y a pas de jeu nommé %q."), r.Name)
	case spawner.RefusedUnknownVariant:
		return fmt.Sprintf(l.pick("There is no variant called %q for this game.", "Il n'y a pas de variante nommée %q pour ce jeu."), r.Name)
	case spawner.RefusedNoServer:
		return l.pick("That server doesn't exist (any more). Pick one from the list.", "Ce serveur n'existe pas (ou plus). Choisis-en un dans la liste.")
	case spawner.RefusedNotOwner:
		return l.pick("That server isn't yours.", "Ce serveur n'est pas à toi.")
	case spawner.RefusedStopping:
		return l.pick("That server is already being stopped.", "Ce serveur est déjà en train de s'arrêter.")
	case spawner.RefusedShuttingDown:
		return l.pick("The bot is restarting. Try again in a minute.", "Le bot redémarre. Réessaie dans une minute.")
	case spawner.RefusedCategoryFull:
		return l.pick("The ticket category is full: no channel can be made for a new server. Nothing was started; try again when a server has ended.",
			"La catégorie des tickets est pleine : aucun salon ne peut être créé pour un nouveau serveur. Rien n'a été lancé ; réessaie quand un serveur sera terminé.")
	case spawner.RefusedCooldown:
		return fmt.Sprintf(l.pick("You created a server a moment ago. You can create another %s.",
			"Tu as créé un serveur il y a peu. Tu pourras en créer un autre %s."), Timestamp(r.Until, spawner.TimeRelative))
	case spawner.RefusedNotMember:
		// Told outside any interaction (a wake of an asleep world), to
		// whoever asked for it, who may not be the member.
		return l.pick("The owner is no longer a member of the community's Discord server.",
			"Le propriétaire n'est plus membre du serveur Discord de la communauté.")
	default: // the codes of /server extend and op, and of worlds
		return l.controlRefusal(r)
	}
}

// CreationStarted is the member's ephemeral answer once the ticket channel exists.
func (l Lang) CreationStarted(channelID string) string {
	return fmt.Sprintf(l.pick("Your server is being created. Follow it in %s.", "Ton serveur est en cours de création. Suis-le dans %s."), ChannelLink(channelID))
}

// CreationFailed is the member's ephemeral answer when the creation failed.
func (l Lang) CreationFailed(why string) string {
	return fmt.Sprintf(l.pick("Your server could not be created: %s. Nothing is left running; you can try again.",
		"Ton serveur n'a pas pu être créé : %s. Rien n'est resté lancé ; tu peux réessayer."), why)
}

// Stopped is the answer to /server stop once the server is stopped. A
// server stopped before it had an address is named by its game and
// variant, never by the step it was at.
func (l Lang) Stopped(s spawner.Server) string {
	label := l.ServerLabel(s)
	if s.HostPort() == "" {
		label = fmt.Sprintf("%s (%s)", s.Game, l.Variant(s.Variant))
	}
	return fmt.Sprintf(l.pick("Server %s stopped.", "Serveur %s arrêté."), label)
}

// CreationStopped replaces the member's ephemeral answer when their server
// was stopped while it was being created (its ticket channel is going).
// A member who stopped it themselves may create another once their
// cooldown is over (until; zero: at once), and is told when.
func (l Lang) CreationStopped(until time.Time) string {
	if !until.IsZero() {
		return fmt.Sprintf(l.pick("The creation of your server was stopped. Nothing is left running; you can create another %s.",
			"La création de ton serveur a été arrêtée. Rien n'est resté lancé ; tu pourras en créer un autre %s."), Timestamp(until, spawner.TimeRelative))
	}
	return l.pick("The creation of your server was stopped. Nothing is left running; you can create another.",
		"La création de ton serveur a été arrêtée. Rien n'est resté lancé ; tu peux en créer un autre.")
}

// StopFailed is the answer to /server stop when the runtime would not stop it yet.
func (l Lang) StopFailed() string {
	return l.pick("The server could not be stopped right now; the bot keeps trying and will say so in the log channel.",
		"Le serveur n'a pas pu être arrêté pour l'instant ; le bot réessaie et le dira dans le salon de logs.")
}

// ServerLabel names a server in one line: address or state, variant, owner id not included.
func (l Lang) ServerLabel(s spawner.Server) string {
	where := s.HostPort()
	if where == "" {
		where = l.State(s.State)
	}
	return fmt.Sprintf("%s (%s)", where, l.Variant(s.Variant))
}

// Choice is the autocomplete label of a server (at most 100 characters).
func (l Lang) Choice(s spawner.Server, ownerName string, now time.Time) string {
	state := l.State(s.State)
	if p := l.Players(s.Players); p != "" && s.State == spawner.StateReady {
		state += " · " + p
	}
	label := fmt.Sprintf("%s · %s · %s · %s", l.ServerLabel(s), ownerName, state, age(l, now.Sub(s.CreatedAt)))
	if len(label) > 100 {
		label = label[:100]
	}
	return label
}

func age(l Lang, d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m < 60 {
		return fmt.Sprintf(l.pick("%d min", "%d min"), m)
	}
	return fmt.Sprintf("%dh%02d", m/60, m%60)
}

// List is the answer to /server list.
func (l Lang) List(servers []spawner.Server, stopAt func(spawner.Server) time.Time, all bool) string {
	if len(servers) == 0 {
		if all {
			return l.pick("No server is running.", "Aucun serveur ne tourne.")
		}
		return l.pick("You have no server running. Start one with `/server create`.", "Tu n'as aucun serveur lancé. Lances-en un avec `/serveur créer`.")
	}
	var b strings.Builder
	fmt.Fprintf(&b, l.pick("**%d server(s):**\n", "**%d serveur(s) :**\n"), len(servers))
	for _, s := range servers {
		fmt.Fprintf(&b, "- %s · %s · %s %s · %s",
			l.ServerLabel(s), Mention(s.Owner), l.pick("stops", "arrêt"), Timestamp(stopAt(s), spawner.TimeRelative), ChannelLink(s.ChannelID))
		if s.State != spawner.StateReady {
			fmt.Fprintf(&b, " · %s", l.State(s.State))
		} else if p := l.Players(s.Players); p != "" {
			fmt.Fprintf(&b, " · %s", p)
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// State names a lifecycle state.
func (l Lang) State(s spawner.State) string {
	switch s {
	case spawner.StateRequested:
		return l.pick("requested", "demandé")
	case spawner.StateProvisioning:
		return l.pick("provisioning", "allocation")
	case spawner.StatePending:
		return l.pick("pending", "en attente")
	case spawner.StateRunning:
		return l.pick("running", "lancé")
	case spawner.StateBooting:
		return l.pick("booting", "démarrage du jeu")
	case spawner.StateReady, "":
		return l.pick("ready", "prêt")
	case spawner.StateStopping:
		return l.pick("stopping", "arrêt en cours")
	case spawner.StateStopped:
		return l.pick("stopped", "arrêté")
	}
	return string(s)
}

// Status is the ticket channel's status message, edited in place at each step.
// note, when not empty, is shown under the steps (the address, a failure).
func (l Lang) Status(g spawner.Game, s spawner.Server, note string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "🎮 **%s** · %s · %s %s\n", g.Title, l.Variant(s.Variant), l.pick("for", "pour"), Mention(s.Owner))
	current := s.State.Rank()
	ended := s.State == spawner.StateStopping || s.State == spawner.StateStopped
	if ended {
		current = s.Reached().Rank()
	}
	for i, st := range spawner.Steps() {
		mark := "▫️"
		switch {
		case i < current || (i == current && (st == spawner.StateReady || ended)):
			mark = "✅"
		case i == current:
			mark = "⏳"
		}
		label := l.State(st)
		if st == spawner.StateRunning && s.HostPort() != "" && i <= current {
			label += " · `" + s.HostPort() + "`"
		}
		fmt.Fprintf(&b, "%s %s\n", mark, label)
	}
	switch s.State {
	case spawner.StateStopping:
		b.WriteString("⏹️ " + l.State(s.State) + "\n")
	case spawner.StateStopped:
		b.WriteString("⏹️ " + l.State(s.State) + "\n")
	default: // a step of the creation: marked in the list above
	}
	if note != "" {
		b.WriteString(note + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// Ready is the message that tells the owner their server is up.
func (l Lang) Ready(g spawner.Game, s spawner.Server, stopAt time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, l.pick("%s your server is ready! 🎉\n", "%s ton serveur est prêt ! 🎉\n"), Mention(s.Owner))
	fmt.Fprintf(&b, l.pick("**Address:** `%s`\n", "**Adresse :** `%s`\n"), s.HostPort())
	if g.Version != "" {
		fmt.Fprintf(&b, l.pick("**Version:** %s\n", "**Version :** %s\n"), g.Version)
	}
	fmt.Fprintf(&b, l.pick("**Variant:** %s\n", "**Variante :** %s\n"), l.Variant(s.Variant))
	if !g.ProbeProtocol().CountsPlayers() {
		b.WriteString(l.PlayersNotCounted() + "\n")
	} else {
		fmt.Fprintf(&b, l.pick("**Players online:** %d\n", "**Joueurs en ligne :** %d\n"), max(s.Players, 0))
	}
	if g.MinPlayers > 0 && g.ProbeProtocol().CountsPlayers() {
		fmt.Fprintf(&b, l.pick("**Minimum players:** %d (checked every %s; after %d warnings with fewer, the server stops)\n",
			"**Joueurs minimum :** %d (vérifié toutes les %s ; après %d avertissements, le serveur s'arrête)\n"),
			g.MinPlayers, Duration(g.CheckInterval), g.WarningCount)
	}
	fmt.Fprintf(&b, l.pick("**Stops:** %s (%s)\n", "**Arrêt :** %s (%s)\n"), Timestamp(stopAt, spawner.TimeOfDay), Timestamp(stopAt, spawner.TimeRelative))
	if s.Token != "" {
		if g.AdminCommand != "" {
			fmt.Fprintf(&b, l.pick("**Admin:** type `%s` in the game to become operator.\n", "**Admin :** tape `%s` dans le jeu pour devenir opérateur.\n"),
				strings.ReplaceAll(g.AdminCommand, "{token}", s.Token))
		} else {
			fmt.Fprintf(&b, l.pick("**Admin token:** `%s`\n", "**Jeton admin :** `%s`\n"), s.Token)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Duration renders a duration for people: "5 min", "1h30", "45 s".
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.String()
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	}
	m := int(d.Round(time.Minute) / time.Minute)
	if m%60 == 0 {
		return fmt.Sprintf("%dh", m/60)
	}
	return fmt.Sprintf("%dh%02d", m/60, m%60)
}

// PlayerWarning is warning k of n: too few players (or no answer).
func (l Lang) PlayerWarning(owner string, k, n, seen, needed int, answered bool, next time.Time) string {
	var found string
	if answered {
		found = fmt.Sprintf(l.pick("%d player(s) online, %d needed", "%d joueur(s) en ligne, %d requis"), seen, needed)
	} else {
		found = l.pick("the server did not answer the player count check", "le serveur n'a pas répondu à la vérification des joueurs")
	}
	if k == n {
		return fmt.Sprintf(l.pick("⚠️ %s warning **%d/%d**: %s. Last warning: if there are still too few players at the next check (%s), the server stops.",
			"⚠️ %s avertissement **%d/%d** : %s. Dernier avertissement : s'il y a encore trop peu de joueurs à la prochaine vérification (%s), le serveur s'arrête."),
			Mention(owner), k, n, found, Timestamp(next, spawner.TimeRelative))
	}
	return fmt.Sprintf(l.pick("⚠️ %s warning **%d/%d**: %s. Next check %s.",
		"⚠️ %s avertissement **%d/%d** : %s. Prochaine vérification %s."), Mention(owner), k, n, found, Timestamp(next, spawner.TimeRelative))
}

// PlayersBack says the count is back at the minimum and the warnings are reset.
func (l Lang) PlayersBack(seen int) string {
	return fmt.Sprintf(l.pick("✅ %d players online: warnings reset.", "✅ %d joueurs en ligne : avertissements remis à zéro."), seen)
}

// RuntimeWarning warns the owner the server reaches its maximum duration soon.
func (l Lang) RuntimeWarning(owner string, stopAt time.Time) string {
	return fmt.Sprintf(l.pick("⏰ %s this server reaches its maximum duration and stops %s (%s).",
		"⏰ %s ce serveur atteint sa durée maximale et s'arrête %s (%s)."), Mention(owner), Timestamp(stopAt, spawner.TimeRelative), Timestamp(stopAt, spawner.TimeOfDay))
}

// Failure reasons, shown to the owner after "could not be created: ".

// FailChannel is the reason when the ticket channel could not be made.
func (l Lang) FailChannel() string {
	return l.pick("the ticket channel could not be created", "le salon de suivi n'a pas pu être créé")
}

// FailRecord is the reason when the server could not be written to the
// table.
func (l Lang) FailRecord() string {
	return l.pick("the server could not be recorded", "le serveur n'a pas pu être enregistré")
}

// FailRun is the reason when the runtime refused to run the server, with
// the runtime's own reason when it gave one.
func (l Lang) FailRun(reason string) string {
	if reason == "" {
		return l.pick("it could not be started", "il n'a pas pu être lancé")
	}
	return fmt.Sprintf(l.pick("it could not be started (%s)", "il n'a pas pu être lancé (%s)"), reason)
}

// FailNotRunning is the reason when the task did not reach RUNNING within
// d.
func (l Lang) FailNotRunning(d time.Duration) string {
	return fmt.Sprintf(l.pick("it did not start within %s", "il n'a pas démarré en %s"), Duration(d))
}

// FailNotReady is the reason when the game did not answer a ping within d
// of starting.
func (l Lang) FailNotReady(d time.Duration) string {
	return fmt.Sprintf(l.pick("the game did not answer within %s of starting", "le jeu n'a pas répondu dans les %s après le démarrage"), Duration(d))
}

// FailTaskEnded is the reason when the task stopped on its own, with the
// runtime's reason and the exit code when known.
func (l Lang) FailTaskEnded(t spawner.Task) string {
	reason := t.StoppedReason
	if reason == "" {
		reason = l.pick("no reason given", "sans raison donnée")
	}
	if t.ExitCode != nil {
		return fmt.Sprintf(l.pick("the server stopped on its own (%s, exit code %d)", "le serveur s'est arrêté tout seul (%s, code de sortie %d)"), reason, *t.ExitCode)
	}
	return fmt.Sprintf(l.pick("the server stopped on its own (%s)", "le serveur s'est arrêté tout seul (%s)"), reason)
}

// FailNoPublicIP is the reason when the task runs but has no public address. The sentence
// names what to check on AWS, the only runtime where that can happen.
func (l Lang) FailNoPublicIP() string {
	return l.pick("running, but AWS gave it no public address: check the subnets' public IP setting or ECS_ASSIGN_PUBLIC_IP",
		"lancé, mais AWS ne lui a donné aucune adresse publique : vérifie le réglage d'IP publique des sous-réseaux ou ECS_ASSIGN_PUBLIC_IP")
}

// FailInternal is the reason for anything else (the chat or the runtime
// unreachable): nothing the member can act on.
func (l Lang) FailInternal() string {
	return l.pick("an error occurred on the bot's side", "une erreur s'est produite du côté du bot")
}

// Ended is the last message in the ticket channel: why the server stopped.
// It mentions owner (so they are pinged) unless they stopped it themselves.
func (l Lang) Ended(owner string, cause spawner.StopCause, by string, detail string, closeIn time.Duration) string {
	var why string
	switch cause {
	case spawner.CauseCommand:
		why = fmt.Sprintf(l.pick("Server stopped by %s.", "Serveur arrêté par %s."), Mention(by))
	case spawner.CauseRuntime:
		why = l.pick("Server stopped: it reached its maximum duration.", "Serveur arrêté : il a atteint sa durée maximale.")
	case spawner.CausePlayers:
		why = l.pick("Server stopped: too few players after the last warning.", "Serveur arrêté : trop peu de joueurs après le dernier avertissement.")
	case spawner.CauseTaskEnded, spawner.CauseRecordGone:
		why = l.pick("Server gone: ", "Serveur disparu : ") + detail + "."
	case spawner.CauseRestart:
		why = l.pick("The creation was interrupted by a bot restart before the server started. Nothing is running; you can try again.",
			"La création a été interrompue par un redémarrage du bot avant le lancement du serveur. Rien ne tourne ; tu peux réessayer.")
	default:
		why = l.pick("The server could not be created: ", "Le serveur n'a pas pu être créé : ") + detail + l.pick(". Nothing is left running; you can try again.", ". Rien n'est resté lancé ; tu peux réessayer.")
	}
	if closeIn > 0 {
		why += " " + fmt.Sprintf(l.pick("This channel closes in %s.", "Ce salon se ferme dans %s."), Duration(closeIn))
	}
	if owner != "" && !(cause == spawner.CauseCommand && by == owner) {
		why = Mention(owner) + " " + why
	}
	return "⏹️ " + why
}

// Log lines for the admin log channel.

// LogCreated is the admin log line when a member asked for a server.
func (l Lang) LogCreated(s spawner.Server) string {
	return fmt.Sprintf(l.pick("🟢 %s requested a %s server · %s", "🟢 %s a demandé un serveur %s · %s"), Mention(s.Owner), l.Variant(s.Variant), ChannelLink(s.ChannelID))
}

// LogReady is the admin log line when a server is ready, with its address
// and task.
func (l Lang) LogReady(s spawner.Server) string {
	return fmt.Sprintf(l.pick("✅ Server `%s` of %s is ready · task `%s`", "✅ Le serveur `%s` de %s est prêt · tâche `%s`"), s.HostPort(), Mention(s.Owner), s.ShortTaskID())
}

// LogStopped is the admin log line when a server stopped or its creation
// failed: by whom or why, and its task.
func (l Lang) LogStopped(s spawner.Server, cause spawner.StopCause, by, detail string) string {
	who := Mention(s.Owner)
	task := s.ShortTaskID()
	if task == "" {
		task = "—"
	}
	switch cause {
	case spawner.CauseCommand:
		return fmt.Sprintf(l.pick("⏹️ Server of %s stopped by %s · task `%s`", "⏹️ Serveur de %s arrêté par %s · tâche `%s`"), who, Mention(by), task)
	case spawner.CauseRuntime:
		return fmt.Sprintf(l.pick("⏹️ Server of %s stopped: maximum duration reached · task `%s`", "⏹️ Serveur de %s arrêté : durée maximale atteinte · tâche `%s`"), who, task)
	case spawner.CausePlayers:
		return fmt.Sprintf(l.pick("⏹️ Server of %s stopped: too few players · task `%s`", "⏹️ Serveur de %s arrêté : trop peu de joueurs · tâche `%s`"), who, task)
	case spawner.CauseOrphan:
		return fmt.Sprintf(l.pick("🧹 Stopped task `%s`: started by the bot but not in the table", "🧹 Tâche `%s` arrêtée : lancée par le bot mais absente de la table"), task)
	case spawner.CauseTaskEnded, spawner.CauseRecordGone:
		return fmt.Sprintf(l.pick("❌ Server of %s gone: %s · task `%s`", "❌ Serveur de %s disparu : %s · tâche `%s`"), who, detail, task)
	case spawner.CauseRestart:
		return fmt.Sprintf(l.pick("🧹 Creation for %s interrupted by a restart before its task started; cleaned up", "🧹 Création pour %s interrompue par un redémarrage avant le lancement de sa tâche ; nettoyée"), who)
	default: // a creation that failed
		return fmt.Sprintf(l.pick("❌ Creation for %s failed: %s · task `%s`", "❌ Échec de la création pour %s : %s · tâche `%s`"), who, detail, task)
	}
}

// LogStopRetry is the admin log line when a task could not be stopped yet
// and the stop will be retried; err is the runtime's error, shown as is.
func (l Lang) LogStopRetry(s spawner.Server, err string) string {
	return fmt.Sprintf(l.pick("⚠️ Could not stop task `%s` of %s yet (%s); retrying.", "⚠️ Impossible d'arrêter la tâche `%s` de %s pour l'instant (%s) ; nouvel essai."), s.ShortTaskID(), Mention(s.Owner), err)
}

// LogBadRecord is the admin log line when a malformed table item was
// skipped at start.
func (l Lang) LogBadRecord(problem string) string {
	return fmt.Sprintf(l.pick("⚠️ Skipped a malformed table item: %s", "⚠️ Élément de table malformé ignoré : %s"), problem)
}
