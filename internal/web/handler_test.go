package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mineral-contest/spawner/internal/spawner"
)

func get(tb testing.TB, url, lang string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestPagesAreServedSafely(t *testing.T) {
	w := newWorld(t, HubOptions{}, snap("a", "u1", spawner.StateReady), snap("c", "u2", spawner.StateReady))
	for _, tc := range []struct{ name, path, root string }{
		{"server page, server link", "/servers/a?token=" + w.signer.Sign(ServerScope("a"), time.Hour), "../"},
		{"server page, member link", "/servers/a?token=" + w.signer.Sign(MemberScope("u1"), time.Hour), "../"},
		{"server page, fleet link", "/servers/c?token=" + w.signer.Sign(FleetScope(), time.Hour), "../"},
		{"dashboard, member link", "/?token=" + w.signer.Sign(MemberScope("u1"), time.Hour), "./"},
		{"dashboard, fleet link", "/?token=" + w.signer.Sign(FleetScope(), time.Hour), "./"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, w.srv.URL+tc.path, "")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "connect-src 'self'", "default-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q allows unsafe sources", csp)
			}
			if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy %q", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}
			token := tc.path[strings.Index(tc.path, "token=")+6:]
			if strings.Contains(body, token) {
				t.Error("the page shows its token")
			}
			// Relative addresses: the page works under PUBLIC_URL's path.
			if !strings.Contains(body, `<script src="`+tc.root+`assets/app.js" defer></script>`) || strings.Count(body, "<script") != 1 {
				t.Errorf("page should load only %sassets/app.js, no inline script:\n%s", tc.root, body)
			}
			if !strings.Contains(body, `<link rel="stylesheet" href="`+tc.root+`assets/app.css">`) {
				t.Errorf("page should load %sassets/app.css:\n%s", tc.root, body)
			}
			if !strings.Contains(body, `name="viewport"`) {
				t.Error("page has no viewport meta")
			}
		})
	}
}

func TestPagesRefuseBadLinks(t *testing.T) {
	w := newWorld(t, HubOptions{}, snap("a", "u1", spawner.StateReady), snap("c", "u2", spawner.StateReady))
	expired := w.signer.Sign(ServerScope("a"), time.Minute)
	forged := NewSigner([]byte("nope"), w.clock.Now).Sign(FleetScope(), time.Hour)
	w.clock.Add(time.Hour)
	for _, tc := range []struct {
		name, path, lang string
		status           int
		says             string
	}{
		{"expired", "/servers/a?token=" + expired, "en-GB", 401, "This link has expired"},
		{"expired, French", "/servers/a?token=" + expired, "fr-FR,fr;q=0.9", 401, "Ce lien a expiré"},
		{"forged", "/?token=" + forged, "", 401, "This link is not valid"},
		{"missing", "/", "", 401, "This link is not valid"},
		{"other server", "/servers/c?token=" + w.signer.Sign(ServerScope("a"), time.Hour), "", 403, "does not show this server"},
		{"other member", "/servers/c?token=" + w.signer.Sign(MemberScope("u1"), time.Hour), "", 403, "does not show this server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, w.srv.URL+tc.path, tc.lang)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tc.status)
			}
			if !strings.Contains(body, tc.says) || !strings.Contains(body, "/server dashboard") {
				t.Fatalf("page does not say %q and how to get a new link:\n%s", tc.says, body)
			}
			if strings.Contains(body, "<script") {
				t.Error("refusal page runs a script")
			}
		})
	}
}

func TestAssetsAreServed(t *testing.T) {
	w := newWorld(t, HubOptions{})
	for path, typ := range map[string]string{"/assets/app.js": "javascript", "/assets/app.css": "text/css"} {
		resp, body := get(t, w.srv.URL+path, "")
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), typ) || len(body) == 0 {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if resp, _ := get(t, w.srv.URL+"/assets/page.html", ""); resp.StatusCode != 404 {
		t.Errorf("the page template is served as an asset: %d", resp.StatusCode)
	}
}

// Under PUBLIC_URL's path, the pages are served with and without it, for a
// proxy that passes it on and for one that strips it; nothing else is.
func TestPagesServedUnderBasePath(t *testing.T) {
	fleet := &fakeFleet{}
	fleet.Set(snap("a", "u1", spawner.StateReady))
	signer := NewSigner([]byte("test secret"), nil)
	hub := NewHub(HubOptions{Fleet: fleet})
	srv := httptest.NewServer(Handler(HandlerOptions{Signer: signer, Hub: hub, BasePath: "/spawner/"}))
	t.Cleanup(func() { hub.Close(); srv.Close() })
	token := signer.Sign(MemberScope("u1"), time.Hour)
	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{"/servers/a?token=" + token, 200, `src="../assets/app.js"`},
		{"/spawner/servers/a?token=" + token, 200, `src="../assets/app.js"`},
		{"/?token=" + token, 200, `src="./assets/app.js"`},
		{"/spawner/?token=" + token, 200, `src="./assets/app.js"`},
		{"/spawner/assets/app.js", 200, "WebSocket"},
		{"/assets/app.js", 200, "WebSocket"},
		{"/spawner/servers/a?token=forged", 401, "This link is not valid"},
		{"/elsewhere/servers/a?token=" + token, 404, ""},
		{"/spawnerx/servers/a?token=" + token, 404, ""},
		{"/spawner/spawner/?token=" + token, 404, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, srv.URL+tc.path, "")
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) {
				t.Fatalf("status %d; want %d saying %q:\n%s", resp.StatusCode, tc.status, tc.says, body)
			}
		})
	}
	// The feed, under the path.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/spawner/events?token="+token, nil)
	if err != nil {
		t.Fatalf("feed under the path: %v", err)
	}
	defer c.CloseNow()
	if e := read(t, c); e.Server != "a" {
		t.Fatalf("feed under the path sent %+v", e)
	}
}
