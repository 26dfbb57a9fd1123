package main

// The live pages in a real browser, through the real daemon: Debian's
// Chromium driven by chromedp, with the flags of internal/web's browser
// tests. They fail, never skip, when Chromium is missing
// (`apt-get install -y chromium`). Screenshots go to $SPAWNER_ARTIFACTS (a
// temporary folder when unset); with SPAWNER_DOCS_SCREENSHOTS=1 they also
// replace docs/server-page.png and docs/dashboard.png.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mineral-contest/spawner/internal/spawner"
)

func newBrowser(tb testing.TB, width, height int) context.Context {
	tb.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		tb.Fatalf("chromium is needed for the browser tests (apt-get install -y chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, whose life is the context's.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browse does actions in the browser, bounded; what says what it waited for.
func browse(tb testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.Fatalf("browser: %s: %v", what, err)
	}
}

// read runs one action that returns a value, bounded.
func read[T any](tb testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

func saveScreenshot(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	png := read(tb, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	dir := os.Getenv("SPAWNER_ARTIFACTS")
	if dir == "" {
		dir = tb.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "e2e-"+name), png, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("screenshot: %s", filepath.Join(dir, "e2e-"+name))
	if os.Getenv("SPAWNER_DOCS_SCREENSHOTS") == "1" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// current waits until the server page shows step st in progress (or done,
// for ready) and checks every step before it is done and none after.
func current(t *testing.T, ctx context.Context, st spawner.State) {
	t.Helper()
	browse(t, ctx, "see step "+string(st), chromedp.WaitVisible(`li[data-state="`+string(st)+`"].current`))
	got := read(t, ctx, "read the steps", chromedp.Evaluate[[]string](
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

	ctx := newBrowser(t, 760, 820)
	browse(t, ctx, "open the ticket's link",
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
	browse(t, ctx, "see the address while booting", chromedp.Poll[chromedp.Void](
		`document.querySelector(".addr") && document.querySelector(".addr").textContent === "`+address+`"`))
	w.mc.Get(task.PublicIP).SetSilent(false)
	browse(t, ctx, "see ready", chromedp.WaitVisible(`.badge[data-state="ready"]`))
	badge := read(t, ctx, "read the badge", chromedp.Text(`.badge`))
	addrShown := read(t, ctx, "read the address", chromedp.Text(`.addr`))
	loaded := read(t, ctx, "check for a reload", chromedp.Evaluate[string](`window.loadedOnce || "reloaded"`))
	if badge != "Ready" || addrShown != address || loaded != "yes" {
		t.Fatalf("page shows badge %q, address %q, load %q; want Ready, %s, no reload", badge, addrShown, loaded, address)
	}
	browse(t, ctx, "see the players", chromedp.Poll[chromedp.Void](`document.querySelector(".count").textContent === "5"`))
	saveScreenshot(t, ctx, "server-page.png")

	// A second member's server: the first member's dashboard, from
	// /server dashboard, shows only theirs.
	c2 := startCreation(t, w, d, u2)
	dash := w.discord.Command(u1, "en-US", []string{"server", "dashboard"}, nil).WaitResponse(t, waitLong)
	m := linkIn.FindStringSubmatch(dash.Text())
	if m == nil {
		t.Fatalf("dashboard answer without a link: %q", dash.Text())
	}
	dctx := newBrowser(t, 1180, 640)
	id, _ := serverID(t, c.link)
	id2, _ := serverID(t, c2.link)
	browse(t, dctx, "open the member's dashboard",
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
	browse(t, dctx, "see the member's server stopped", chromedp.WaitVisible(`article[data-server="`+id+`"] .ended`))
	cards := read(t, dctx, "list the cards", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("article.card")).map(a => a.dataset.server)`))
	if !slices.Equal(cards, []string{id}) || slices.Contains(cards, id2) {
		t.Fatalf("the member's dashboard shows %v; want only %s", cards, id)
	}
	saveScreenshot(t, dctx, "dashboard.png")
}
