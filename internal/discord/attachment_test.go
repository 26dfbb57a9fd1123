package discord

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
)

func TestAttachmentURLOnlyDiscordsHosts(t *testing.T) {
	api, _ := url.Parse("http://127.0.0.1:4000/proxy")
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://cdn.discordapp.com/attachments/1/2/valheim.json?ex=1&is=2&hm=3", true},
		{"https://media.discordapp.net/attachments/1/2/valheim.json", true},
		{"https://CDN.discordapp.com/attachments/1/2/a.json", true},
		{"http://127.0.0.1:4000/attachments/1/2/a.json", true}, // DISCORD_API_URL's host
		{"http://cdn.discordapp.com/attachments/1/2/a.json", false},
		{"https://cdn.discordapp.com:8443/attachments/1/2/a.json", false},
		{"https://cdn.discordapp.com.evil.example/a.json", false},
		{"https://cdn.discordapp.com@169.254.169.254/latest/meta-data/", false},
		{"http://169.254.169.254/latest/meta-data/iam/security-credentials/", false},
		{"http://127.0.0.1:4001/attachments/1/2/a.json", false},  // another port on loopback
		{"https://127.0.0.1:4000/attachments/1/2/a.json", false}, // another scheme
		{"file:///etc/passwd", false},
		{"", false},
	} {
		err := attachmentURL(tc.url, api)
		if (err == nil) != tc.ok {
			t.Errorf("attachmentURL(%q) = %v, want allowed %v", tc.url, err, tc.ok)
		}
	}
}

// An interaction that names an attachment anywhere but Discord's CDN or
// the configured API host makes the bot fetch nothing, directly or by a
// redirect.
func TestDownloadAttachmentFetchesNothingElsewhere(t *testing.T) {
	var inside atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside.Add(1)
		_, _ = io.WriteString(w, `{"secret": "metadata"}`)
	}))
	defer internal.Close()
	discord := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/attachments/1/2/game.json":
			_, _ = io.WriteString(w, `{"name": "game"}`)
		case "/attachments/1/2/redirect.json":
			http.Redirect(w, r, internal.URL+"/latest/meta-data/", http.StatusFound)
		}
	}))
	defer discord.Close()
	api, _ := url.Parse(discord.URL)
	b, err := New(Config{Token: "t", APIURL: api}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if doc, err := b.downloadAttachment(ctx, discord.URL+"/attachments/1/2/game.json", 1<<10); err != nil || string(doc) != `{"name": "game"}` {
		t.Errorf("download from the API host = %q, %v; want the template", doc, err)
	}
	if _, err := b.downloadAttachment(ctx, internal.URL+"/latest/meta-data/", 1<<10); !errors.Is(err, errNotAttachment) {
		t.Errorf("download from another host = %v, want refused as not an attachment", err)
	}
	if _, err := b.downloadAttachment(ctx, discord.URL+"/attachments/1/2/redirect.json", 1<<10); err == nil {
		t.Errorf("download redirected to another host succeeded")
	}
	if n := inside.Load(); n != 0 {
		t.Errorf("the bot fetched the internal address %d times, want never", n)
	}
}
