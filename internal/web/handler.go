package web

import (
	"bufio"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.ParseFS(assets, "assets/*.html"))

// HandlerOptions are what Handler needs.
type HandlerOptions struct {
	Signer *Signer      // checks the token of every request; required
	Hub    *Hub         // the feed; its Fleet also tells servers' owners; required
	Logger *slog.Logger // slog.Default() when nil
	// OriginPatterns are other hosts whose pages may open the feed (as
	// coder/websocket's AcceptOptions); empty: only pages whose Origin
	// matches the request's Host, which is right behind a proxy that keeps
	// the Host header (Caddy, nginx with proxy_set_header Host).
	OriginPatterns []string
	// BasePath is the path of PUBLIC_URL ("/spawner"), empty when it has
	// none. Pages are served both at the root and under it, so a reverse
	// proxy may pass requests on with that path or without it.
	BasePath string
	// Backups, when set, serves the downloads of world backups
	// (download.go); nil serves none.
	Backups BackupOpener
	// DownloadStall is how long a download may wait for its client to
	// take more bytes before it is dropped; 0 is DefaultDownloadStall.
	DownloadStall time.Duration
}

// Handler serves the pages and the feed:
//
//	GET /events?token=<t>[&server=<id>]  WebSocket of JSON spawner.Event
//	GET /servers/{id}?token=<t>          the live page of one server
//	GET /?token=<t>                      the dashboard of the token's scope
//	GET /assets/...                      the pages' CSS and JavaScript
//	GET /worlds/{world}/backups/{backup}.tar.gz?token=<t>
//	                                     a backup's archive (with Backups)
//
// and the same under BasePath. The pages name their assets and their feed
// by relative addresses, so they work wherever they are served.
//
// A missing, forged or expired token gets 401 and a token that does not
// cover the server 403, before any upgrade; pages answer with a plain
// page saying the link expired. Over the hub's caps, /events answers 429.
func Handler(opt HandlerOptions) http.Handler {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	h := &handler{opt: opt}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(static))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", h.events)
	mux.HandleFunc("GET /servers/{id}", h.serverPage)
	mux.HandleFunc("GET /{$}", h.dashboard)
	if opt.Backups != nil {
		mux.HandleFunc("GET /worlds/{world}/backups/{file}", h.download)
	}
	mux.Handle("GET /assets/{file}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".html") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
	base := strings.TrimRight(opt.BasePath, "/")
	if base == "" {
		return mux
	}
	under := http.StripPrefix(base, mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A path the pages serve as it is came through a proxy that
		// stripped BasePath (or straight to HTTP_ADDR); else it may still
		// carry it.
		if _, pattern := mux.Handler(r); pattern == "" && strings.HasPrefix(r.URL.Path, base+"/") {
			under.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

type handler struct {
	opt HandlerOptions
}

// check verifies the request's token and, when server is set, that it
// covers that server. It returns what the token says, or the status to
// answer when it does not.
func (h *handler) check(r *http.Request, server string) (claims, int, error) {
	c, err := h.opt.Signer.verify(r.URL.Query().Get("token"))
	if err != nil {
		return claims{}, http.StatusUnauthorized, err
	}
	if c.scope.Kind == ScopeBackup { // a download link opens no page
		return claims{}, http.StatusForbidden, ErrOutOfScope
	}
	if server != "" && !h.covers(c.scope, server) {
		return claims{}, http.StatusForbidden, ErrOutOfScope
	}
	return c, 0, nil
}

// covers reports whether scope may see server; a member's scope needs the
// server to be live, to know its owner.
func (h *handler) covers(scope Scope, server string) bool {
	switch scope.Kind {
	case ScopeFleet, ScopeServer:
		return scope.Covers(server, "")
	}
	for _, e := range h.opt.Hub.opt.Fleet.Snapshot() {
		if e.Server == server {
			return scope.Covers(e.Server, e.Owner)
		}
	}
	return false
}

func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	server := r.URL.Query().Get("server")
	claims, status, err := h.check(r, server)
	if err != nil {
		http.Error(w, feedError(err), status)
		return
	}
	release, err := h.opt.Hub.reserve(claims.link, claims.scope.holder())
	switch {
	case errors.Is(err, ErrTooMany):
		http.Error(w, "too many connections", http.StatusTooManyRequests)
		return
	case err != nil:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	// Same origin only unless told otherwise: a page elsewhere cannot read
	// the feed with a token it got hold of through a user's browser.
	conn, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{OriginPatterns: h.opt.OriginPatterns})
	if err != nil {
		release()
		return // Accept already answered
	}
	// The hub owns the connection from here; returning frees the request
	// and the HTTP server's goroutine, which matters with a thousand clients.
	s := h.opt.Hub.open(conn, claims.scope, server)
	s.left = claims.left
	go func() {
		defer release()
		h.opt.Hub.serve(s)
	}()
}

func feedError(err error) string {
	switch {
	case errors.Is(err, ErrTokenExpired):
		return "this link has expired: ask the bot for a new one with /server dashboard"
	case errors.Is(err, ErrOutOfScope):
		return "this link does not cover this server"
	}
	return "invalid or missing token"
}

// pageData is what the templates see; never a token or a secret.
type pageData struct {
	Lang   string
	Page   string // "server" or "dashboard"
	Server string
	Reason string // for the error page: "expired", "invalid", "scope"
	// Root is the relative address of the pages' root from the page's
	// own: "./" for the dashboard, "../" for /servers/{id}.
	Root string
}

// root is pageData.Root for the request: a page under /servers/ is one
// level below the root.
func root(r *http.Request) string {
	if r.PathValue("id") != "" {
		return "../"
	}
	return "./"
}

func (h *handler) serverPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, status, err := h.check(r, id); err != nil {
		h.refuse(w, r, status, err)
		return
	}
	h.render(w, r, http.StatusOK, "page.html", pageData{Page: "server", Server: id})
}

func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) {
	if _, status, err := h.check(r, ""); err != nil {
		h.refuse(w, r, status, err)
		return
	}
	h.render(w, r, http.StatusOK, "page.html", pageData{Page: "dashboard"})
}

func (h *handler) refuse(w http.ResponseWriter, r *http.Request, status int, err error) {
	reason := "invalid"
	switch {
	case errors.Is(err, ErrTokenExpired):
		reason = "expired"
	case errors.Is(err, ErrOutOfScope):
		reason = "scope"
	}
	h.render(w, r, status, "refused.html", pageData{Reason: reason})
}

func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data pageData) {
	data.Lang = "en"
	data.Root = root(r)
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "fr") {
		data.Lang = "fr"
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		h.opt.Logger.Error("render page", "page", name, "err", err)
	}
}

// smallBuffers hands the WebSocket smaller buffers than net/http's 4 KiB
// each way: a client sends only pongs and a close, and an event is a few
// hundred bytes. With a thousand clients this saves about 6 MiB.
type smallBuffers struct{ http.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack: not supported")
	}
	conn, brw, err := hj.Hijack()
	if err != nil || brw.Reader.Buffered() > 0 || brw.Writer.Buffered() > 0 {
		return conn, brw, err // keep what was read ahead
	}
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, 512), bufio.NewWriterSize(conn, 1024)), nil
}
