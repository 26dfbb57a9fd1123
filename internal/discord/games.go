package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// GameManager is what /game needs of the lifecycle; the Fleet given to
// Open serves /game when it also satisfies it (lifecycle.Manager does).
type GameManager interface {
	// AddGame validates and stores a template; see lifecycle.Manager.AddGame.
	AddGame(ctx context.Context, by spawner.Actor, data []byte) (replaced bool, err error)
	// RemoveGame deletes a stored template; see lifecycle.Manager.RemoveGame.
	RemoveGame(ctx context.Context, by spawner.Actor, name string) (spawner.Game, error)
}

// Downloading an attachment: Discord's CDN answers in well under a second;
// the limit keeps a slow or endless answer from holding a worker.
const downloadTimeout = 10 * time.Second

// autocompleted is a string option completed as the member types, named
// name (nameFR in French) and described by desc (descFR).
func autocompleted(name, nameFR, desc, descFR string, required bool) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionString, Name: name, NameLocalizations: *fr(nameFR),
		Description: desc, DescriptionLocalizations: *fr(descFR), Required: required, Autocomplete: true,
	}
}

// gameCommand is /game (/jeu) with add, list, show and remove.
func gameCommand() *discordgo.ApplicationCommand {
	no := false
	gameOption := func(desc, descFR string) *discordgo.ApplicationCommandOption {
		return autocompleted("game", "jeu", desc, descFR, true)
	}
	return &discordgo.ApplicationCommand{
		Name:                     "game",
		NameLocalizations:        fr("jeu"),
		Description:              "Games offered by the bot (admins)",
		DescriptionLocalizations: fr("Jeux proposés par le bot (admins)"),
		DMPermission:             &no, //nolint:staticcheck // kept beside Contexts, which Discord now reads: the command registered stays as it was, guild-only in both fields
		Contexts:                 &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
		Options: []*discordgo.ApplicationCommandOption{
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "add", NameLocalizations: *fr("ajouter"),
				Description: "Add or replace a game from a JSON template", DescriptionLocalizations: *fr("Ajouter ou remplacer un jeu depuis un modèle JSON"),
				Options: []*discordgo.ApplicationCommandOption{{
					Type: discordgo.ApplicationCommandOptionAttachment, Name: "file", NameLocalizations: *fr("fichier"),
					Description: "The game template (JSON, 64 KiB at most)", DescriptionLocalizations: *fr("Le modèle de jeu (JSON, 64 Kio au plus)"),
					Required: true,
				}},
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", NameLocalizations: *fr("liste"),
				Description: "Games offered", DescriptionLocalizations: *fr("Jeux proposés"),
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "show", NameLocalizations: *fr("voir"),
				Description: "Show a game's template", DescriptionLocalizations: *fr("Voir le modèle d'un jeu"),
				Options: []*discordgo.ApplicationCommandOption{gameOption("The game", "Le jeu")},
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "remove", NameLocalizations: *fr("retirer"),
				Description: "Remove a stored game (running servers keep their rules)", DescriptionLocalizations: *fr("Retirer un jeu enregistré (les serveurs lancés gardent leurs règles)"),
				Options: []*discordgo.ApplicationCommandOption{gameOption("The game to remove", "Le jeu à retirer")},
			},
		},
	}
}

// onGame serves /game: admins only, refusals at once, the download and the
// store after a deferred answer.
func (b *Bot) onGame(i *discordgo.Interaction, data discordgo.ApplicationCommandInteractionData) {
	sub := data.Options[0]
	lang := text.For(string(i.Locale))
	actor, refusal := b.who(i)
	gm, served := b.fleet.(GameManager)
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		var choices []*discordgo.ApplicationCommandOptionChoice
		if refusal == nil && actor.Admin && served {
			choices = b.gameChoices(sub)
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
	case !actor.Admin:
		b.ephemeral(i, lang.GameAdminsOnly())
		return
	case !served:
		b.ephemeral(i, lang.GameFailed())
		return
	}
	b.rememberName(i)
	switch sub.Name {
	case "add":
		b.addGame(i, actor, lang, gm, data, sub)
	case "list":
		b.ephemeral(i, fitLines(lang.GameList(b.fleet.Catalog())))
	case "show":
		name, _ := option(sub.Options, "game")
		g, ok := b.fleet.Catalog().Lookup(name)
		if !ok || name == "" {
			b.ephemeral(i, lang.GameUnknown(cut(name, maxEcho)))
			return
		}
		// The template is shown as it is: only the header is rendered.
		b.ephemeralRendered(i, showTemplate(render(lang.GameShowHeader(g)), g.Template))
	case "remove":
		name, _ := option(sub.Options, "game")
		b.answerLater(i, time.Minute, func(ctx context.Context) string {
			g, err := gm.RemoveGame(ctx, actor, name)
			var refusal *spawner.Refusal
			switch {
			case errors.As(err, &refusal):
				return lang.GameUnknown(cut(name, maxEcho))
			case err != nil:
				b.log.Error("remove game", "game", name, "err", err)
				return lang.GameFailed()
			default:
				return lang.GameRemoved(g)
			}
		})
	}
}

// addGame downloads the attached template and hands it to the lifecycle.
func (b *Bot) addGame(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang, gm GameManager,
	data discordgo.ApplicationCommandInteractionData, sub *discordgo.ApplicationCommandInteractionDataOption) {
	var file *discordgo.MessageAttachment
	for _, o := range sub.Options {
		if id, ok := o.Value.(string); ok && o.Name == "file" && data.Resolved != nil {
			file = data.Resolved.Attachments[id]
		}
	}
	switch {
	case file == nil || file.URL == "":
		b.ephemeral(i, lang.GameNoFile())
		return
	case file.Size > spawner.MaxTemplateSize:
		b.ephemeral(i, lang.GameTooLarge(spawner.MaxTemplateSize))
		return
	}
	b.answerLater(i, time.Minute, func(ctx context.Context) string {
		doc, err := b.downloadAttachment(ctx, file.URL, spawner.MaxTemplateSize)
		switch {
		case errors.Is(err, errTooLarge):
			return lang.GameTooLarge(spawner.MaxTemplateSize)
		case err != nil:
			b.log.Warn("download game template", "err", err)
			return lang.GameDownloadFailed(err.Error())
		}
		replaced, err := gm.AddGame(ctx, actor, doc)
		var problems spawner.TemplateErrors
		switch {
		case errors.As(err, &problems):
			return fitLines(lang.GameProblems(problems))
		case err != nil:
			b.log.Error("add game", "err", err)
			return lang.GameFailed()
		default:
			g, _ := b.fleet.Catalog().Lookup(gameName(doc))
			if replaced {
				return lang.GameReplaced(g)
			}
			return lang.GameAdded(g)
		}
	})
}

var errTooLarge = errors.New("too large")

// downloadAttachment reads at most limit bytes from url, an attachment on
// Discord's CDN (which needs no token: none is sent), within
// downloadTimeout, from an address attachmentURL allows and following only
// redirects it allows too. More than limit is errTooLarge, whatever the
// headers said.
func (b *Bot) downloadAttachment(ctx context.Context, url string, limit int64) ([]byte, error) {
	if err := attachmentURL(url, b.cfg.APIURL); err != nil {
		return nil, err
	}
	return fetch(ctx, attachmentClient(b.cfg.APIURL), url, limit)
}

func fetch(ctx context.Context, client *http.Client, url string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("attachment url: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get attachment: %w", errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get attachment: %s", resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, errTooLarge
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read attachment: %w", err)
	case int64(len(doc)) > limit:
		return nil, errTooLarge
	}
	return doc, nil
}

// gameName is the name a valid template gives itself.
func gameName(doc []byte) string {
	var t struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(spawner.TrimBOM(doc), &t) // as the parser reads it
	return t.Name
}

// gameChoices completes the game option of /game show and remove.
func (b *Bot) gameChoices(sub *discordgo.ApplicationCommandInteractionDataOption) []*discordgo.ApplicationCommandOptionChoice {
	_, typed := focused(sub.Options)
	typed = strings.ToLower(strings.TrimSpace(typed))
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	for _, g := range b.fleet.Catalog() {
		if sub.Name == "remove" && len(g.Template) == 0 {
			continue // the default game cannot be removed
		}
		if typed == "" || strings.Contains(strings.ToLower(g.Title+" "+g.Name), typed) {
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: g.Title, Value: g.Name})
		}
	}
	return choices
}

// showTemplate is header then the template in a JSON code block, cut to
// fit one message; a fence inside the template cannot end the block.
func showTemplate(header string, doc []byte) string {
	if len(doc) == 0 {
		return header
	}
	body := strings.ReplaceAll(string(doc), "```", "`\u200b``")
	const openFence, closeFence = "```json\n", "\n```"
	room := maxContent - utf8.RuneCountInString(header) - utf8.RuneCountInString(openFence) - utf8.RuneCountInString(closeFence) - 1
	return header + "\n" + openFence + cut(strings.TrimRight(body, "\n"), room) + closeFence
}

// fitLines cuts content to one message at a line's end, so no line is shown half.
func fitLines(content string) string {
	if utf8.RuneCountInString(content) <= maxContent {
		return content
	}
	content = cut(content, maxContent-1)
	if nl := strings.LastIndexByte(content, '\n'); nl > 0 {
		content = content[:nl+1] + ellipsis
	}
	return content
}
