// Package docs_test checks the documentation against the repository: every
// relative link of the README and of docs/ leads somewhere, the README's
// test command is the one CI runs, and the package diagram of
// architecture.md has exactly the imports the code has. Nothing here
// reaches the network.
package docs_test

import (
	"bufio"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"
)

// root is the repository, seen from this package's folder.
const root = ".."

// markdownFiles are the README and every Markdown file under docs/.
func markdownFiles(tb testing.TB, fsys fs.FS) []string {
	tb.Helper()
	files := []string{"README.md"}
	err := fs.WalkDir(fsys, "docs", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestRelativeLinks: a reader who follows a link of the README or of docs/
// lands on a file that exists and, for #anchor, on a heading of it.
func TestRelativeLinks(t *testing.T) {
	fsys := os.DirFS(root)
	files := markdownFiles(t, fsys)
	if len(files) < 10 {
		t.Fatalf("only %d Markdown files found (%v): is docs/ still where the pages are?", len(files), files)
	}
	checked := 0
	for _, file := range files {
		problems, n := checkLinks(fsys, file)
		checked += n
		for _, p := range problems {
			t.Error(p)
		}
	}
	if checked < 50 {
		t.Errorf("only %d relative links checked: does the link parser still find them?", checked)
	}
}

// TestCheckLinksFindsBrokenLinks: the checker itself reports a missing
// file, a missing anchor, an anchor on a file that has none, and a link
// leaving the repository, and accepts what GitHub would resolve.
func TestCheckLinksFindsBrokenLinks(t *testing.T) {
	fsys := fstest.MapFS{
		"README.md": {Data: []byte("# Title\n\n" +
			"[ok](docs/page.md) [ok](docs/page.md#the-setup-step-2) [ok](#title) [ok](docs/)\n" +
			"[ok](docs/page.md#a-heading-1) ![ok](docs/pic.png) [ok](https://example.org/nowhere)\n" +
			"`[in code](nowhere.md)`\n\n```sh\n[in a block](nowhere.md)\n```\n\n" +
			"[gone](docs/missing.md)\n[bad anchor](docs/page.md#nowhere)\n" +
			"[no headings](docs/pic.png#top)\n[out](../outside.md)\n[self](#nope)\n" +
			"[ref]: docs/also-missing.md\n")},
		"docs/page.md": {Data: []byte("# The `setup`, step 2\n\n## A heading\n\n## A heading\n")},
		"docs/pic.png": {Data: []byte("png")},
	}
	problems, _ := checkLinks(fsys, "README.md")
	want := []string{
		`README.md:11: link "docs/missing.md": docs/missing.md does not exist`,
		`README.md:12: link "docs/page.md#nowhere": docs/page.md has no heading with the anchor #nowhere`,
		`README.md:13: link "docs/pic.png#top": an anchor on docs/pic.png, which is not Markdown, cannot be checked`,
		`README.md:14: link "../outside.md": leaves the repository`,
		`README.md:15: link "#nope": README.md has no heading with the anchor #nope`,
		`README.md:16: link "docs/also-missing.md": docs/also-missing.md does not exist`,
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n %s\nwant:\n %s", strings.Join(problems, "\n "), strings.Join(want, "\n "))
	}
}

var (
	// inlineLink is [text](target) or ![alt](target), with an optional title.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// refDefinition is a reference-style link's definition: [name]: target.
	refDefinition = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$`)
	codeSpan      = regexp.MustCompile("`+[^`]*`+")
	scheme        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	atxHeading    = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$`)
	fence         = regexp.MustCompile("^\\s*(```|~~~)")
)

// checkLinks returns a problem for every relative link of file that does
// not resolve in fsys, and how many relative links it checked.
func checkLinks(fsys fs.FS, file string) (problems []string, checked int) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return []string{err.Error()}, 0
	}
	for n, line := range proseLines(string(b)) {
		if line == "" {
			continue
		}
		var targets []string
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
		if m := refDefinition.FindStringSubmatch(line); m != nil {
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			if scheme.MatchString(target) || strings.HasPrefix(target, "//") {
				continue
			}
			checked++
			if problem := resolve(fsys, file, target); problem != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: link %q: %s", file, n+1, target, problem))
			}
		}
	}
	return problems, checked
}

// proseLines returns the lines of a Markdown text with fenced blocks
// blanked and code spans removed, so that only real links remain; the
// index of a line is its line number minus one.
func proseLines(text string) []string {
	lines := strings.Split(text, "\n")
	inFence := ""
	for i, line := range lines {
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1]
			case inFence == m[1]:
				inFence = ""
			}
			lines[i] = ""
			continue
		}
		if inFence != "" {
			lines[i] = ""
			continue
		}
		lines[i] = codeSpan.ReplaceAllString(line, "")
	}
	return lines
}

// resolve says what is wrong with a relative link target of file, or "".
func resolve(fsys fs.FS, file, target string) string {
	p, anchor, _ := strings.Cut(target, "#")
	p, err := url.PathUnescape(p)
	if err != nil {
		return "not a valid path: " + err.Error()
	}
	dest := file
	if p != "" {
		dest = path.Join(path.Dir(file), p)
		if dest == ".." || strings.HasPrefix(dest, "../") {
			return "leaves the repository"
		}
		if _, err := fs.Stat(fsys, dest); err != nil {
			return dest + " does not exist"
		}
	}
	if anchor == "" {
		return ""
	}
	if !strings.HasSuffix(dest, ".md") {
		return fmt.Sprintf("an anchor on %s, which is not Markdown, cannot be checked", dest)
	}
	b, err := fs.ReadFile(fsys, dest)
	if err != nil {
		return err.Error()
	}
	if !slices.Contains(anchors(string(b)), anchor) {
		return fmt.Sprintf("%s has no heading with the anchor #%s", dest, anchor)
	}
	return ""
}

// anchors returns the anchors GitHub gives the ATX headings of a Markdown
// text: the heading's text, lower-cased, stripped of punctuation, spaces
// made hyphens; a repeated one gets -1, -2...
func anchors(text string) []string {
	var out []string
	seen := map[string]int{}
	inFence := ""
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\n")
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1]
			case inFence == m[1]:
				inFence = ""
			}
			continue
		}
		m := atxHeading.FindStringSubmatch(line)
		if inFence != "" || m == nil {
			continue
		}
		slug := slugify(m[1])
		if n := seen[slug]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", slug, n))
		} else {
			out = append(out, slug)
		}
		seen[slug]++
	}
	return out
}

var linkText = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)

// slugify is GitHub's anchor for a heading's Markdown text.
func slugify(heading string) string {
	heading = linkText.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// testCommand is how the README tells to run every test; .ci/run runs it.
const testCommand = "npm ci && go test -race -count=1 ./..."

// TestReadmeTestCommandIsCIs: the README's test command is written as is,
// and it is the command .ci/run ends with (alone, or as its last step).
func TestReadmeTestCommandIsCIs(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(readme), "\n"), testCommand) {
		t.Errorf("README.md has no line %q", testCommand)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	last := ""
	for line := range strings.Lines(string(ci)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			last = line
		}
	}
	// The last step runs the command as one argument of bash -c, timed by
	// .ci/run's step function: the command itself must be there verbatim.
	if want := "'" + testCommand + "'"; last != testCommand && !strings.HasSuffix(last, want) {
		t.Errorf(".ci/run ends with %q, want it to run the README's %q", last, testCommand)
	}
}

// TestArchitectureDiagramIsTheImports: the Mermaid diagram of
// architecture.md has a node for every package of the project (tests and
// internal/testworld aside) and an arrow for exactly each import between
// them.
func TestArchitectureDiagramIsTheImports(t *testing.T) {
	module := modulePath(t)
	want := imports(t, module)
	nodes, got := diagram(t, filepath.Join(root, "docs", "architecture.md"))

	var pkgs, drawn []string
	for p := range want {
		pkgs = append(pkgs, p)
	}
	for _, p := range nodes {
		drawn = append(drawn, p)
	}
	slices.Sort(pkgs)
	slices.Sort(drawn)
	if !slices.Equal(drawn, pkgs) {
		t.Errorf("the diagram's packages\n %v\nwant the project's\n %v", drawn, pkgs)
	}

	id := map[string]string{}
	for k, p := range nodes {
		id[p] = k
	}
	name := func(p string) string {
		if k, ok := id[p]; ok {
			return k
		}
		return fmt.Sprintf("%s[%q]", strings.NewReplacer("/", "_").Replace(p), p)
	}
	for _, from := range pkgs {
		for _, to := range want[from] {
			if !got[from][to] {
				t.Errorf("%s imports %s: add to the diagram\n    %s --> %s", from, to, name(from), name(to))
			}
		}
	}
	for from, tos := range got {
		for to := range tos {
			if !slices.Contains(want[from], to) {
				t.Errorf("the diagram has %s --> %s, but %s does not import %s", name(from), name(to), from, to)
			}
		}
	}
}

func modulePath(tb testing.TB) string {
	tb.Helper()
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	tb.Fatal("go.mod has no module line")
	return ""
}

// imports maps every package under cmd/ and internal/ (internal/testworld
// aside), by its path in the module, to the module's packages its non-test
// files import.
func imports(tb testing.TB, module string) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	for _, top := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(dir string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, dir)
			rel = filepath.ToSlash(rel)
			if rel == "internal/testworld" || d.Name() == "testdata" {
				return fs.SkipDir
			}
			pkg, err := build.ImportDir(dir, 0)
			if _, ok := errors.AsType[*build.NoGoError](err); ok {
				return nil // no Go files
			}
			if err != nil {
				return fmt.Errorf("read package %s: %w", rel, err)
			}
			if len(pkg.GoFiles) == 0 {
				return nil // tests only
			}
			deps := []string{}
			for _, imp := range pkg.Imports {
				if p, ok := strings.CutPrefix(imp, module+"/"); ok {
					deps = append(deps, p)
				}
			}
			out[rel] = deps
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if len(out) < 10 {
		tb.Fatalf("only %d packages found: %v", len(out), out)
	}
	return out
}

var (
	mermaidNode = regexp.MustCompile(`^\s*(\w+)\["([^"]+)"\]\s*$`)
	mermaidID   = regexp.MustCompile(`^(\w+)(?:\["[^"]*"\])?$`)
)

// diagram reads the first Mermaid block of file: its nodes (id to package
// path, declared one a line as id["path"]) and its arrows (a --> b, where
// either side may be several ids joined by &).
func diagram(tb testing.TB, file string) (nodes map[string]string, edges map[string]map[string]bool) {
	tb.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	_, block, found := strings.Cut(string(b), "```mermaid\n")
	block, _, closed := strings.Cut(block, "\n```")
	if !found || !closed {
		tb.Fatalf("%s: no ```mermaid block", file)
	}
	nodes = map[string]string{}
	type arrow struct {
		line     int
		from, to string
	}
	var arrows []arrow
	for n, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if m := mermaidNode.FindStringSubmatch(line); m != nil {
			nodes[m[1]] = m[2]
			continue
		}
		if !strings.Contains(line, "-->") {
			continue
		}
		sides := strings.Split(line, "-->")
		for i := 1; i < len(sides); i++ {
			for _, from := range strings.Split(sides[i-1], "&") {
				for _, to := range strings.Split(sides[i], "&") {
					arrows = append(arrows, arrow{n + 1, strings.TrimSpace(from), strings.TrimSpace(to)})
				}
			}
		}
	}
	edges = map[string]map[string]bool{}
	for _, a := range arrows {
		from, to := mermaidID.FindStringSubmatch(a.from), mermaidID.FindStringSubmatch(a.to)
		if from == nil || to == nil || nodes[from[1]] == "" || nodes[to[1]] == "" {
			tb.Errorf("%s: mermaid line %d: %s --> %s: every arrow must join ids declared as id[\"package\"]", file, a.line, a.from, a.to)
			continue
		}
		f, t := nodes[from[1]], nodes[to[1]]
		if edges[f] == nil {
			edges[f] = map[string]bool{}
		}
		edges[f][t] = true
	}
	return nodes, edges
}
