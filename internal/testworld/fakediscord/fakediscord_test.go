package fakediscord_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

const otherGuild = "1200000000000000001"

func TestOpenDeliversReadyAndGuilds(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{
		ExtraGuildIDs:     []string{otherGuild},
		HeartbeatInterval: 20 * time.Millisecond,
	})
	b := openBot(t, srv)

	ready := waitEvent(t, srv, b, func(*discordgo.Ready) bool { return true })
	if ready.User == nil || ready.User.ID != fakediscord.DefaultBotUserID || !ready.User.Bot {
		t.Errorf("READY user = %+v, want the bot %s", ready.User, fakediscord.DefaultBotUserID)
	}
	if ready.SessionID == "" || ready.Application == nil || ready.Application.ID != fakediscord.DefaultApplicationID {
		t.Errorf("READY session %q application %+v", ready.SessionID, ready.Application)
	}
	if len(ready.Guilds) != 2 || !ready.Guilds[0].Unavailable {
		t.Errorf("READY guilds = %+v, want the main and the extra guild, unavailable", ready.Guilds)
	}

	g := waitEvent(t, srv, b, func(g *discordgo.GuildCreate) bool { return g.ID == fakediscord.DefaultGuildID })
	if g.PreferredLocale != "fr" || g.Name == "" || g.OwnerID == "" {
		t.Errorf("guild = name %q owner %q locale %q", g.Name, g.OwnerID, g.PreferredLocale)
	}
	var roleIDs []string
	for _, r := range g.Roles {
		roleIDs = append(roleIDs, r.ID)
	}
	for _, want := range []string{fakediscord.DefaultGuildID, fakediscord.DefaultUserRoleID, fakediscord.DefaultAdminRoleID} {
		if !slices.Contains(roleIDs, want) {
			t.Errorf("guild roles %v lack %s", roleIDs, want)
		}
	}
	var cat *discordgo.Channel
	for _, c := range g.Channels {
		if c.ID == fakediscord.DefaultCategoryID {
			cat = c
		}
	}
	if cat == nil || cat.Type != discordgo.ChannelTypeGuildCategory {
		t.Errorf("guild channels %+v lack the category", g.Channels)
	}
	waitEvent(t, srv, b, func(g *discordgo.GuildCreate) bool { return g.ID == otherGuild })

	srv.WaitFor(t, "two heartbeats", wait, func() bool { return srv.ReceivedOps(1) >= 2 })
	acks := 0
	for _, op := range srv.GatewayOps() {
		if op.Sent && op.Op == 11 {
			acks++
		}
		if !op.Sent && op.Op == 2 && strings.Contains(string(op.Data), srv.Options().Token) {
			t.Errorf("the recorded IDENTIFY holds the token: %s", op.Data)
		}
	}
	if acks < 2 {
		t.Errorf("sent %d heartbeat ACKs, want one per heartbeat", acks)
	}
	if !srv.Connected() || srv.Identifies() != 1 {
		t.Errorf("connected %v after %d identifies, want connected after 1", srv.Connected(), srv.Identifies())
	}

	// REST reads of the guild.
	guild, err := b.s.Guild(fakediscord.DefaultGuildID)
	if err != nil || guild.PreferredLocale != "fr" || len(guild.Roles) != 4 {
		t.Errorf("GET guild = %+v, %v", guild, err)
	}
	member, err := b.s.GuildMember(fakediscord.DefaultGuildID, fakediscord.DefaultBotUserID)
	if err != nil || len(member.Roles) != 1 {
		t.Fatalf("GET bot member = %+v, %v", member, err)
	}
	roles, err := b.s.GuildRoles(fakediscord.DefaultGuildID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.ID == member.Roles[0] && r.Permissions != fakediscord.DefaultBotPermissions {
			t.Errorf("bot role permissions = %d, want %d", r.Permissions, fakediscord.DefaultBotPermissions)
		}
	}
	me, err := b.s.User("@me")
	if err != nil || me.ID != fakediscord.DefaultBotUserID {
		t.Errorf("GET /users/@me = %+v, %v", me, err)
	}
}

func TestWrongTokenIsRefused(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{Token: "right"})

	b := newBot(t, srv)
	b.s.Token, b.s.Identify.Token = "Bot wrong", "Bot wrong"
	if _, err := b.s.User("@me"); err == nil {
		t.Fatal("GET /users/@me with a wrong token succeeded")
	} else if status, _ := restCode(t, err); status != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", status)
	}

	// Right token over REST, wrong one in IDENTIFY: the gateway closes.
	b = newBot(t, srv)
	b.s.Identify.Token = "Bot wrong"
	if err := b.s.Open(); err == nil {
		b.s.Close()
		t.Fatal("open with a wrong IDENTIFY token succeeded")
	}
	if srv.Connected() {
		t.Error("the fake counts a bot with a wrong token as connected")
	}
	if n := srv.Identifies(); n != 1 {
		t.Errorf("identifies = %d, want 1", n)
	}
}

func serverCommand() *discordgo.ApplicationCommand {
	fr := map[discordgo.Locale]string{discordgo.French: "serveur"}
	return &discordgo.ApplicationCommand{
		Name: "server", Description: "Game servers", NameLocalizations: &fr,
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "create", Description: "Start a server",
				NameLocalizations: map[discordgo.Locale]string{discordgo.French: "creer"},
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "game", Description: "Game", Autocomplete: true},
					{Type: discordgo.ApplicationCommandOptionString, Name: "variant", Description: "Variant", Autocomplete: true},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "stop", Description: "Stop a server",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "server", Description: "Server", Required: true, Autocomplete: true},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", Description: "List servers"},
		},
	}
}

func TestBulkOverwriteCommands(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv)
	app, guild := fakediscord.DefaultApplicationID, fakediscord.DefaultGuildID

	got, err := b.s.ApplicationCommandBulkOverwrite(app, guild, []*discordgo.ApplicationCommand{serverCommand()})
	if err != nil {
		t.Fatalf("bulk overwrite: %v", err)
	}
	if len(got) != 1 || got[0].ID == "" || got[0].GuildID != guild || got[0].ApplicationID != app {
		t.Fatalf("bulk overwrite returned %+v", got)
	}
	cmds := srv.Commands()
	if len(cmds) != 1 || cmds[0].ID != got[0].ID || cmds[0].NameLocalizations["fr"] != "serveur" {
		t.Fatalf("stored commands = %+v", cmds)
	}
	if o, ok := cmds[0].Option("create", "game"); !ok || !o.Autocomplete || o.Type != fakediscord.OptionString {
		t.Errorf("create game option = %+v, %v", o, ok)
	}

	again, err := b.s.ApplicationCommandBulkOverwrite(app, guild, []*discordgo.ApplicationCommand{serverCommand()})
	if err != nil || again[0].ID != got[0].ID {
		t.Errorf("a second overwrite gave id %v (%v), want the same id %s", again, err, got[0].ID)
	}
	listed, err := b.s.ApplicationCommands(app, guild)
	if err != nil || len(listed) != 1 || listed[0].Name != "server" {
		t.Errorf("GET commands = %v, %v", listed, err)
	}

	bad := serverCommand()
	bad.Name = "Server"
	_, err = b.s.ApplicationCommandBulkOverwrite(app, guild, []*discordgo.ApplicationCommand{bad})
	if status, code := restCode(t, err); status != 400 || code != fakediscord.CodeInvalidFormBody {
		t.Errorf("uppercase command name: %d/%d, want 400/50035", status, code)
	}
	if srv.Commands()[0].Name != "server" {
		t.Error("a refused overwrite replaced the commands")
	}
}

func ticketOverwrites(owner string) []*discordgo.PermissionOverwrite {
	view := int64(discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionReadMessageHistory)
	return []*discordgo.PermissionOverwrite{
		{ID: fakediscord.DefaultGuildID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel},
		{ID: owner, Type: discordgo.PermissionOverwriteTypeMember, Allow: view},
		{ID: fakediscord.DefaultAdminRoleID, Type: discordgo.PermissionOverwriteTypeRole, Allow: view},
		{ID: fakediscord.DefaultBotUserID, Type: discordgo.PermissionOverwriteTypeMember, Allow: view | discordgo.PermissionEmbedLinks},
	}
}

func TestTicketChannelLifecycle(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv)
	owner := fakediscord.User{ID: "1300000000000000001", Roles: []string{fakediscord.DefaultUserRoleID}}
	stranger := fakediscord.User{ID: "1300000000000000002", Roles: []string{fakediscord.DefaultUserRoleID}}
	admin := fakediscord.User{ID: "1300000000000000003", Roles: []string{fakediscord.DefaultAdminRoleID}}

	before := time.Now()
	ch, err := b.s.GuildChannelCreateComplex(fakediscord.DefaultGuildID, discordgo.GuildChannelCreateData{
		Name: "Minecraft Alice", Type: discordgo.ChannelTypeGuildText, ParentID: fakediscord.DefaultCategoryID,
		PermissionOverwrites: ticketOverwrites(owner.ID),
	})
	if err != nil {
		t.Fatalf("create channel: %v", err)
	}
	if created, err := fakediscord.SnowflakeTime(ch.ID); err != nil || created.Before(before.Add(-time.Millisecond)) || created.After(time.Now().Add(time.Millisecond)) {
		t.Errorf("channel id %s encodes %v, want a time of creation (%v)", ch.ID, created, err)
	}
	rec, ok := srv.Channel(ch.ID)
	if !ok || rec.Name != "minecraft-alice" || rec.ParentID != fakediscord.DefaultCategoryID || len(rec.PermissionOverwrites) != 4 {
		t.Fatalf("recorded channel = %+v", rec)
	}
	if o, _ := rec.Overwrite(fakediscord.DefaultGuildID); o.Deny&fakediscord.PermViewChannel == 0 {
		t.Errorf("@everyone overwrite = %+v, want View Channel denied", o)
	}
	for _, c := range []struct {
		who  fakediscord.User
		sees bool
	}{{owner, true}, {stranger, false}, {admin, true}} {
		if got := srv.PermissionsOf(ch.ID, c.who)&fakediscord.PermViewChannel != 0; got != c.sees {
			t.Errorf("user %s sees the ticket: %v, want %v", c.who.ID, got, c.sees)
		}
	}

	msg, err := b.s.ChannelMessageSendComplex(ch.ID, &discordgo.MessageSend{
		Content:         "<@" + owner.ID + "> your server is requested <@" + stranger.ID + ">",
		AllowedMentions: &discordgo.MessageAllowedMentions{Users: []string{owner.ID}},
	})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if _, err := b.s.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: msg.ID, Channel: ch.ID,
		Embeds: &[]*discordgo.MessageEmbed{{Title: "Ready", Fields: []*discordgo.MessageEmbedField{{Name: "Address", Value: "1.2.3.4:25565"}}}},
	}); err != nil {
		t.Fatalf("edit: %v", err)
	}
	msgs := srv.Messages(ch.ID)
	if len(msgs) != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	m := msgs[0]
	if !m.Mentioned(owner.ID) || m.Mentioned(stranger.ID) {
		t.Errorf("mentions = %v, want only the owner (allowed_mentions)", m.Mentions)
	}
	if len(m.History) != 2 || m.EditedAt.IsZero() || !strings.Contains(m.Text(), "1.2.3.4:25565") || !strings.Contains(m.Text(), "requested") {
		t.Errorf("edited message = %+v", m)
	}
	listed, err := b.s.ChannelMessages(ch.ID, 10, "", "", "")
	if err != nil || len(listed) != 1 || listed[0].Embeds[0].Title != "Ready" {
		t.Errorf("GET messages = %+v, %v", listed, err)
	}

	if _, err := b.s.ChannelDelete(ch.ID); err != nil {
		t.Fatalf("delete channel: %v", err)
	}
	if _, err := b.s.Channel(ch.ID); err == nil {
		t.Error("GET of a deleted channel succeeded")
	} else if status, code := restCode(t, err); status != 404 || code != fakediscord.CodeUnknownChannel {
		t.Errorf("GET deleted channel: %d/%d, want 404/10003", status, code)
	}
	_, err = b.s.ChannelDelete(ch.ID)
	if status, code := restCode(t, err); status != 404 || code != fakediscord.CodeUnknownChannel {
		t.Errorf("second delete: %d/%d, want 404/10003", status, code)
	}
	rec, _ = srv.Channel(ch.ID)
	if !rec.Deleted || len(srv.Messages(ch.ID)) != 1 || !srv.Messages(ch.ID)[0].Deleted {
		t.Errorf("after delete: channel %+v, messages %+v; want both kept and marked deleted", rec, srv.Messages(ch.ID))
	}
	if u := srv.Unexpected(); len(u) != 0 {
		t.Errorf("unexpected requests: %v", u)
	}
}

func TestChannelRulesDiscordEnforces(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv)
	owner := "1300000000000000001"

	// A private channel without an overwrite for the bot hides it from the bot.
	hidden := ticketOverwrites(owner)[:3]
	ch, err := b.s.GuildChannelCreateComplex(fakediscord.DefaultGuildID, discordgo.GuildChannelCreateData{
		Name: "ticket", Type: discordgo.ChannelTypeGuildText, ParentID: fakediscord.DefaultCategoryID, PermissionOverwrites: hidden,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	_, err = b.s.ChannelMessageSend(ch.ID, "hello")
	if status, code := restCode(t, err); status != 403 || code != fakediscord.CodeMissingAccess {
		t.Errorf("send into a channel the bot cannot see: %d/%d, want 403/50001", status, code)
	}

	// The parent must be a category.
	_, err = b.s.GuildChannelCreateComplex(fakediscord.DefaultGuildID, discordgo.GuildChannelCreateData{
		Name: "ticket", Type: discordgo.ChannelTypeGuildText, ParentID: fakediscord.DefaultLogChannelID,
	})
	if status, code := restCode(t, err); status != 400 || code != fakediscord.CodeInvalidFormBody {
		t.Errorf("parent is a text channel: %d/%d, want 400/50035", status, code)
	}

	// A bot may not grant what it lacks.
	_, err = b.s.GuildChannelCreateComplex(fakediscord.DefaultGuildID, discordgo.GuildChannelCreateData{
		Name: "ticket", ParentID: fakediscord.DefaultCategoryID,
		PermissionOverwrites: []*discordgo.PermissionOverwrite{{ID: owner, Type: discordgo.PermissionOverwriteTypeMember, Allow: discordgo.PermissionManageMessages}},
	})
	if status, code := restCode(t, err); status != 403 || code != fakediscord.CodeMissingPermissions {
		t.Errorf("granting Manage Messages: %d/%d, want 403/50013", status, code)
	}

	_, err = b.s.ChannelMessageSend(fakediscord.DefaultCategoryID, "hello")
	if status, code := restCode(t, err); status != 400 || code != fakediscord.CodeNonTextChannel {
		t.Errorf("send into a category: %d/%d, want 400/50008", status, code)
	}
	_, err = b.s.ChannelMessageSendComplex(fakediscord.DefaultLogChannelID, &discordgo.MessageSend{})
	if status, code := restCode(t, err); status != 400 || code != fakediscord.CodeCannotSendEmpty {
		t.Errorf("empty message: %d/%d, want 400/50006", status, code)
	}
}

func TestMissingManageChannels(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{BotPermissions: fakediscord.DefaultBotPermissions &^ fakediscord.PermManageChannels})
	b := newBot(t, srv)
	_, err := b.s.GuildChannelCreate(fakediscord.DefaultGuildID, "ticket", discordgo.ChannelTypeGuildText)
	if status, code := restCode(t, err); status != 403 || code != fakediscord.CodeMissingPermissions {
		t.Errorf("create without Manage Channels: %d/%d, want 403/50013", status, code)
	}
	if n := len(srv.ChannelsUnder(fakediscord.DefaultCategoryID)); n != 0 {
		t.Errorf("%d channels created", n)
	}
}

// answer makes the bot answer every interaction with answer's result, the
// way a handler would.
func answer(b *bot, reply func(*discordgo.InteractionCreate) *discordgo.InteractionResponse) {
	b.s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if r := reply(i); r != nil {
			_ = s.InteractionRespond(i.Interaction, r) // the tests check what the fake received
		}
	})
}

func TestInteractionResponses(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := openBot(t, srv)
	cmds, err := b.s.ApplicationCommandBulkOverwrite(fakediscord.DefaultApplicationID, fakediscord.DefaultGuildID,
		[]*discordgo.ApplicationCommand{serverCommand()})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan *discordgo.InteractionCreate, 10)
	answer(b, func(i *discordgo.InteractionCreate) *discordgo.InteractionResponse {
		seen <- i
		if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
			return &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
				Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{
					{Name: "Minecraft", Value: "minecraft"}}}}
		}
		sub := i.ApplicationCommandData().Options[0]
		if sub.Name == "list" {
			return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}
		}
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral,
				Content: "game=" + sub.GetOption("game").StringValue() + " locale=" + string(i.Locale)}}
	})
	user := fakediscord.User{ID: "1300000000000000001", Roles: []string{fakediscord.DefaultUserRoleID}}

	ix := srv.Command(user, "fr", []string{"server", "create"}, map[string]any{"game": "minecraft", "variant": "official"})
	resp := ix.WaitResponse(t, wait)
	if resp.Type != fakediscord.ResponseChannelMessage || !resp.Ephemeral() || resp.Content != "game=minecraft locale=fr" {
		t.Errorf("response = %+v", resp)
	}
	if ix.Late() || ix.DispatchedAt.IsZero() || resp.At.Before(ix.DispatchedAt) {
		t.Errorf("late %v dispatched %v answered %v", ix.Late(), ix.DispatchedAt, resp.At)
	}
	got := <-seen
	if got.ID != ix.ID || got.Token != ix.Token || got.GuildID != fakediscord.DefaultGuildID || got.AppID != fakediscord.DefaultApplicationID {
		t.Errorf("interaction = id %s token %s guild %s app %s", got.ID, got.Token, got.GuildID, got.AppID)
	}
	if got.Member == nil || got.Member.User.ID != user.ID || !slices.Equal(got.Member.Roles, user.Roles) || got.User != nil {
		t.Errorf("member = %+v user = %+v", got.Member, got.User)
	}
	if d := got.ApplicationCommandData(); d.ID != cmds[0].ID || d.Name != "server" || d.Options[0].GetOption("variant").StringValue() != "official" {
		t.Errorf("data = %+v", d)
	}
	if got.GuildLocale == nil || *got.GuildLocale != "fr" {
		t.Errorf("guild locale = %v", got.GuildLocale)
	}

	// A second callback is refused like Discord does.
	err = b.s.InteractionRespond(got.Interaction, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource, Data: &discordgo.InteractionResponseData{Content: "again"}})
	if status, code := restCode(t, err); status != 400 || code != fakediscord.CodeAlreadyAcknowledged {
		t.Errorf("second callback: %d/%d, want 400/40060", status, code)
	}

	// Deferred, then the original edited.
	ix = srv.Command(user, "en-US", []string{"server", "list"}, nil)
	if r := ix.WaitResponse(t, wait); r.Type != fakediscord.ResponseDeferredChannelMessage || !r.Ephemeral() {
		t.Errorf("deferred response = %+v", r)
	}
	got = <-seen
	content := "no server"
	if _, err := b.s.InteractionResponseEdit(got.Interaction, &discordgo.WebhookEdit{Content: &content}); err != nil {
		t.Fatalf("edit original: %v", err)
	}
	if m := ix.WaitEdit(t, wait, func(m fakediscord.Message) bool { return m.Content == "no server" }); !m.Ephemeral() {
		t.Errorf("edited original = %+v, want it still ephemeral", m)
	}
	if ix.Reply() != "no server" {
		t.Errorf("reply = %q", ix.Reply())
	}

	// Autocomplete with the focused option marked.
	ix = srv.Autocomplete(user, "fr", []string{"server", "create"}, map[string]any{"game": "mi"}, "game")
	if r := ix.WaitResponse(t, wait); r.Type != fakediscord.ResponseAutocomplete || len(r.Choices) != 1 || r.Choices[0].Value != "minecraft" {
		t.Errorf("autocomplete response = %+v", r)
	}
	got = <-seen
	if o := got.ApplicationCommandData().Options[0].Options[0]; !o.Focused || o.StringValue() != "mi" {
		t.Errorf("focused option = %+v", o)
	}

	// From a DM and from another guild.
	ix = srv.Interact(t, fakediscord.InteractionSpec{User: user, Path: []string{"server", "list"}, DM: true})
	ix.WaitResponse(t, wait)
	if got = <-seen; got.GuildID != "" || got.Member != nil || got.User == nil || got.User.ID != user.ID {
		t.Errorf("DM interaction: guild %q member %v user %v", got.GuildID, got.Member, got.User)
	}
	ix = srv.Interact(t, fakediscord.InteractionSpec{User: user, Path: []string{"server", "list"}, GuildID: otherGuild})
	ix.WaitResponse(t, wait)
	if got = <-seen; got.GuildID != otherGuild || got.Member == nil {
		t.Errorf("other guild interaction: guild %q member %v", got.GuildID, got.Member)
	}
}

func TestLateCallbackIsRefused(t *testing.T) {
	t.Parallel()
	deadline := 30 * time.Millisecond
	srv := fakediscord.New(t, fakediscord.Options{InteractionDeadline: deadline})
	b := openBot(t, srv)
	got := make(chan *discordgo.InteractionCreate, 1)
	b.s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { got <- i })

	ix := srv.Command(fakediscord.User{ID: "1300000000000000001"}, "", []string{"ping"}, nil)
	i := <-got
	srv.WaitFor(t, "the interaction deadline to pass", wait, func() bool { return time.Since(ix.DispatchedAt) > deadline })
	err := b.s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource, Data: &discordgo.InteractionResponseData{Content: "pong"}})
	if status, code := restCode(t, err); status != 404 || code != fakediscord.CodeUnknownInteraction {
		t.Errorf("late callback: %d/%d, want 404/10062", status, code)
	}
	if r := ix.WaitResponse(t, wait); !r.Late || r.Content != "pong" || !ix.Late() {
		t.Errorf("late response = %+v", r)
	}
	if lat, _ := ix.Latency(); lat <= deadline {
		t.Errorf("latency %v, want more than %v", lat, deadline)
	}
}

func TestFaultsAreRetriedLikeDiscord(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv)
	route := "POST /channels/{channel}/messages"

	srv.FailNext("POST", "/channels/{channel}/messages", 1, http.StatusTooManyRequests)
	start := time.Now()
	if _, err := b.s.ChannelMessageSend(fakediscord.DefaultLogChannelID, "after a 429"); err != nil {
		t.Fatalf("send after 429: %v", err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Errorf("discordgo retried after %v, before retry_after", time.Since(start))
	}
	var statuses []int
	for _, r := range srv.Requests() {
		if r.Route == route {
			statuses = append(statuses, r.Status)
		}
	}
	if !slices.Equal(statuses, []int{429, 200}) || srv.Count(route) != 2 {
		t.Errorf("statuses %v, want 429 then 200", statuses)
	}

	srv.FailNext("", "/channels/*/messages", 1, http.StatusBadGateway)
	if _, err := b.s.ChannelMessageSend(fakediscord.DefaultLogChannelID, "after a 502"); err != nil {
		t.Fatalf("send after 502: %v", err)
	}
	srv.FailNext("POST", "/channels/"+fakediscord.DefaultLogChannelID+"/messages", 1, http.StatusInternalServerError)
	_, err := b.s.ChannelMessageSend(fakediscord.DefaultLogChannelID, "lost")
	if status, _ := restCode(t, err); status != 500 {
		t.Errorf("500: status %d", status)
	}
	var texts []string
	for _, m := range srv.Messages(fakediscord.DefaultLogChannelID) {
		texts = append(texts, m.Content)
	}
	if !slices.Equal(texts, []string{"after a 429", "after a 502"}) {
		t.Errorf("messages = %q", texts)
	}
}

func TestDroppedConnectionResumes(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := openBot(t, srv)
	waitEvent(t, srv, b, func(g *discordgo.GuildCreate) bool { return true })

	srv.DropConnection()
	if srv.Connected() {
		t.Fatal("connected right after the drop")
	}
	// Caused while the bot is away: kept and replayed on RESUME.
	if _, err := b.s.GuildChannelCreate(fakediscord.DefaultGuildID, "missed", discordgo.ChannelTypeGuildText); err != nil {
		t.Fatalf("create a channel while disconnected: %v", err)
	}
	srv.WaitFor(t, "the bot to resume", wait, func() bool { return srv.Resumes() == 1 && srv.Connected() })
	waitEvent(t, srv, b, func(*discordgo.Resumed) bool { return true })
	waitEvent(t, srv, b, func(c *discordgo.ChannelCreate) bool { return c.Name == "missed" })
	if n := srv.Identifies(); n != 1 {
		t.Errorf("identifies = %d, want 1 (resumed, not re-identified)", n)
	}
	if n := countEvents[*discordgo.Ready](b); n != 1 {
		t.Errorf("%d READY, want 1", n)
	}
	// The resumed session carries on.
	ix := srv.Command(fakediscord.User{ID: "1300000000000000001"}, "", []string{"ping"}, nil)
	waitEvent(t, srv, b, func(i *discordgo.InteractionCreate) bool { return i.ID == ix.ID })
}

func TestInvalidSessionReidentifies(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := openBot(t, srv)

	srv.DropSession()
	srv.WaitFor(t, "a new READY", wait, func() bool { return srv.Identifies() == 2 && srv.Connected() })
	if srv.Resumes() != 1 || srv.InvalidSessions() != 1 {
		t.Errorf("resumes %d invalid sessions %d, want a refused RESUME", srv.Resumes(), srv.InvalidSessions())
	}
	srv.WaitFor(t, "two READY", wait, func() bool { return countEvents[*discordgo.Ready](b) == 2 })
}

func TestBotLeavesOtherGuilds(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{ExtraGuildIDs: []string{otherGuild}})
	b := newBot(t, srv)
	b.s.AddHandler(func(s *discordgo.Session, g *discordgo.GuildCreate) {
		if g.ID != fakediscord.DefaultGuildID {
			_ = s.GuildLeave(g.ID) // the test checks what the fake received
		}
	})
	if err := b.s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.s.Close() })
	srv.WaitFor(t, "the bot to leave the extra guild", wait, func() bool { return len(srv.LeftGuilds()) == 1 })

	const later = "1200000000000000002"
	srv.AddGuild(later)
	srv.WaitFor(t, "the bot to leave the added guild", wait, func() bool { return len(srv.LeftGuilds()) == 2 })
	if left := srv.LeftGuilds(); !slices.Equal(left, []string{otherGuild, later}) {
		t.Errorf("left %v", left)
	}
	if g := srv.Guilds(); !slices.Equal(g, []string{fakediscord.DefaultGuildID}) {
		t.Errorf("still in %v", g)
	}
	waitEvent(t, srv, b, func(g *discordgo.GuildDelete) bool { return g.ID == later })
	if _, err := b.s.Guild(later); err == nil {
		t.Error("GET of a left guild succeeded")
	}
}

func TestUnexpectedCallsAreRecorded(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv)
	_, err := b.s.GuildBans(fakediscord.DefaultGuildID, 10, "", "")
	if status, _ := restCode(t, err); status != 404 {
		t.Errorf("unknown route: status %d", status)
	}
	want := "GET /guilds/" + fakediscord.DefaultGuildID + "/bans"
	if u := srv.Unexpected(); len(u) != 1 || u[0] != want {
		t.Errorf("unexpected = %v, want [%s]", u, want)
	}
}

func TestWaitsSayWhatTheyWaitedFor(t *testing.T) {
	t.Parallel()
	ftb := &failureTB{TB: t}
	srv := fakediscord.New(ftb, fakediscord.Options{ConnectWait: 20 * time.Millisecond})
	b := newBot(t, srv)
	if _, err := b.s.ChannelMessageSend(fakediscord.DefaultLogChannelID, "hello there"); err != nil {
		t.Fatal(err)
	}

	msg := ftb.failure(func() { srv.WaitFor(ftb, "the moon", 10*time.Millisecond, func() bool { return false }) })
	for _, want := range []string{"timed out", "waiting for the moon", "POST /channels/" + fakediscord.DefaultLogChannelID + "/messages", "hello there"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
	msg = ftb.failure(func() { srv.AddGuild("1200000000000000003") })
	if !strings.Contains(msg, "no gateway session") {
		t.Errorf("dispatch without a bot: %q", msg)
	}
	msg = ftb.failure(func() { srv.Command(fakediscord.User{ID: "1"}, "", []string{"ping"}, nil) })
	if !strings.Contains(msg, "dispatch /ping") {
		t.Errorf("command without a bot: %q", msg)
	}
}

// An attachment option arrives as Discord sends it: its id as the value, its
// description in data.resolved.attachments, and its content at the URL given
// there, without the bot token.
func TestAttachmentOption(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := openBot(t, srv)
	cmd := &discordgo.ApplicationCommand{
		Name: "game", Description: "Game templates",
		Options: []*discordgo.ApplicationCommandOption{{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: "add", Description: "Add a game",
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionAttachment, Name: "file", Description: "JSON template", Required: true,
			}},
		}},
	}
	if _, err := b.s.ApplicationCommandBulkOverwrite(fakediscord.DefaultApplicationID, fakediscord.DefaultGuildID, []*discordgo.ApplicationCommand{cmd}); err != nil {
		t.Fatal(err)
	}
	seen := make(chan *discordgo.InteractionCreate, 1)
	b.s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { seen <- i })

	content := []byte(`{"name": "valheim", "title": "Valheim"}`)
	srv.CommandWithAttachment(fakediscord.User{ID: "1300000000000000001"}, "en-US", []string{"game", "add"}, "file",
		fakediscord.Attachment{Filename: "valheim.json", ContentType: "application/json", Content: content}, nil)
	var i *discordgo.InteractionCreate
	select {
	case i = <-seen:
	case <-time.After(wait):
		t.Fatalf("no interaction after %v\n%s", wait, srv.Dump())
	}
	data := i.ApplicationCommandData()
	opt := data.Options[0].Options[0]
	if opt.Type != discordgo.ApplicationCommandOptionAttachment || opt.Name != "file" {
		t.Fatalf("option %+v, want the attachment option", opt)
	}
	id, _ := opt.Value.(string)
	if data.Resolved == nil || data.Resolved.Attachments[id] == nil {
		t.Fatalf("attachment %q not in data.resolved: %+v", id, data.Resolved)
	}
	a := data.Resolved.Attachments[id]
	if a.Filename != "valheim.json" || a.ContentType != "application/json" || a.Size != len(content) {
		t.Errorf("attachment %+v, want valheim.json, application/json, %d bytes", a, len(content))
	}
	if !strings.HasPrefix(a.URL, srv.URL()+"/attachments/") {
		t.Errorf("attachment URL %q is not on the fake", a.URL)
	}

	resp, err := http.Get(a.URL)
	if err != nil {
		t.Fatalf("fetch the attachment: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != string(content) || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("fetched %d %q (%s), want the attached content", resp.StatusCode, got, resp.Header.Get("Content-Type"))
	}
	forged := strings.Replace(a.URL, "hm=", "hm=x", 1)
	resp, err = http.Get(forged)
	if err != nil {
		t.Fatalf("fetch a forged URL: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("a URL with another signature: %s, want 404", resp.Status)
	}
}

// createWithNonce posts content in the log channel with nonce (any JSON
// value) and enforce_nonce, as the raw body Discord receives.
func createWithNonce(b *bot, content string, nonce any, enforce bool) (*discordgo.Message, error) {
	endpoint := discordgo.EndpointChannelMessages(fakediscord.DefaultLogChannelID)
	body := map[string]any{"content": content, "nonce": nonce, "enforce_nonce": enforce}
	raw, err := b.s.RequestWithBucketID("POST", endpoint, body, endpoint)
	if err != nil {
		return nil, err
	}
	var m discordgo.Message
	return &m, json.Unmarshal(raw, &m)
}

// A create with a nonce and enforce_nonce is posted once: the same nonce
// again in the channel returns the first message, as Discord does; a
// different nonce, no enforce_nonce or the window passed post another.
func TestNonceIsEnforced(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv)
	first, err := createWithNonce(b, "ready", "abc", true)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	again, err := createWithNonce(b, "ready, sent again", "abc", true)
	if err != nil {
		t.Fatalf("create again: %v", err)
	}
	if again.ID != first.ID || again.Content != "ready" {
		t.Errorf("the same nonce returned %s %q, want the first message %s", again.ID, again.Content, first.ID)
	}
	if _, err := createWithNonce(b, "warning", "abd", true); err != nil {
		t.Fatalf("create with another nonce: %v", err)
	}
	if _, err := createWithNonce(b, "not enforced", "abc", false); err != nil {
		t.Fatalf("create without enforce_nonce: %v", err)
	}
	if _, err := createWithNonce(b, "integer", 1234567890123, true); err != nil {
		t.Fatalf("create with an integer nonce: %v", err)
	}
	var got []string
	for _, m := range srv.Messages(fakediscord.DefaultLogChannelID) {
		got = append(got, m.Content+"/"+m.Nonce)
	}
	if want := []string{"ready/abc", "warning/abd", "not enforced/abc", "integer/1234567890123"}; !slices.Equal(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}

	_, err = createWithNonce(b, "long", strings.Repeat("n", 26), true)
	if status, code := restCode(t, err); status != 400 || code != fakediscord.CodeInvalidFormBody {
		t.Errorf("a 26-character nonce: %d %d, want 400 %d", status, code, fakediscord.CodeInvalidFormBody)
	}

	passed := fakediscord.New(t, fakediscord.Options{NonceWindow: time.Nanosecond})
	pb := newBot(t, passed)
	for range 2 {
		if _, err := createWithNonce(pb, "after the window", "abc", true); err != nil {
			t.Fatalf("create: %v", err)
		}
	}
	if n := len(passed.Messages(fakediscord.DefaultLogChannelID)); n != 2 {
		t.Errorf("%d messages once the window passed, want 2", n)
	}
}

// FailNextAfterEffect posts the message and answers 500: the message is
// there, the client saw a failure.
func TestFailNextAfterEffect(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv)
	srv.FailNextAfterEffect("POST", "/channels/{channel}/messages", 1, http.StatusInternalServerError)
	_, err := b.s.ChannelMessageSend(fakediscord.DefaultLogChannelID, "handled")
	if status, _ := restCode(t, err); status != 500 {
		t.Errorf("status %d, want 500", status)
	}
	msgs := srv.Messages(fakediscord.DefaultLogChannelID)
	if len(msgs) != 1 || msgs[0].Content != "handled" {
		t.Errorf("messages %+v, want the one the 500 answered", msgs)
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; !last.Injected || last.Status != 500 {
		t.Errorf("request recorded as %+v, want injected 500", last)
	}
}
