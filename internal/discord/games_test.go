package discord

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDownloadEnforcesTheLimitWhileReading(t *testing.T) {
	const limit = 1 << 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exact":
			_, _ = w.Write([]byte(strings.Repeat("a", limit)))
		case "/chunked": // no Content-Length: only reading tells the size
			w.(http.Flusher).Flush()
			for range 4 {
				_, _ = w.Write([]byte(strings.Repeat("b", limit/2+1)))
				w.(http.Flusher).Flush()
			}
		case "/declared":
			w.Header().Set("Content-Length", "999999")
			w.WriteHeader(http.StatusOK)
		case "/gone":
			http.NotFound(w, r)
		case "/slow":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	if doc, err := fetch(ctx, http.DefaultClient, srv.URL+"/exact", limit); err != nil || len(doc) != limit {
		t.Errorf("download of exactly the limit = %d bytes, %v", len(doc), err)
	}
	for _, path := range []string{"/chunked", "/declared"} {
		if _, err := fetch(ctx, http.DefaultClient, srv.URL+path, limit); !errors.Is(err, errTooLarge) {
			t.Errorf("download %s = %v, want too large", path, err)
		}
	}
	if _, err := fetch(ctx, http.DefaultClient, srv.URL+"/gone", limit); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("download of a missing file = %v, want the status", err)
	}
	short, cancel := context.WithCancel(ctx)
	go cancel() // the caller's deadline ends the wait, as downloadTimeout does
	if _, err := fetch(short, http.DefaultClient, srv.URL+"/slow", limit); err == nil {
		t.Errorf("download of a server that never answers returned no error")
	}
}

func TestShowTemplateFitsOneMessage(t *testing.T) {
	doc := []byte(`{"name": "big", "env": {"A": "` + strings.Repeat("é", 5000) + "```" + `"}}`)
	got := showTemplate("Template of **Big** (`big`):", doc)
	if n := utf8.RuneCountInString(got); n > maxContent {
		t.Errorf("answer is %d characters, more than %d", n, maxContent)
	}
	if !strings.HasPrefix(got, "Template of **Big** (`big`):\n```json\n{\"name\": \"big\"") || !strings.HasSuffix(got, ellipsis+"\n```") {
		t.Errorf("answer = %q…%q, want the header, the start of the template in a code block, cut", got[:60], got[len(got)-20:])
	}
	small := showTemplate("h", []byte("{\"a\": \"```\"}"))
	if strings.Count(small, "```") != 2 {
		t.Errorf("a fence in the template ends the code block: %q", small)
	}
}
