package deploy

// The Mineral Contest game image (deploy/games/mineralcontest). Neither
// Docker nor GitHub is reachable here: the Dockerfile is parsed and checked,
// and its plugin fetcher runs for real against a stand-in for GitHub.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

const gameImageDir = "deploy/games/mineralcontest"

// gameImage is what the game image's Dockerfile pins.
type gameImage struct {
	base      string // the FROM image
	plugin    string // MINERALCONTEST_VERSION's default
	pluginSHA string // MINERALCONTEST_SHA256's default
	env       map[string]string
	ports     []string
}

var (
	// pinnedBase is a dated release of itzg/minecraft-server with its Java
	// variant, optionally with its digest: never latest, stable or javaNN alone.
	pinnedBase = regexp.MustCompile(`^itzg/minecraft-server:[0-9]{4}\.[0-9]+\.[0-9]+-java[0-9]+(@sha256:[0-9a-f]{64})?$`)
	// releaseTag is a plugin release such as 2.8.5.3.
	releaseTag = regexp.MustCompile(`^[0-9]+(\.[0-9]+)+$`)
	sha256Hex  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// checkGameImage reads the game image's Dockerfile and lists what is wrong
// with it: a base or plugin that moves on its own, a plugin fetched without
// its checksum, a server run as root or without a healthcheck, a baked secret.
func checkGameImage(tb testing.TB, df dockerfile) (gameImage, []string) {
	tb.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(df.stages) != 1 {
		bad("%d stages, want one: the base image with the plugin added", len(df.stages))
	}
	st := df.stages[len(df.stages)-1]
	img := gameImage{base: st.image, env: map[string]string{}}
	if !pinnedBase.MatchString(st.image) {
		bad("line %d: FROM %s is not a dated release of itzg/minecraft-server (itzg/minecraft-server:2026.8.1-java17)", st.from.line, st.image)
	}

	args := map[string]keyValue{}
	for _, in := range append(slices.Clone(df.globalArgs), st.all("ARG")...) {
		for _, kv := range keyValues(tb, in) {
			args[kv.key] = kv
		}
	}
	if v, ok := args["MINERALCONTEST_VERSION"]; !ok || !releaseTag.MatchString(v.value) {
		bad("ARG MINERALCONTEST_VERSION=%s: want a plugin release such as 2.8.5.3 by default (latest only when a build asks for it)", v.value)
	} else {
		img.plugin = v.value
	}
	if v, ok := args["MINERALCONTEST_SHA256"]; !ok {
		bad("no ARG MINERALCONTEST_SHA256: the plugin's jar must be checked against its checksum")
	} else if v.value != "" && !sha256Hex.MatchString(v.value) {
		bad("ARG MINERALCONTEST_SHA256=%s is not 64 lower-case hexadecimal digits", v.value)
	} else {
		img.pluginSHA = v.value
	}

	// The plugin comes from fetch-plugin.sh, which checks the checksum; an
	// ADD of a URL or a curl of its own would not.
	fetcher := ""
	for _, in := range st.all("COPY") {
		words := shellWords(tb, in.args)
		words = slices.DeleteFunc(words, func(w string) bool { return strings.HasPrefix(w, "--") })
		if len(words) == 2 && words[0] == "fetch-plugin.sh" {
			fetcher = filepath.Base(words[1])
		}
	}
	fetched := false
	for _, in := range st.all("RUN") {
		for _, cmd := range splitCommands(shellWords(tb, in.args)) {
			cmd = slices.DeleteFunc(cmd, func(w string) bool { return strings.HasPrefix(w, "--mount=") })
			if len(cmd) == 0 {
				continue
			}
			if fetcher != "" && filepath.Base(cmd[0]) == fetcher && slices.Contains(cmd, "/plugins") {
				fetched = true
			}
			if slices.Contains(cmd, "curl") || slices.Contains(cmd, "wget") {
				bad("line %d: RUN downloads with %s: fetch-plugin.sh is what checks a download", in.line, cmd[0])
			}
		}
	}
	for _, in := range st.all("ADD") {
		if strings.Contains(in.args, "://") {
			bad("line %d: ADD of a URL fetches it without a checksum", in.line)
		}
	}
	if !fetched {
		bad("no RUN of fetch-plugin.sh (copied into the image) into /plugins: the plugin is not in the image")
	}

	for _, in := range st.all("ENV") {
		for _, kv := range keyValues(tb, in) {
			img.env[kv.key] = kv.value
		}
	}
	if img.env["TYPE"] != "PAPER" || img.env["VERSION"] == "" || img.env["VERSION"] == "LATEST" {
		bad("ENV TYPE=%q VERSION=%q: want Paper at a set Minecraft version", img.env["TYPE"], img.env["VERSION"])
	}
	if img.env["EULA"] != "TRUE" {
		bad("ENV EULA=%q: the templates pass no EULA, so the server would not start", img.env["EULA"])
	}

	if users := st.all("USER"); len(users) == 0 {
		bad("no USER: the server would run as root")
	} else if u := users[len(users)-1]; slices.Contains([]string{"root", "0"}, strings.Split(u.args, ":")[0]) {
		bad("line %d: USER %s runs the server as root", u.line, u.args)
	}
	if hcs := st.all("HEALTHCHECK"); len(hcs) == 0 {
		bad("no HEALTHCHECK")
	} else if hc := hcs[len(hcs)-1]; !strings.Contains(hc.args, "CMD") {
		bad("line %d: HEALTHCHECK %s checks nothing", hc.line, hc.args)
	}
	for _, in := range st.all("EXPOSE") {
		img.ports = append(img.ports, shellWords(tb, in.args)...)
	}
	problems = append(problems, bakedSecrets(tb, df)...)
	return img, problems
}

// TestGameImageDockerfile: the image's base and plugin are pinned, the
// plugin is fetched by the script that checks its checksum, and the server
// runs as its own user with a healthcheck. Each broken variant of the file
// is caught.
func TestGameImageDockerfile(t *testing.T) {
	text := readRepoFile(t, gameImageDir+"/Dockerfile")
	if _, problems := checkGameImage(t, parseDockerfile(t, text)); len(problems) > 0 {
		t.Errorf("%s/Dockerfile:\n%s", gameImageDir, strings.Join(problems, "\n"))
	}

	from := regexp.MustCompile(`(?m)^FROM .*$`).FindString(text)
	cases := []struct {
		name, old, new, want string
	}{
		{"base on latest", from, "FROM itzg/minecraft-server:latest", "dated release"},
		{"base without tag", from, "FROM itzg/minecraft-server", "dated release"},
		{"base on a moving variant", from, "FROM itzg/minecraft-server:java17", "dated release"},
		{"plugin on latest", "ARG MINERALCONTEST_VERSION=2", "ARG MINERALCONTEST_VERSION=latest\n#", "MINERALCONTEST_VERSION"},
		{"no checksum argument", "ARG MINERALCONTEST_SHA256=", "ARG PLUGIN_SUM=", "no ARG MINERALCONTEST_SHA256"},
		{"checksum not hexadecimal", "ARG MINERALCONTEST_SHA256=", "ARG MINERALCONTEST_SHA256=abc", "64 lower-case"},
		{"plugin not fetched", "fetch-mineralcontest /plugins", "true", "no RUN of fetch-plugin.sh"},
		{"plugin added from a URL", "USER 1000:1000", "ADD https://github.com/Synchroneyes/MineralContest/releases/download/2.8.5.3/MineralContest.jar /plugins/\nUSER 1000:1000", "ADD of a URL"},
		{"plugin downloaded with curl", "USER 1000:1000", "RUN curl -fsSLo /plugins/MineralContest.jar https://example.org/x.jar\nUSER 1000:1000", "RUN downloads with curl"},
		{"server as root", "USER 1000:1000", "USER root", "as root"},
		{"no user", "USER 1000:1000", "", "no USER"},
		{"no healthcheck", "HEALTHCHECK", "#", "no HEALTHCHECK"},
		{"healthcheck off", `HEALTHCHECK --start-period=2m --interval=30s --retries=3 CMD ["mc-health"]`, "HEALTHCHECK NONE", "checks nothing"},
		{"Minecraft version moves", "VERSION=1.19.4", "VERSION=LATEST", "set Minecraft version"},
		{"baked RCON password", "USER 1000:1000", "ENV RCON_PASSWORD=minecraft\nUSER 1000:1000", "RCON_PASSWORD has a value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(text, tc.old) {
				t.Fatalf("the Dockerfile has no %q to break", tc.old)
			}
			_, problems := checkGameImage(t, parseDockerfile(t, strings.Replace(text, tc.old, tc.new, 1)))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("replacing %q by %q: problems %q, want one saying %q", tc.old, tc.new, problems, tc.want)
			}
		})
	}
}

// TestGameImageMatchesTemplateAndTerraform: the template and the Terraform
// example name the image the Dockerfile builds, at the plugin release it
// pins, for the Minecraft version the template shows.
func TestGameImageMatchesTemplateAndTerraform(t *testing.T) {
	img, _ := checkGameImage(t, parseDockerfile(t, readRepoFile(t, gameImageDir+"/Dockerfile")))

	var tmpl struct {
		Name, Version, Image, TaskDefinition, Container string
		Port                                            int
		RCON                                            struct{ Port int }
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, "deploy/games/mineralcontest.json")), &tmpl); err != nil {
		t.Fatalf("deploy/games/mineralcontest.json: %v", err)
	}
	repo, tag, ok := strings.Cut(tmpl.Image, ":")
	if !ok || repo[strings.LastIndex(repo, "/")+1:] != "mineralcontest" {
		t.Errorf("template image %q, want <registry>/<owner>/mineralcontest:<plugin release>", tmpl.Image)
	}
	if tag != img.plugin {
		t.Errorf("template image tag %q, want the plugin release the Dockerfile pins (%s): the workflow tags each build with it", tag, img.plugin)
	}
	if tmpl.Version != img.env["VERSION"] {
		t.Errorf("template version %q, the Dockerfile's Minecraft VERSION %q: the ready message would lie", tmpl.Version, img.env["VERSION"])
	}
	if want := fmt.Sprintf("%d/tcp", tmpl.Port); !slices.Contains(img.ports, want) {
		t.Errorf("the Dockerfile exposes %v, want the template's port %s", img.ports, want)
	}
	// The image has no /opredeem: operators come from /server op over RCON.
	if rcon := fmt.Sprint(tmpl.RCON.Port); img.env["ENABLE_RCON"] != "true" || img.env["RCON_PORT"] != rcon {
		t.Errorf("the Dockerfile's ENABLE_RCON=%q RCON_PORT=%q, want RCON on the template's rcon port %s", img.env["ENABLE_RCON"], img.env["RCON_PORT"], rcon)
	}

	// deploy/terraform: var.games gives the task definition "<name>-<game>"
	// with its container "game", and games.tfvars.example the same image.
	nameDefault := regexp.MustCompile(`(?s)variable "name" \{.*?default\s*=\s*"([^"]+)"`).FindStringSubmatch(readTerraform(t))
	if nameDefault == nil {
		t.Fatal(`deploy/terraform: variable "name" has no default`)
	}
	if want := nameDefault[1] + "-" + tmpl.Name; tmpl.TaskDefinition != want || tmpl.Container != "game" {
		t.Errorf("template task definition %q container %q, want %q and \"game\" (deploy/terraform/games.tf)", tmpl.TaskDefinition, tmpl.Container, want)
	}
	tfvars := readRepoFile(t, "deploy/terraform/games.tfvars.example")
	entry := regexp.MustCompile(`(?s)\n  ` + tmpl.Name + ` = \{(.*?)\n  \}`).FindStringSubmatch(tfvars)
	if entry == nil {
		t.Fatalf("games.tfvars.example has no %s entry: nothing creates the template's task definition", tmpl.Name)
	}
	if m := regexp.MustCompile(`image\s*=\s*"([^"]+)"`).FindStringSubmatch(entry[1]); m == nil || m[1] != tmpl.Image {
		t.Errorf("games.tfvars.example %s image = %v, want the template's %q", tmpl.Name, m, tmpl.Image)
	}
	if m := regexp.MustCompile(`rcon_port\s*=\s*([0-9]+)`).FindStringSubmatch(entry[1]); m == nil || m[1] != fmt.Sprint(tmpl.RCON.Port) {
		t.Errorf("games.tfvars.example %s rcon_port = %v, want the template's %d: RCON open to the bot only", tmpl.Name, m, tmpl.RCON.Port)
	}

}

// needTools fails the test, loudly, when a program the scripts need is missing.
func needTools(tb testing.TB, names ...string) {
	tb.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			tb.Fatalf("%s is not installed, and the scripts under test need it (Debian: apt-get install %s)", name, name)
		}
	}
}

// trustServer writes the TLS server's certificate to a file for curl
// (CURL_CA_BUNDLE): the scripts speak https only.
func trustServer(tb testing.TB, srv *httptest.Server) string {
	tb.Helper()
	f := filepath.Join(tb.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}
	if err := os.WriteFile(f, pem.EncodeToMemory(block), 0o600); err != nil {
		tb.Fatal(err)
	}
	return f
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeRelease is one release of the plugin as the fake GitHub serves it.
type fakeRelease struct {
	tag        string
	jar        []byte // what the download serves
	digest     string // what the API publishes, "" for none
	withoutJar bool
}

// fakeGitHub serves the plugin's releases the way GitHub does: the API's
// release JSON and the asset's download, redirected elsewhere.
type fakeGitHub struct {
	srv      *httptest.Server
	releases []fakeRelease // the last is the latest

	mu       sync.Mutex
	requests []string // "METHOD path auth=<Authorization>"
}

func newFakeGitHub(tb testing.TB, releases ...fakeRelease) *fakeGitHub {
	tb.Helper()
	g := &fakeGitHub{releases: releases}
	g.srv = httptest.NewTLSServer(http.HandlerFunc(g.serve))
	tb.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
	g.mu.Unlock()
	const repo = "/repos/Synchroneyes/MineralContest/releases/"
	find := func(tag string) (fakeRelease, bool) {
		for _, rel := range g.releases {
			if rel.tag == tag {
				return rel, true
			}
		}
		return fakeRelease{}, false
	}
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, repo):
		tag := strings.TrimPrefix(p, repo+"tags/")
		if p == repo+"latest" {
			tag = g.releases[len(g.releases)-1].tag
		}
		rel, ok := find(tag)
		if !ok {
			http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
			return
		}
		assets := []map[string]any{{"name": "MineralContest-sources.zip", "browser_download_url": g.srv.URL + "/nowhere"}}
		if !rel.withoutJar {
			asset := map[string]any{
				"name":                 "MineralContest.jar",
				"browser_download_url": g.srv.URL + "/Synchroneyes/MineralContest/releases/download/" + rel.tag + "/MineralContest.jar",
				"digest":               nil,
			}
			if rel.digest != "" {
				asset["digest"] = "sha256:" + rel.digest
			}
			assets = append(assets, asset)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"tag_name": rel.tag, "assets": assets})
	case strings.HasPrefix(p, "/Synchroneyes/MineralContest/releases/download/"):
		// GitHub answers with a redirect to its storage.
		http.Redirect(w, r, "/storage"+p, http.StatusFound)
	case strings.HasPrefix(p, "/storage/Synchroneyes/MineralContest/releases/download/"):
		tag := strings.Split(p, "/")[6]
		rel, ok := find(tag)
		if !ok || rel.withoutJar {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(rel.jar)
	default:
		http.NotFound(w, r)
	}
}

func (g *fakeGitHub) seen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

// TestFetchPlugin runs the image's plugin fetcher against a fake GitHub: a
// pinned release with its checksum, the checksum GitHub publishes, the
// latest release, and every way a jar can be wrong, each refused with
// nothing left behind.
func TestFetchPlugin(t *testing.T) {
	needTools(t, "sh", "curl", "jq", "sha256sum")
	script := filepath.Join(repoRoot(t), gameImageDir, "fetch-plugin.sh")
	old, current := []byte("MineralContest 2.8.5.3 jar"), []byte("MineralContest 2.9.0 jar")

	type result struct {
		out      string
		err      error
		jar      []byte
		version  string
		requests []string
	}
	fetch := func(t *testing.T, g *fakeGitHub, version, checksum, token string) result {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "plugins")
		tokenFile := filepath.Join(t.TempDir(), "github_token")
		if token != "" {
			if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.CommandContext(t.Context(), "sh", script, dir)
		cmd.Env = append(os.Environ(),
			"MINERALCONTEST_VERSION="+version, "MINERALCONTEST_SHA256="+checksum,
			"GITHUB_URL="+g.srv.URL, "GITHUB_API="+g.srv.URL, "GITHUB_TOKEN_FILE="+tokenFile,
			"CURL_CA_BUNDLE="+trustServer(t, g.srv))
		out, err := cmd.CombinedOutput()
		r := result{out: string(out), err: err, requests: g.seen()}
		r.jar, _ = os.ReadFile(filepath.Join(dir, "MineralContest.jar"))
		v, _ := os.ReadFile(filepath.Join(dir, ".mineralcontest-version"))
		r.version = strings.TrimSpace(string(v))
		if err != nil && (r.jar != nil || r.version != "") {
			t.Errorf("the fetch failed but left %s behind: %v", dir, os.RemoveAll(dir))
		}
		return r
	}
	ok := func(t *testing.T, r result, jar []byte, version string) {
		t.Helper()
		if r.err != nil {
			t.Fatalf("fetch failed: %v\n%s", r.err, r.out)
		}
		if string(r.jar) != string(jar) || r.version != version {
			t.Errorf("fetched jar %q version %q, want %q %q\n%s", r.jar, r.version, jar, version, r.out)
		}
		if !strings.Contains(r.out, "sha256:"+sum(jar)) {
			t.Errorf("the output does not tell the jar's checksum (to pin it):\n%s", r.out)
		}
	}
	refused := func(t *testing.T, r result, want string) {
		t.Helper()
		if r.err == nil {
			t.Fatalf("fetch succeeded, want it refused with %q\n%s", want, r.out)
		}
		if !strings.Contains(r.out, want) {
			t.Errorf("fetch refused with %q, want it to say %q", r.out, want)
		}
	}
	releases := func() []fakeRelease {
		return []fakeRelease{{tag: "2.8.5.3", jar: old, digest: sum(old)}, {tag: "2.9.0", jar: current, digest: sum(current)}}
	}

	t.Run("pinned release with its checksum", func(t *testing.T) {
		g := newFakeGitHub(t, releases()...)
		r := fetch(t, g, "2.8.5.3", sum(old), "")
		ok(t, r, old, "2.8.5.3")
		for _, req := range r.requests {
			if strings.HasPrefix(req, "GET /repos/") {
				t.Errorf("a pinned release with its checksum needs no API call, made %q", req)
			}
		}
	})
	t.Run("checksum in capitals", func(t *testing.T) {
		ok(t, fetch(t, newFakeGitHub(t, releases()...), "2.8.5.3", strings.ToUpper(sum(old)), ""), old, "2.8.5.3")
	})
	t.Run("pinned release with another checksum", func(t *testing.T) {
		refused(t, fetch(t, newFakeGitHub(t, releases()...), "2.8.5.3", sum(current), ""), "refusing it")
	})
	t.Run("pinned release checked against the published checksum", func(t *testing.T) {
		ok(t, fetch(t, newFakeGitHub(t, releases()...), "2.8.5.3", "", ""), old, "2.8.5.3")
	})
	t.Run("pinned release without a published checksum", func(t *testing.T) {
		g := newFakeGitHub(t, fakeRelease{tag: "2.8.4.8", jar: old})
		refused(t, fetch(t, g, "2.8.4.8", "", ""), "set MINERALCONTEST_SHA256")
	})
	t.Run("latest release", func(t *testing.T) {
		ok(t, fetch(t, newFakeGitHub(t, releases()...), "latest", "", ""), current, "2.9.0")
	})
	t.Run("latest release whose jar is not the published one", func(t *testing.T) {
		g := newFakeGitHub(t, fakeRelease{tag: "2.9.0", jar: []byte("tampered"), digest: sum(current)})
		refused(t, fetch(t, g, "latest", "", ""), "refusing it")
	})
	t.Run("checksum given differs from the published one", func(t *testing.T) {
		refused(t, fetch(t, newFakeGitHub(t, releases()...), "latest", sum(old), ""), "GitHub publishes "+sum(current))
	})
	t.Run("no such release", func(t *testing.T) {
		refused(t, fetch(t, newFakeGitHub(t, releases()...), "9.9.9", "", ""), "cannot read release 9.9.9")
	})
	t.Run("release without the jar", func(t *testing.T) {
		g := newFakeGitHub(t, fakeRelease{tag: "3.0", withoutJar: true})
		refused(t, fetch(t, g, "3.0", "", ""), "has no MineralContest.jar")
	})
	for _, bad := range []struct{ version, checksum, want string }{
		{"", "", "MINERALCONTEST_VERSION is empty"},
		{"../../etc", "", "neither a release tag"},
		{"2.8.5.3/x", "", "neither a release tag"},
		{"2.8.5.3", "abc", "not 64 hexadecimal"},
		{"2.8.5.3", strings.Repeat("g", 64), "not 64 hexadecimal"},
	} {
		t.Run(fmt.Sprintf("refused %q %q", bad.version, bad.checksum), func(t *testing.T) {
			g := newFakeGitHub(t, releases()...)
			refused(t, fetch(t, g, bad.version, bad.checksum, ""), bad.want)
			if reqs := g.seen(); len(reqs) > 0 {
				t.Errorf("bad input reached GitHub: %q", reqs)
			}
		})
	}
	t.Run("token goes to the API only and is never printed", func(t *testing.T) {
		g := newFakeGitHub(t, releases()...)
		r := fetch(t, g, "latest", "", "ghs_s3cr3t")
		ok(t, r, current, "2.9.0")
		for _, req := range r.requests {
			api := strings.HasPrefix(req, "GET /repos/")
			if has := strings.HasSuffix(req, "auth=Bearer ghs_s3cr3t"); has != api {
				t.Errorf("request %q: token sent = %v, want %v (the API only)", req, has, api)
			}
		}
		if strings.Contains(r.out, "s3cr3t") {
			t.Errorf("the output shows the token:\n%s", r.out)
		}
	})
}
