package dockerd

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// forbidden is the page HAProxy answers a refused request with, as
// tecnativa/docker-socket-proxy serves it.
const forbidden = "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"

// apiSection is the first segment of an Engine API path, after its
// optional version ("/v1.41/volumes/x" → "volumes").
var apiSection = regexp.MustCompile(`^(?:/v[\d.]+)?/([^/]+)`)

// ProxyHost is a "tcp://127.0.0.1:<port>" address where the engine's API
// answers through a socket proxy that works as docker-compose.yaml's
// tecnativa/docker-socket-proxy does: it allows the API sections named by
// their variables ("CONTAINERS", "VOLUMES", ...), and the methods that
// write only with "POST"; the ping and the version always; it refuses
// anything else with 403 Forbidden and HAProxy's page. It is closed when
// tb's cleanups run.
func (e *Engine) ProxyHost(tb testing.TB, sections ...string) string {
	tb.Helper()
	socket := strings.TrimPrefix(e.host, "unix://")
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
		FlushInterval: -1, // the events stream
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		section := ""
		if m := apiSection.FindStringSubmatch(r.URL.Path); m != nil {
			section = strings.ToUpper(strings.TrimPrefix(m[1], "_"))
		}
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		allowed := section == "PING" || section == "VERSION" || slices.Contains(sections, section)
		if !allowed || (write && !slices.Contains(sections, "POST")) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(forbidden))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return "tcp://" + srv.Listener.Addr().String()
}
