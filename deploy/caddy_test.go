package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestComposeCaddyServesOnlyThePages checks the optional Caddy service of
// docker-compose.yaml and its Caddyfile: off unless asked for (profile web),
// holding no secret, in the host's network (it serves 80 and 443 there and
// reaches the bot on 127.0.0.1) with its admin API off, the bot publishing
// nothing, and proxying to the bot the pages, their assets and the feed,
// never /metrics.
func TestComposeCaddyServesOnlyThePages(t *testing.T) {
	doc, err := parseYAML(readRepoFile(t, "docker-compose.yaml"))
	if err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	caddy := func(keys ...string) any {
		t.Helper()
		return path(t, doc, append([]string{"services", "caddy"}, keys...)...)
	}
	if got := fmt.Sprint(caddy("image")); got != "caddy:2" {
		t.Errorf("caddy image = %s, want caddy:2", got)
	}
	if got := strs(caddy("profiles")); !slices.Equal(got, []string{"web"}) {
		t.Errorf("caddy profiles = %v, want [web]: it must not start unless asked for", got)
	}
	if got := fmt.Sprint(caddy("network_mode")); got != "host" {
		t.Errorf("caddy network_mode = %s, want host: the bot listens on the host's 127.0.0.1", got)
	}
	if got := strs(caddy("volumes")); !slices.Contains(got, "./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro") {
		t.Errorf("caddy volumes = %v, want the Caddyfile mounted read-only", got)
	}
	env := envMap(t, caddy("environment"))
	if !strings.Contains(env["PUBLIC_URL"], "${PUBLIC_URL") {
		t.Errorf("caddy's PUBLIC_URL = %q, want it from .env", env["PUBLIC_URL"])
	}
	for k := range env {
		if regexp.MustCompile(`TOKEN|SECRET|KEY`).MatchString(k) {
			t.Errorf("caddy gets %s: it needs no secret", k)
		}
	}
	if services, ok := path(t, doc, "services").(map[string]any); ok {
		if s, ok := services["caddy"].(map[string]any); ok && s["secrets"] != nil {
			t.Errorf("caddy mounts secrets %v", s["secrets"])
		}
		if s, ok := services["spawner"].(map[string]any); ok && s["ports"] != nil {
			t.Errorf("the bot publishes %v: /metrics would be public; only Caddy publishes ports", s["ports"])
		}
	}

	file := readRepoFile(t, "deploy/caddy/Caddyfile")
	var lines []string
	for _, l := range strings.Split(file, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	conf := strings.Join(lines, "\n")
	for _, want := range []string{"{\nadmin off\n}", "{$PUBLIC_URL} {", "@pages path / /servers/* /assets/* /events /worlds/*", "handle @pages {",
		"reverse_proxy 127.0.0.1:8080", "header_up Host {host}", "respond 404"} {
		if !strings.Contains(conf, want) {
			t.Errorf("Caddyfile lacks %q:\n%s", want, conf)
		}
	}
	for _, never := range []string{"/metrics", "/healthz", "/readyz", "log"} {
		if strings.Contains(conf, never) {
			t.Errorf("Caddyfile has %q outside comments: only the pages are public, and tokens must not be logged", never)
		}
	}
	if strings.Count(conf, "reverse_proxy") != 1 {
		t.Errorf("Caddyfile proxies more than the pages:\n%s", conf)
	}
}
