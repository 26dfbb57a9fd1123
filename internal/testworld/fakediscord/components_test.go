package fakediscord_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// button is a button as JSON, for bodies discordgo would not build.
func button(customID, label string) map[string]any {
	return map[string]any{"type": 2, "style": 1, "custom_id": customID, "label": label}
}

func row(buttons ...map[string]any) map[string]any {
	list := make([]any, len(buttons))
	for i, b := range buttons {
		list[i] = b
	}
	return map[string]any{"type": 1, "components": list}
}

func rows(n, perRow int) []any {
	out := []any{}
	for i := 0; i < n; i++ {
		var bs []map[string]any
		for j := 0; j < perRow; j++ {
			bs = append(bs, button(strings.Repeat("r", i+1)+strings.Repeat("b", j+1), "B"))
		}
		out = append(out, row(bs...))
	}
	return out
}

// formError is the field and its error code of a 400 Invalid Form Body.
func formError(tb testing.TB, err error) (field, code string) {
	tb.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		tb.Fatalf("want a REST error, got %v", err)
	}
	if re.Response.StatusCode != 400 || re.Message == nil || re.Message.Code != fakediscord.CodeInvalidFormBody {
		tb.Fatalf("want 400 Invalid Form Body, got %s", re)
	}
	var body struct {
		Errors map[string]struct {
			Errors []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"_errors"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(re.ResponseBody, &body); err != nil {
		tb.Fatalf("decode %s: %v", re.ResponseBody, err)
	}
	for f, e := range body.Errors {
		if len(e.Errors) > 0 {
			return f, e.Errors[0].Code
		}
	}
	tb.Fatalf("no field error in %s", re.ResponseBody)
	return "", ""
}

// Messages with components are refused as Discord refuses them, naming the
// field at fault with Discord's error code.
func TestComponentsAreValidated(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv)
	link := func(url string) map[string]any {
		return map[string]any{"type": 2, "style": 5, "url": url, "label": "Docs"}
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range m {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	for _, c := range []struct {
		name       string
		components any
		field      string
		code       string
	}{
		{"six action rows", rows(6, 1), "components", "BASE_TYPE_MAX_LENGTH"},
		{"six buttons in a row", rows(1, 6), "components.0.components", "BASE_TYPE_BAD_LENGTH"},
		{"an empty row", []any{row()}, "components.0.components", "BASE_TYPE_BAD_LENGTH"},
		{"a button outside a row", []any{button("a", "A")}, "components.0.type", "BASE_TYPE_CHOICES"},
		{"a row in a row", []any{map[string]any{"type": 1, "components": []any{row(button("a", "A"))}}}, "components.0.components.0.type", "BASE_TYPE_CHOICES"},
		{"custom_id of 101 characters", []any{row(button(strings.Repeat("x", 101), "A"))}, "components.0.components.0.custom_id", "BASE_TYPE_BAD_LENGTH"},
		{"empty custom_id", []any{row(button("", "A"))}, "components.0.components.0.custom_id", "BASE_TYPE_BAD_LENGTH"},
		{"no custom_id", []any{row(with(button("a", "A"), "custom_id", nil))}, "components.0.components.0.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED"},
		{"custom_id twice in the message", []any{row(button("a", "A")), row(button("b", "B"), button("a", "C"))}, "components.1.components.1.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"},
		{"label of 81 characters", []any{row(button("a", strings.Repeat("é", 81)))}, "components.0.components.0.label", "BASE_TYPE_MAX_LENGTH"},
		{"style 0", []any{row(with(button("a", "A"), "style", 0))}, "components.0.components.0.style", "BASE_TYPE_CHOICES"},
		{"style 7", []any{row(with(button("a", "A"), "style", 7))}, "components.0.components.0.style", "BASE_TYPE_CHOICES"},
		{"a url on a primary button", []any{row(with(button("a", "A"), "url", "https://example.com"))}, "components.0.components.0.url", "BUTTON_COMPONENT_CUSTOM_ID_URL_MUTUALLY_EXCLUSIVE"},
		{"a link without url", []any{row(with(link(""), "url", nil))}, "components.0.components.0.url", "BUTTON_COMPONENT_URL_REQUIRED"},
		{"a link with a custom_id", []any{row(with(link("https://example.com"), "custom_id", "a"))}, "components.0.components.0.custom_id", "BUTTON_COMPONENT_CUSTOM_ID_URL_MUTUALLY_EXCLUSIVE"},
		{"a link to ftp", []any{row(link("ftp://example.com/world.tar.gz"))}, "components.0.components.0.url", "URL_TYPE_INVALID_SCHEME"},
		{"an emoji that is not an object", []any{row(with(button("a", "A"), "emoji", "🔥"))}, "components.0.components.0.emoji", "MODEL_TYPE_CONVERT"},
		{"a select menu beside a button", []any{row(map[string]any{"type": 3, "custom_id": "pick", "options": []any{}}, button("a", "A"))}, "components.0.components.0", "COMPONENT_LAYOUT_WIDTH_EXCEEDED"},
		{"components that are not a list", map[string]any{"type": 1}, "components", "BASE_TYPE_INVALID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.s.Request("POST", discordgo.EndpointChannelMessages(fakediscord.DefaultLogChannelID),
				map[string]any{"content": "pick one", "components": c.components})
			if field, code := formError(t, err); field != c.field || code != c.code {
				t.Errorf("error on %s %s, want %s %s", field, code, c.field, c.code)
			}
		})
	}
	if n := len(srv.Messages(fakediscord.DefaultLogChannelID)); n != 0 {
		t.Errorf("%d messages posted by refused requests", n)
	}

	// The largest message Discord takes: 5 rows of 5, labels of 80
	// characters, a link, a disabled button and an emoji.
	full := rows(5, 5)
	full[0].(map[string]any)["components"].([]any)[0] = with(button("first", strings.Repeat("é", 80)), "emoji", map[string]any{"name": "🔥"})
	full[4].(map[string]any)["components"].([]any)[3] = with(button("off", "Off"), "disabled", true)
	full[4].(map[string]any)["components"].([]any)[4] = link("https://example.com/world.tar.gz")
	raw, err := b.s.Request("POST", discordgo.EndpointChannelMessages(fakediscord.DefaultLogChannelID),
		map[string]any{"components": full})
	if err != nil {
		t.Fatalf("25 buttons without content: %v", err)
	}
	var sent discordgo.Message
	if err := json.Unmarshal(raw, &sent); err != nil || len(sent.Components) != 5 {
		t.Fatalf("returned message %s: %v", raw, err)
	}
	if r, ok := sent.Components[4].(*discordgo.ActionsRow); !ok || r.Components[4].(*discordgo.Button).URL != "https://example.com/world.tar.gz" {
		t.Errorf("returned last row = %#v", sent.Components[4])
	}
	m, _ := srv.Message(sent.ID)
	bs := m.Buttons()
	if len(bs) != 25 {
		t.Fatalf("recorded buttons = %+v", bs)
	}
	if first, _ := m.Button("first"); first.Label != strings.Repeat("é", 80) || first.Emoji != "🔥" || first.Row != 0 || first.Style != fakediscord.ButtonPrimary {
		t.Errorf("first button = %+v", first)
	}
	if off, _ := m.Button("off"); !off.Disabled || off.Row != 4 {
		t.Errorf("disabled button = %+v", off)
	}
	if last := bs[24]; last.Style != fakediscord.ButtonLink || last.CustomID != "" || last.URL != "https://example.com/world.tar.gz" {
		t.Errorf("link button = %+v", last)
	}
}

// Every route that writes a message validates its components: channel
// messages and their edits, interaction responses, followups and edits of
// @original.
func TestEveryMessageRouteValidatesComponents(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := openBot(t, srv)
	got := make(chan *discordgo.InteractionCreate, 1)
	b.s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { got <- i })
	twice := []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{CustomID: "same", Label: "A"}, discordgo.Button{CustomID: "same", Label: "B"}}}}
	const field = "components.0.components.1.custom_id"
	check := func(route string, err error) {
		t.Helper()
		if f, code := formError(t, err); f != field || code != "COMPONENT_CUSTOM_ID_DUPLICATED" {
			t.Errorf("%s: error on %s %s", route, f, code)
		}
	}

	_, err := b.s.ChannelMessageSendComplex(fakediscord.DefaultLogChannelID, &discordgo.MessageSend{Content: "x", Components: twice})
	check("POST message", err)
	msg, err := b.s.ChannelMessageSend(fakediscord.DefaultLogChannelID, "x")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.s.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: msg.ID, Channel: msg.ChannelID, Components: &twice})
	check("PATCH message", err)

	srv.Command(fakediscord.User{ID: "1300000000000000001"}, "", []string{"world", "restore"}, nil)
	i := <-got
	err = b.s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "sure?", Components: twice}})
	check("callback type 4", err)
	if err := b.s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatalf("deferred after a refused callback: %v", err)
	}
	_, err = b.s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Components: &twice})
	check("PATCH @original", err)
	_, err = b.s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "x", Components: twice})
	check("POST followup", err)
	if u := srv.Unexpected(); len(u) != 0 {
		t.Errorf("unexpected requests: %v", u)
	}
}

// confirmRow is what a bot sends to confirm a restore.
func confirmRow(disabled bool) []discordgo.MessageComponent {
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{CustomID: "restore:confirm", Label: "Restore", Style: discordgo.DangerButton, Disabled: disabled},
		discordgo.Button{CustomID: "restore:cancel", Label: "Cancel", Style: discordgo.SecondaryButton, Disabled: disabled},
		discordgo.Button{Label: "Backups", Style: discordgo.LinkButton, URL: "https://example.com/backups"},
	}}}
}

// A real discordgo client sends buttons, receives the clicks as Discord
// sends them and answers each the ways Discord allows: updating the message
// (type 7), acknowledging and editing it later (type 6 then PATCH
// @original), or with a new message (type 4).
func TestClickRoundTrip(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := openBot(t, srv)
	seen := make(chan *discordgo.InteractionCreate, 10)
	answer(b, func(i *discordgo.InteractionCreate) *discordgo.InteractionResponse {
		seen <- i
		if i.Type == discordgo.InteractionApplicationCommand {
			return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral,
					Content: "Restore world 'castle' from its backup of Monday?", Components: confirmRow(false)}}
		}
		switch i.MessageComponentData().CustomID {
		case "restore:confirm":
			return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
				Data: &discordgo.InteractionResponseData{Content: "Restoring 'castle'…", Components: []discordgo.MessageComponent{}}}
		case "wake":
			return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
		case "status":
			return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral, Content: "castle is asleep"}}
		}
		return nil
	})
	owner := fakediscord.User{ID: "1300000000000000001", Roles: []string{fakediscord.DefaultUserRoleID}}

	// An ephemeral confirmation, clicked by the member who asked for it.
	cmd := srv.Command(owner, "fr", []string{"world", "restore"}, map[string]any{"world": "castle"})
	cmd.WaitResponse(t, wait)
	<-seen
	confirm, ok := cmd.Original()
	if !ok || !confirm.Ephemeral() || len(confirm.Buttons()) != 3 {
		t.Fatalf("confirmation = %+v", confirm)
	}
	click := srv.Click(owner, "fr", confirm.ChannelID, confirm.ID, "restore:confirm")
	resp := click.WaitResponse(t, wait)
	i := <-seen
	if i.Type != discordgo.InteractionMessageComponent || i.ID != click.ID || i.Token != click.Token || i.AppID != fakediscord.DefaultApplicationID {
		t.Errorf("click = type %v id %s token %s app %s", i.Type, i.ID, i.Token, i.AppID)
	}
	if d := i.MessageComponentData(); d.CustomID != "restore:confirm" || d.ComponentType != discordgo.ButtonComponent {
		t.Errorf("click data = %+v", d)
	}
	if i.Member == nil || i.Member.User.ID != owner.ID || i.GuildID != fakediscord.DefaultGuildID || i.Locale != discordgo.French ||
		i.ChannelID != confirm.ChannelID {
		t.Errorf("click from member %+v guild %s locale %s channel %s", i.Member, i.GuildID, i.Locale, i.ChannelID)
	}
	if i.Message == nil || i.Message.ID != confirm.ID || i.Message.Flags&discordgo.MessageFlagsEphemeral == 0 ||
		!strings.Contains(i.Message.Content, "castle") || len(i.Message.Components) != 1 {
		t.Errorf("clicked message = %+v", i.Message)
	}
	if resp.Type != fakediscord.ResponseUpdateMessage || resp.Content != "Restoring 'castle'…" || len(resp.Buttons()) != 0 {
		t.Errorf("update = %+v", resp)
	}
	if m, _ := click.Message(); m.ID != confirm.ID || m.Content != "Restoring 'castle'…" || len(m.Buttons()) != 0 || !m.Ephemeral() || m.EditedAt.IsZero() {
		t.Errorf("clicked message after the update = %+v", m)
	}
	if m, _ := cmd.Original(); m.Content != "Restoring 'castle'…" {
		t.Errorf("the command's answer after the update = %+v, want the same message updated", m)
	}
	if click.Reply() != "Restoring 'castle'…" || len(click.Edits()) != 1 {
		t.Errorf("reply %q, edits %+v", click.Reply(), click.Edits())
	}
	if err := srv.CanClick(owner, confirm.ChannelID, confirm.ID, "restore:cancel"); err == nil {
		t.Error("the cancel button can still be clicked after the update removed it")
	}

	// A second answer to the same click is refused.
	err := b.s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "again"}})
	if status, code := restCode(t, err); status != 400 || code != fakediscord.CodeAlreadyAcknowledged {
		t.Errorf("second callback: %d/%d, want 400/40060", status, code)
	}

	// A channel message with a Wake button: acknowledged, then edited
	// through @original to disable it.
	viewer := fakediscord.User{ID: "1300000000000000002", Permissions: fakediscord.PermViewChannel}
	wake, err := b.s.ChannelMessageSendComplex(fakediscord.DefaultGeneralID, &discordgo.MessageSend{
		Content: "castle was saved and sleeps.",
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{CustomID: "wake", Label: "Wake", Emoji: &discordgo.ComponentEmoji{Name: "⏰"}},
			discordgo.Button{CustomID: "status", Label: "Status", Style: discordgo.SecondaryButton},
		}}},
	})
	if err != nil {
		t.Fatalf("send with buttons: %v", err)
	}
	if len(wake.Components) != 1 {
		t.Errorf("returned components = %#v", wake.Components)
	}
	click = srv.Click(viewer, "", fakediscord.DefaultGeneralID, wake.ID, "wake")
	if r := click.WaitResponse(t, wait); r.Type != fakediscord.ResponseDeferredUpdateMessage {
		t.Errorf("deferred update = %+v", r)
	}
	i = <-seen
	if i.Message.Flags&discordgo.MessageFlagsEphemeral != 0 || i.Locale != discordgo.EnglishUS || i.Member.User.ID != viewer.ID {
		t.Errorf("click on a channel message: flags %d locale %s member %s", i.Message.Flags, i.Locale, i.Member.User.ID)
	}
	content := "castle is waking up (woken by <@" + viewer.ID + ">)."
	off := []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{CustomID: "wake", Label: "Wake", Disabled: true}}}}
	if _, err := b.s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content, Components: &off}); err != nil {
		t.Fatalf("edit @original of a click: %v", err)
	}
	edited := click.WaitEdit(t, wait, nil)
	rec, _ := srv.Message(wake.ID)
	if edited.ID != wake.ID || rec.Content != content || len(rec.History) != 2 {
		t.Errorf("channel message after the edit = %+v (edit %+v)", rec, edited)
	}
	if bt, ok := rec.Button("wake"); !ok || !bt.Disabled {
		t.Errorf("wake button after the edit = %+v", bt)
	}
	if err := srv.CanClick(viewer, fakediscord.DefaultGeneralID, wake.ID, "wake"); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("clicking a disabled button: %v", err)
	}

	// Answered with a new message, to which a followup with buttons is added.
	wake2, _ := b.s.ChannelMessageSendComplex(fakediscord.DefaultGeneralID, &discordgo.MessageSend{Content: "Status",
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{CustomID: "status", Label: "Status"}}}}})
	click = srv.Click(viewer, "", fakediscord.DefaultGeneralID, wake2.ID, "status")
	if r := click.WaitResponse(t, wait); r.Type != fakediscord.ResponseChannelMessage || !r.Ephemeral() {
		t.Errorf("new message = %+v", r)
	}
	i = <-seen
	if m, _ := click.Original(); m.ID == wake2.ID || m.Content != "castle is asleep" {
		t.Errorf("answer = %+v, want a new message", m)
	}
	if m, _ := click.Message(); m.Content != "Status" {
		t.Errorf("clicked message = %+v, want it unchanged", m)
	}
	f, err := b.s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "Really wake it?",
		Flags: discordgo.MessageFlagsEphemeral, Components: confirmRow(false)})
	if err != nil || len(f.Components) != 1 {
		t.Fatalf("followup with buttons: %+v, %v", f, err)
	}
	if err := srv.CanClick(viewer, f.ChannelID, f.ID, "restore:cancel"); err != nil {
		t.Errorf("the followup's button cannot be clicked by its user: %v", err)
	}
	if err := srv.CanClick(owner, f.ChannelID, f.ID, "restore:cancel"); err == nil || !strings.Contains(err.Error(), "ephemeral") {
		t.Errorf("another member clicking an ephemeral followup: %v", err)
	}

	// In a direct message the click comes from the user, without a guild.
	dm := srv.Interact(t, fakediscord.InteractionSpec{User: owner, Path: []string{"world", "restore"}, DM: true})
	dm.WaitResponse(t, wait)
	<-seen
	dmMsg, _ := dm.Original()
	click = srv.Click(owner, "", dmMsg.ChannelID, dmMsg.ID, "restore:confirm")
	click.WaitResponse(t, wait)
	if i = <-seen; i.GuildID != "" || i.Member != nil || i.User == nil || i.User.ID != owner.ID || i.ChannelID != dmMsg.ChannelID {
		t.Errorf("click in a DM: guild %q member %v user %v channel %s", i.GuildID, i.Member, i.User, i.ChannelID)
	}
	if m, _ := dm.Original(); m.Content != "Restoring 'castle'…" {
		t.Errorf("DM answer after the update = %+v", m)
	}
	if u := srv.Unexpected(); len(u) != 0 {
		t.Errorf("unexpected requests: %v", u)
	}
}

// Callback types 6 and 7 answer clicks only, and a late update changes
// nothing.
func TestUpdateCallbacksNeedAClick(t *testing.T) {
	t.Parallel()
	deadline := 30 * time.Millisecond
	srv := fakediscord.New(t, fakediscord.Options{InteractionDeadline: deadline})
	b := openBot(t, srv)
	got := make(chan *discordgo.InteractionCreate, 1)
	b.s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { got <- i })
	user := fakediscord.User{ID: "1300000000000000001", Permissions: fakediscord.PermViewChannel}

	srv.Command(user, "", []string{"world", "list"}, nil)
	i := <-got
	for _, typ := range []discordgo.InteractionResponseType{discordgo.InteractionResponseUpdateMessage, discordgo.InteractionResponseDeferredMessageUpdate} {
		err := b.s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: typ, Data: &discordgo.InteractionResponseData{Content: "x"}})
		if field, _ := formError(t, err); field != "type" {
			t.Errorf("type %d to a command: error on %q, want type", typ, field)
		}
	}

	msg, err := b.s.ChannelMessageSendComplex(fakediscord.DefaultGeneralID, &discordgo.MessageSend{Content: "sure?", Components: confirmRow(false)})
	if err != nil {
		t.Fatal(err)
	}
	click := srv.Click(user, "", msg.ChannelID, msg.ID, "restore:cancel")
	i = <-got
	srv.WaitFor(t, "the interaction deadline to pass", wait, func() bool { return time.Since(click.DispatchedAt) > deadline })
	err = b.s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "cancelled"}})
	if status, code := restCode(t, err); status != 404 || code != fakediscord.CodeUnknownInteraction {
		t.Errorf("late update: %d/%d, want 404/10062", status, code)
	}
	if r := click.WaitResponse(t, wait); !r.Late || r.Content != "cancelled" {
		t.Errorf("late update = %+v", r)
	}
	if m, _ := srv.Message(msg.ID); m.Content != "sure?" || len(m.Buttons()) != 3 || len(m.History) != 1 {
		t.Errorf("message after a late update = %+v, want it unchanged", m)
	}
}

// Click fails the test, saying why, where a user could not click.
func TestClickRefusals(t *testing.T) {
	t.Parallel()
	ftb := &failureTB{TB: t}
	srv := fakediscord.New(ftb, fakediscord.Options{})
	b := openBot(t, srv)
	got := make(chan *discordgo.InteractionCreate, 1)
	b.s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { got <- i })
	owner := fakediscord.User{ID: "1300000000000000001", Roles: []string{fakediscord.DefaultUserRoleID}}
	stranger := fakediscord.User{ID: "1300000000000000002", Roles: []string{fakediscord.DefaultUserRoleID}}
	member := fakediscord.User{ID: "1300000000000000003", Permissions: fakediscord.PermViewChannel}

	ticket, err := b.s.GuildChannelCreateComplex(fakediscord.DefaultGuildID, discordgo.GuildChannelCreateData{
		Name: "castle", Type: discordgo.ChannelTypeGuildText, ParentID: fakediscord.DefaultCategoryID,
		PermissionOverwrites: ticketOverwrites(owner.ID),
	})
	if err != nil {
		t.Fatal(err)
	}
	inTicket, _ := b.s.ChannelMessageSendComplex(ticket.ID, &discordgo.MessageSend{Content: "saved", Components: confirmRow(false)})
	inGeneral, _ := b.s.ChannelMessageSendComplex(fakediscord.DefaultGeneralID, &discordgo.MessageSend{Content: "saved", Components: confirmRow(false)})
	disabled, _ := b.s.ChannelMessageSendComplex(fakediscord.DefaultGeneralID, &discordgo.MessageSend{Content: "done", Components: confirmRow(true)})
	deleted, _ := b.s.ChannelMessageSendComplex(fakediscord.DefaultGeneralID, &discordgo.MessageSend{Content: "gone", Components: confirmRow(false)})
	if err := b.s.ChannelMessageDelete(deleted.ChannelID, deleted.ID); err != nil {
		t.Fatal(err)
	}
	srv.Command(owner, "", []string{"world", "delete"}, nil)
	i := <-got
	if err := b.s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "Delete castle?", Flags: discordgo.MessageFlagsEphemeral, Components: confirmRow(false)}}); err != nil {
		t.Fatal(err)
	}
	ephemeral, err := b.s.InteractionResponse(i.Interaction)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name                       string
		who                        fakediscord.User
		channel, message, customID string
		want                       string // "" when the click is allowed
	}{
		{"the owner in their ticket", owner, ticket.ID, inTicket.ID, "restore:confirm", ""},
		{"a stranger in the ticket", stranger, ticket.ID, inTicket.ID, "restore:confirm", "no View Channel in #castle"},
		{"a member who sees general", member, fakediscord.DefaultGeneralID, inGeneral.ID, "restore:confirm", ""},
		{"a member without View Channel in general", stranger, fakediscord.DefaultGeneralID, inGeneral.ID, "restore:confirm", "no View Channel in #general"},
		{"the user of an ephemeral answer", owner, ephemeral.ChannelID, ephemeral.ID, "restore:confirm", ""},
		{"another member on an ephemeral answer", member, ephemeral.ChannelID, ephemeral.ID, "restore:confirm", "ephemeral, shown only to user " + owner.ID},
		{"a disabled button", member, fakediscord.DefaultGeneralID, disabled.ID, "restore:confirm", "is disabled"},
		{"a link button", member, fakediscord.DefaultGeneralID, inGeneral.ID, "https://example.com/backups", "link button"},
		{"a button the message lacks", member, fakediscord.DefaultGeneralID, inGeneral.ID, "wake", `has no button "wake"; its buttons: "restore:confirm" ("Restore")`},
		{"a deleted message", member, fakediscord.DefaultGeneralID, deleted.ID, "restore:confirm", "was deleted"},
		{"a message of another channel", member, fakediscord.DefaultLogChannelID, inGeneral.ID, "restore:confirm", "is in channel " + fakediscord.DefaultGeneralID},
		{"a message nobody posted", member, fakediscord.DefaultGeneralID, "1100000000000000999", "restore:confirm", "no message 1100000000000000999"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := srv.CanClick(c.who, c.channel, c.message, c.customID)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("CanClick = %v, want an error containing %q", err, c.want)
			}
		})
	}

	msg := ftb.failure(func() { srv.Click(member, "", ephemeral.ChannelID, ephemeral.ID, "restore:confirm") })
	for _, want := range []string{`click "restore:confirm" on message ` + ephemeral.ID, "ephemeral"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
	msg = ftb.failure(func() { srv.Click(member, "", fakediscord.DefaultGeneralID, disabled.ID, "restore:cancel") })
	if !strings.Contains(msg, `button "restore:cancel" of message `+disabled.ID+" is disabled") {
		t.Errorf("failure message: %s", msg)
	}

	// Closing the ticket puts its buttons out of everyone's reach.
	if _, err := b.s.ChannelDelete(ticket.ID); err != nil {
		t.Fatal(err)
	}
	if err := srv.CanClick(owner, ticket.ID, inTicket.ID, "restore:confirm"); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("click in a closed ticket: %v", err)
	}
	select {
	case i := <-got:
		t.Errorf("a refused click reached the bot: %+v", i)
	default:
	}
}
