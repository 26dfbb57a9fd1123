package main

// The live pages through the real daemon: the ticket's link and the
// dashboard's, the WebSocket feed with a real client, and the pages in a
// real browser while the fake task advances.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/web"
)

const (
	// publicURL has a path, as behind a reverse proxy that serves the bot
	// under it and passes it on: local keeps it.
	publicOrigin = "https://example.org"
	publicURL    = publicOrigin + "/spawner"
	webSecret    = "an e2e WEB_SECRET of some length"
)

// webWorld is a world whose daemon serves the pages, with tasks that move
// only when the test advances them and games that stay silent until the
// test lets them answer.
func webWorld(tb testing.TB) (*world, *daemonHandle, string) {
	tb.Helper()
	w := newWorld(tb, worldOptions{
		// PROVISIONING until the test advances the task, then PENDING until
		// it advances it again: the daemon sees every step.
		aws: fakeaws.Options{HoldIn: "PROVISIONING", PendingDelay: time.Hour},
		env: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "PUBLIC_URL": publicURL, "WEB_SECRET": webSecret},
	})
	w.silent.Store(true)
	d := w.start(tb)
	return w, d, httpAddrOf(tb, w, d)
}

// local maps a link the bot posted (on PUBLIC_URL, a proxy in production)
// to the daemon's own listener, PUBLIC_URL's path kept, as a proxy that
// passes it on does.
func local(tb testing.TB, link, addr string) string {
	tb.Helper()
	if !strings.HasPrefix(link, publicURL+"/") {
		tb.Fatalf("link %q does not start with PUBLIC_URL %s", link, publicURL)
	}
	return "http://" + addr + strings.TrimPrefix(link, publicOrigin)
}

var linkIn = regexp.MustCompile(`<(` + regexp.QuoteMeta(publicURL) + `/[^>\s]*)>`)

// creation is a /server create under way, followed in its ticket.
type creation struct {
	channel string
	task    fakeaws.Task
	link    string // the status message's link to the live page
}

// startCreation runs /server create for u and waits for its task (held
// PROVISIONING) and for the link in the ticket's status message.
func startCreation(t *testing.T, w *world, d *daemonHandle, u fakediscord.User) creation {
	t.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, nil)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	c := creation{channel: between(edit.Text(), "<#", ">")}
	w.waitFor(t, "the task and the status message's link", func() bool {
		for _, task := range w.aws.Tasks() {
			if task.Tags[spawner.TagOwner] == u.ID {
				c.task = task
			}
		}
		msgs := w.discord.Messages(c.channel)
		if len(msgs) > 0 {
			if m := linkIn.FindStringSubmatch(msgs[0].Text()); m != nil {
				c.link = m[1]
			}
		}
		return c.task.ARN != "" && c.link != ""
	}, d)
	return c
}

// feedClient is a real WebSocket client of /events.
type feedClient struct {
	conn *websocket.Conn
	raw  []string
	seen []spawner.Event
}

func dialFeed(tb testing.TB, addr, token string) *feedClient {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws://"+addr+"/events?token="+url.QueryEscape(token), nil)
	if err != nil {
		tb.Fatalf("dial the feed: %v (%v)", err, resp)
	}
	conn.SetReadLimit(1 << 20)
	tb.Cleanup(func() { conn.CloseNow() })
	return &feedClient{conn: conn}
}

// next reads the next event, bounded.
func (f *feedClient) next(tb testing.TB, what string) spawner.Event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	_, b, err := f.conn.Read(ctx)
	if err != nil {
		tb.Fatalf("feed: waiting for %s: %v; seen:\n%s", what, err, strings.Join(f.raw, "\n"))
	}
	var e spawner.Event
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatalf("feed: not an event: %s: %v", b, err)
	}
	f.raw = append(f.raw, string(b))
	f.seen = append(f.seen, e)
	return e
}

// until reads events until one satisfies cond, and returns it.
func (f *feedClient) until(tb testing.TB, what string, cond func(spawner.Event) bool) spawner.Event {
	tb.Helper()
	for {
		if e := f.next(tb, what); cond(e) {
			return e
		}
	}
}

func isState(server string, st spawner.State) func(spawner.Event) bool {
	return func(e spawner.Event) bool { return e.Server == server && e.Type == spawner.EventState && e.State == st }
}

// refusedUpgrade dials the feed with token and expects status, and no WebSocket.
func refusedUpgrade(t *testing.T, addr, query string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws://"+addr+"/events?"+query, nil)
	if err == nil {
		conn.CloseNow()
		t.Fatalf("feed with %s upgraded; want %d", query, status)
	}
	if resp == nil || resp.StatusCode != status {
		t.Fatalf("feed with %s answered %v (%v); want %d", query, resp, err, status)
	}
}

func serverID(tb testing.TB, link string) (id, token string) {
	tb.Helper()
	u, err := url.Parse(link)
	if err != nil {
		tb.Fatalf("parse link %q: %v", link, err)
	}
	id, ok := strings.CutPrefix(u.Path, "/spawner/servers/")
	if !ok || id == "" {
		tb.Fatalf("link %q is not a server page", link)
	}
	return id, u.Query().Get("token")
}

func TestWebFeedFollowsACreation(t *testing.T) {
	t.Parallel()
	w, d, addr := webWorld(t)
	u1, u2 := member(1), member(2)

	c := startCreation(t, w, d, u1)
	id, token := serverID(t, c.link)

	// The server's link: its snapshot, then every step as ECS moves on.
	feed := dialFeed(t, addr, token)
	first := feed.next(t, "the snapshot")
	if first.Type != spawner.EventSnapshot || first.Server != id || first.Owner != u1.ID ||
		(first.State != spawner.StateRequested && first.State != spawner.StateProvisioning) {
		t.Fatalf("first event = %+v, want the snapshot of %s, requested or provisioning", first, id)
	}
	if first.State == spawner.StateRequested {
		feed.until(t, "provisioning", isState(id, spawner.StateProvisioning))
	}
	if got := w.aws.Advance(c.task.ARN); got != "PENDING" {
		t.Fatalf("task advanced to %s", got)
	}
	feed.until(t, "pending", isState(id, spawner.StatePending))
	w.aws.Advance(c.task.ARN) // RUNNING: the game starts, silent
	running := feed.until(t, "running", isState(id, spawner.StateRunning))
	task, _ := w.aws.Task(c.task.ARN)
	address := task.PublicIP + ":" + w.env["GAMESERVER_PORT"]
	if running.Address != address {
		t.Errorf("running with address %q, want %q", running.Address, address)
	}
	feed.until(t, "booting", isState(id, spawner.StateBooting))
	w.mc.Get(task.PublicIP).SetSilent(false)
	ready := feed.until(t, "ready", isState(id, spawner.StateReady))
	if ready.Address != address || ready.StopsAt.IsZero() || ready.Title == "" {
		t.Errorf("ready = %+v, want the address %s and the stop time", ready, address)
	}
	var states []spawner.State
	for _, e := range feed.seen {
		if e.Type == spawner.EventState {
			states = append(states, e.State)
		}
	}
	want := []spawner.State{spawner.StatePending, spawner.StateRunning, spawner.StateBooting, spawner.StateReady}
	if i := slices.Index(states, spawner.StatePending); i < 0 || !slices.Equal(states[i:], want) {
		t.Errorf("states seen %v; want them to end with %v", states, want)
	}

	// Another member's server: out of the first member's sight.
	c2 := startCreation(t, w, d, u2)
	id2, token2 := serverID(t, c2.link)
	signer := web.NewSigner([]byte(webSecret), nil)
	mine := dialFeed(t, addr, signer.Sign(web.MemberScope(u1.ID), time.Hour))
	if e := mine.next(t, "member snapshot"); e.Server != id || e.Type != spawner.EventSnapshot {
		t.Fatalf("member's first event = %+v, want the snapshot of %s only", e, id)
	}
	fleet := dialFeed(t, addr, signer.Sign(web.FleetScope(), time.Hour))
	fleet.until(t, "the fleet's snapshot of the second server", func(e spawner.Event) bool { return e.Server == id2 })
	w.aws.Advance(c2.task.ARN)
	fleet.until(t, "the second server pending", isState(id2, spawner.StatePending))
	stop := w.discord.Command(u1, "en-US", []string{"server", "stop"}, map[string]any{"server": task.ID})
	stop.WaitResponse(t, waitLong)
	end := mine.until(t, "the end of the member's server", func(e spawner.Event) bool { return e.Type == spawner.EventEnded })
	if end.Server != id || end.Cause != spawner.CauseCommand || end.State != spawner.StateStopped {
		t.Errorf("end = %+v", end)
	}
	for _, e := range mine.seen {
		if e.Server != id {
			t.Errorf("the member's feed shows another member's server: %+v", e)
		}
	}

	// Bad links: no upgrade.
	expired := web.NewSigner([]byte(webSecret), func() time.Time { return time.Now().Add(-2 * time.Hour) }).Sign(web.ServerScope(id), time.Hour)
	forged := web.NewSigner([]byte("not the daemon's WEB_SECRET"), nil).Sign(web.FleetScope(), time.Hour)
	refusedUpgrade(t, addr, "token="+url.QueryEscape(forged), http.StatusUnauthorized)
	refusedUpgrade(t, addr, "token="+url.QueryEscape(expired), http.StatusUnauthorized)
	refusedUpgrade(t, addr, "", http.StatusUnauthorized)
	refusedUpgrade(t, addr, "token="+url.QueryEscape(token2)+"&server="+id, http.StatusForbidden)
	if status, _ := httpGet(t, "http://"+addr+"/servers/"+id+"?token="+url.QueryEscape(token2)); status != http.StatusForbidden {
		t.Errorf("another server's page with the second server's link: %d, want 403", status)
	}

	// /server dashboard: a member's link, privately.
	dash := w.discord.Command(u2, "en-US", []string{"server", "dashboard"}, nil).WaitResponse(t, waitLong)
	m := linkIn.FindStringSubmatch(dash.Text())
	if !dash.Ephemeral() || m == nil || !strings.HasPrefix(m[1], publicURL+"/?token=") {
		t.Fatalf("dashboard answer = %q (ephemeral %v)", dash.Text(), dash.Ephemeral())
	}
	status, page := httpGet(t, local(t, m[1], addr))
	if status != http.StatusOK || !strings.Contains(page, "/assets/app.js") {
		t.Errorf("the dashboard's link answers %d", status)
	}
	dtok, _ := url.ParseQuery(strings.TrimPrefix(m[1], publicURL+"/?"))
	theirs := dialFeed(t, addr, dtok.Get("token"))
	if e := theirs.next(t, "the second member's snapshot"); e.Server != id2 {
		t.Errorf("the second member's dashboard shows %+v", e)
	}

	// The feed's clients are counted.
	_, metrics := httpGet(t, "http://"+addr+"/metrics")
	if !regexp.MustCompile(`(?m)^spawner_feed_clients [1-9]`).MatchString(metrics) || !strings.Contains(metrics, "spawner_feed_clients_dropped_total 0") {
		t.Errorf("/metrics lacks the feed's clients:\n%s", grepLines(metrics, "spawner_feed"))
	}

	// Nothing secret in any event.
	var secrets []string
	for _, s := range w.table(t) {
		if s.Token != "" {
			secrets = append(secrets, s.Token)
		}
	}
	secrets = append(secrets, task.Environment(container)["OPREDEEM_TOKEN"], webSecret, w.discord.Options().Token)
	for _, f := range []*feedClient{feed, mine, fleet, theirs} {
		for _, raw := range f.raw {
			for _, s := range secrets {
				if s != "" && strings.Contains(raw, s) {
					t.Errorf("an event carries a secret: %s", raw)
				}
			}
		}
	}

	// The daemon stops: the feed's clients are told it is going away.
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon stop: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for {
		if _, _, err := fleet.conn.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Errorf("feed ended with %v, want going away", err)
			}
			break
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the feed was not closed by the daemon's stop")
	}
}

func grepLines(s, part string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
