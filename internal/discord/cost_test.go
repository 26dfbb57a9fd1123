package discord_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/costcase"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// sessions is the store as /server cost reads it: the case's sessions,
// or an error, after hold (when set) is closed.
type sessions struct {
	list []spawner.Session
	err  error
	hold chan struct{}

	mu    sync.Mutex
	reads [][2]time.Time
}

func (s *sessions) Sessions(ctx context.Context, from, to time.Time) ([]spawner.Session, []error, error) {
	s.mu.Lock()
	s.reads = append(s.reads, [2]time.Time{from, to})
	s.mu.Unlock()
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	if s.err != nil {
		return nil, nil, s.err
	}
	var out []spawner.Session
	for _, sess := range s.list {
		if sess.Overlaps(from, to) {
			out = append(out, sess)
		}
	}
	return out, []error{&spawner.RecordError{Key: "session/bad", Err: errors.New("no owner")}}, nil
}

func (s *sessions) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reads)
}

// costMembers are the case's members as guild members: bob and carol
// hold the user role, alice the admin role.
var costMembers = map[string]fakediscord.User{
	costcase.Alice: member(21, fakediscord.DefaultAdminRoleID),
	costcase.Bob:   member(22, fakediscord.DefaultUserRoleID),
	costcase.Carol: member(23, fakediscord.DefaultUserRoleID),
	costcase.Dave:  member(24, fakediscord.DefaultUserRoleID),
	costcase.Erin:  member(25, fakediscord.DefaultUserRoleID),
}

func costBot(t *testing.T, store *sessions) *fakediscord.Server {
	t.Helper()
	srv := fakediscord.New(t, fakediscord.Options{})
	b := newBot(t, srv, nil)
	b.Costs = &discord.Costs{Sessions: store, Pricing: cost.Pricing{Rates: cost.DefaultRates()}, Now: func() time.Time { return costcase.Now }}
	openBot(t, b, &fleet{catalog: spawner.Catalog{minecraft}})
	return srv
}

func caseSessions() []spawner.Session {
	return costcase.Sessions(func(name string) string { return costMembers[name].ID })
}

// costAnswer runs /server cost for u and returns the answer it ends with:
// a deferred one, given in time and privately, then edited.
func costAnswer(t *testing.T, srv *fakediscord.Server, u fakediscord.User, locale string, opts map[string]any) fakediscord.Message {
	t.Helper()
	ix := srv.Command(u, locale, []string{"server", "cost"}, opts)
	r := ix.WaitResponse(t, wait)
	if !r.Ephemeral() || r.Late || r.Type != fakediscord.ResponseDeferredChannelMessage {
		t.Fatalf("cost answer %+v, want a private deferred answer in time", r)
	}
	return ix.WaitEdit(t, wait, func(m fakediscord.Message) bool { return m.Content != "" })
}

// /server cost is registered with its French names; an admin reads the
// hand-computed figures of the month by member and by game, with the
// rates, their date and source; nobody is pinged.
func TestCostAdmin(t *testing.T) {
	t.Parallel()
	store := &sessions{list: caseSessions()}
	srv := costBot(t, store)

	var found bool
	for _, c := range srv.CommandsIn(fakediscord.DefaultGuildID) {
		if o, ok := c.Option("cost"); ok && c.Name == "server" {
			found = o.NameLocalizations["fr"] == "coût" && len(o.Options) == 1 && o.Options[0].Name == "month" &&
				o.Options[0].NameLocalizations["fr"] == "mois" && !o.Options[0].Required
			if !found {
				t.Errorf("/server cost registered as %+v", o)
			}
		}
	}
	if !found {
		t.Fatal("/server cost is not registered")
	}

	id := func(name string) string { return "<@" + costMembers[name].ID + ">" }
	got := costAnswer(t, srv, costMembers[costcase.Alice], "en-US", map[string]any{"month": " 2026-11 "})
	for _, want := range []string{
		"Estimated cost of the servers, November 2026\n",
		"Total: 6 server(s), 9.5 h, 0.35 USD (2.0 h not priced",
		"By member:\n- " + id(costcase.Bob) + ": 2 server(s), 5.0 h, 0.19 USD\n- " + id(costcase.Alice) + ": 2 server(s), 2.5 h, 0.16 USD\n- " +
			id(costcase.Carol) + ": 1 server(s), < 0.1 h, < 0.01 USD\n- " + id(costcase.Dave) + ": 1 server(s), 2.0 h (2.0 h not priced",
		"By game:\n- minecraft: 5 server(s), 5.5 h, 0.19 USD (2.0 h not priced",
		"- valheim: 1 server(s), 4.0 h, 0.16 USD",
		"Rates in eu-west-3: Fargate 0.0486 USD per vCPU-hour and 0.0053 USD per GB-hour; Fargate Spot 0.01458 USD and 0.00159 USD",
		"Rates read 2026-12-07 from <https://aws.amazon.com/fargate/pricing/>.", // no preview of the page
	} {
		if !strings.Contains(got.Text(), want) {
			t.Errorf("admin's answer lacks %q:\n%s", want, got.Text())
		}
	}
	if strings.Contains(got.Text(), id(costcase.Erin)) {
		t.Errorf("a session of October is counted:\n%s", got.Text())
	}
	if len(got.Mentions) != 0 {
		t.Errorf("the answer pings %v", got.Mentions)
	}
	if n := store.readCount(); n != 1 || !store.reads[0][0].Equal(costcase.Month.Start()) || !store.reads[0][1].Equal(costcase.Month.End()) {
		t.Errorf("sessions read %v, want November once", store.reads)
	}

	// Without a month: the current one, December, so far.
	got = costAnswer(t, srv, costMembers[costcase.Alice], "fr", nil)
	if want := "Coût estimé des serveurs, décembre 2026 (jusqu'ici, au 1 décembre, 00:30 UTC)\nTotal : 1 serveur(s), 0,5 h"; !strings.HasPrefix(got.Text(), want) {
		t.Errorf("the current month's answer = %q, want it to start %q", got.Text(), want)
	}
}

// A member reads their own servers alone.
func TestCostMember(t *testing.T) {
	t.Parallel()
	srv := costBot(t, &sessions{list: caseSessions()})
	got := costAnswer(t, srv, costMembers[costcase.Bob], "en-US", map[string]any{"month": "2026-11"})
	want := "Your servers in November 2026: 2 server(s), 5.0 h, 0.19 USD\n- valheim: 1 server(s), 4.0 h, 0.16 USD\n- minecraft: 1 server(s), 1.0 h, 0.03 USD\n" +
		"Rates in eu-west-3: "
	if !strings.HasPrefix(got.Text(), want) {
		t.Errorf("bob's answer = %q, want it to start %q", got.Text(), want)
	}
	for _, other := range []string{costcase.Alice, costcase.Carol, costcase.Dave} {
		if strings.Contains(got.Text(), costMembers[other].ID) {
			t.Errorf("bob's answer names %s:\n%s", other, got.Text())
		}
	}
	if strings.Contains(got.Text(), "0.35") || strings.Contains(got.Text(), "By member") {
		t.Errorf("bob's answer shows the month's total:\n%s", got.Text())
	}

	got = costAnswer(t, srv, costMembers[costcase.Erin], "fr", map[string]any{"month": "2026-11"})
	if got.Text() != "Tu n'as lancé aucun serveur en novembre 2026." {
		t.Errorf("erin's answer = %q", got.Text())
	}
}

// A month the bot cannot tell is refused at once and privately, naming the
// problem; nothing is read.
func TestCostMonthRefused(t *testing.T) {
	t.Parallel()
	store := &sessions{list: caseSessions()}
	srv := costBot(t, store)
	long := strings.Repeat("9", 5000)
	for _, c := range []struct{ month, want string }{
		{"2026-13", `"2026-13" is not a month: write it YYYY-MM, like 2026-12.`},
		{"november", `"november" is not a month: write it YYYY-MM, like 2026-12.`},
		{"2027-01", "2027-01 has not come yet."},
		{"2025-10", "Servers are kept 13 months: ask for 2025-12 or later."},
		{long, `"` + strings.Repeat("9", 32) + `…" is not a month`},
	} {
		ix := srv.Command(costMembers[costcase.Alice], "en-US", []string{"server", "cost"}, map[string]any{"month": c.month})
		r := ix.WaitResponse(t, wait)
		if !r.Ephemeral() || r.Late || r.Type != fakediscord.ResponseChannelMessage || !strings.HasPrefix(r.Text(), c.want) {
			t.Errorf("month %.40q: answer %q (type %d, ephemeral %v), want a private %q", c.month, r.Text(), r.Type, r.Ephemeral(), c.want)
		}
	}
	if n := store.readCount(); n != 0 {
		t.Errorf("sessions read %d times for refused months", n)
	}
}

// A store that does not answer: the answer is deferred in time all the
// same (the gateway's handler never waits for the Scan), then says the
// month could not be read when the store fails.
func TestCostSlowOrFailingStore(t *testing.T) {
	t.Parallel()
	store := &sessions{err: errors.New("dynamodb: 500"), hold: make(chan struct{})}
	srv := costBot(t, store)
	ix := srv.Command(costMembers[costcase.Bob], "en-US", []string{"server", "cost"}, nil)
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || r.Late || r.Type != fakediscord.ResponseDeferredChannelMessage {
		t.Fatalf("answer %+v while the store holds, want a private deferred one in time", r)
	}
	// A second member is answered while the first read still holds.
	ix2 := srv.Command(costMembers[costcase.Carol], "en-US", []string{"server", "cost"}, map[string]any{"month": "x"})
	if r := ix2.WaitResponse(t, wait); r.Late || !strings.Contains(r.Text(), "is not a month") {
		t.Errorf("second answer %+v while the store holds", r)
	}
	close(store.hold)
	got := ix.WaitEdit(t, wait, func(m fakediscord.Message) bool { return m.Content != "" })
	if want := "The servers of that month could not be read right now. Try again in a minute."; got.Text() != want {
		t.Errorf("answer = %q, want %q", got.Text(), want)
	}
}
