// Package deploy checks the files that ship spawner (Dockerfile, .dockerignore,
// docker-compose.yaml, deploy/terraform) without Docker or Terraform: neither
// runs on the machines the tests run on. What can be proven here is proven
// for real: the Dockerfile's own build command is run and its binary
// inspected; the rest is parsed and checked for what an operator relies on.
package deploy

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

const modulePath = "github.com/mineral-contest/spawner"

// repoRoot returns the repository root: the tests run in deploy/.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		tb.Fatalf("repository root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		tb.Fatalf("repository root %s has no go.mod: %v", root, err)
	}
	return root
}

func readRepoFile(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(tb), name))
	if err != nil {
		tb.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// Dockerfile

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int    // first line, 1-based
	cmd  string // upper case: FROM, RUN, ...
	args string // the rest, trimmed
}

// stage is a build stage: its FROM and what follows it.
type stage struct {
	image  string
	name   string
	from   instruction
	instrs []instruction
}

// dockerfile is a parsed Dockerfile: the ARGs before the first FROM, then the stages.
type dockerfile struct {
	globalArgs []instruction
	stages     []stage
}

func parseDockerfile(tb testing.TB, text string) dockerfile {
	tb.Helper()
	var (
		df      dockerfile
		pending strings.Builder
		start   int
	)
	flush := func() {
		s := strings.TrimSpace(pending.String())
		pending.Reset()
		if s == "" {
			return
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			words := shellWords(tb, in.args)
			words = slices.DeleteFunc(words, func(w string) bool { return strings.HasPrefix(w, "--") })
			st := stage{from: in}
			switch {
			case len(words) == 1:
				st.image = words[0]
			case len(words) == 3 && strings.EqualFold(words[1], "AS"):
				st.image, st.name = words[0], words[2]
			default:
				tb.Fatalf("Dockerfile:%d: cannot read FROM %q", in.line, in.args)
			}
			df.stages = append(df.stages, st)
			return
		}
		if len(df.stages) == 0 {
			if in.cmd != "ARG" {
				tb.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			df.globalArgs = append(df.globalArgs, in)
			return
		}
		last := &df.stages[len(df.stages)-1]
		last.instrs = append(last.instrs, in)
	}
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") {
			continue // comments, also inside a continuation, and parser directives
		}
		if pending.Len() == 0 {
			if line == "" {
				continue
			}
			start = i + 1
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(body)
			pending.WriteString(" ")
			continue
		}
		pending.WriteString(line)
		flush()
	}
	if pending.Len() > 0 {
		tb.Fatalf("Dockerfile:%d: continuation runs past the end of the file", start)
	}
	if len(df.stages) == 0 {
		tb.Fatal("Dockerfile has no FROM")
	}
	return df
}

// shellWords splits s the way a POSIX shell splits words, quotes and
// backslashes included; it does not expand anything.
func shellWords(tb testing.TB, s string) []string {
	tb.Helper()
	var (
		words []string
		cur   strings.Builder
		inArg bool
		quote rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(rs) && strings.ContainsRune(`"\$`+"`", rs[i+1]):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inArg = true
		case r == ' ' || r == '\t' || r == '\n':
			if inArg {
				words = append(words, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		tb.Fatalf("unterminated %c quote in %q", quote, s)
	}
	if inArg {
		words = append(words, cur.String())
	}
	return words
}

// keyValues reads the arguments of ENV or ARG: `K=V K2="V 2"`, `K V` (ENV's
// old form) or a bare `K` (ARG without default, value "", hasValue false).
type keyValue struct {
	key, value string
	hasValue   bool
}

func keyValues(tb testing.TB, in instruction) []keyValue {
	tb.Helper()
	words := shellWords(tb, in.args)
	if len(words) == 0 {
		tb.Fatalf("Dockerfile:%d: empty %s", in.line, in.cmd)
	}
	if in.cmd == "ENV" && !strings.Contains(words[0], "=") {
		// Legacy `ENV KEY value with spaces`.
		_, rest, _ := strings.Cut(in.args, " ")
		return []keyValue{{key: words[0], value: strings.TrimSpace(rest), hasValue: true}}
	}
	var kvs []keyValue
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		kvs = append(kvs, keyValue{key: k, value: v, hasValue: ok})
	}
	return kvs
}

// execForm decodes an exec-form argument list (`["/spawner", "run"]`).
func execForm(tb testing.TB, in instruction, args string) []string {
	tb.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		tb.Fatalf("Dockerfile:%d: %s %s is not in exec form (a JSON array): %v", in.line, in.cmd, args, err)
	}
	return argv
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s stage) last(tb testing.TB, cmd string) instruction {
	tb.Helper()
	all := s.all(cmd)
	if len(all) == 0 {
		tb.Fatalf("Dockerfile: stage %q (line %d) has no %s", s.name, s.from.line, cmd)
	}
	return all[len(all)-1]
}

// goBuild is the builder's `go build` command as the Dockerfile runs it.
type goBuild struct {
	stage  stage
	run    instruction
	env    map[string]string // the stage's ENV and the command's own assignments, expanded
	args   []string          // after `go`: build, flags, packages; -o removed
	output string            // the -o path inside the image
}

// buildPlatform is what BuildKit passes to a stage for a native build on this
// machine: the binary the test builds is the one `docker build` would build here.
var buildPlatform = map[string]string{
	"TARGETOS":       "linux",
	"TARGETARCH":     runtime.GOARCH,
	"TARGETPLATFORM": "linux/" + runtime.GOARCH,
	"BUILDPLATFORM":  "linux/" + runtime.GOARCH,
	"BUILDOS":        "linux",
	"BUILDARCH":      runtime.GOARCH,
}

func findGoBuild(tb testing.TB, df dockerfile) goBuild {
	tb.Helper()
	var found []goBuild
	for _, st := range df.stages {
		vars := map[string]string{}
		for _, in := range st.all("ARG") {
			for _, kv := range keyValues(tb, in) {
				if v, ok := buildPlatform[kv.key]; ok && !kv.hasValue {
					vars[kv.key] = v
				} else {
					vars[kv.key] = kv.value
				}
			}
		}
		env := map[string]string{}
		expand := func(in instruction, s string) string {
			return os.Expand(s, func(name string) string {
				if v, ok := env[name]; ok {
					return v
				}
				if v, ok := vars[name]; ok {
					return v
				}
				tb.Fatalf("Dockerfile:%d: $%s is neither an ARG nor an ENV of stage %q", in.line, name, st.name)
				return ""
			})
		}
		for _, in := range st.instrs {
			switch in.cmd {
			case "ENV":
				for _, kv := range keyValues(tb, in) {
					env[kv.key] = expand(in, kv.value)
				}
			case "RUN":
				words := shellWords(tb, in.args)
				words = slices.DeleteFunc(words, func(w string) bool { return strings.HasPrefix(w, "--mount=") || strings.HasPrefix(w, "--network=") })
				for _, cmd := range splitCommands(words) {
					gb, ok := parseGoBuild(tb, in, cmd, env, expand)
					if ok {
						gb.stage = st
						found = append(found, gb)
					}
				}
			}
		}
	}
	if len(found) != 1 {
		tb.Fatalf("Dockerfile: want exactly one `go build` in the builder stage, found %d", len(found))
	}
	return found[0]
}

// splitCommands cuts a RUN's words at the shell's command separators.
func splitCommands(words []string) [][]string {
	var cmds [][]string
	var cur []string
	for _, w := range words {
		if w == "&&" || w == ";" || w == "||" {
			cmds = append(cmds, cur)
			cur = nil
			continue
		}
		cur = append(cur, w)
	}
	return append(cmds, cur)
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func parseGoBuild(tb testing.TB, in instruction, words []string, stageEnv map[string]string, expand func(instruction, string) string) (goBuild, bool) {
	tb.Helper()
	env := map[string]string{}
	for k, v := range stageEnv {
		env[k] = v
	}
	i := 0
	for ; i < len(words) && assignment.MatchString(words[i]); i++ {
		k, v, _ := strings.Cut(words[i], "=")
		env[k] = expand(in, v)
	}
	if len(words)-i < 2 || words[i] != "go" || words[i+1] != "build" {
		return goBuild{}, false
	}
	gb := goBuild{run: in, env: env}
	rest := words[i+1:]
	for j := 0; j < len(rest); j++ {
		w := expand(in, rest[j])
		switch {
		case w == "-o" && j+1 < len(rest):
			j++
			gb.output = expand(in, rest[j])
		case strings.HasPrefix(w, "-o="):
			gb.output = strings.TrimPrefix(w, "-o=")
		default:
			gb.args = append(gb.args, w)
		}
	}
	if gb.output == "" {
		tb.Fatalf("Dockerfile:%d: go build has no -o: the final stage could not know where the binary is", in.line)
	}
	return gb, true
}

// TestDockerfileBuildsAStaticBinary runs the builder stage's own `go build`
// command, with its own environment, and checks that the result runs on a
// distroless/static image: statically linked, stripped, no build paths.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon; skipped in -short mode")
	}
	root := repoRoot(t)
	df := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	gb := findGoBuild(t, df)

	if got := gb.env["CGO_ENABLED"]; got != "0" {
		t.Fatalf("Dockerfile:%d: go build runs with CGO_ENABLED=%q, want 0 (a cgo binary needs a libc the final image does not have)", gb.run.line, got)
	}
	if !slices.Contains(gb.args, "./cmd/spawner") {
		t.Errorf("Dockerfile:%d: go build %v does not build ./cmd/spawner", gb.run.line, gb.args)
	}

	bin := filepath.Join(t.TempDir(), "spawner")
	args := append([]string{gb.args[0], "-o", bin}, gb.args[1:]...)
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = root
	cmd.Env = os.Environ()
	for k, v := range gb.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// The build context has no .git (.dockerignore), so no VCS stamping.
	cmd.Env = append(cmd.Env, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s (Dockerfile:%d): %v\n%s", strings.Join(args, " "), gb.run.line, err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("the built binary is not ELF: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			t.Errorf("binary has a PT_INTERP program header: it needs a dynamic loader, which distroless/static lacks")
		case elf.PT_DYNAMIC:
			t.Errorf("binary has a PT_DYNAMIC program header: it is dynamically linked")
		default: // the others are a static binary's too
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary imports shared libraries %v (err %v), want none", libs, err)
	}
	// -trimpath keeps -ldflags out of the build info, so its effects are checked instead.
	if f.Section(".symtab") != nil {
		t.Errorf("binary has a symbol table: -ldflags=-s was not applied")
	}
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			t.Errorf("binary has DWARF section %s: -ldflags=-w was not applied", s.Name)
			break
		}
	}
	if f.Section(".note.go.buildid") != nil {
		t.Errorf("binary has a Go build ID note: -ldflags=-buildid= was not applied, so identical sources give different images")
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("read build info: %v", err)
	}
	if want := modulePath + "/cmd/spawner"; info.Path != want {
		t.Errorf("binary's main package is %q, want %q", info.Path, want)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": "linux"} {
		if got := settings[key]; got != want {
			t.Errorf("build setting %s = %q, want %q (all settings: %v)", key, got, want, settings)
		}
	}

	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(root)) {
		t.Errorf("binary contains the build directory %s: -trimpath did not take", root)
	}
}

// TestDockerfileFinalStage checks the image an operator runs: distroless
// static (or scratch), non-root, the binary copied from the builder's output,
// `spawner run` by default and a healthcheck that needs no shell.
func TestDockerfileFinalStage(t *testing.T) {
	df := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	final := df.stages[len(df.stages)-1]

	base, tag, _ := strings.Cut(final.image, ":")
	tag, _, _ = strings.Cut(tag, "@")
	distroless := strings.HasPrefix(base, "gcr.io/distroless/static")
	if !distroless && final.image != "scratch" {
		t.Fatalf("Dockerfile:%d: final image %q, want gcr.io/distroless/static*:nonroot or scratch", final.from.line, final.image)
	}
	if distroless && !strings.Contains(tag, "nonroot") {
		t.Errorf("Dockerfile:%d: final image %q is not the :nonroot variant", final.from.line, final.image)
	}

	users := final.all("USER")
	switch {
	case len(users) > 0:
		u := users[len(users)-1]
		name, _, _ := strings.Cut(u.args, ":")
		if name == "root" || name == "0" {
			t.Errorf("Dockerfile:%d: the final stage runs as %q", u.line, u.args)
		}
	case !distroless:
		t.Errorf("Dockerfile: the final stage has no USER, so it runs as root")
	}

	if got := final.last(t, "WORKDIR").args; got != "/app" {
		t.Errorf("WORKDIR = %q, want /app (where a mounted .env would be read)", got)
	}
	entry := final.last(t, "ENTRYPOINT")
	if got := execForm(t, entry, entry.args); !slices.Equal(got, []string{"/spawner"}) {
		t.Errorf("ENTRYPOINT = %q, want [\"/spawner\"]", got)
	}
	cmd := final.last(t, "CMD")
	if got := execForm(t, cmd, cmd.args); !slices.Equal(got, []string{"run"}) {
		t.Errorf("CMD = %q, want [\"run\"]", got)
	}

	hc := final.last(t, "HEALTHCHECK")
	words := shellWords(t, hc.args)
	i := 0
	for i < len(words) && strings.HasPrefix(words[i], "--") {
		i++
	}
	if i >= len(words) || words[i] != "CMD" {
		t.Fatalf("Dockerfile:%d: HEALTHCHECK %q has no CMD", hc.line, hc.args)
	}
	_, hcArgs, _ := strings.Cut(hc.args, "CMD")
	if got := execForm(t, hc, strings.TrimSpace(hcArgs)); !slices.Equal(got, []string{"/spawner", "health"}) {
		t.Errorf("HEALTHCHECK CMD = %q, want [\"/spawner\", \"health\"] (no shell in the image)", got)
	}

	// The binary /spawner is the builder's output.
	gb := findGoBuild(t, df)
	want := fmt.Sprintf("--from=%s %s /spawner", gb.stage.name, gb.output)
	var copies []string
	for _, in := range final.all("COPY") {
		copies = append(copies, in.args)
	}
	if !slices.Contains(copies, want) {
		t.Errorf("final stage COPY %q, want one to be %q", copies, want)
	}
}

// secretName matches the names of variables whose value is a secret.
var secretName = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|ACCESS_KEY|API_KEY|PRIVATE_KEY|CREDENTIALS?)`)

// bakedSecrets lists the ENV and ARG lines that give a secret-named variable
// a value, and the COPY/ADD lines that would put a secret file in the image.
func bakedSecrets(tb testing.TB, df dockerfile) []string {
	tb.Helper()
	var bad []string
	check := func(in instruction) {
		switch in.cmd {
		case "ENV", "ARG":
			for _, kv := range keyValues(tb, in) {
				if secretName.MatchString(kv.key) && !strings.HasSuffix(kv.key, "_FILE") && kv.value != "" {
					bad = append(bad, fmt.Sprintf("line %d: %s %s has a value", in.line, in.cmd, kv.key))
				}
			}
		case "COPY", "ADD":
			for _, w := range shellWords(tb, in.args) {
				base := filepath.Base(w)
				if base == ".env" || strings.HasPrefix(base, ".env.") || base == "secrets" || strings.HasPrefix(w, "secrets/") {
					bad = append(bad, fmt.Sprintf("line %d: %s copies %s", in.line, in.cmd, w))
				}
			}
		}
	}
	for _, in := range df.globalArgs {
		check(in)
	}
	for _, st := range df.stages {
		for _, in := range st.instrs {
			check(in)
		}
	}
	return bad
}

// TestDockerfileBakesNoSecret: an image pushed anywhere must not carry the
// token or keys; they come from the environment or from *_FILE secrets.
func TestDockerfileBakesNoSecret(t *testing.T) {
	df := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	if bad := bakedSecrets(t, df); len(bad) > 0 {
		t.Errorf("Dockerfile bakes secrets:\n%s", strings.Join(bad, "\n"))
	}

	// The check itself must be able to fail.
	cases := []struct {
		name string
		line string
		bad  bool
	}{
		{"env token", "ENV DISCORD_TOKEN=abc", true},
		{"legacy env form", "ENV DISCORD_TOKEN abc", true},
		{"arg default secret key", `ARG AWS_SECRET_ACCESS_KEY="x y"`, true},
		{"arg access key id", "ARG AWS_ACCESS_KEY_ID=AKIAEXAMPLE", true},
		{"copy dotenv", "COPY .env /app/.env", true},
		{"copy secrets dir", "COPY secrets/discord_token /run/secrets/", true},
		{"arg without value", "ARG DISCORD_TOKEN", false},
		{"file path is no secret", "ENV DISCORD_TOKEN_FILE=/run/secrets/discord_token", false},
		{"ordinary env", "ENV HTTP_ADDR=:8080 LOG_FORMAT=json", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			df := parseDockerfile(t, "FROM scratch\n"+tc.line+"\n")
			if got := len(bakedSecrets(t, df)) > 0; got != tc.bad {
				t.Errorf("%q flagged = %v, want %v", tc.line, got, tc.bad)
			}
		})
	}
}

// TestDockerignoreKeepsSecretsOutOfTheContext: what .dockerignore leaves in is
// sent to the daemon and may land in a layer.
func TestDockerignoreKeepsSecretsOutOfTheContext(t *testing.T) {
	patterns := map[string]bool{}
	for _, line := range strings.Split(readRepoFile(t, ".dockerignore"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, "**/"), "/")
		patterns[strings.TrimSuffix(line, "/")] = true
	}
	for _, want := range []string{".git", ".env", "secrets", "node_modules"} {
		if !patterns[want] {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

// ---------------------------------------------------------------------------
// docker-compose.yaml
//
// No YAML library may be added, so parseYAML reads the block-style subset a
// compose file needs: nested mappings, sequences of scalars, plain and quoted
// scalars, flow sequences of scalars, comments. Anything else (anchors, block
// scalars, flow mappings, mappings inside sequences, tabs) is an error rather
// than a guess, so the compose file stays checkable.

type yamlLine struct {
	no     int
	indent int
	text   string
}

func parseYAML(text string) (any, error) {
	var lines []yamlLine
	for i, raw := range strings.Split(text, "\n") {
		content := stripYAMLComment(raw)
		if strings.TrimSpace(content) == "" {
			continue
		}
		trimmed := strings.TrimLeft(content, " ")
		if strings.HasPrefix(trimmed, "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", i+1)
		}
		if trimmed == "---" || trimmed == "..." {
			return nil, fmt.Errorf("line %d: multi-document YAML is not supported", i+1)
		}
		lines = append(lines, yamlLine{no: i + 1, indent: len(content) - len(trimmed), text: strings.TrimRight(trimmed, " \t")})
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	p := &yamlParser{lines: lines}
	v, err := p.block(lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.pos < len(lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", lines[p.pos].no)
	}
	return v, nil
}

// stripYAMLComment removes a `#` comment that starts a line or follows a space, outside quotes.
func stripYAMLComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

type yamlParser struct {
	lines []yamlLine
	pos   int
}

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

func (p *yamlParser) block(indent int) (any, error) {
	if isSeqItem(p.lines[p.pos].text) {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

func (p *yamlParser) sequence(indent int) (any, error) {
	var seq []any
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent {
			break
		}
		if l.indent > indent || !isSeqItem(l.text) {
			return nil, fmt.Errorf("line %d: expected a sequence item at indentation %d", l.no, indent)
		}
		item := strings.TrimSpace(strings.TrimPrefix(l.text, "-"))
		if item == "" {
			return nil, fmt.Errorf("line %d: nested blocks inside sequences are not supported", l.no)
		}
		if _, _, isPair := cutMappingKey(item); isPair {
			return nil, fmt.Errorf("line %d: mappings inside sequences are not supported", l.no)
		}
		v, err := scalarOrFlow(l.no, item)
		if err != nil {
			return nil, err
		}
		seq = append(seq, v)
		p.pos++
	}
	return seq, nil
}

func (p *yamlParser) mapping(indent int) (any, error) {
	m := map[string]any{}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, fmt.Errorf("line %d: unexpected indentation", l.no)
		}
		key, value, ok := cutMappingKey(l.text)
		if !ok {
			return nil, fmt.Errorf("line %d: expected `key: value`, got %q", l.no, l.text)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", l.no, key)
		}
		p.pos++
		if value != "" {
			v, err := scalarOrFlow(l.no, value)
			if err != nil {
				return nil, err
			}
			m[key] = v
			continue
		}
		// A nested block: deeper, or a sequence at the same indentation.
		if p.pos < len(p.lines) {
			next := p.lines[p.pos]
			if next.indent > indent || (next.indent == indent && isSeqItem(next.text)) {
				v, err := p.block(next.indent)
				if err != nil {
					return nil, err
				}
				m[key] = v
				continue
			}
		}
		m[key] = nil
	}
	return m, nil
}

// cutMappingKey splits `key: value` (key plain or quoted); ok is false when
// the text is not a mapping entry.
func cutMappingKey(text string) (key, value string, ok bool) {
	if strings.HasPrefix(text, `"`) || strings.HasPrefix(text, "'") {
		q := text[:1]
		end := strings.Index(text[1:], q)
		if end < 0 {
			return "", "", false
		}
		rest := text[end+2:]
		if rest != ":" && !strings.HasPrefix(rest, ": ") {
			return "", "", false
		}
		return text[1 : end+1], strings.TrimSpace(rest[1:]), true
	}
	if k, ok := strings.CutSuffix(text, ":"); ok && !strings.Contains(k, ": ") {
		return k, "", true
	}
	k, v, ok := strings.Cut(text, ": ")
	if !ok || strings.ContainsAny(k, "[]{}") {
		return "", "", false
	}
	return k, strings.TrimSpace(v), true
}

func scalarOrFlow(no int, s string) (any, error) {
	switch {
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("line %d: multi-line flow sequences are not supported", no)
		}
		inner := strings.TrimSpace(s[1 : len(s)-1])
		var seq []any
		if inner == "" {
			return seq, nil
		}
		for _, part := range splitFlow(inner) {
			v, err := scalar(no, strings.TrimSpace(part))
			if err != nil {
				return nil, err
			}
			seq = append(seq, v)
		}
		return seq, nil
	case strings.HasPrefix(s, "{"):
		return nil, fmt.Errorf("line %d: flow mappings are not supported", no)
	}
	return scalar(no, s)
}

func splitFlow(s string) []string {
	var parts []string
	var quote rune
	start := 0
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == ',':
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func scalar(no int, s string) (string, error) {
	switch {
	case s == "":
		return "", fmt.Errorf("line %d: empty flow item", no)
	case strings.HasPrefix(s, `"`):
		v, err := strconv.Unquote(s)
		if err != nil {
			return "", fmt.Errorf("line %d: bad double-quoted string %s: %w", no, s, err)
		}
		return v, nil
	case strings.HasPrefix(s, "'"):
		if len(s) < 2 || !strings.HasSuffix(s, "'") {
			return "", fmt.Errorf("line %d: bad single-quoted string %s", no, s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case strings.ContainsAny(s[:1], "&*!|>%@`"):
		return "", fmt.Errorf("line %d: %q: anchors, tags, block scalars and reserved indicators are not supported", no, s)
	}
	return s, nil
}

func TestParseYAMLRejectsWhatItCannotRead(t *testing.T) {
	for name, doc := range map[string]string{
		"tab indent":          "a:\n\tb: c\n",
		"duplicate key":       "a: 1\na: 2\n",
		"bad indentation":     "a:\n    b: 1\n  c: 2\n",
		"anchor":              "a: &x 1\n",
		"block scalar":        "a: |\n  text\n",
		"mapping in sequence": "a:\n  - b: 1\n",
		"not a mapping":       "a: 1\njust words\n",
		"unterminated quote":  "a: \"b\n",
	} {
		t.Run(name, func(t *testing.T) {
			if v, err := parseYAML(doc); err == nil {
				t.Errorf("parseYAML(%q) = %v, want an error", doc, v)
			}
		})
	}
	v, err := parseYAML("a:\n  b: \"x # y\"  # comment\n  c: ['1', \"2\"]\n  d:\n  - e\n")
	if err != nil {
		t.Fatal(err)
	}
	want := `map[a:map[b:x # y c:[1 2] d:[e]]]`
	if got := fmt.Sprint(v); got != want {
		t.Errorf("parseYAML = %s, want %s", got, want)
	}
}

// path walks a parsed YAML document; it fails the test naming the missing key.
func path(tb testing.TB, doc any, keys ...string) any {
	tb.Helper()
	cur := doc
	for i, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			tb.Fatalf("compose: %s is not a mapping", strings.Join(keys[:i], "."))
		}
		if cur, ok = m[k]; !ok {
			tb.Fatalf("compose: %s is missing", strings.Join(keys[:i+1], "."))
		}
	}
	return cur
}

// strs turns a scalar or a sequence of scalars into a list.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// envMap reads `environment:` in either of its forms.
func envMap(tb testing.TB, v any) map[string]string {
	tb.Helper()
	out := map[string]string{}
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			out[k] = fmt.Sprint(val)
		}
	case []any:
		for _, e := range v {
			k, val, _ := strings.Cut(fmt.Sprint(e), "=")
			out[k] = val
		}
	default:
		tb.Fatalf("compose: environment is neither a mapping nor a list: %T", v)
	}
	return out
}

// TestComposeRunsTheDaemonAsDocumented checks both compose files, the
// one-machine docker-compose.yaml and deploy/compose.aws.yaml, for what the
// deployment docs promise: the bot restarts, reads .env, takes the token
// (and keys) from secret files, reports health, caps its logs, and is
// locked down. The AWS file lives in deploy/, so its paths go up one level.
func TestComposeRunsTheDaemonAsDocumented(t *testing.T) {
	for _, c := range []struct{ file, root string }{
		{"docker-compose.yaml", "."},
		{"deploy/compose.aws.yaml", ".."},
	} {
		t.Run(c.file, func(t *testing.T) {
			doc, err := parseYAML(readRepoFile(t, c.file))
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			checkComposeBot(t, doc, c.root)
		})
	}
}

func checkComposeBot(t *testing.T, doc any, root string) {
	t.Helper()
	svc := func(keys ...string) any {
		t.Helper()
		return path(t, doc, append([]string{"services", "spawner"}, keys...)...)
	}
	equal := func(what string, got any, want string) {
		t.Helper()
		if fmt.Sprint(got) != want {
			t.Errorf("compose: %s = %v, want %s", what, got, want)
		}
	}

	equal("build", svc("build"), root)
	equal("image", svc("image"), "spawner:local")
	equal("restart", svc("restart"), "unless-stopped")
	if got := strs(svc("env_file")); !slices.Contains(got, root+"/.env") && !(root == "." && slices.Contains(got, ".env")) {
		t.Errorf("compose: env_file = %v, want .env", got)
	}
	equal("stop_grace_period", svc("stop_grace_period"), "15s")
	equal("read_only", svc("read_only"), "true")
	if got := strs(svc("security_opt")); !slices.Contains(got, "no-new-privileges:true") {
		t.Errorf("compose: security_opt = %v, want no-new-privileges:true", got)
	}
	if got := strs(svc("cap_drop")); !slices.Equal(got, []string{"ALL"}) {
		t.Errorf("compose: cap_drop = %v, want [ALL]", got)
	}

	if got := strs(svc("healthcheck", "test")); !slices.Equal(got, []string{"CMD", "/spawner", "health"}) {
		t.Errorf("compose: healthcheck.test = %q, want [CMD /spawner health]", got)
	}
	equal("logging.driver", svc("logging", "driver"), "json-file")
	equal("logging.options.max-size", svc("logging", "options", "max-size"), "10m")
	equal("logging.options.max-file", svc("logging", "options", "max-file"), "3")

	env := envMap(t, svc("environment"))
	// In its own network the bot serves every address of its container;
	// in the host's, 127.0.0.1 only (TestComposeOneMachineReachesDockerOnlyThroughTheProxy).
	if root == ".." {
		equal("environment.HTTP_ADDR", env["HTTP_ADDR"], ":8080")
	}
	for _, secret := range []string{"DISCORD_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if v, ok := env[secret]; ok {
			t.Errorf("compose: environment.%s is set (%d characters): secrets go in secret files", secret, len(v))
		}
	}
	if _, ok := env["DISCORD_TOKEN_FILE"]; !ok {
		t.Errorf("compose: environment.DISCORD_TOKEN_FILE is missing: the token would have to sit in .env")
	}

	// Every *_FILE points at a secret the service mounts, declared from a file under ./secrets/.
	mounted := strs(svc("secrets"))
	declared, ok := path(t, doc, "secrets").(map[string]any)
	if !ok {
		t.Fatalf("compose: top-level secrets is not a mapping")
	}
	for name, value := range env {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		secret, ok := strings.CutPrefix(value, "/run/secrets/")
		if !ok {
			t.Errorf("compose: %s=%s is not under /run/secrets/", name, value)
			continue
		}
		if !slices.Contains(mounted, secret) {
			t.Errorf("compose: %s reads secret %q, which the service does not mount (it mounts %v)", name, secret, mounted)
		}
	}
	for _, secret := range mounted {
		if _, ok := declared[secret]; !ok {
			t.Errorf("compose: the service mounts secret %q, which is not declared at the top level", secret)
			continue
		}
		file := fmt.Sprint(path(t, doc, "secrets", secret, "file"))
		if !strings.HasPrefix(file, root+"/secrets/") {
			t.Errorf("compose: secret %q comes from %q, want a file under %s/secrets/ (ignored by git and docker)", secret, file, root)
		}
	}
}

// dockerAPISections maps each Docker client method the docker adapter may
// call to the section of the socket proxy that serves it (tecnativa's
// variables), and whether it writes (needs POST=1). "" is a section the
// proxy always serves (PING, VERSION) or no call to the engine at all.
var dockerAPISections = map[string]struct {
	section string
	writes  bool
}{
	"ContainerInspect": {"CONTAINERS", false}, "ContainerList": {"CONTAINERS", false},
	"ContainerCreate": {"CONTAINERS", true}, "ContainerStart": {"CONTAINERS", true},
	"ContainerStop": {"CONTAINERS", true}, "ContainerRemove": {"CONTAINERS", true},
	"ContainerKill": {"CONTAINERS", true},
	// A world's backup and restore: the archive of a helper container.
	"CopyFromContainer": {"CONTAINERS", false}, "CopyToContainer": {"CONTAINERS", true},
	"ImageInspect": {"IMAGES", false}, "ImagePull": {"IMAGES", true},
	"ImageImport":  {"IMAGES", true}, // the helper containers' empty image
	"VolumeCreate": {"VOLUMES", true}, "VolumeRemove": {"VOLUMES", true},
	"VolumeInspect": {"VOLUMES", false}, "VolumeList": {"VOLUMES", false},
	"DistributionInspect": {"DISTRIBUTION", false},
	"Events":              {"EVENTS", false},
	"Info":                {"INFO", false},
	"NetworkInspect":      {"NETWORKS", false},
	"Ping":                {"", false}, "ServerVersion": {"", false},
	"Close": {"", false}, "DaemonHost": {"", false},
}

// adapterDockerCalls lists the client methods internal/docker calls
// (r.cli.X), read from its source.
func adapterDockerCalls(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(tb), "internal", "docker", "*.go"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no internal/docker/*.go (err %v)", err)
	}
	call := regexp.MustCompile(`\.cli\.([A-Z][A-Za-z]*)\(`)
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
		}
	}
	calls := slices.Sorted(maps.Keys(seen))
	if len(calls) < 5 {
		tb.Fatalf("found only %v in internal/docker: has the client field been renamed?", calls)
	}
	return calls
}

// TestComposeOneMachineReachesDockerOnlyThroughTheProxy: the one-machine
// compose file runs the bot with the Docker runtime and the embedded store
// on a named volume, in the host's network (where it answers for asleep
// worlds on their ports), its HTTP on 127.0.0.1 only; only the socket
// proxy mounts the engine's socket; the proxy allows exactly the sections
// the adapter calls, is published on 127.0.0.1 alone, where the bot
// reaches it, and is alone on its network; the AWS file gives no Docker
// access.
func TestComposeOneMachineReachesDockerOnlyThroughTheProxy(t *testing.T) {
	doc, err := parseYAML(readRepoFile(t, "docker-compose.yaml"))
	if err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	services, ok := path(t, doc, "services").(map[string]any)
	if !ok {
		t.Fatalf("compose: services is not a mapping")
	}
	const proxy = "docker-proxy"
	if _, ok := services[proxy]; !ok {
		t.Fatalf("compose: no %s service (have %v)", proxy, slices.Sorted(maps.Keys(services)))
	}
	mountsSocket := func(doc any, name string) bool {
		svc, _ := doc.(map[string]any)["services"].(map[string]any)[name].(map[string]any)
		for _, v := range strs(svc["volumes"]) {
			if strings.Contains(v, "docker.sock") {
				return true
			}
		}
		return false
	}
	for name := range services {
		if name != proxy && mountsSocket(doc, name) {
			t.Errorf("compose: service %s mounts the Docker socket: only %s may", name, proxy)
		}
	}
	if got := strs(path(t, doc, "services", proxy, "volumes")); !slices.Contains(got, "/var/run/docker.sock:/var/run/docker.sock:ro") {
		t.Errorf("compose: %s volumes = %v, want the engine's socket", proxy, got)
	}

	env := envMap(t, path(t, doc, "services", "spawner", "environment"))
	for k, want := range map[string]string{"SPAWNER_RUNTIME": "docker", "DOCKER_HOST": "tcp://127.0.0.1:2375", "SPAWNER_DATA_DIR": "/data", "HTTP_ADDR": "127.0.0.1:8080"} {
		if env[k] != want {
			t.Errorf("compose: spawner environment.%s = %q, want %q", k, env[k], want)
		}
	}
	if got := strs(path(t, doc, "services", "spawner", "volumes")); !slices.Equal(got, []string{"spawner-data:/data"}) {
		t.Errorf("compose: spawner volumes = %v, want the named volume spawner-data on /data", got)
	}
	if vols, ok := path(t, doc, "volumes").(map[string]any); !ok || !slices.Contains(slices.Collect(maps.Keys(vols)), "spawner-data") {
		t.Errorf("compose: the named volume spawner-data is not declared: %v", path(t, doc, "volumes"))
	}

	// The proxy serves exactly what the adapter calls.
	want := map[string]string{}
	for _, call := range adapterDockerCalls(t) {
		s, ok := dockerAPISections[call]
		if !ok {
			t.Errorf("internal/docker calls %s, which this test does not map to a section of the socket proxy: add it here and allow it in docker-compose.yaml", call)
			continue
		}
		if s.section != "" {
			want[s.section] = "1"
		}
		if s.writes {
			want["POST"] = "1"
		}
	}
	got := envMap(t, path(t, doc, "services", proxy, "environment"))
	if !maps.Equal(got, want) {
		t.Errorf("compose: %s environment = %v, want exactly %v (what internal/docker calls)", proxy, got, want)
	}

	// The bot shares the host's network, so that its listeners hold the
	// host's ports; the proxy is published on loopback only, for it.
	if got := fmt.Sprint(path(t, doc, "services", "spawner", "network_mode")); got != "host" {
		t.Errorf("compose: spawner network_mode = %s, want host: an asleep world's listener must hold the host's port", got)
	}
	if got := strs(path(t, doc, "services", proxy, "ports")); !slices.Equal(got, []string{"127.0.0.1:2375:2375"}) {
		t.Errorf("compose: %s ports = %v, want only 127.0.0.1:2375:2375 (never every address)", proxy, got)
	}
	if got := strs(path(t, doc, "services", proxy, "networks")); !slices.Equal(got, []string{"docker-api"}) {
		t.Errorf("compose: %s networks = %v, want only docker-api", proxy, got)
	}
	for name := range services {
		nets := strs(services[name].(map[string]any)["networks"])
		if in := slices.Contains(nets, "docker-api"); in != (name == proxy) {
			t.Errorf("compose: service %s on docker-api = %v, want the proxy alone", name, in)
		}
	}

	// The AWS file gives the bot no way to the engine.
	aws, err := parseYAML(readRepoFile(t, "deploy/compose.aws.yaml"))
	if err != nil {
		t.Fatalf("deploy/compose.aws.yaml: %v", err)
	}
	if mountsSocket(aws, "spawner") {
		t.Errorf("deploy/compose.aws.yaml: the bot mounts the Docker socket")
	}
	if v, ok := envMap(t, path(t, aws, "services", "spawner", "environment"))["DOCKER_HOST"]; ok {
		t.Errorf("deploy/compose.aws.yaml: DOCKER_HOST=%s is set", v)
	}
}

// pinnedImage is an image named by a release's tag and its digest:
// "name:v1.2.3@sha256:<64 hex digits>".
var pinnedImage = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*:v?[0-9]+\.[0-9]+\.[0-9]+@sha256:[0-9a-f]{64}$`)

// TestComposeSocketProxyPinned: the one container that holds the Docker
// socket runs a release pinned by its digest, never a moving tag that a
// push could repoint at other code, and can start on its read-only
// filesystem.
func TestComposeSocketProxyPinned(t *testing.T) {
	doc, err := parseYAML(readRepoFile(t, "docker-compose.yaml"))
	if err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	image := fmt.Sprint(path(t, doc, "services", "docker-proxy", "image"))
	if !pinnedImage.MatchString(image) {
		t.Errorf("compose: docker-proxy image = %q, want a release's version and digest (name:v1.2.3@sha256:...)", image)
	}
	// Its filesystem is read-only but for what it writes at start: the
	// HAProxy configuration its entrypoint renders into /tmp (v0.4 on) and
	// HAProxy's pid file in /run; without them it exits at once.
	if got := fmt.Sprint(path(t, doc, "services", "docker-proxy", "read_only")); got != "true" {
		t.Errorf("compose: docker-proxy read_only = %s, want true", got)
	}
	if got := strs(path(t, doc, "services", "docker-proxy", "tmpfs")); !slices.Contains(got, "/tmp") || !slices.Contains(got, "/run") {
		t.Errorf("compose: docker-proxy tmpfs = %v, want /run and /tmp", got)
	}
}

// ---------------------------------------------------------------------------
// deploy/terraform (terraform itself is not available here: textual checks)

func readTerraform(tb testing.TB) string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(tb), "deploy", "terraform", "*.tf"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no deploy/terraform/*.tf (err %v)", err)
	}
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		all.Write(b)
		all.WriteString("\n")
	}
	return all.String()
}

// TestTerraformEnvFileNamesEveryAWSVariable: `terraform output -raw env_file
// >> .env` must give the daemon every AWS setting it requires.
func TestTerraformEnvFileNamesEveryAWSVariable(t *testing.T) {
	tf := readTerraform(t)
	m := regexp.MustCompile(`(?s)output "env_file" \{.*?<<-EOT\n(.*?)\n\s*EOT`).FindStringSubmatch(tf)
	if m == nil {
		t.Fatal(`deploy/terraform: no output "env_file" with a <<-EOT heredoc`)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(m[1], "\n") {
		name, _, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			t.Errorf("env_file line %q is not NAME=value", line)
		}
		names[name] = true
	}
	for _, want := range []string{
		"AWS_REGION", "AWS_ECS_CLUSTER_NAME", "ECS_TASK_DEFINITION", "DOCKER_IMAGE_NAME",
		"ECS_SUBNETS", "ECS_SECURITY_GROUPS", "AWS_DYNAMODB_TABLE_NAME",
		"GAMESERVER_PORT", "GAMESERVER_VERSION", "AWS_SQS_EVENTS_QUEUE_URL",
	} {
		if !names[want] {
			t.Errorf("env_file output lacks %s", want)
		}
	}
	for name := range names {
		if secretName.MatchString(name) {
			t.Errorf("env_file output carries %s: secrets go to their own sensitive outputs", name)
		}
	}
	for _, out := range []string{"aws_access_key_id", "aws_secret_access_key"} {
		block := regexp.MustCompile(`(?s)output "` + out + `" \{(.*?)\n\}`).FindStringSubmatch(tf)
		if block == nil {
			t.Errorf("no output %q", out)
			continue
		}
		if !regexp.MustCompile(`sensitive\s*=\s*true`).MatchString(block[1]) {
			t.Errorf("output %q is not marked sensitive", out)
		}
	}
}

// TestTerraformBotPolicyGrantsEveryCallAndNoMore lists the API actions the
// bot's policy names: each call the daemon makes must be there, and nothing
// broad or unneeded.
func TestTerraformBotPolicyGrantsEveryCallAndNoMore(t *testing.T) {
	tf := readTerraform(t)
	m := regexp.MustCompile(`(?s)data "aws_iam_policy_document" "bot" \{(.*?)\n\}`).FindStringSubmatch(tf)
	if m == nil {
		t.Fatal(`deploy/terraform: no data "aws_iam_policy_document" "bot"`)
	}
	granted := map[string]bool{}
	for _, a := range regexp.MustCompile(`"((?:ecs|ec2|dynamodb|iam|sts|logs|sqs|s3|sns):[A-Za-z*]+)"`).FindAllStringSubmatch(m[1], -1) {
		granted[a[1]] = true
	}
	for _, want := range []string{
		"ecs:RunTask", "ecs:TagResource", "ecs:DescribeTasks", "ecs:StopTask", "ecs:ListTasks",
		"ecs:DescribeClusters", "ecs:DescribeTaskDefinition", "iam:PassRole",
		"ec2:DescribeNetworkInterfaces",
		"dynamodb:Scan", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable",
		"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
		"s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
		"sns:Publish", "sns:GetTopicAttributes",
	} {
		if !granted[want] {
			t.Errorf("bot policy does not grant %s, which the daemon calls", want)
		}
	}
	for action := range granted {
		if strings.HasSuffix(action, "*") {
			t.Errorf("bot policy grants the wildcard action %s", action)
		}
	}
	if granted["dynamodb:CreateTable"] {
		t.Errorf("bot policy grants dynamodb:CreateTable: Terraform owns the table")
	}
	if !strings.Contains(m[1], `"ecs:CreateAction"`) {
		t.Errorf("bot policy lets ecs:TagResource through without the ecs:CreateAction condition")
	}
	if !strings.Contains(m[1], `"iam:PassedToService"`) {
		t.Errorf("bot policy lets iam:PassRole through without the iam:PassedToService condition")
	}
}

// TestTerraformDefaultSizeIsAValidFargatePair: a bad pair fails only at
// RunTask time, in front of a user.
func TestTerraformDefaultSizeIsAValidFargatePair(t *testing.T) {
	tf := readTerraform(t)
	def := func(name string) int {
		t.Helper()
		m := regexp.MustCompile(`(?s)variable "` + name + `" \{[^}]*?default\s*=\s*(\d+)`).FindStringSubmatch(tf)
		if m == nil {
			t.Fatalf("variable %q has no numeric default", name)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	cpu, mem := def("cpu"), def("memory")
	valid := map[int]func(int) bool{
		256:  func(m int) bool { return m == 512 || m == 1024 || m == 2048 },
		512:  func(m int) bool { return m >= 1024 && m <= 4096 && m%1024 == 0 },
		1024: func(m int) bool { return m >= 2048 && m <= 8192 && m%1024 == 0 },
		2048: func(m int) bool { return m >= 4096 && m <= 16384 && m%1024 == 0 },
		4096: func(m int) bool { return m >= 8192 && m <= 30720 && m%1024 == 0 },
	}
	ok, known := valid[cpu]
	if !known || !ok(mem) {
		t.Errorf("default cpu=%d memory=%d is not a Fargate size", cpu, mem)
	}
}

// ---------------------------------------------------------------------------
// The deployment docs

// botPermissions are the guild permissions the bot needs (and `spawner
// check` verifies): the invite URL in the docs must grant exactly these.
var botPermissions = map[string]int64{
	"View Channels":        discordgo.PermissionViewChannel,
	"Send Messages":        discordgo.PermissionSendMessages,
	"Read Message History": discordgo.PermissionReadMessageHistory,
	"Embed Links":          discordgo.PermissionEmbedLinks,
	"Manage Channels":      discordgo.PermissionManageChannels,
	"Manage Roles":         discordgo.PermissionManageRoles,
}

// TestInviteURLGrantsWhatTheBotNeeds: an operator pastes the documented
// invite URL; a wrong permissions integer shows up only when a ticket channel
// cannot be created. The URL is the one README.md documents; any in docs/
// is checked too.
func TestInviteURLGrantsWhatTheBotNeeds(t *testing.T) {
	var want int64
	for _, bit := range botPermissions {
		want |= bit
	}
	invite := regexp.MustCompile(`https://discord\.com/oauth2/authorize\?[^\s)` + "`" + `]+`)
	docs, err := filepath.Glob(filepath.Join(repoRoot(t), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	inReadme := 0
	for _, path := range append([]string{filepath.Join(repoRoot(t), "README.md")}, docs...) {
		name, _ := filepath.Rel(repoRoot(t), path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range invite.FindAllString(string(b), -1) {
			if name == "README.md" {
				inReadme++
			}
			m := regexp.MustCompile(`[?&]permissions=(\d+)`).FindStringSubmatch(u)
			if m == nil {
				t.Errorf("%s: invite URL %s has no permissions=", name, u)
				continue
			}
			got, _ := strconv.ParseInt(m[1], 10, 64)
			if got != want {
				var missing, extra []string
				for p, bit := range botPermissions {
					if got&bit == 0 {
						missing = append(missing, p)
					}
				}
				if rest := got &^ want; rest != 0 {
					extra = append(extra, fmt.Sprintf("bits %#x", rest))
				}
				t.Errorf("%s: invite permissions=%d, want %d (missing %v, extra %v)", name, got, want, missing, extra)
			}
			if !strings.Contains(string(b), fmt.Sprintf("**%d**", want)) {
				t.Errorf("%s: the permissions integer %d is not spelled out for the reader", name, want)
			}
			scope := regexp.MustCompile(`[?&]scope=([^&]+)`).FindStringSubmatch(u)
			if scope == nil || !slices.Contains(strings.FieldsFunc(scope[1], func(r rune) bool { return r == '+' || r == ' ' || r == '%' }), "bot") ||
				!strings.Contains(scope[1], "applications.commands") {
				t.Errorf("%s: invite URL %s must ask for scope bot and applications.commands", name, u)
			}
		}
	}
	if inReadme == 0 {
		t.Fatal("no Discord invite URL in README.md, where the bot's own messages send people to re-invite it")
	}
}

// block returns the body of the Terraform block whose header is head (e.g.
// `resource "aws_sqs_queue" "events"`), up to its closing brace at column 0.
func block(tb testing.TB, tf, head string) string {
	tb.Helper()
	m := regexp.MustCompile(`(?s)` + regexp.QuoteMeta(head) + ` \{(.*?)\n\}`).FindStringSubmatch(tf)
	if m == nil {
		tb.Fatalf("deploy/terraform: no %s", head)
	}
	return m[1]
}

// TestTerraformEventsReachOnlyTheBot: the EventBridge rule takes this
// cluster's task state changes only, the queue accepts them from that rule
// only, keeps them briefly and sets aside what cannot be delivered, and the
// bot may only read and delete them.
func TestTerraformEventsReachOnlyTheBot(t *testing.T) {
	tf := readTerraform(t)
	rule := block(t, tf, `resource "aws_cloudwatch_event_rule" "task_state"`)
	for _, want := range []string{`source        = ["aws.ecs"]`, `"detail-type" = ["ECS Task State Change"]`, `clusterArn = [aws_ecs_cluster.main.arn]`} {
		if !strings.Contains(rule, want) {
			t.Errorf("event rule does not filter on %s", want)
		}
	}
	queue := block(t, tf, `resource "aws_sqs_queue" "events"`)
	m := regexp.MustCompile(`message_retention_seconds\s*=\s*(\d+)`).FindStringSubmatch(queue)
	if m == nil {
		t.Fatal("events queue sets no message_retention_seconds")
	}
	if secs, _ := strconv.Atoi(m[1]); secs > 86400 {
		t.Errorf("events queue keeps messages %s s: a stale event is of no use, keep it short", m[1])
	}
	if !strings.Contains(queue, "deadLetterTargetArn = aws_sqs_queue.events_dead_letters[0].arn") {
		t.Errorf("events queue has no dead-letter queue")
	}
	if !regexp.MustCompile(`receive_wait_time_seconds\s*=\s*20`).MatchString(queue) {
		t.Errorf("events queue does not default to long polling")
	}
	policy := block(t, tf, `data "aws_iam_policy_document" "events_queue"`)
	for _, want := range []string{`"sqs:SendMessage"`, `"events.amazonaws.com"`, `"aws:SourceArn"`, `aws_cloudwatch_event_rule.task_state[0].arn`} {
		if !strings.Contains(policy, want) {
			t.Errorf("events queue policy lacks %s", want)
		}
	}
	bot := block(t, tf, `data "aws_iam_policy_document" "bot"`)
	sqsStmt := regexp.MustCompile(`(?s)sid = "ReadTaskEvents"(.*?)resources = \[(.*?)\]\n`).FindStringSubmatch(bot)
	if sqsStmt == nil {
		t.Fatal("bot policy has no ReadTaskEvents statement")
	}
	if strings.TrimSpace(sqsStmt[2]) != "aws_sqs_queue.events[0].arn" {
		t.Errorf("bot reads events from %s, want the events queue only", sqsStmt[2])
	}
	if strings.Contains(bot, `"sqs:SendMessage"`) || strings.Contains(bot, `"sqs:PurgeQueue"`) {
		t.Errorf("bot policy lets the bot send to or purge the queue")
	}
}

// TestTerraformGamesOpenTheirPortsAndRCONToTheBotOnly: every game of
// var.games gets its task definition with its TCP and UDP ports, open to
// the players, and its RCON port open to the bot's address only.
func TestTerraformGamesOpenTheirPortsAndRCONToTheBotOnly(t *testing.T) {
	tf := readTerraform(t)
	td := block(t, tf, `resource "aws_ecs_task_definition" "games"`)
	for _, want := range []string{"for_each = var.games", `family                   = "${var.name}-${each.key}"`, `name      = "game"`, "protocol = p.protocol"} {
		if !strings.Contains(td, want) {
			t.Errorf("games task definition lacks %s", want)
		}
	}
	players := block(t, tf, `resource "aws_vpc_security_group_ingress_rule" "games"`)
	if !strings.Contains(players, "var.game_port_allowed_cidrs") || !strings.Contains(players, "ip_protocol       = each.value.port.protocol") {
		t.Errorf("games' ports are not opened per protocol to game_port_allowed_cidrs:\n%s", players)
	}
	rcon := block(t, tf, `resource "aws_vpc_security_group_ingress_rule" "rcon"`)
	if !strings.Contains(rcon, "var.bot_cidrs") || strings.Contains(rcon, "game_port_allowed_cidrs") || strings.Contains(rcon, "0.0.0.0/0") {
		t.Errorf("RCON is open to more than the bot's address:\n%s", rcon)
	}
	if strings.Contains(players, "rcon") {
		t.Errorf("the players' rule opens RCON")
	}
	run := regexp.MustCompile(`(?s)sid\s*=\s*"RunGameServers".*?resources\s*=\s*([^\n]*)`).FindStringSubmatch(block(t, tf, `data "aws_iam_policy_document" "bot"`))
	if run == nil || !strings.Contains(run[1], "local.game_task_definition_arns") {
		t.Errorf("the bot may not run the games' task definitions: %v", run)
	}
}

// TestTerraformSubnetsGiveNoPublicAddressUnasked: the subnets give nothing a
// public address by default; a game server gets its own because the bot asks
// for it at RunTask (ECS_ASSIGN_PUBLIC_IP=true in env_file). Without that
// line players could not reach the servers and the image could not be pulled.
func TestTerraformSubnetsGiveNoPublicAddressUnasked(t *testing.T) {
	tf := readTerraform(t)
	subnet := block(t, tf, `resource "aws_subnet" "public"`)
	if !regexp.MustCompile(`map_public_ip_on_launch\s*=\s*false`).MatchString(subnet) {
		t.Errorf("the subnets give every instance launched in them a public address: want map_public_ip_on_launch = false\n%s", subnet)
	}
	envFile := block(t, tf, `output "env_file"`)
	if !regexp.MustCompile(`(?m)^\s*ECS_ASSIGN_PUBLIC_IP=true$`).MatchString(envFile) {
		t.Errorf("env_file does not set ECS_ASSIGN_PUBLIC_IP=true: the game servers would get no public address from subnets that give none")
	}
}

// TestTerraformTableCanBeRestored: the servers' records can be restored to
// an earlier second (point-in-time recovery).
func TestTerraformTableCanBeRestored(t *testing.T) {
	table := block(t, readTerraform(t), `resource "aws_dynamodb_table" "servers"`)
	if !regexp.MustCompile(`(?s)point_in_time_recovery \{\s*enabled\s*=\s*true\s*\}`).MatchString(table) {
		t.Errorf("the table has no point-in-time recovery:\n%s", table)
	}
}

// TestTerraformFlowLogsAreOnAndWriteOnlyTheirGroup: the VPC's flow logs are
// on unless the admin turns them off, kept as long as the game logs, and
// their role may write to their own log group only, assumed by the flow logs
// service of this account only.
func TestTerraformFlowLogsAreOnAndWriteOnlyTheirGroup(t *testing.T) {
	tf := readTerraform(t)
	variable := block(t, tf, `variable "flow_logs"`)
	if !regexp.MustCompile(`default\s*=\s*true`).MatchString(variable) {
		t.Errorf("flow logs are off by default:\n%s", variable)
	}
	flow := block(t, tf, `resource "aws_flow_log" "main"`)
	for _, want := range []string{
		"count = var.flow_logs ? 1 : 0",
		"vpc_id                   = aws_vpc.main.id",
		`traffic_type             = "ALL"`,
		"log_destination          = aws_cloudwatch_log_group.flow_logs[0].arn",
		"iam_role_arn             = aws_iam_role.flow_logs[0].arn",
	} {
		if !strings.Contains(flow, want) {
			t.Errorf("flow log lacks %s:\n%s", want, flow)
		}
	}
	group := block(t, tf, `resource "aws_cloudwatch_log_group" "flow_logs"`)
	if !strings.Contains(group, "retention_in_days = var.log_retention_days") {
		t.Errorf("flow logs are kept forever, want log_retention_days:\n%s", group)
	}
	policy := block(t, tf, `data "aws_iam_policy_document" "flow_logs"`)
	resources := regexp.MustCompile(`(?m)resources\s*=\s*\[(.*)\]$`).FindAllStringSubmatch(policy, -1)
	if len(resources) != 1 || strings.TrimSpace(resources[0][1]) != `"${aws_cloudwatch_log_group.flow_logs[0].arn}:*"` {
		t.Errorf("flow logs' role may write to %v, want their log group's streams only", resources)
	}
	for _, a := range regexp.MustCompile(`"([a-z0-9]+:[A-Za-z*]+)"`).FindAllStringSubmatch(policy, -1) {
		if !slices.Contains([]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, a[1]) {
			t.Errorf("flow logs' role may call %s", a[1])
		}
	}
	assume := block(t, tf, `data "aws_iam_policy_document" "flow_logs_assume"`)
	for _, want := range []string{`"vpc-flow-logs.amazonaws.com"`, `"aws:SourceAccount"`, `"aws:SourceArn"`} {
		if !strings.Contains(assume, want) {
			t.Errorf("flow logs' role trust lacks %s:\n%s", want, assume)
		}
	}
}

// checkPassRoles: the bot may pass the game servers' roles (execution,
// task, and the world task role of games with a world) to ECS tasks, and
// its policy denies passing any other, whatever else the identity it is
// attached to holds: passing a role hands over its permissions.
func checkPassRoles(tf string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	m := regexp.MustCompile(`(?s)passable_roles = concat\((.*?)\n  \)`).FindStringSubmatch(tf)
	if m == nil {
		return []string{"no local passable_roles = concat(...): the roles the bot may pass"}
	}
	got := regexp.MustCompile(`[a-z][a-z_]*(?:\.[a-z_]+|\[\*\]|\[\d+\])+`).FindAllString(m[1], -1)
	if strings.Contains(m[1], `"`) {
		got = append(got, "a literal ARN")
	}
	if want := []string{"aws_iam_role.execution.arn", "aws_iam_role.task.arn", "aws_iam_role.world_task[*].arn"}; !slices.Equal(got, want) {
		bad("passable_roles is %v, want exactly %v", got, want)
	}
	stmts, _ := statementsOf(blockOf(tf, `data "aws_iam_policy_document" "bot"`))
	allow, deny := stmts["PassGameServerRoles"], stmts["PassNoOtherRole"]
	if attr(allow, "resources") != "local.passable_roles" {
		bad("PassGameServerRoles passes %q, want local.passable_roles", attr(allow, "resources"))
	}
	if attr(allow, "effect") != "" || attr(allow, "actions") != `["iam:PassRole"]` || !strings.Contains(allow, `"iam:PassedToService"`) {
		bad("PassGameServerRoles is not an Allow of iam:PassRole to ECS tasks only (iam:PassedToService):\n%s", allow)
	}
	if attr(deny, "effect") != `"Deny"` || attr(deny, "actions") != `["iam:PassRole"]` {
		bad("PassNoOtherRole is not a Deny of iam:PassRole:\n%s", deny)
	}
	if attr(deny, "not_resources") != "local.passable_roles" {
		bad("PassNoOtherRole spares %q, want not_resources = local.passable_roles: it would deny the roles the bot must pass, or spare others", attr(deny, "not_resources"))
	}
	return problems
}

// TestTerraformBotCanPassNoOtherRole: the roles the bot passes are the game
// servers' three, and the bot's policy denies passing any other.
func TestTerraformBotCanPassNoOtherRole(t *testing.T) {
	runBreakCases(t, checkPassRoles, []breakCase{
		{"world role not passable", "iam.tf", "    aws_iam_role.world_task[*].arn,\n", "", "passable_roles is"},
		{"another role passable", "iam.tf", "    aws_iam_role.world_task[*].arn,\n", "    aws_iam_role.world_task[*].arn,\n    aws_iam_role.flow_logs[*].arn,\n", "passable_roles is"},
		{"no ceiling", "iam.tf", `effect        = "Deny"`, `effect        = "Allow"`, "not a Deny"},
		{"ceiling on nothing", "iam.tf", "not_resources = local.passable_roles", `not_resources = ["*"]`, "PassNoOtherRole spares"},
		{"pass anything", "iam.tf", "resources = local.passable_roles", `resources = ["*"]`, "PassGameServerRoles passes"},
		{"to any service", "iam.tf", `variable = "iam:PassedToService"`, `variable = "aws:SourceAccount"`, "ECS tasks only"},
	})
}

// TestTrivyIgnoreGivesEachFindingItsReason: every finding .trivyignore
// accepts (.ci/run's infrastructure check) has its reason on the comment
// lines right above it, and names its severity and file.
func TestTrivyIgnoreGivesEachFindingItsReason(t *testing.T) {
	lines := strings.Split(readRepoFile(t, ".trivyignore"), "\n")
	id := regexp.MustCompile(`^(AVD-)?[A-Z]+-\d{4}$`)
	seen := map[string]bool{}
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !id.MatchString(line) {
			t.Errorf(".trivyignore:%d: %q is not a check id (like AWS-0104)", i+1, line)
			continue
		}
		if seen[line] {
			t.Errorf(".trivyignore:%d: %s is listed twice", i+1, line)
		}
		seen[line] = true
		var reason []string
		for j := i - 1; j >= 0 && strings.HasPrefix(strings.TrimSpace(lines[j]), "#"); j-- {
			reason = append([]string{strings.TrimSpace(lines[j])}, reason...)
		}
		text := strings.Join(reason, " ")
		if len(text) < 80 {
			t.Errorf(".trivyignore:%d: %s has no reason above it (%q)", i+1, line, text)
			continue
		}
		if !regexp.MustCompile(`^# (LOW|MEDIUM|HIGH|CRITICAL), \S+`).MatchString(text) {
			t.Errorf(".trivyignore:%d: the reason for %s does not start with its severity and file: %q", i+1, line, reason[0])
		}
	}
	if len(seen) == 0 {
		t.Fatal(".trivyignore accepts nothing: then it should not exist")
	}
}
