package discord

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

func fr(s string) *map[discordgo.Locale]string {
	return &map[discordgo.Locale]string{discordgo.French: s}
}

// Commands is the /server and /game commands with their subcommands,
// English names and French localizations, registered in the guild only.
func Commands() []*discordgo.ApplicationCommand {
	no := false
	return []*discordgo.ApplicationCommand{{
		Name:                     "server",
		NameLocalizations:        fr("serveur"),
		Description:              "Temporary game servers",
		DescriptionLocalizations: fr("Serveurs de jeu temporaires"),
		DMPermission:             &no,
		Contexts:                 &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
		Options: append([]*discordgo.ApplicationCommandOption{
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "create", NameLocalizations: *fr("créer"),
				Description: "Start a game server for you", DescriptionLocalizations: *fr("Lancer un serveur de jeu pour toi"),
				Options: []*discordgo.ApplicationCommandOption{
					{
						Type: discordgo.ApplicationCommandOptionString, Name: "game", NameLocalizations: *fr("jeu"),
						Description: "Game (default: the first one)", DescriptionLocalizations: *fr("Jeu (par défaut : le premier)"),
						Autocomplete: true,
					},
					{
						Type: discordgo.ApplicationCommandOptionString, Name: "variant", NameLocalizations: *fr("variante"),
						Description: "Variant of the game", DescriptionLocalizations: *fr("Variante du jeu"),
						Autocomplete: true,
					},
				},
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "stop", NameLocalizations: *fr("arrêter"),
				Description: "Stop a server", DescriptionLocalizations: *fr("Arrêter un serveur"),
				Options: []*discordgo.ApplicationCommandOption{{
					Type: discordgo.ApplicationCommandOptionString, Name: "server", NameLocalizations: *fr("serveur"),
					Description: "The server to stop", DescriptionLocalizations: *fr("Le serveur à arrêter"),
					Required: true, Autocomplete: true,
				}},
			},
			{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", NameLocalizations: *fr("liste"),
				Description: "Servers running now", DescriptionLocalizations: *fr("Serveurs lancés en ce moment"),
			},
		}, append(controlOptions(), costCommand())...),
	}, gameCommand()}
}

// onInteraction answers every interaction at once: refusals and lists
// directly, slow work after a deferred answer, in a goroutine, so the
// gateway's event loop is never held.
func (b *Bot) onInteraction(s *discordgo.Session, ic *discordgo.InteractionCreate) {
	i := ic.Interaction
	if b.fleet == nil || !b.enter() {
		return
	}
	defer b.workers.Done()
	var data discordgo.ApplicationCommandInteractionData
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		data = i.ApplicationCommandData()
	case discordgo.InteractionMessageComponent:
		b.onClick(i)
		return
	default:
		return
	}
	if data.Name == "game" && len(data.Options) > 0 {
		b.onGame(i, data)
		return
	}
	if data.Name == "world" && len(data.Options) > 0 {
		b.onWorld(i, data)
		return
	}
	if data.Name != "server" || len(data.Options) == 0 {
		return
	}
	sub := data.Options[0]
	lang := text.For(string(i.Locale))
	actor, refusal := b.who(i)
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		var choices []*discordgo.ApplicationCommandOptionChoice
		if refusal == nil {
			choices = b.autocomplete(actor, lang, sub)
		}
		b.respond(i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: fitChoices(choices)},
		})
		return
	}
	if refusal != nil {
		b.ephemeral(i, lang.Refusal(refusal))
		return
	}
	b.rememberName(i)
	b.onServer(i, actor, lang, sub)
}

// onServer runs one /server subcommand for actor, who may use the bot.
func (b *Bot) onServer(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) {
	switch sub.Name {
	case "create":
		b.create(i, actor, lang, sub)
	case "stop":
		b.stop(i, actor, lang, sub)
	case "list":
		b.list(i, actor, lang)
	case "extend":
		b.extend(i, actor, lang, sub)
	case "op":
		b.op(i, actor, lang, sub)
	case "dashboard":
		b.dashboard(i, actor, lang)
	case "cost":
		b.cost(i, actor, lang, sub)
	}
}

// who is the member behind an interaction, or why they may not use the bot.
func (b *Bot) who(i *discordgo.Interaction) (spawner.Actor, *spawner.Refusal) {
	if i.GuildID != b.cfg.GuildID || i.Member == nil || i.Member.User == nil {
		return spawner.Actor{}, &spawner.Refusal{Code: spawner.RefusedElsewhere}
	}
	return b.grant(i.Member.User.ID, i.Member.Roles)
}

func option(opts []*discordgo.ApplicationCommandInteractionDataOption, name string) (string, bool) {
	for _, o := range opts {
		if o.Name == name {
			if s, ok := o.Value.(string); ok {
				return strings.TrimSpace(s), o.Focused
			}
		}
	}
	return "", false
}

func focused(opts []*discordgo.ApplicationCommandInteractionDataOption) (name, value string) {
	for _, o := range opts {
		if o.Focused {
			v, _ := o.Value.(string)
			return o.Name, v
		}
	}
	return "", ""
}

func (b *Bot) create(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) {
	game, _ := option(sub.Options, "game")
	variant, _ := option(sub.Options, "variant")
	world, refused := createWorld(sub)
	if refused != nil {
		b.ephemeral(i, lang.Refusal(refused))
		return
	}
	answer := &interactionAnswer{b: b, i: i, given: make(chan struct{})}
	err := b.fleet.Create(spawner.CreateRequest{
		Owner: actor.UserID, Admin: actor.Admin, Locale: string(i.Locale), Game: game, Variant: variant,
		World: world, Answer: answer,
	})
	var refusal *spawner.Refusal
	if errors.As(err, &refusal) {
		close(answer.given)
		echo := *refusal // the unknown name is what the member typed: any length
		echo.Name = cut(echo.Name, maxEcho)
		b.ephemeral(i, lang.Refusal(&echo))
		return
	}
	b.deferReply(i)
	close(answer.given)
}

// interactionAnswer is a creation's answer to the member's command: the
// deferred answer given at once (given is closed once it was sent, so
// the creation's own requests never delay it), then edited with what the
// creation tells.
type interactionAnswer struct {
	b     *Bot
	i     *discordgo.Interaction
	given chan struct{}
}

func (a *interactionAnswer) Given() <-chan struct{} { return a.given }

func (a *interactionAnswer) Update(m spawner.Message) { a.b.editRendered(a.i, messageContent(m)) }

var _ spawner.Answer = (*interactionAnswer)(nil)

func (b *Bot) stop(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) {
	value, _ := option(sub.Options, "server")
	b.answerLater(i, 2*time.Minute, func(ctx context.Context) string {
		srv, err := b.fleet.Stop(ctx, actor, value)
		return answer(lang, err, lang.StopFailed, func() string { return lang.Stopped(srv) })
	})
}

// answer is what a member reads once a command on a server is done: the
// refusal when err is one, failed() when err is another error, and done()
// when there is none.
func answer(lang text.Lang, err error, failed, done func() string) string {
	var refusal *spawner.Refusal
	switch {
	case errors.As(err, &refusal):
		return lang.Refusal(refusal)
	case err != nil:
		return failed()
	}
	return done()
}

func (b *Bot) list(i *discordgo.Interaction, actor spawner.Actor, lang text.Lang) {
	servers := b.fleet.Servers(actor)
	content := render(lang.List(servers, b.fleet.StopsAt, actor.Admin))
	if utf8.RuneCountInString(content) > maxContent {
		// Whole lines, so no server is shown half.
		content = cut(content, maxContent-1)
		if nl := strings.LastIndexByte(content, '\n'); nl > 0 {
			content = content[:nl+1] + ellipsis
		}
	}
	b.ephemeralRendered(i, content)
}

func (b *Bot) autocomplete(actor spawner.Actor, lang text.Lang, sub *discordgo.ApplicationCommandInteractionDataOption) []*discordgo.ApplicationCommandOptionChoice {
	name, typed := focused(sub.Options)
	typed = strings.ToLower(strings.TrimSpace(typed))
	matches := func(label string) bool { return typed == "" || strings.Contains(strings.ToLower(label), typed) }
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	add := func(label, value string) {
		if matches(label + " " + value) {
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: label, Value: value})
		}
	}
	catalog := b.fleet.Catalog()
	switch {
	case sub.Name == "create" && name == "game":
		for _, g := range catalog {
			add(g.Title, g.Name)
		}
	case sub.Name == "create" && name == "world":
		return b.createWorldChoices(actor, lang, sub)
	case sub.Name == "create" && name == "variant":
		gameName, _ := option(sub.Options, "game")
		if g, ok := catalog.Lookup(gameName); ok {
			for _, v := range g.Variants {
				add(lang.Variant(v.Name), v.Name)
			}
		}
	case controls(sub.Name) && name == "server":
		now := b.cfg.Now()
		for _, s := range b.fleet.Servers(actor) {
			if !offers(sub.Name, s, catalog) {
				continue
			}
			value := s.ShortTaskID()
			if s.TaskID == "" {
				value = s.CreationID
			}
			add(lang.Choice(s, b.name(s.Owner), now), value)
		}
	}
	return choices
}

func (b *Bot) rememberName(i *discordgo.Interaction) {
	m := i.Member
	name := m.Nick
	if name == "" {
		name = m.User.GlobalName
	}
	if name == "" {
		name = m.User.Username
	}
	if name != "" {
		b.names.Store(m.User.ID, name)
	}
}

// name is the display name last seen for a user, or their id.
func (b *Bot) name(userID string) string {
	if n, ok := b.names.Load(userID); ok {
		return n.(string)
	}
	return userID
}

// answerWithin is how long an interaction may be answered after it
// arrived: Discord refuses a later answer, so retrying past it is useless.
const answerWithin = 3 * time.Second

func (b *Bot) respond(i *discordgo.Interaction, r *discordgo.InteractionResponse) {
	ctx, cancel := context.WithTimeout(b.ctx, answerWithin)
	defer cancel()
	if err := b.s.InteractionRespond(i, r, discordgo.WithContext(withRetryBudget(ctx, answerWithin))); err != nil {
		b.failed("interaction response")
		b.log.Error("answer interaction", "interaction", i.ID, "err", redact(err, i.Token)) // the token is in the URL
	}
}

// ephemeral answers i privately with content, a sentence of package text.
func (b *Bot) ephemeral(i *discordgo.Interaction, content string) {
	b.ephemeralRendered(i, render(content))
}

// ephemeralRendered answers i privately with content as Discord shows it.
func (b *Bot) ephemeralRendered(i *discordgo.Interaction, content string) {
	b.respond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content: cut(content, maxContent), Flags: discordgo.MessageFlagsEphemeral,
			AllowedMentions: &discordgo.MessageAllowedMentions{},
		},
	})
}

// deferReply answers "thinking…" privately; editResponse fills it in later.
func (b *Bot) deferReply(i *discordgo.Interaction) {
	b.respond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	})
}

// answerLater acknowledges i at once, so the gateway's handler returns
// and the member sees the bot thinking, and runs work on a worker that
// Close waits for, under b's context bounded by timeout. What work returns
// replaces the acknowledgement.
func (b *Bot) answerLater(i *discordgo.Interaction, timeout time.Duration, work func(ctx context.Context) string) {
	b.deferReply(i)
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		ctx, cancel := context.WithTimeout(b.ctx, timeout)
		defer cancel()
		b.editResponse(i, work(ctx))
	}()
}

// editResponse replaces the answer to i with content, a sentence of
// package text.
func (b *Bot) editResponse(i *discordgo.Interaction, content string) {
	b.editRendered(i, render(content))
}

// editRendered replaces the answer to i with content as Discord shows it.
func (b *Bot) editRendered(i *discordgo.Interaction, content string) {
	content = cut(content, maxContent)
	if _, err := b.s.InteractionResponseEdit(i, &discordgo.WebhookEdit{
		Content: &content, AllowedMentions: &discordgo.MessageAllowedMentions{},
	}, discordgo.WithContext(b.ctx)); err != nil {
		b.failed("interaction edit")
		b.log.Warn("edit interaction answer", "interaction", i.ID, "err", redact(err, i.Token))
	}
}

func (b *Bot) failed(op string) {
	if b.Errors != nil {
		b.Errors(op)
	}
}
