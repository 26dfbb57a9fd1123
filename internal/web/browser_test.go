package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/browser"
)

// The browser tests drive Debian's Chromium through internal/testworld/browser.

func players(n int) *int { return &n }

// liveServer is a realistic server for the pages, in real time: the
// countdown is computed by the browser from its own clock.
func liveServer(id, owner, title, variant string, state spawner.State, now time.Time) spawner.Event {
	e := spawner.Event{Type: spawner.EventSnapshot, Server: id, Owner: owner, State: state, Time: now,
		Game: title, Title: title, Variant: variant, Min: 2, StopsAt: now.Add(1*time.Hour + 23*time.Minute + 45*time.Second),
		Steps: map[spawner.State]time.Time{}}
	at := slices.Index(steps, state)
	for i, s := range steps[:at+1] {
		e.Steps[s] = now.Add(time.Duration(i-at) * 17 * time.Second)
	}
	return e
}

var steps = []spawner.State{spawner.StateRequested, spawner.StateProvisioning, spawner.StatePending,
	spawner.StateRunning, spawner.StateBooting, spawner.StateReady, spawner.StateStopping, spawner.StateStopped}

// stepClasses returns the class of each step of the server page's timeline.
func stepClasses(tb testing.TB, ctx context.Context) []string {
	tb.Helper()
	return browser.Read(tb, ctx, "read the steps", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("ol.steps li")).map(li => li.dataset.state + " " + li.className)`))
}

func TestBrowserServerPageFollowsSteps(t *testing.T) {
	now := time.Now()
	first := liveServer("3f9a1c07b2e4d865", "111111111111111111", "Minecraft", "vanilla 1.21", spawner.StateRequested, now)
	first.StopsAt = time.Time{} // not known before the server is ready
	w := newWorld(t, HubOptions{}, first)
	ctx := browser.New(t, 760, 700, "")
	url := w.srv.URL + "/servers/" + first.Server + "?token=" + w.signer.Sign(ServerScope(first.Server), time.Hour)
	browser.Do(t, ctx, "open the server page and see it live",
		chromedp.Navigate(url),
		chromedp.WaitVisible(`#conn[data-state="live"]`),
		chromedp.WaitVisible(`li[data-state="requested"].current`),
		chromedp.Evaluate[chromedp.Void](`window.loadedOnce = "yes"`))
	for i, s := range steps[1:6] {
		e := spawner.Event{Type: spawner.EventState, Server: first.Server, Owner: first.Owner, State: s,
			Time: now.Add(time.Duration(i+1) * 9 * time.Second), Title: "Minecraft", Variant: "vanilla 1.21", Min: 2}
		if s == spawner.StateRunning {
			e.Address = "203.0.113.7:25565"
		}
		if s == spawner.StateReady {
			e.StopsAt = now.Add(1*time.Hour + 23*time.Minute + 45*time.Second)
			e.Players = players(0)
		}
		w.hub.Publish(e)
		browser.Do(t, ctx, "see step "+string(s), chromedp.WaitVisible(`li[data-state="`+string(s)+`"].current`))
		got := stepClasses(t, ctx)
		var want []string
		for j, st := range steps {
			switch {
			case j < i+1:
				want = append(want, string(st)+" done")
			case j == i+1:
				want = append(want, string(st)+" current")
			default:
				want = append(want, string(st)+" todo")
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("after %s the steps read %v; want %v", s, got, want)
		}
	}
	w.hub.Publish(spawner.Event{Type: spawner.EventPlayers, Server: first.Server, Owner: first.Owner,
		State: spawner.StateReady, Time: now.Add(time.Minute), Players: players(3), Min: 2})
	browser.Do(t, ctx, "see ready and 3 players",
		chromedp.WaitVisible(`.badge[data-state="ready"]`),
		chromedp.Poll[chromedp.Void](`document.querySelector(".count").textContent === "3"`))
	badge := browser.Read(t, ctx, "read the badge", chromedp.Text(`.badge`))
	addr := browser.Read(t, ctx, "read the address", chromedp.Text(`.addr`))
	count := browser.Read(t, ctx, "read the players", chromedp.Text(`.count`))
	countdown := browser.Read(t, ctx, "read the countdown", chromedp.Text(`.countdown`))
	loaded := browser.Read(t, ctx, "check for a reload", chromedp.Evaluate[string](`window.loadedOnce || "reloaded"`))
	if badge != "Ready" || addr != "203.0.113.7:25565" || count != "3" || loaded != "yes" {
		t.Fatalf("page shows badge %q, address %q, players %q, load %q", badge, addr, count, loaded)
	}
	if len(countdown) < 6 || countdown[0] != '1' {
		t.Fatalf("countdown %q; want about 1:23:4x", countdown)
	}
	browser.Screenshot(t, ctx, "server-page.png", "server-page.png")
}

// A server of a world: its page shows the world's name, size and state
// from the first event that names it, keeps it through the events that
// follow, and says at the end whether the world was saved, in the page's
// language.
func TestBrowserServerPageShowsItsWorld(t *testing.T) {
	for _, tc := range []struct {
		name, lang          string
		saved               bool
		line, state, theEnd string
		screenshotAs        string
	}{
		{name: "saved", saved: true, line: "survival · 1.2 GiB · running", state: "asleep", theEnd: "World saved.",
			screenshotAs: "server-page-world.png"},
		{name: "backup failed, French", lang: "fr-FR", line: "survival · 1,2 Gio · lancé", state: "endormi",
			theEnd: "La sauvegarde du monde a échoué ; ses anciennes sauvegardes sont intactes. Un admin peut lire pourquoi dans le journal du bot."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			srv := liveServer("3f9a1c07b2e4d865", "111111111111111111", "Valheim", "", spawner.StateRequested, now)
			srv.StopsAt = time.Time{}
			w := newWorld(t, HubOptions{}, srv)
			ctx := browser.New(t, 760, 900, tc.lang)
			browser.Do(t, ctx, "open the server page and see it live",
				chromedp.Navigate(w.srv.URL+"/servers/"+srv.Server+"?token="+w.signer.Sign(ServerScope(srv.Server), time.Hour)),
				chromedp.WaitVisible(`#conn[data-state="live"]`),
				chromedp.WaitVisible(`li[data-state="requested"].current`))
			if n := browser.Read(t, ctx, "look for a world", chromedp.Evaluate[int](`document.querySelectorAll(".fact.world").length`)); n != 0 {
				t.Fatalf("%d world lines before any event names a world", n)
			}
			world := &spawner.EventWorld{Name: "survival", Owner: srv.Owner, State: spawner.WorldRunning, Size: 1288490189} // 1.2 GiB
			w.hub.Publish(spawner.Event{Type: spawner.EventState, Server: srv.Server, Owner: srv.Owner, State: spawner.StateProvisioning,
				Time: now.Add(time.Second), Title: "Valheim", World: world})
			browser.Do(t, ctx, "see the world appear", chromedp.WaitVisible(`.fact.world`))
			// An event that does not name the world leaves it shown.
			w.hub.Publish(spawner.Event{Type: spawner.EventState, Server: srv.Server, Owner: srv.Owner, State: spawner.StatePending,
				Time: now.Add(2 * time.Second), Title: "Valheim"})
			browser.Do(t, ctx, "see the next step", chromedp.WaitVisible(`li[data-state="pending"].current`))
			line := browser.Read(t, ctx, "read the world", chromedp.Text(`.fact.world dd`))
			if line != tc.line {
				t.Fatalf("the world reads %q; want %q", line, tc.line)
			}
			if n := browser.Read(t, ctx, "look for the end of the world", chromedp.Evaluate[int](`document.querySelectorAll(".world-end").length`)); n != 0 {
				t.Fatal("the page says how the world ended while its server runs")
			}
			ended := *world
			ended.State, ended.Saved = spawner.WorldAsleep, &tc.saved
			w.hub.Publish(spawner.Event{Type: spawner.EventEnded, Server: srv.Server, Owner: srv.Owner, State: spawner.StateStopped,
				Time: now.Add(time.Minute), Title: "Valheim", Cause: spawner.CauseCommand, World: &ended})
			browser.Do(t, ctx, "see the end of the world", chromedp.WaitVisible(`.world-end`))
			theEnd := browser.Read(t, ctx, "read the end of the world", chromedp.Text(`.world-end`))
			state := browser.Read(t, ctx, "read the world's state", chromedp.Text(`.fact.world .world-state`))
			if theEnd != tc.theEnd || state != tc.state {
				t.Fatalf("at the end the world is %q and the page says %q; want %q and %q", state, theEnd, tc.state, tc.theEnd)
			}
			if tc.screenshotAs != "" {
				browser.Screenshot(t, ctx, tc.screenshotAs, tc.screenshotAs)
			}
		})
	}
}

func TestBrowserServerPageInFrenchOnAPhone(t *testing.T) {
	now := time.Now()
	srv := liveServer("3f9a1c07b2e4d865", "111111111111111111", "Minecraft", "vanilla", spawner.StateReady, now)
	srv.Address, srv.Players = "203.0.113.7:25565", players(1)
	w := newWorld(t, HubOptions{}, srv)
	ctx := browser.New(t, 375, 740, "fr-FR") // a phone
	browser.Do(t, ctx, "open the server page in French",
		chromedp.Navigate(w.srv.URL+"/servers/"+srv.Server+"?token="+w.signer.Sign(ServerScope(srv.Server), time.Hour)),
		chromedp.WaitVisible(`#conn[data-state="live"]`),
		chromedp.WaitVisible(`.badge[data-state="ready"]`))
	conn := browser.Read(t, ctx, "read the status", chromedp.Text(`#conn`))
	label := browser.Read(t, ctx, "read a step", chromedp.Text(`li[data-state="ready"] .label`))
	copyText := browser.Read(t, ctx, "read the copy button", chromedp.Text(`button.copy`))
	if conn != "En direct" || label != "Prêt" || copyText != "Copier" {
		t.Fatalf("French page reads %q, %q, %q", conn, label, copyText)
	}
	if width := browser.Read(t, ctx, "measure the page", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); width > 375 {
		t.Fatalf("the page is %d px wide on a 375 px phone", width)
	}
	browser.Screenshot(t, ctx, "server-page-phone-fr.png", "")
}

func TestBrowserDashboardShowsOnlyMembersServers(t *testing.T) {
	now := time.Now()
	mc := liveServer("3f9a1c07b2e4d865", "111111111111111111", "Minecraft", "vanilla 1.21", spawner.StateReady, now)
	mc.Address, mc.Players = "203.0.113.7:25565", players(3)
	vh := liveServer("9b20d4e6a1c37f58", "111111111111111111", "Valheim", "", spawner.StateBooting, now)
	vh.Address, vh.StopsAt = "203.0.113.22:2456", time.Time{}
	tr := liveServer("5e7a2b90c4d1f368", "111111111111111111", "Terraria", "journey", spawner.StatePending, now)
	tr.StopsAt = time.Time{}
	other := liveServer("c81f6e0d94b2a735", "222222222222222222", "Factorio", "", spawner.StateReady, now)
	w := newWorld(t, HubOptions{}, mc, vh, tr, other)
	ctx := browser.New(t, 1180, 760, "")
	url := w.srv.URL + "/?token=" + w.signer.Sign(MemberScope("111111111111111111"), time.Hour)
	browser.Do(t, ctx, "open the dashboard",
		chromedp.Navigate(url),
		chromedp.WaitVisible(`#conn[data-state="live"]`),
		chromedp.WaitVisible(`article[data-server="`+vh.Server+`"]`),
		chromedp.WaitVisible(`article[data-server="`+mc.Server+`"]`))
	// A change of another member's server, then one of ours: only ours shows.
	w.hub.Publish(spawner.Event{Type: spawner.EventState, Server: other.Server, Owner: other.Owner,
		State: spawner.StateStopping, Time: now.Add(time.Second)})
	w.hub.Publish(spawner.Event{Type: spawner.EventWarning, Server: mc.Server, Owner: mc.Owner,
		State: spawner.StateReady, Time: now.Add(2 * time.Second), Warning: "runtime", K: 1, N: 2})
	browser.Do(t, ctx, "see the warning", chromedp.WaitVisible(`article[data-server="`+mc.Server+`"] .warnings`))
	cards := browser.Read(t, ctx, "list the cards", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("article.card")).map(a => a.dataset.server)`))
	slices.Sort(cards)
	want := []string{mc.Server, vh.Server, tr.Server}
	slices.Sort(want)
	if !slices.Equal(cards, want) {
		t.Fatalf("dashboard shows %v; want %v", cards, want)
	}
	browser.Screenshot(t, ctx, "dashboard.png", "dashboard.png")
}

// startBot serves the pages of fleet, signed by signer, on l (a new
// listener when nil), as the bot does; stopped with the test if not before.
func startBot(tb testing.TB, fleet Fleet, signer *Signer, l net.Listener) (*httptest.Server, *Hub) {
	tb.Helper()
	quiet := slog.New(slog.DiscardHandler)
	hub := NewHub(HubOptions{Fleet: fleet, Logger: quiet})
	s := httptest.NewUnstartedServer(Handler(HandlerOptions{Signer: signer, Hub: hub, Logger: quiet}))
	if l != nil {
		s.Listener.Close()
		s.Listener = l
	}
	s.Start()
	tb.Cleanup(func() { hub.Close(); s.Close() })
	return s, hub
}

// listenAgain listens on the address a stopped bot listened on.
func listenAgain(tb testing.TB, addr string) net.Listener {
	tb.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("listen again on %s: %v", addr, err)
	}
	return l
}

func TestBrowserPageReconnectsAfterRestart(t *testing.T) {
	now := time.Now()
	srv := liveServer("3f9a1c07b2e4d865", "111111111111111111", "Minecraft", "vanilla", spawner.StateBooting, now)
	fleet := &fakeFleet{}
	fleet.Set(srv)
	signer := NewSigner([]byte("WEB_SECRET survives restarts"), nil)
	start := func(l net.Listener) (*httptest.Server, *Hub) { return startBot(t, fleet, signer, l) }
	s1, hub1 := start(nil)
	addr := s1.Listener.Addr().String()
	ctx := browser.New(t, 760, 980, "")
	browser.Do(t, ctx, "open the server page",
		chromedp.Navigate(s1.URL+"/servers/"+srv.Server+"?token="+signer.Sign(ServerScope(srv.Server), time.Hour)),
		chromedp.WaitVisible(`#conn[data-state="live"]`),
		chromedp.WaitVisible(`.badge[data-state="booting"]`),
		chromedp.Evaluate[chromedp.Void](`window.loadedOnce = "yes"`))
	// The bot stops: the page says it is reconnecting.
	hub1.Close()
	s1.Close()
	browser.Do(t, ctx, "see reconnecting", chromedp.WaitVisible(`#conn[data-state="reconnecting"]`))
	text := browser.Read(t, ctx, "read the status", chromedp.Text(`#conn`))
	if text != "Reconnecting…" {
		t.Fatalf("connection status reads %q", text)
	}
	// The bot is back on the same address, and the server became ready meanwhile.
	ready := srv
	ready.State, ready.Time, ready.Address = spawner.StateReady, now.Add(time.Minute), "203.0.113.7:25565"
	ready.Steps = liveServer(srv.Server, srv.Owner, "Minecraft", "vanilla", spawner.StateReady, now).Steps
	fleet.Set(ready)
	start(listenAgain(t, addr))
	browser.Do(t, ctx, "see the page live again with the new state",
		chromedp.WaitVisible(`#conn[data-state="live"]`),
		chromedp.WaitVisible(`.badge[data-state="ready"]`))
	loaded := browser.Read(t, ctx, "check for a reload", chromedp.Evaluate[string](`window.loadedOnce || "reloaded"`))
	if loaded != "yes" {
		t.Fatal("the page reloaded instead of reconnecting")
	}
}

// A live page whose link died while the bot was away (it came back with
// another WEB_SECRET, or the link expired meanwhile) says so and how to
// get a new link, in the page's language, instead of reconnecting for ever.
func TestBrowserPageSaysWhenItsLinkDied(t *testing.T) {
	now := time.Now()
	srv := liveServer("3f9a1c07b2e4d865", "111111111111111111", "Minecraft", "vanilla", spawner.StateBooting, now)
	for _, tc := range []struct {
		name, lang, page string
		// restart stops the bot and what it comes back with: the signer
		// of the new bot, after whatever happened while it was away.
		restart      func(c *clock, signer *Signer) *Signer
		title, how   string
		screenshotAs string
	}{
		{name: "restarted without WEB_SECRET", page: "server",
			restart: func(_ *clock, _ *Signer) *Signer { return NewSigner([]byte("a random secret of the new start"), nil) },
			title:   "This link no longer works", how: "status message", screenshotAs: "dead-link.png"},
		{name: "expired while offline", page: "dashboard",
			restart: func(c *clock, signer *Signer) *Signer { c.Add(2 * time.Hour); return signer },
			title:   "This link no longer works", how: "/server dashboard"},
		{name: "expired while offline, French", lang: "fr-FR", page: "server",
			restart: func(c *clock, signer *Signer) *Signer { c.Add(2 * time.Hour); return signer },
			title:   "Ce lien ne marche plus", how: "message d’état"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fleet := &fakeFleet{}
			fleet.Set(srv)
			clk := &clock{t: now}
			signer := NewSigner([]byte("the WEB_SECRET of the first start"), clk.Now)
			s1, hub1 := startBot(t, fleet, signer, nil)
			addr := s1.Listener.Addr().String()
			url := s1.URL + "/servers/" + srv.Server + "?token=" + signer.Sign(ServerScope(srv.Server).For(srv.Owner), time.Hour)
			if tc.page == "dashboard" {
				url = s1.URL + "/?token=" + signer.Sign(MemberScope(srv.Owner), time.Hour)
			}
			ctx := browser.New(t, 760, 700, tc.lang)
			browser.Do(t, ctx, "open the page and see it live",
				chromedp.Navigate(url),
				chromedp.WaitVisible(`#conn[data-state="live"]`),
				chromedp.WaitVisible(`.badge[data-state="booting"]`))
			hub1.Close()
			s1.Close()
			browser.Do(t, ctx, "see reconnecting", chromedp.WaitVisible(`#conn[data-state="reconnecting"]`))
			startBot(t, fleet, tc.restart(clk, signer), listenAgain(t, addr))
			browser.Do(t, ctx, "see that the link no longer works", chromedp.WaitVisible(`#dead`))
			title := browser.Read(t, ctx, "read the notice's title", chromedp.Text(`#dead h2`))
			how := browser.Read(t, ctx, "read the notice", chromedp.Text(`#dead p`))
			conn := browser.Read(t, ctx, "read the status", chromedp.Evaluate[string](`document.getElementById("conn").dataset.state`))
			if title != tc.title || !strings.Contains(how, tc.how) || !strings.Contains(how, "/server dashboard") {
				t.Fatalf("the notice reads %q, %q; want %q and how to get a new link (%q)", title, how, tc.title, tc.how)
			}
			if conn == "reconnecting" {
				t.Fatal("the page still says it is reconnecting")
			}
			if tc.screenshotAs != "" {
				browser.Screenshot(t, ctx, tc.screenshotAs, "")
			}
		})
	}
}

// proxyUnder is a reverse proxy that serves the bot at prefix on its own
// address, keeping the Host header (as the README asks); strip says
// whether it takes the prefix off before passing a request on.
func proxyUnder(tb testing.TB, prefix string, bot *httptest.Server, strip bool) *httptest.Server {
	tb.Helper()
	target, err := url.Parse(bot.URL)
	if err != nil {
		tb.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
		if strip {
			pr.Out.URL.Path = strings.TrimPrefix(pr.Out.URL.Path, prefix)
			pr.Out.URL.RawPath = strings.TrimPrefix(pr.Out.URL.RawPath, prefix)
		}
	}}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", rp) // anything else is 404, as on a proxy that serves other sites beside
	s := httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

// PUBLIC_URL may have a path: behind a proxy that serves the bot under it,
// whether it strips the path or passes it on, the pages find their assets
// and their feed and show the live state.
func TestBrowserPagesBehindAPathPrefix(t *testing.T) {
	now := time.Now()
	srv := liveServer("3f9a1c07b2e4d865", "111111111111111111", "Minecraft", "vanilla", spawner.StateReady, now)
	srv.Address, srv.Players = "203.0.113.7:25565", players(2)
	for _, strip := range []bool{true, false} {
		name := map[bool]string{true: "proxy strips the path", false: "proxy passes the path on"}[strip]
		t.Run(name, func(t *testing.T) {
			fleet := &fakeFleet{}
			fleet.Set(srv)
			signer := NewSigner([]byte("a WEB_SECRET for the prefix"), nil)
			quiet := slog.New(slog.DiscardHandler)
			hub := NewHub(HubOptions{Fleet: fleet, Logger: quiet})
			bot := httptest.NewServer(Handler(HandlerOptions{Signer: signer, Hub: hub, Logger: quiet, BasePath: "/spawner"}))
			t.Cleanup(func() { hub.Close(); bot.Close() })
			public := proxyUnder(t, "/spawner", bot, strip).URL + "/spawner" // PUBLIC_URL
			ctx := browser.New(t, 760, 700, "")
			browser.Do(t, ctx, "open the server page through the proxy and see it live",
				chromedp.Navigate(public+"/servers/"+srv.Server+"?token="+signer.Sign(ServerScope(srv.Server).For(srv.Owner), time.Hour)),
				chromedp.WaitVisible(`#conn[data-state="live"]`),
				chromedp.WaitVisible(`.badge[data-state="ready"]`))
			addr := browser.Read(t, ctx, "read the address", chromedp.Text(`.addr`))
			styled := browser.Read(t, ctx, "check the stylesheet applies", chromedp.Evaluate[string](
				`getComputedStyle(document.querySelector(".card")).borderRadius`))
			if addr != srv.Address || styled == "0px" || styled == "" {
				t.Fatalf("server page through the proxy: address %q, card border radius %q", addr, styled)
			}
			conns := hub.Clients()
			hub.Publish(spawner.Event{Type: spawner.EventPlayers, Server: srv.Server, Owner: srv.Owner,
				State: spawner.StateReady, Time: now.Add(time.Minute), Players: players(5), Min: 2})
			browser.Do(t, ctx, "see the players change",
				chromedp.Poll[chromedp.Void](`document.querySelector(".count").textContent === "5"`))
			browser.Do(t, ctx, "open the dashboard through the proxy and see it live",
				chromedp.Navigate(public+"/?token="+signer.Sign(MemberScope(srv.Owner), time.Hour)),
				chromedp.WaitVisible(`#conn[data-state="live"]`),
				chromedp.WaitVisible(`article[data-server="`+srv.Server+`"]`))
			if conns != 1 {
				t.Fatalf("%d feed connections for one page", conns)
			}
		})
	}
}
