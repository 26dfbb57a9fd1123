package discord

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// WorldControl is what /world and the world option of /server create need
// of the lifecycle. Each method acts for by, the member who asked (Admin:
// every world is theirs to act on). A request the rules refuse returns a
// *spawner.Refusal with one of the world codes (spawner.RefusedNoWorld for
// a world by may not act on, as for one that does not exist; ...), which
// the member reads in their language; any other error is a failure they
// are told of without its detail, and which the adapter logs.
//
// worldID is the id of a world Worlds returned; backupID the id of one of
// its backups Backups returned. The adapter finds them from what the member
// picked or typed, but a forged or stale id reaches these methods too: they
// check it.
type WorldControl interface {
	// Worlds returns the worlds by may act on: their own, or every world
	// for an admin. It is called for each keystroke of an autocomplete,
	// within Discord's 3 seconds: it reads records, not archives.
	Worlds(ctx context.Context, by spawner.Actor) ([]spawner.WorldInfo, error)
	// Backups returns the world's complete backups, newest first; none
	// for a world that has none.
	Backups(ctx context.Context, by spawner.Actor, worldID string) ([]spawner.Backup, error)
	// BackupNow takes a backup of the world now (reason manual), also of
	// a world whose server runs (its saveCommands first, its
	// resumeCommands after), and returns it. A backup that fails removes
	// no older one.
	BackupNow(ctx context.Context, by spawner.Actor, worldID string) (spawner.Backup, error)
	// DownloadLink returns a link that downloads the backup's archive,
	// and the moment it stops working (15 minutes from now).
	DownloadLink(ctx context.Context, by spawner.Actor, worldID, backupID string) (url string, expires time.Time, err error)
	// Restore replaces the world's content by the backup's, only while no
	// server of the world runs (else RefusedWorldRunning), after backing
	// the current content up; it returns that backup (reason
	// before-restore), which undoes the restore.
	Restore(ctx context.Context, by spawner.Actor, worldID, backupID string) (before spawner.Backup, err error)
	// Delete removes the world, its backups and the port it keeps.
	Delete(ctx context.Context, by spawner.Actor, worldID string) error
}

// ServeWorlds makes Open register /world and the world option of
// /server create, served by w. Call it before Open, only when the bot
// keeps worlds (a world storage is configured); without it neither is
// registered.
func (b *Bot) ServeWorlds(w WorldControl) { b.worlds = w }

// How long the work of a world command may take. A backup or a restore of
// a large world takes minutes; Discord lets the bot edit its answer for 15.
const (
	worldLookupTimeout = 30 * time.Second
	worldWorkTimeout   = 14 * time.Minute
	// autocompleteTimeout leaves room in Discord's 3 seconds for the answer.
	autocompleteTimeout = 2 * time.Second
	// confirmLife is how long the buttons of a restore or a deletion can
	// be clicked: long enough to read, short enough that the member still
	// means it.
	confirmLife = 5 * time.Minute
)

// worldCommand is /world (/monde) with list, backup, download, restore and
// delete.
func worldCommand() *discordgo.ApplicationCommand {
	no := false
	world := func(en, frDesc string) *discordgo.ApplicationCommandOption {
		return autocompleted("world", "monde", en, frDesc, true)
	}
	backup := func(required bool, en, frDesc string) *discordgo.ApplicationCommandOption {
		return autocompleted("backup", "sauvegarde", en, frDesc, required)
	}
	return &discordgo.ApplicationCommand{
		Name:                     "world",
		NameLocalizations:        fr("monde"),
		Description:              "Worlds kept from one server to the next",
		DescriptionLocalizations: fr("Mondes gardés d'un serveur au suivant"),
		DMPermission:             &no, //nolint:staticcheck // kept beside Contexts, which Discord now reads: the command registered stays as it was, guild-only in both fields
		Contexts:                 &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
		Options: []*discordgo.ApplicationCommandOption{
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", NameLocalizations: *fr("liste"),
				Description: "Your worlds (admins: every world)", DescriptionLocalizations: *fr("Tes mondes (admins : tous les mondes)"),
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "backup", NameLocalizations: *fr("sauvegarder"),
				Description: "Back a world up now", DescriptionLocalizations: *fr("Sauvegarder un monde maintenant"),
				Options: []*discordgo.ApplicationCommandOption{world("The world to back up", "Le monde à sauvegarder")},
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "download", NameLocalizations: *fr("télécharger"),
				Description: "A private link to a backup of a world", DescriptionLocalizations: *fr("Un lien privé vers une sauvegarde d'un monde"),
				Options: []*discordgo.ApplicationCommandOption{
					world("The world", "Le monde"),
					backup(false, "The backup (default: the newest)", "La sauvegarde (par défaut : la plus récente)"),
				},
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "restore", NameLocalizations: *fr("restaurer"),
				Description: "Put a backup back in place of a world's content", DescriptionLocalizations: *fr("Remettre une sauvegarde à la place du contenu d'un monde"),
				Options: []*discordgo.ApplicationCommandOption{
					world("The world to restore", "Le monde à restaurer"),
					backup(true, "The backup to put back", "La sauvegarde à remettre"),
				},
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "delete", NameLocalizations: *fr("supprimer"),
				Description: "Delete a world and its backups", DescriptionLocalizations: *fr("Supprimer un monde et ses sauvegardes"),
				Options: []*discordgo.ApplicationCommandOption{world("The world to delete", "Le monde à supprimer")},
			},
		},
	}
}

// createWorldOption is the world option of /server create.
func createWorldOption() *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionString, Name: "world", NameLocalizations: *fr("monde"),
		Description:              "Your world to play, for games that keep one (default: your last one)",
		DescriptionLocalizations: *fr("Ton monde à jouer, pour les jeux qui en gardent un (par défaut : le dernier)"),
		Autocomplete:             true,
	}
}

// withWorlds adds /world and the world option of /server create to cmds.
func withWorlds(cmds []*discordgo.ApplicationCommand) []*discordgo.ApplicationCommand {
	for _, c := range cmds {
		if c.Name != "server" {
			continue
		}
		for _, o := range c.Options {
			if o.Name == "create" {
				o.Options = append(o.Options, createWorldOption())
			}
		}
	}
	return append(cmds, worldCommand())
}

// createWorld is the world option of a /server create: "" when absent, or
// the refusal of a name that is not one.
func createWorld(sub *discordgo.ApplicationCommandInteractionDataOption) (string, *spawner.Refusal) {
	name, _ := option(sub.Options, "world")
	if name == "" {
		return "", nil
	}
	if spawner.ValidWorldName(name) != nil {
		return "", &spawner.Refusal{Code: spawner.RefusedWorldName, Name: cut(name, maxEcho)}
	}
	return name, nil
}

// onWorld serves /world: refusals at once, everything else after a
// deferred answer, since it reads the world storage.
func (b *Bot) onWorld(i *discordgo.Interaction, data discordgo.ApplicationCommandInteractionData) {
	sub := data.Options[0]
	lang := text.For(string(i.Locale))
	actor, refusal := b.who(i)
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		var choices []*discordgo.ApplicationCommandOptionChoice
		if refusal == nil && b.worlds != nil {
			choices = b.worldChoices(actor, lang, sub)
		}
		b.respond(i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: fitChoices(choices)},
		})
		return
	}
	switch {
	case refusal != nil:
		b.ephemeral(i, lang.Refusal(refusal))
		return
	case b.worlds == nil:
		b.ephemeral(i, lang.WorldsOff())
		return
	}
	b.rememberName(i)
	worldValue, _ := option(sub.Options, "world")
	backupValue, _ := option(sub.Options, "backup")
	switch sub.Name {
	case "list":
		b.later(i, worldLookupTimeout, func(ctx context.Context) string {
			worlds, err := b.visibleWorlds(ctx, actor)
			if err != nil {
				return render(b.worldFailure(lang, "list worlds", spawner.World{}, err))
			}
			// Whole lines, so no world is shown half.
			return fitLines(render(lang.WorldList(worlds, b.gameTitle, actor.Admin)))
		})
	case "backup":
		b.answerLater(i, worldWorkTimeout, func(ctx context.Context) string {
			w, err := b.findWorld(ctx, actor, worldValue)
			if err != nil {
				return b.worldFailure(lang, "find world", spawner.World{}, err)
			}
			backup, err := b.worlds.BackupNow(ctx, actor, w.ID)
			return b.worldOutcome(lang, "back up world", w.World, err,
				func() string { return lang.WorldBackupFailed(w.World, b.gameTitle(w.Game)) },
				func() string { return lang.WorldBackedUp(w.World, b.gameTitle(w.Game), backup) })
		})
	case "download":
		b.later(i, worldLookupTimeout, func(ctx context.Context) string {
			return b.download(ctx, actor, lang, worldValue, backupValue)
		})
	case "restore", "delete":
		b.confirm(i, actor, lang, sub.Name, worldValue, backupValue)
	}
}

// download is the answer to /world download, as Discord shows it: the
// link, or why not.
func (b *Bot) download(ctx context.Context, actor spawner.Actor, lang text.Lang, worldValue, backupValue string) string {
	w, err := b.findWorld(ctx, actor, worldValue)
	if err != nil {
		return render(b.worldFailure(lang, "find world", spawner.World{}, err))
	}
	backup, err := b.findBackup(ctx, actor, w, backupValue)
	if err != nil {
		return render(b.worldFailure(lang, "list backups", w.World, err))
	}
	url, expires, err := b.worlds.DownloadLink(ctx, actor, w.ID, backup.ID)
	if err != nil {
		return render(b.worldFailure(lang, "download link", w.World, err))
	}
	content := render(lang.WorldDownload(w.World, b.gameTitle(w.Game), backup, url, expires))
	if utf8.RuneCountInString(content) > maxContent {
		// A presigned link with a session token is long: the link is
		// what matters, never cut.
		content = render(lang.WorldDownloadShort(url, expires))
	}
	return content
}

// confirm answers /world restore and /world delete with a confirmation
// only the member who asked can click: a danger button that does it and
// a cancel button, which work for confirmLife.
func (b *Bot) confirm(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang, action, worldValue, backupValue string) {
	b.deferReply(i)
	b.spawn(worldLookupTimeout, func(ctx context.Context) {
		w, err := b.findWorld(ctx, actor, worldValue)
		if err != nil {
			b.editResponse(i, b.worldFailure(lang, "find world", spawner.World{}, err))
			return
		}
		title := b.gameTitle(w.Game)
		c := confirmation{action: action, user: actor.UserID, world: w, at: b.cfg.Now()}
		expires := c.at.Add(confirmLife)
		var content, label string
		switch action {
		case "restore":
			// Discord requires backup; an interaction without one (forged)
			// finds none rather than the newest.
			if c.backup, err = b.findBackup(ctx, actor, w, cmp.Or(backupValue, "-")); err != nil {
				b.editResponse(i, b.worldFailure(lang, "list backups", w.World, err))
				return
			}
			if w.State == spawner.WorldRunning {
				// The lifecycle refuses it too; saying so now spares a
				// confirmation that could only be refused.
				b.editResponse(i, lang.Refusal(&spawner.Refusal{Code: spawner.RefusedWorldRunning, Name: w.Name}))
				return
			}
			content, label = lang.WorldRestoreConfirm(w.World, title, c.backup, expires), lang.WorldRestoreButton()
		default:
			content, label = lang.WorldDeleteConfirm(w, title, w.Owner != actor.UserID, expires), lang.WorldDeleteButton()
		}
		id := b.confirms.add(c)
		b.editWithButtons(i, render(content), []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: label, Style: discordgo.DangerButton, CustomID: confirmPrefix + confirmYes + id},
			discordgo.Button{Label: lang.CancelButton(), Style: discordgo.SecondaryButton, CustomID: confirmPrefix + confirmNo + id},
		}}})
	})
}

// The custom ids of the confirmation buttons: "world:yes:<id>" and
// "world:no:<id>", id naming the confirmation in b.confirms.
const (
	confirmPrefix = "world:"
	confirmYes    = "yes:"
	confirmNo     = "no:"
)

// onClick serves a click on a button: a Wake button's (wake.go), or a
// confirmation's. The click on a confirmation is answered by updating the
// confirmation: its buttons go, and it says what became of it; a click
// that may not act is answered privately and leaves the confirmation as
// it is.
func (b *Bot) onClick(i *discordgo.Interaction) {
	customID := i.MessageComponentData().CustomID
	if worldID, ok := wakeTarget(customID); ok {
		b.onWakeClick(i, worldID)
		return
	}
	rest, ours := strings.CutPrefix(customID, confirmPrefix)
	if !ours {
		return
	}
	id, yes := strings.CutPrefix(rest, confirmYes)
	if !yes {
		id, _ = strings.CutPrefix(rest, confirmNo)
	}
	lang := text.For(string(i.Locale))
	actor, refusal := b.who(i)
	if refusal != nil {
		b.ephemeral(i, lang.Refusal(refusal))
		return
	}
	c, err := b.confirms.claim(id, actor.UserID, b.cfg.Now())
	switch {
	case errors.Is(err, errNotYours):
		b.ephemeral(i, lang.ConfirmNotYours())
		return
	case errors.Is(err, errAnswered):
		b.ephemeral(i, lang.ConfirmUsed())
		return
	case err != nil || b.worlds == nil: // expired, or unknown after a restart
		b.update(i, lang.ConfirmExpired())
		return
	case !yes:
		b.update(i, lang.ConfirmCancelled())
		return
	}
	b.rememberName(i)
	w, title := c.world, b.gameTitle(c.world.Game)
	// The member confirmed: the work runs even if this update is lost,
	// and its outcome replaces the confirmation.
	switch c.action {
	case "restore":
		b.update(i, lang.WorldRestoring(w.World, title))
		b.spawn(worldWorkTimeout, func(ctx context.Context) {
			before, err := b.worlds.Restore(ctx, actor, w.ID, c.backup.ID)
			b.editResponse(i, b.worldOutcome(lang, "restore world", w.World, err,
				func() string { return lang.WorldRestoreFailed(w.World, title) },
				func() string { return lang.WorldRestored(w.World, title, c.backup, before) }))
		})
	case "delete":
		b.update(i, lang.WorldDeleting(w.World, title))
		b.spawn(worldWorkTimeout, func(ctx context.Context) {
			err := b.worlds.Delete(ctx, actor, w.ID)
			b.editResponse(i, b.worldOutcome(lang, "delete world", w.World, err,
				func() string { return lang.WorldDeleteFailed(w.World, title) },
				func() string { return lang.WorldDeleted(w.World, title) }))
		})
	}
}

// worldOutcome is answer for an action on world w (its zero value when
// it is not known yet): the refusal, naming what the member reads
// (worldEcho), failed() when err is another error, which is logged as
// op, and done() when there is none.
func (b *Bot) worldOutcome(lang text.Lang, op string, w spawner.World, err error, failed, done func() string) string {
	var refusal *spawner.Refusal
	if err != nil && !errors.As(err, &refusal) {
		b.log.Error(op, "world", w.ID, "err", err)
	}
	if refusal != nil {
		echo := *refusal
		echo.Name = worldEcho(echo.Name, w)
		err = &echo
	}
	return answer(lang, err, failed, done)
}

// worldEcho is the name a refusal about world w carries as the member
// reads it. The lifecycle is given the world's id and names the world by
// it, an id the member never saw: they read the world's name instead
// (empty when the adapter does not know the world either, which the
// sentence then names by nothing). What the member typed is cut to an
// echo.
func worldEcho(name string, w spawner.World) string {
	if w.ID != "" && name == w.ID {
		name = w.Name
	}
	return cut(name, maxEcho)
}

// worldFailure is worldOutcome of an error (never nil) about world w (its
// zero value when it is not known yet) with the generic failure.
func (b *Bot) worldFailure(lang text.Lang, op string, w spawner.World, err error) string {
	return b.worldOutcome(lang, op, w, err, lang.WorldsFailed, lang.WorldsFailed)
}

// visibleWorlds is what Worlds returns that actor may see (the adapter
// checks it too: a member never reads another's world), most recently
// played first.
func (b *Bot) visibleWorlds(ctx context.Context, actor spawner.Actor) ([]spawner.WorldInfo, error) {
	all, err := b.worlds.Worlds(ctx, actor)
	if err != nil {
		return nil, err
	}
	worlds := make([]spawner.WorldInfo, 0, len(all))
	for _, w := range all {
		if actor.Admin || w.Owner == actor.UserID {
			worlds = append(worlds, w)
		}
	}
	slices.SortStableFunc(worlds, func(a, c spawner.WorldInfo) int {
		return cmp.Or(c.LastPlayed.Compare(a.LastPlayed), cmp.Compare(a.Name, c.Name), cmp.Compare(a.Game, c.Game))
	})
	return worlds, nil
}

// findWorld is the world value names: a world's id (what the choices
// give), else the name of one of actor's own worlds, else for an admin the
// name of one world of anyone's.
func (b *Bot) findWorld(ctx context.Context, actor spawner.Actor, value string) (spawner.WorldInfo, error) {
	worlds, err := b.visibleWorlds(ctx, actor)
	if err != nil {
		return spawner.WorldInfo{}, err
	}
	for _, w := range worlds {
		if w.ID == value {
			return w, nil
		}
	}
	named := func(own bool) []spawner.WorldInfo {
		var out []spawner.WorldInfo
		for _, w := range worlds {
			if w.Name == value && (!own || w.Owner == actor.UserID) {
				out = append(out, w)
			}
		}
		return out
	}
	found := named(true)
	if len(found) == 0 {
		found = named(false)
	}
	switch len(found) {
	case 0:
		return spawner.WorldInfo{}, &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: value}
	case 1:
		return found[0], nil
	}
	return spawner.WorldInfo{}, &spawner.Refusal{Code: spawner.RefusedWorldAmbiguous, Name: value}
}

// findBackup is the backup of w value names by its id, or its newest when
// value is empty.
func (b *Bot) findBackup(ctx context.Context, actor spawner.Actor, w spawner.WorldInfo, value string) (spawner.Backup, error) {
	backups, err := b.backups(ctx, actor, w.ID)
	if err != nil {
		return spawner.Backup{}, err
	}
	for _, bk := range backups {
		if value == "" || bk.ID == value {
			return bk, nil
		}
	}
	return spawner.Backup{}, &spawner.Refusal{Code: spawner.RefusedNoBackup, Name: value}
}

// backups is Backups newest first, whatever order it came in.
func (b *Bot) backups(ctx context.Context, actor spawner.Actor, worldID string) ([]spawner.Backup, error) {
	list, err := b.worlds.Backups(ctx, actor, worldID)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, c spawner.Backup) int { return cmp.Or(c.Time.Compare(a.Time), cmp.Compare(c.ID, a.ID)) })
	return list, nil
}

// gameTitle is how a world's game is shown: its title, or its name when
// it is no longer offered.
func (b *Bot) gameTitle(game string) string {
	for _, g := range b.fleet.Catalog() {
		if strings.EqualFold(g.Name, game) {
			return g.Title
		}
	}
	return game
}

// worldChoices completes the world and backup options of /world.
func (b *Bot) worldChoices(actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) []*discordgo.ApplicationCommandOptionChoice {
	ctx, cancel := context.WithTimeout(b.ctx, autocompleteTimeout)
	defer cancel()
	name, typed := focused(sub.Options)
	matches := typedMatch(typed)
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	switch name {
	case "world":
		worlds, err := b.visibleWorlds(ctx, actor)
		if err != nil {
			b.log.Warn("complete worlds", "err", err)
		}
		for _, w := range worlds {
			owner := ""
			if w.Owner != actor.UserID {
				owner = b.name(w.Owner)
			}
			label := lang.WorldChoice(w, b.gameTitle(w.Game), owner)
			if matches(label) {
				choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: label, Value: w.ID})
			}
		}
	case "backup":
		value, _ := option(sub.Options, "world")
		w, err := b.findWorld(ctx, actor, value)
		if err != nil {
			return choices // no world chosen yet, or none that is theirs
		}
		backups, err := b.backups(ctx, actor, w.ID)
		if err != nil {
			b.log.Warn("complete backups", "world", w.ID, "err", err)
		}
		for _, bk := range backups {
			if label := lang.BackupChoice(bk); matches(label + " " + bk.ID) {
				choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: label, Value: bk.ID})
			}
		}
	}
	return choices
}

// createWorldChoices completes the world option of /server create: the
// member's own worlds of the chosen game (an admin's too: the server will
// be theirs), and the name typed as a new world when it is a free one.
func (b *Bot) createWorldChoices(actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) []*discordgo.ApplicationCommandOptionChoice {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	if b.worlds == nil {
		return choices
	}
	ctx, cancel := context.WithTimeout(b.ctx, autocompleteTimeout)
	defer cancel()
	_, typed := focused(sub.Options)
	typed = strings.TrimSpace(typed)
	gameName, _ := option(sub.Options, "game")
	g, ok := b.fleet.Catalog().Lookup(gameName)
	if !ok {
		return choices
	}
	worlds, err := b.visibleWorlds(ctx, actor)
	if err != nil {
		b.log.Warn("complete worlds", "err", err)
	}
	matches := typedMatch(typed)
	taken := false
	for _, w := range worlds {
		if w.Owner != actor.UserID || !strings.EqualFold(w.Game, g.Name) {
			continue
		}
		taken = taken || w.Name == typed
		if label := lang.WorldChoice(w, g.Title, ""); matches(label) {
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: label, Value: w.Name})
		}
	}
	if typed != "" && !taken && spawner.ValidWorldName(typed) == nil {
		choices = append([]*discordgo.ApplicationCommandOptionChoice{{Name: lang.NewWorldChoice(typed), Value: typed}}, choices...)
	}
	return choices
}

// typedMatch reports whether a choice's label matches what the member
// typed so far: anywhere in it, in any case.
func typedMatch(typed string) func(label string) bool {
	typed = strings.ToLower(strings.TrimSpace(typed))
	return func(label string) bool { return typed == "" || strings.Contains(strings.ToLower(label), typed) }
}

// later is answerLater for work that returns its answer as Discord shows
// it (already rendered, fitted to a message).
func (b *Bot) later(i *discordgo.Interaction, timeout time.Duration, work func(ctx context.Context) string) {
	b.deferReply(i)
	b.spawn(timeout, func(ctx context.Context) { b.editRendered(i, work(ctx)) })
}

// spawn runs work on a worker Close waits for, under b's context bounded
// by timeout. The caller is a handler counted in b.workers (see enter).
func (b *Bot) spawn(timeout time.Duration, work func(ctx context.Context)) {
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		ctx, cancel := context.WithTimeout(b.ctx, timeout)
		defer cancel()
		work(ctx)
	}()
}

// update answers a click by replacing the clicked message with content, a
// sentence of package text, without its buttons.
func (b *Bot) update(i *discordgo.Interaction, content string) {
	b.respond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{
			Content: cut(render(content), maxContent), Components: []discordgo.MessageComponent{},
			AllowedMentions: &discordgo.MessageAllowedMentions{},
		},
	})
}

// editWithButtons replaces the answer to i with content, as Discord shows
// it, and buttons.
func (b *Bot) editWithButtons(i *discordgo.Interaction, content string, buttons []discordgo.MessageComponent) {
	content = cut(content, maxContent)
	if _, err := b.s.InteractionResponseEdit(i, &discordgo.WebhookEdit{
		Content: &content, Components: &buttons, AllowedMentions: &discordgo.MessageAllowedMentions{},
	}, discordgo.WithContext(b.ctx)); err != nil {
		b.failed("interaction edit")
		b.log.Warn("edit interaction answer", "interaction", i.ID, "err", redact(err, i.Token))
	}
}

// confirmation is a restore or a deletion a member asked for, waiting for
// their click.
type confirmation struct {
	action   string // "restore" or "delete"
	user     string // the member who asked: the only one whose click counts
	world    spawner.WorldInfo
	backup   spawner.Backup // the backup to restore
	at       time.Time      // when it was asked for
	answered bool
}

// Why a click on a confirmation does nothing.
var (
	errUnknown  = errors.New("no such confirmation")
	errExpired  = errors.New("confirmation expired")
	errNotYours = errors.New("another member's confirmation")
	errAnswered = errors.New("confirmation already answered")
)

// maxConfirmations bounds what the bot remembers of confirmations: the
// oldest go first, so a member repeating a command cannot grow it.
const maxConfirmations = 1000

// confirmations are the confirmations waiting for a click, by id. A
// confirmation is remembered past its life for as long again, so a late
// or repeated click is told what happened. The bot forgets them when it
// restarts: a click then is told the confirmation expired.
type confirmations struct {
	mu   sync.Mutex
	byID map[string]*confirmation
}

// add remembers c and returns its id, a random one no click can guess.
func (cs *confirmations) add(c confirmation) string {
	var raw [8]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	id := hex.EncodeToString(raw[:])
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.byID == nil {
		cs.byID = map[string]*confirmation{}
	}
	for k, old := range cs.byID {
		if c.at.Sub(old.at) > 2*confirmLife {
			delete(cs.byID, k)
		}
	}
	for len(cs.byID) >= maxConfirmations {
		var oldest string
		for k, old := range cs.byID {
			if oldest == "" || old.at.Before(cs.byID[oldest].at) {
				oldest = k
			}
		}
		delete(cs.byID, oldest)
	}
	cs.byID[id] = &c
	return id
}

// claim answers confirmation id for a click of user at now, once: it
// returns the confirmation the first time its member clicks within its
// life, and errUnknown, errExpired, errNotYours or errAnswered otherwise.
// A click of another member changes nothing.
func (cs *confirmations) claim(id, user string, now time.Time) (confirmation, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.byID[id]
	switch {
	case c == nil:
		return confirmation{}, errUnknown
	case c.user != user:
		return confirmation{}, errNotYours
	case c.answered:
		return confirmation{}, errAnswered
	case now.Sub(c.at) > confirmLife || now.Before(c.at.Add(-time.Minute)):
		return confirmation{}, errExpired
	}
	c.answered = true
	return *c, nil
}
