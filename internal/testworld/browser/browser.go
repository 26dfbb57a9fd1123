// Package browser starts Debian's Chromium, driven by chromedp, for the
// tests that check the pages by what a person sees in them. It fails the
// test, never skips it, when Chromium is missing: `apt-get install -y
// chromium`. Every action is bounded and says what it waited for.
package browser

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// actionTimeout bounds one Do or Read.
const actionTimeout = 30 * time.Second

// New starts a headless Chromium with a width×height window and returns the
// context of its first tab; the browser ends with the test. A language such
// as "fr-FR" is what the pages' navigator.language reports; "" leaves
// Chromium's own.
func New(tb testing.TB, width, height int, language string) context.Context {
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
	start := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(int64(width), int64(height))}
	if language != "" {
		start = append(start, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `Object.defineProperty(navigator, "language", {get: () => ` + strconv.Quote(language) + `})`})
			return err
		}))
	}
	// The first run starts the browser, whose life is the context's: no
	// timeout on it.
	if err := chromedp.Do(ctx, start...); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Do runs actions in the browser, bounded; what says what it waited for
// when the test fails.
func Do(tb testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.Fatalf("browser: %s: %v", what, err)
	}
}

// Read runs one action that returns a value, bounded, and returns it.
func Read[T any](tb testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// Screenshot saves the whole page as file in $SPAWNER_ARTIFACTS (a
// temporary folder when unset). With SPAWNER_DOCS_SCREENSHOTS=1 and docs
// set, it also replaces docs/<docs> at the module's root: the pictures
// of the README and of docs/.
func Screenshot(tb testing.TB, ctx context.Context, file, docs string) {
	tb.Helper()
	png := Read(tb, ctx, "screenshot "+file, chromedp.FullScreenshot(100))
	dir := os.Getenv("SPAWNER_ARTIFACTS")
	if dir == "" {
		dir = tb.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("screenshot: %s", filepath.Join(dir, file))
	if docs == "" || os.Getenv("SPAWNER_DOCS_SCREENSHOTS") != "1" {
		return
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "docs", docs), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// moduleRoot is the nearest folder above the test's own that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's folder")
		}
		dir = parent
	}
}
