package discord_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// wakerFake is the lifecycle's side of /world with the Wake button's
// method: it records who woke what and answers as the test set it.
type wakerFake struct {
	*worldsFake
	mu    sync.Mutex
	wakes []string // "<world> by <user>[ admin]"
	wake  func(by spawner.Actor, worldID string) error
}

var _ discord.WorldWaker = (*wakerFake)(nil)

func (f *wakerFake) WakeWorld(_ context.Context, by spawner.Actor, worldID string) error {
	call := worldID + " by " + by.UserID
	if by.Admin {
		call += " admin"
	}
	f.mu.Lock()
	f.wakes = append(f.wakes, call)
	wake := f.wake
	f.mu.Unlock()
	return wake(by, worldID)
}

func (f *wakerFake) woken() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.wakes)
}

// wakeBot opens a bot whose worlds are served by w (nil: it keeps none)
// on a fresh fake Discord.
func wakeBot(t *testing.T, w discord.WorldControl) (*fakediscord.Server, *discord.Bot) {
	t.Helper()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	if w != nil {
		b.ServeWorlds(w)
	}
	openBot(t, b, &fleet{catalog: spawner.Catalog{minecraft, valheim, paper}})
	return srv, b
}

// savedMessage posts, in a new ticket channel of Alice's, the message that
// says her world was saved and sleeps, with its Wake button, in locale.
func savedMessage(t *testing.T, srv *fakediscord.Server, b *discord.Bot, locale string) fakediscord.Message {
	t.Helper()
	ctx := context.Background()
	ch, err := b.CreateTicket(ctx, spawner.Ticket{Name: "valheim-3f9a1c", Owner: alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	id, err := b.Send(ctx, ch, spawner.Message{Content: "World survival was saved; it sleeps.", Wake: "w-alice-valheim", Locale: locale, Key: "c1/saved"})
	if err != nil {
		t.Fatalf("send the saved message: %v", err)
	}
	m, ok := srv.Message(id)
	if !ok {
		t.Fatalf("no message %s", id)
	}
	return m
}

const wakeButton = "wake:w-alice-valheim"

// The message that says a world sleeps carries a Wake button labelled in
// the message's language; its owner's click wakes the world (the lifecycle
// is told who clicked) and is answered privately that it is under way; an
// admin's too. A member who cannot see the ticket cannot click it.
func TestWakeButton(t *testing.T) {
	t.Parallel()
	w := &wakerFake{worldsFake: newWorlds(), wake: func(spawner.Actor, string) error { return nil }}
	srv, b := wakeBot(t, w)

	for locale, label := range map[string]string{"fr": "Réveiller", "en-US": "Wake", "": "Wake"} {
		m := savedMessage(t, srv, b, locale)
		bt, ok := m.Button(wakeButton)
		if !ok || bt.Label != label || bt.Disabled || m.Content != "World survival was saved; it sleeps." {
			t.Errorf("locale %q: message %q with buttons %+v, want its content and an enabled %q button %s", locale, m.Content, m.Buttons(), label, wakeButton)
		}
	}
	m := savedMessage(t, srv, b, "en-US")

	if err := srv.CanClick(bob, m.ChannelID, m.ID, wakeButton); err == nil {
		t.Error("Bob can click the Wake button in Alice's ticket channel")
	}

	ix := srv.Click(alice, "fr", m.ChannelID, m.ID, wakeButton)
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || r.Late {
		t.Fatalf("the click was answered %+v, want a private answer in time", r)
	}
	if got := ix.WaitEdit(t, wait, nil).Text(); !strings.Contains(got, "Le monde se réveille") {
		t.Errorf("Alice reads %q, want that her world wakes, in French", got)
	}
	ix = srv.Click(admin, "en-US", m.ChannelID, m.ID, wakeButton)
	if got := ix.WaitEdit(t, wait, nil).Text(); !strings.Contains(got, "The world is waking up") {
		t.Errorf("the admin reads %q", got)
	}
	if got, want := w.woken(), []string{"w-alice-valheim by " + alice.ID, "w-alice-valheim by " + admin.ID + " admin"}; !slices.Equal(got, want) {
		t.Errorf("wakes %q, want %q", got, want)
	}
	if after, _ := srv.Message(m.ID); len(after.Buttons()) != 1 || after.Content != m.Content {
		t.Errorf("the message after the clicks: %q %+v, want it unchanged, its button still there", after.Content, after.Buttons())
	}
}

// A wake the lifecycle refuses is answered privately with why, in the
// clicker's language; one that fails says so without its detail; a member
// without the role is refused before the lifecycle is asked; a bot that
// cannot wake worlds says so.
func TestWakeButtonRefusals(t *testing.T) {
	t.Parallel()
	w := &wakerFake{worldsFake: newWorlds()}
	srv, b := wakeBot(t, w)
	m := savedMessage(t, srv, b, "en-US")

	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"cap", &spawner.Refusal{Code: spawner.RefusedCap, Limit: 3}, "All 3 server slots are taken"},
		{"busy", &spawner.Refusal{Code: spawner.RefusedBusy}, "You already have a server running"},
		// The lifecycle names the world by its id; she reads its name.
		{"gone", &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: "w-alice-valheim"}, "You have no world called `survival`"},
		{"not hers", &spawner.Refusal{Code: spawner.RefusedNoWorld}, "That world does not exist, or is not yours"},
		{"failure", errors.New("run task: secret detail"), "could not be woken up"},
	} {
		w.mu.Lock()
		w.wake = func(spawner.Actor, string) error { return tc.err }
		w.mu.Unlock()
		ix := srv.Click(alice, "en-US", m.ChannelID, m.ID, wakeButton)
		if got := ix.WaitEdit(t, wait, nil).Text(); !strings.Contains(got, tc.want) || strings.Contains(got, "secret") || strings.Contains(got, "w-alice") {
			t.Errorf("%s: Alice reads %q, want %q", tc.name, got, tc.want)
		}
	}

	// A member without the role, in a channel they see.
	general, err := b.Send(context.Background(), fakediscord.DefaultGeneralID, spawner.Message{Content: "sleeps", Wake: "w-alice-valheim"})
	if err != nil {
		t.Fatal(err)
	}
	stranger := fakediscord.User{ID: "1300000000000000099", Permissions: fakediscord.PermViewChannel}
	before := len(w.woken())
	ix := srv.Click(stranger, "en-US", fakediscord.DefaultGeneralID, general, wakeButton)
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || !strings.Contains(r.Text(), "You don't have a role") {
		t.Errorf("a member without the role reads %+v", r)
	}
	if n := len(w.woken()); n != before {
		t.Errorf("the lifecycle was asked to wake for a member without the role")
	}

	// A bot whose lifecycle cannot wake worlds, or that keeps none.
	for name, control := range map[string]discord.WorldControl{"no waker": newWorlds(), "no worlds": nil} {
		srv, b := wakeBot(t, control)
		m := savedMessage(t, srv, b, "en-US")
		ix := srv.Click(alice, "fr", m.ChannelID, m.ID, wakeButton)
		if r := ix.WaitResponse(t, wait); !r.Ephemeral() || !strings.Contains(r.Text(), "ne peut pas réveiller") {
			t.Errorf("%s: the click was answered %+v", name, r)
		}
	}
}

// A wake refused for the owner's rules (their role, one server per
// member) reads about the owner to an admin who clicked the Wake button
// of a member's world, in the admin's language, as a player joining the
// world reads it; the owner who clicked reads it about themselves.
// Refusals that are nobody's rules read the same to both.
func TestWakeRefusedForTheOwnersRules(t *testing.T) {
	t.Parallel()
	w := &wakerFake{worldsFake: newWorlds()}
	srv, b := wakeBot(t, w)
	m := savedMessage(t, srv, b, "en-US")

	for _, tc := range []struct {
		name   string
		by     fakediscord.User
		locale string
		err    *spawner.Refusal
		want   string
	}{
		{"role, admin", admin, "en-US", &spawner.Refusal{Code: spawner.RefusedNoRole}, "Its owner no longer has a role that allows starting servers."},
		{"role, admin in French", admin, "fr", &spawner.Refusal{Code: spawner.RefusedNoRole}, "Son propriétaire n'a plus de rôle qui permet de lancer des serveurs."},
		{"busy, admin", admin, "en-US", &spawner.Refusal{Code: spawner.RefusedBusy}, "Its owner already has another server running or being created."},
		{"busy, admin in French", admin, "fr", &spawner.Refusal{Code: spawner.RefusedBusy}, "Son propriétaire a déjà un autre serveur lancé ou en cours de création."},
		{"role, owner", alice, "en-US", &spawner.Refusal{Code: spawner.RefusedNoRole}, "You don't have a role that allows this."},
		{"busy, owner", alice, "en-US", &spawner.Refusal{Code: spawner.RefusedBusy}, "You already have a server running or being created. Stop it first with `/server stop`."},
		{"cap, admin", admin, "en-US", &spawner.Refusal{Code: spawner.RefusedCap, Limit: 3}, "All 3 server slots are taken. Try again when one is free."},
	} {
		w.mu.Lock()
		w.wake = func(spawner.Actor, string) error { return tc.err }
		w.mu.Unlock()
		ix := srv.Click(tc.by, tc.locale, m.ChannelID, m.ID, wakeButton)
		if got := ix.WaitEdit(t, wait, nil).Text(); got != tc.want {
			t.Errorf("%s: the click reads %q, want %q", tc.name, got, tc.want)
		}
	}
}

// An edit of the message keeps its button only when it still has a world
// to wake; a world id no button can carry is refused, nothing posted.
func TestWakeButtonEditedAndRefused(t *testing.T) {
	t.Parallel()
	srv, b := wakeBot(t, &wakerFake{worldsFake: newWorlds()})
	ctx := context.Background()
	m := savedMessage(t, srv, b, "en-US")

	if err := b.Edit(ctx, m.ChannelID, m.ID, spawner.Message{Content: "Still asleep.", Wake: "w-alice-valheim", Locale: "fr"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Message(m.ID); got.Content != "Still asleep." || len(got.Buttons()) != 1 || got.Buttons()[0].Label != "Réveiller" {
		t.Errorf("after an edit with Wake: %q %+v", got.Content, got.Buttons())
	}
	if err := b.Edit(ctx, m.ChannelID, m.ID, spawner.Message{Content: "Woken up."}); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Message(m.ID); got.Content != "Woken up." || len(got.Buttons()) != 0 {
		t.Errorf("after an edit without Wake: %q %+v, want no button", got.Content, got.Buttons())
	}

	before := len(srv.Messages(m.ChannelID))
	for _, bad := range []string{"../etc", strings.Repeat("w", 65), "w 1"} {
		if _, err := b.Send(ctx, m.ChannelID, spawner.Message{Content: "x", Wake: bad}); err == nil || !strings.Contains(err.Error(), "wake button") {
			t.Errorf("Send with Wake %q: %v, want an error naming the wake button", bad, err)
		}
		if err := b.Edit(ctx, m.ChannelID, m.ID, spawner.Message{Content: "x", Wake: bad}); err == nil {
			t.Errorf("Edit with Wake %q: no error", bad)
		}
	}
	if n := len(srv.Messages(m.ChannelID)); n != before {
		t.Errorf("%d messages posted with a bad Wake", n-before)
	}
	if got, _ := srv.Message(m.ID); got.Content != "Woken up." {
		t.Errorf("a refused edit changed the message to %q", got.Content)
	}
}

// A forged click on a Wake button of a world id no button carries never
// reaches the lifecycle.
func TestWakeForgedWorldID(t *testing.T) {
	t.Parallel()
	w := &wakerFake{worldsFake: newWorlds(), wake: func(spawner.Actor, string) error { return nil }}
	srv, b := wakeBot(t, w)
	ctx := context.Background()
	// The bot itself never posts such a button: the test does, as a forged
	// interaction would carry its id.
	ch, err := b.CreateTicket(ctx, spawner.Ticket{Name: "forged", Owner: alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	forged := "wake:" + strings.Repeat("../", 10)
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	s, err := discordgo.New("Bot " + srv.Options().Token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = &http.Client{Transport: discord.Rewrite(u, http.DefaultTransport)}
	posted, err := s.ChannelMessageSendComplex(ch, &discordgo.MessageSend{Content: "sleeps", Components: []discordgo.MessageComponent{
		discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{Label: "Wake", CustomID: forged}}},
	}})
	if err != nil {
		t.Fatalf("post the forged button: %v", err)
	}
	id := posted.ID
	ix := srv.Click(alice, "en-US", ch, id, forged)
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || !strings.Contains(r.Text(), "You have no world called") {
		t.Errorf("the forged click was answered %+v", r)
	}
	if got := w.woken(); len(got) != 0 {
		t.Errorf("the lifecycle was asked %q", got)
	}
}
