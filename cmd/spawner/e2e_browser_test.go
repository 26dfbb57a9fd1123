package main

// The live pages in a real browser, through the real daemon, as
// internal/web's browser tests see them (internal/testworld/browser).

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/browser"
)

// current waits until the server page shows step st in progress (or done,
// for ready) and checks every step before it is done and none after.
func current(t *testing.T, ctx context.Context, st spawner.State) {
	t.Helper()
	browser.Do(t, ctx, "see step "+string(st), chromedp.WaitVisible(`li[data-state="`+string(st)+`"].current`))
	got := browser.Read(t, ctx, "read the steps", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("ol.steps li")).map(li => li.dataset.state + " " + li.className)`))
	order := []spawner.State{spawner.StateRequested, spawner.StateProvisioning, spawner.StatePending,
		spawner.StateRunning, spawner.StateBooting, spawner.StateReady, spawner.StateStopping, spawner.StateStopped}
	at := slices.Index(order, st)
	var want []string
	for i, s := range order {
		switch {
		case i < at:
			want = append(want, string(s)+" done")
		case i == at:
			want = append(want, string(s)+" current")
		default:
			want = append(want, string(s)+" todo")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("at %s the steps read %v; want %v", st, got, want)
	}
}

func TestBrowserFollowsACreationFromTheTicketsLink(t *testing.T) {
	t.Parallel()
	w, d, addr := webWorld(t)
	u1, u2 := member(1), member(2)
	c := startCreation(t, w, d, u1)

	ctx := browser.New(t, 760, 820, "")
	browser.Do(t, ctx, "open the ticket's link",
		chromedp.Navigate(local(t, c.link, addr)),
		chromedp.WaitVisible(`#conn[data-state="live"]`),
		chromedp.Evaluate[chromedp.Void](`window.loadedOnce = "yes"`))
	current(t, ctx, spawner.StateProvisioning)
	w.aws.Advance(c.task.ARN)
	current(t, ctx, spawner.StatePending)
	w.aws.Advance(c.task.ARN) // RUNNING: the game starts, silent
	current(t, ctx, spawner.StateBooting)
	task, _ := w.aws.Task(c.task.ARN)
	address := task.PublicIP + ":" + w.env["GAMESERVER_PORT"]
	browser.Do(t, ctx, "see the address while booting", chromedp.Poll[chromedp.Void](
		`document.querySelector(".addr") && document.querySelector(".addr").textContent === "`+address+`"`))
	w.mc.Get(task.PublicIP).SetSilent(false)
	browser.Do(t, ctx, "see ready", chromedp.WaitVisible(`.badge[data-state="ready"]`))
	badge := browser.Read(t, ctx, "read the badge", chromedp.Text(`.badge`))
	addrShown := browser.Read(t, ctx, "read the address", chromedp.Text(`.addr`))
	loaded := browser.Read(t, ctx, "check for a reload", chromedp.Evaluate[string](`window.loadedOnce || "reloaded"`))
	if badge != "Ready" || addrShown != address || loaded != "yes" {
		t.Fatalf("page shows badge %q, address %q, load %q; want Ready, %s, no reload", badge, addrShown, loaded, address)
	}
	browser.Do(t, ctx, "see the players", chromedp.Poll[chromedp.Void](`document.querySelector(".count").textContent === "5"`))
	browser.Screenshot(t, ctx, "e2e-server-page.png", "server-page.png")

	// A second member's server: the first member's dashboard, from
	// /server dashboard, shows only theirs.
	c2 := startCreation(t, w, d, u2)
	dash := w.discord.Command(u1, "en-US", []string{"server", "dashboard"}, nil).WaitResponse(t, waitLong)
	m := linkIn.FindStringSubmatch(dash.Text())
	if m == nil {
		t.Fatalf("dashboard answer without a link: %q", dash.Text())
	}
	dctx := browser.New(t, 1180, 640, "")
	id, _ := serverID(t, c.link)
	id2, _ := serverID(t, c2.link)
	browser.Do(t, dctx, "open the member's dashboard",
		chromedp.Navigate(local(t, m[1], addr)),
		chromedp.WaitVisible(`#conn[data-state="live"]`),
		chromedp.WaitVisible(`article[data-server="`+id+`"]`))
	// A change of the other member's server, then one of ours: only ours shows.
	w.aws.Advance(c2.task.ARN)
	w.waitFor(t, "the second server pending in its ticket", func() bool {
		msgs := w.discord.Messages(c2.channel)
		return len(msgs) > 0 && strings.Contains(msgs[0].Text(), "⏳ pending")
	}, d)
	w.discord.Command(u1, "en-US", []string{"server", "stop"}, map[string]any{"server": task.ID}).WaitResponse(t, waitLong)
	browser.Do(t, dctx, "see the member's server stopped", chromedp.WaitVisible(`article[data-server="`+id+`"] .ended`))
	cards := browser.Read(t, dctx, "list the cards", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("article.card")).map(a => a.dataset.server)`))
	if !slices.Equal(cards, []string{id}) || slices.Contains(cards, id2) {
		t.Fatalf("the member's dashboard shows %v; want only %s", cards, id)
	}
	browser.Screenshot(t, dctx, "e2e-dashboard.png", "dashboard.png")
}
