package discord_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

const wait = 10 * time.Second

const messagesRoute = "POST /channels/{channel}/messages"

// fleet is the lifecycle as the commands see it: it refuses unknown games
// and records the creations it accepts.
type fleet struct {
	catalog spawner.Catalog

	mu      sync.Mutex
	creates []spawner.CreateRequest
}

func (f *fleet) Create(req spawner.CreateRequest) error {
	if _, ok := f.catalog.Lookup(req.Game); !ok {
		return &spawner.Refusal{Code: spawner.RefusedUnknownGame, Name: req.Game}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, req)
	return nil
}

func (f *fleet) Stop(context.Context, spawner.Actor, string) (spawner.Server, error) {
	return spawner.Server{}, &spawner.Refusal{Code: spawner.RefusedNoServer}
}
func (f *fleet) Servers(spawner.Actor) []spawner.Server { return nil }
func (f *fleet) StopsAt(spawner.Server) time.Time       { return time.Time{} }
func (f *fleet) Catalog() spawner.Catalog               { return f.catalog }
func (f *fleet) created() []spawner.CreateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.creates)
}

var minecraft = spawner.Game{Name: "minecraft", Title: "Minecraft", Variants: []spawner.Variant{{Name: "official"}}}

// newBot returns a Bot configured against srv, not opened; edit changes
// its configuration first.
func newBot(tb testing.TB, srv *fakediscord.Server, edit func(*discord.Config)) *discord.Bot {
	tb.Helper()
	u, err := url.Parse(srv.URL())
	if err != nil {
		tb.Fatal(err)
	}
	cfg := discord.Config{
		Token:        srv.Options().Token,
		GuildID:      srv.Options().GuildID,
		UserRoleIDs:  []string{fakediscord.DefaultUserRoleID},
		AdminRoleIDs: []string{fakediscord.DefaultAdminRoleID},
		CategoryID:   fakediscord.DefaultCategoryID,
		LogChannelID: fakediscord.DefaultLogChannelID,
		APIURL:       u,
		Retry:        discord.Retry{First: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	}
	if edit != nil {
		edit(&cfg)
	}
	b, err := discord.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatalf("new bot: %v", err)
	}
	return b
}

// openBot opens b with f and closes it when the test ends.
func openBot(tb testing.TB, b *discord.Bot, f *fleet) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.Open(ctx, f); err != nil {
		cancel()
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		cancel()
		b.Close()
	})
}

func member(n int, roles ...string) fakediscord.User {
	return fakediscord.User{ID: fmt.Sprintf("13000000000000000%02d", n), Roles: roles}
}

func statuses(srv *fakediscord.Server, route string) []int {
	var out []int
	for _, r := range srv.Requests() {
		if r.Route == route {
			out = append(out, r.Status)
		}
	}
	return out
}

func contents(srv *fakediscord.Server, channelID string) []string {
	var out []string
	for _, m := range srv.Messages(channelID) {
		out = append(out, m.Content)
	}
	return out
}

// Two 500s in a row on a message: the adapter retries and the message goes
// through; a 4xx is not retried.
func TestTransientErrorsAreRetried(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	ctx := context.Background()

	srv.FailNext("POST", "/channels/{channel}/messages", 2, http.StatusInternalServerError)
	if _, err := b.Send(ctx, fakediscord.DefaultLogChannelID, spawner.Message{Content: "Your server is ready"}); err != nil {
		t.Fatalf("send after two 500s: %v", err)
	}
	if got := statuses(srv, messagesRoute); !slices.Equal(got, []int{500, 500, 200}) {
		t.Errorf("message posts answered %v, want 500, 500, 200", got)
	}
	srv.FailNext("POST", "/channels/{channel}/messages", 1, http.StatusBadGateway)
	if _, err := b.Send(ctx, fakediscord.DefaultLogChannelID, spawner.Message{Content: "after a 502"}); err != nil {
		t.Fatalf("send after a 502: %v", err)
	}
	if got := contents(srv, fakediscord.DefaultLogChannelID); !slices.Equal(got, []string{"Your server is ready", "after a 502"}) {
		t.Errorf("log channel holds %q", got)
	}

	srv.FailNext("POST", "/channels/{channel}/messages", 1, http.StatusBadRequest)
	before := len(statuses(srv, messagesRoute))
	if _, err := b.Send(ctx, fakediscord.DefaultLogChannelID, spawner.Message{Content: "refused"}); err == nil {
		t.Fatal("a 400 was not returned")
	}
	if n := len(statuses(srv, messagesRoute)) - before; n != 1 {
		t.Errorf("a 400 was sent %d times, want once", n)
	}
}

// A 500 that never ends: the adapter gives up once its budget is spent.
// The budget counts from the first attempt: it is long enough for that
// attempt to end and a retry to follow on a loaded machine.
func TestPersistentErrorIsReturned(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, func(c *discord.Config) {
		c.Retry = discord.Retry{First: time.Millisecond, Max: 5 * time.Millisecond, Budget: 500 * time.Millisecond}
	})
	srv.FailNext("POST", "/channels/{channel}/messages", 1000, http.StatusInternalServerError)
	_, err := b.Send(context.Background(), fakediscord.DefaultLogChannelID, spawner.Message{Content: "lost"})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("send during an outage: %v, want the 500", err)
	}
	if n := len(statuses(srv, messagesRoute)); n < 2 {
		t.Errorf("%d attempts, want retries before giving up", n)
	}
}

// A 429 asking to wait 30 s: the call waits, and returns at once with the
// context's error when the context ends; it never sends again.
func TestRateLimitWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)

	srv.RateLimitNext("POST", "/channels/{channel}/messages", 1, 10*time.Millisecond)
	if _, err := b.Send(context.Background(), fakediscord.DefaultLogChannelID, spawner.Message{Content: "after a short 429"}); err != nil {
		t.Fatalf("send after a short 429: %v", err)
	}
	if got := statuses(srv, messagesRoute); !slices.Equal(got, []int{429, 200}) {
		t.Fatalf("message posts answered %v, want 429 then 200", got)
	}

	srv.RateLimitNext("POST", "/channels/{channel}/messages", 1, 30*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := b.Send(ctx, fakediscord.DefaultLogChannelID, spawner.Message{Content: "never"})
		done <- err
	}()
	srv.WaitFor(t, "the 429", wait, func() bool { return len(statuses(srv, messagesRoute)) == 3 })
	select {
	case err := <-done:
		t.Fatalf("send returned before the context ended: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("send returned %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatalf("send still waiting %v after its context ended\n%s", wait, srv.Dump())
	}
	if got := statuses(srv, messagesRoute); !slices.Equal(got, []int{429, 200, 429}) {
		t.Errorf("message posts answered %v, want no retry after the cancel", got)
	}
}

// Discord's channel limits: a full category or guild is told as such.
func TestTicketChannelLimits(t *testing.T) {
	t.Parallel()
	base := []fakediscord.Channel{
		{ID: fakediscord.DefaultCategoryID, Name: "Game servers", Type: fakediscord.ChannelCategory},
		{ID: fakediscord.DefaultLogChannelID, Name: "spawner-log", Type: fakediscord.ChannelText},
	}
	filler := func(n int, parent string) []fakediscord.Channel {
		out := slices.Clone(base)
		for i := range n {
			out = append(out, fakediscord.Channel{ID: fmt.Sprintf("14000000000000%05d", i), Name: fmt.Sprintf("c%d", i), Type: fakediscord.ChannelText, ParentID: parent})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		channels []fakediscord.Channel
		want     error
	}{
		{"category full", filler(fakediscord.MaxCategoryChannels, fakediscord.DefaultCategoryID), spawner.ErrCategoryFull},
		{"guild full", filler(fakediscord.MaxGuildChannels-len(base), ""), spawner.ErrCommunityFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fakediscord.New(t, fakediscord.Options{Channels: tc.channels})
			b := newBot(t, srv, nil)
			_, err := b.CreateTicket(context.Background(), spawner.Ticket{Name: "minecraft-1a2b", Owner: member(1).ID})
			if !errors.Is(err, tc.want) {
				t.Fatalf("create ticket: %v, want %v", err, tc.want)
			}
		})
	}
	// One slot left: the ticket is made.
	srv := fakediscord.New(t, fakediscord.Options{Channels: filler(fakediscord.MaxCategoryChannels-1, fakediscord.DefaultCategoryID)})
	if _, err := newBot(t, srv, nil).CreateTicket(context.Background(), spawner.Ticket{Name: "minecraft-1a2b", Owner: member(1).ID}); err != nil {
		t.Fatalf("create ticket in the last slot: %v", err)
	}
}

// A 403 Missing Permissions is a MissingPermission naming what to grant.
func TestMissingPermission(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)

	srv.FailNext("POST", "/channels/{channel}/messages", 1, http.StatusForbidden)
	_, err := b.Send(context.Background(), fakediscord.DefaultLogChannelID, spawner.Message{Content: "ready"})
	var pe *spawner.MissingPermission
	if !errors.As(err, &pe) {
		t.Fatalf("send refused with 403: %v, want a MissingPermission", err)
	}
	if pe.System != "Discord" || !strings.Contains(pe.Need, "Send Messages") || !strings.Contains(pe.Action, fakediscord.DefaultLogChannelID) ||
		!strings.Contains(err.Error(), "50013") || !strings.Contains(err.Error(), "missing Discord permission") {
		t.Errorf("error %q does not name the action, the permission and Discord's code", err)
	}

	srv.SetBotPermissions(fakediscord.DefaultBotPermissions &^ fakediscord.PermManageChannels)
	_, err = b.CreateTicket(context.Background(), spawner.Ticket{Name: "minecraft-1a2b", Owner: member(1).ID})
	if !errors.As(err, &pe) || !strings.Contains(pe.Need, "Manage Channels") {
		t.Errorf("create ticket without Manage Channels: %v, want a MissingPermission naming it", err)
	}
}

// A 5,000-character game: the member gets a refusal naming a cut version.
func TestLongOptionIsCutInTheRefusal(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	openBot(t, b, &fleet{catalog: spawner.Catalog{minecraft}})

	long := strings.Repeat("é", 5000)
	ix := srv.Command(member(1, fakediscord.DefaultUserRoleID), "en-US", []string{"server", "create"}, map[string]any{"game": long})
	r := ix.WaitResponse(t, wait)
	if !r.Ephemeral() || r.Late {
		t.Errorf("answer %+v, want an ephemeral one in time", r)
	}
	if want := `There is no game called "` + strings.Repeat("é", 99) + `…"`; !strings.Contains(ix.Reply(), want) {
		t.Errorf("reply %q, want it to name the cut game", ix.Reply())
	}
}

// Everything the adapter sends fits Discord's limits.
func TestAnswersFitDiscordLimits(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	var catalog spawner.Catalog
	for i := range 30 {
		catalog = append(catalog, spawner.Game{Name: fmt.Sprintf("game-%d", i), Title: fmt.Sprintf("%d %s", i, strings.Repeat("ü", 150))})
	}
	openBot(t, b, &fleet{catalog: catalog})

	ix := srv.Autocomplete(member(1, fakediscord.DefaultUserRoleID), "en-US", []string{"server", "create"}, nil, "game")
	r := ix.WaitResponse(t, wait)
	if len(r.Choices) != 25 {
		t.Fatalf("%d choices, want Discord's 25\n%s", len(r.Choices), srv.Dump())
	}
	if c := r.Choices[0]; c.Value != "game-0" || utf8.RuneCountInString(c.Name) != 100 || !strings.HasSuffix(c.Name, "…") {
		t.Errorf("first choice %+v, want its title cut to 100 characters", c)
	}

	long := strings.Repeat("x", 3000)
	id, err := b.Send(context.Background(), fakediscord.DefaultLogChannelID, spawner.Message{Content: long})
	if err != nil {
		t.Fatalf("send 3000 characters: %v", err)
	}
	if m, _ := srv.Message(id); utf8.RuneCountInString(m.Content) != 2000 || !strings.HasSuffix(m.Content, "…") {
		t.Errorf("message of %d characters, want 2000 ending in an ellipsis", utf8.RuneCountInString(m.Content))
	}
	if err := b.Edit(context.Background(), fakediscord.DefaultLogChannelID, id, spawner.Message{Content: long + "y"}); err != nil {
		t.Errorf("edit to 3001 characters: %v", err)
	}
}

// DISCORD_USER_ROLE_ID set to the guild's id, the @everyone role: every
// member may create, and check finds nothing wrong.
func TestEveryoneRole(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	everyone := srv.Options().GuildID
	b := newBot(t, srv, func(c *discord.Config) { c.UserRoleIDs = []string{everyone} })
	if problems := b.Check(context.Background()); len(problems) != 0 {
		t.Errorf("check with the @everyone role: %v", problems)
	}
	f := &fleet{catalog: spawner.Catalog{minecraft}}
	openBot(t, b, f)

	u := member(1) // no role at all
	ix := srv.Command(u, "en-US", []string{"server", "create"}, nil)
	if r := ix.WaitResponse(t, wait); r.Type != fakediscord.ResponseDeferredChannelMessage {
		t.Errorf("answer of type %d %q, want the creation deferred", r.Type, ix.Reply())
	}
	if c := f.created(); len(c) != 1 || c[0].Owner != u.ID || c[0].Admin {
		t.Errorf("creations %+v, want one by %s, not admin", c, u.ID)
	}
}

// Without the @everyone role configured, a member with no role is refused.
func TestMemberWithoutRoleIsRefused(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	f := &fleet{catalog: spawner.Catalog{minecraft}}
	openBot(t, newBot(t, srv, nil), f)
	ix := srv.Command(member(1), "en-US", []string{"server", "create"}, nil)
	ix.WaitResponse(t, wait)
	if !strings.Contains(ix.Reply(), "You don't have a role") || len(f.created()) != 0 {
		t.Errorf("reply %q, creations %d: want a refusal and nothing created", ix.Reply(), len(f.created()))
	}
}

// Check's findings are spawner.Problems naming the variable to fix.
func TestCheckNamesTheVariable(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, func(c *discord.Config) {
		c.UserRoleIDs = []string{"1500000000000000001"}
		c.CategoryID = fakediscord.DefaultLogChannelID
	})
	var vars []string
	for _, err := range b.Check(context.Background()) {
		var p *spawner.Problem
		if !errors.As(err, &p) {
			t.Fatalf("finding %v is not a *spawner.Problem", err)
		}
		vars = append(vars, p.Var)
	}
	if !slices.Equal(vars, []string{"DISCORD_USER_ROLE_ID", "DISCORD_GAMESERVER_CATEGORY_ID"}) {
		t.Errorf("check named %v", vars)
	}

	bad := newBot(t, srv, func(c *discord.Config) { c.Token = "wrong" })
	problems := bad.Check(context.Background())
	var p *spawner.Problem
	if len(problems) != 1 || !errors.As(problems[0], &p) || p.Var != "DISCORD_TOKEN" {
		t.Errorf("check with a wrong token: %v", problems)
	}
}

// Discord invalidates the session: the bot identifies again and still
// answers commands.
func TestInvalidSessionStillServes(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	openBot(t, b, &fleet{catalog: spawner.Catalog{minecraft}})

	srv.DropSession()
	srv.WaitFor(t, "the bot to identify again", wait, func() bool { return srv.Identifies() == 2 && srv.Connected() })
	ix := srv.Command(member(1, fakediscord.DefaultUserRoleID), "en-US", []string{"server", "list"}, nil)
	if r := ix.WaitResponse(t, wait); r.Late || !r.Ephemeral() {
		t.Errorf("answer after a new session: %+v", r)
	}
	if !b.Connected() {
		t.Error("the bot says it is not connected")
	}
}

// A 500 on the answer to a command: the answer is sent again, in time.
func TestAnswerRetriedAfter500(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	openBot(t, newBot(t, srv, nil), &fleet{catalog: spawner.Catalog{minecraft}})
	srv.FailNext("POST", "/interactions/*/*/callback", 1, http.StatusInternalServerError)
	ix := srv.Command(member(1, fakediscord.DefaultUserRoleID), "en-US", []string{"server", "list"}, nil)
	if r := ix.WaitResponse(t, wait); r.Late || !r.Ephemeral() {
		t.Errorf("answer after a 500: %+v", r)
	}
	if got := statuses(srv, "POST /interactions/{id}/{token}/callback"); !slices.Equal(got, []int{500, 204}) {
		t.Errorf("callbacks answered %v, want 500 then 204", got)
	}
}

// Discord posts a message and then answers 500: the adapter's retry must
// not post it again. The message's key becomes a nonce Discord enforces,
// for ticket messages and log channel posts alike; two messages with
// different keys are both posted.
func TestRetryAfterHandledCreatePostsOnce(t *testing.T) {
	t.Parallel()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	ctx := context.Background()
	channel := fakediscord.DefaultGeneralID

	srv.FailNextAfterEffect("POST", "/channels/{channel}/messages", 1, http.StatusInternalServerError)
	id, err := b.Send(ctx, channel, spawner.Message{Content: "Your server is ready", Key: "c1/ready"})
	if err != nil {
		t.Fatalf("send after a handled 500: %v", err)
	}
	if got := statuses(srv, messagesRoute); !slices.Equal(got, []int{500, 200}) {
		t.Errorf("message posts answered %v, want 500 then 200", got)
	}
	msgs := srv.Messages(channel)
	if len(msgs) != 1 || msgs[0].ID != id {
		t.Fatalf("channel holds %q, want the ready message once, with the id Send returned (%s)", contents(srv, channel), id)
	}
	if n := msgs[0].Nonce; n == "" || len(n) > 25 {
		t.Errorf("nonce %q, want one of 1 to 25 characters", n)
	}

	srv.FailNextAfterEffect("POST", "/channels/{channel}/messages", 1, http.StatusInternalServerError)
	if err := b.Log(ctx, spawner.Message{Content: "server c1 created", Key: "c1/log-created"}); err != nil {
		t.Fatalf("log after a handled 500: %v", err)
	}
	if got := contents(srv, fakediscord.DefaultLogChannelID); !slices.Equal(got, []string{"server c1 created"}) {
		t.Errorf("log channel holds %q, want the post once", got)
	}

	// Other keys are other messages, with other nonces.
	for _, key := range []string{"c1/warn-players-1", "c2/ready"} {
		if _, err := b.Send(ctx, channel, spawner.Message{Content: key, Key: key}); err != nil {
			t.Fatalf("send %s: %v", key, err)
		}
	}
	nonces := map[string]bool{}
	for _, m := range srv.Messages(channel) {
		nonces[m.Nonce] = true
	}
	if got := contents(srv, channel); len(got) != 3 || len(nonces) != 3 {
		t.Errorf("channel holds %q with %d nonces, want 3 messages with 3 nonces", got, len(nonces))
	}
}
