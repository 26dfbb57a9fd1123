package config

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/joho/godotenv"
)

const envExample = "../../.env.example"

// readEnvExample parses .env.example as the daemon would parse a .env.
func readEnvExample(tb testing.TB) map[string]string {
	tb.Helper()
	env, err := godotenv.Read(envExample)
	if err != nil {
		tb.Fatalf("godotenv.Read(%s): %v", envExample, err)
	}
	return env
}

// TestEnvExampleListsWhatToFillIn: a newcomer who copies .env.example to .env
// and runs spawner is told exactly the required variables, nothing else.
func TestEnvExampleListsWhatToFillIn(t *testing.T) {
	errs := loadErrors(t, readEnvExample(t))
	if !slices.Equal(errs.Vars(), requiredVars) {
		t.Errorf(".env.example loads with problems in\n %v\nwant exactly the required variables\n %v\nerror:\n%v", errs.Vars(), requiredVars, errs)
	}
	for _, fe := range errs {
		if !strings.HasPrefix(fe.Problem, "required, not set: ") {
			t.Errorf("%s: %q, want a required-variable problem", fe.Var, fe.Problem)
		}
	}
}

// TestEnvExampleFilledIn: once the required lines are filled in, the file
// sets nothing else, so the daemon runs on the documented defaults.
func TestEnvExampleFilledIn(t *testing.T) {
	got := mustLoad(t, with(readEnvExample(t), requiredEnv()))
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf(".env.example filled in:\n got %+v\nwant %+v", got, want)
	}
}

var commentedVar = regexp.MustCompile(`^# ([A-Z][A-Z0-9_]*)=(.*)$`)

// TestEnvExampleDefaults uncomments every "# NAME=value" line (the
// documented defaults) but the _FILE forms: the configuration must not
// change, or the file documents a wrong default.
func TestEnvExampleDefaults(t *testing.T) {
	b, err := os.ReadFile(envExample)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var uncommented []string
	for line := range strings.Lines(string(b)) {
		if m := commentedVar.FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil && !strings.HasSuffix(m[1], "_FILE") {
			line = strings.TrimPrefix(line, "# ")
			uncommented = append(uncommented, m[1])
		}
		out.WriteString(line)
	}
	if len(uncommented) < 20 {
		t.Fatalf("only %d commented defaults found (%v): is the \"# NAME=value\" convention still used?", len(uncommented), uncommented)
	}
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := godotenv.Read(path)
	if err != nil {
		t.Fatalf("godotenv.Read of the uncommented file: %v", err)
	}
	got := mustLoad(t, with(env, requiredEnv()))
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("with the documented defaults uncommented (%v):\n got %+v\nwant %+v", uncommented, got, want)
	}
}

// readByLoad records every variable Load reads: those of a configuration
// with the required variables, and of one with AWS credentials in files.
func readByLoad(tb testing.TB) map[string]bool {
	tb.Helper()
	read := map[string]bool{}
	record := func(env map[string]string) func(string) string {
		return func(k string) string { read[k] = true; return env[k] }
	}
	key := writeFile(tb, tb.TempDir(), "key", "AKIAEXAMPLEKEYID0007")
	for _, env := range []map[string]string{
		requiredEnv(),
		with(requiredEnv(), map[string]string{"AWS_REGION": "", "AWS_ACCESS_KEY_ID_FILE": key}),
	} {
		_, _ = Load(record(env), os.ReadFile)
	}
	if len(read) < 40 {
		tb.Fatalf("only %d variables recorded (%v); the recording misses some", len(read), read)
	}
	return read
}

// readBySDK are variables .env.example documents that Load does not read:
// the AWS SDK reads them itself.
var readBySDK = []string{"AWS_PROFILE"}

// TestEnvExampleDocumentsEveryVariable looks for every variable Load reads
// in .env.example, set ("NAME=") or commented ("# NAME="), and for every
// variable .env.example sets or comments among those Load or the SDK read.
func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	read := readByLoad(t)
	f, err := os.Open(envExample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	documented := map[string]bool{}
	assignment := regexp.MustCompile(`^(?:# )?([A-Z][A-Z0-9_]*)=`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := assignment.FindStringSubmatch(sc.Text()); m != nil {
			documented[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for name := range read {
		if !documented[name] {
			t.Errorf("%s is read by Load but not documented in .env.example", name)
		}
	}
	for name := range documented {
		if !read[name] && !slices.Contains(readBySDK, name) {
			t.Errorf("%s is documented in .env.example but read neither by Load nor by the AWS SDK", name)
		}
	}
}

// configurationDoc is the reference of the variables, one table row each
// (a secret's X_FILE form on X's row).
const configurationDoc = "../../docs/configuration.md"

// docRow is a row of a "| variable | meaning | default |" table of
// configurationDoc.
type docRow struct {
	line     int
	names    []string // the first is the row's variable; the others, its other forms
	meaning  string
	fallback string // the default column: a default, "required...", or what happens when unset
}

var docName = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")

// readConfigurationDoc returns the rows of every variable table of
// configurationDoc.
func readConfigurationDoc(tb testing.TB) []docRow {
	tb.Helper()
	b, err := os.ReadFile(configurationDoc)
	if err != nil {
		tb.Fatal(err)
	}
	var rows []docRow
	inTable := false
	for n, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case slices.Equal(cells, []string{"variable", "meaning", "default"}):
			inTable = true
		case !inTable || strings.Trim(line, "|-: ") == "":
		case len(cells) != 3:
			tb.Errorf("%s:%d: %d cells, want variable | meaning | default", configurationDoc, n+1, len(cells))
		default:
			row := docRow{line: n + 1, meaning: cells[1], fallback: cells[2]}
			for _, m := range docName.FindAllStringSubmatch(cells[0], -1) {
				row.names = append(row.names, m[1])
			}
			if len(row.names) == 0 || row.meaning == "" || row.fallback == "" {
				tb.Errorf("%s:%d: want a variable, its meaning and its default (or what happens unset): %q", configurationDoc, n+1, line)
				continue
			}
			rows = append(rows, row)
		}
	}
	if len(rows) < 30 {
		tb.Fatalf("only %d variables found in %s: is the \"| variable | meaning | default |\" table still used?", len(rows), configurationDoc)
	}
	return rows
}

// TestConfigurationDocListsEveryVariable: the reference lists exactly the
// variables Load reads, each once.
func TestConfigurationDocListsEveryVariable(t *testing.T) {
	read := readByLoad(t)
	listed := map[string]int{}
	for _, row := range readConfigurationDoc(t) {
		for _, name := range row.names {
			if line, twice := listed[name]; twice {
				t.Errorf("%s:%d: %s is listed already on line %d", configurationDoc, row.line, name, line)
			}
			listed[name] = row.line
			if !read[name] {
				t.Errorf("%s:%d: %s is not read by Load", configurationDoc, row.line, name)
			}
		}
	}
	for name := range read {
		if _, ok := listed[name]; !ok {
			t.Errorf("%s is read by Load but has no row in %s", name, configurationDoc)
		}
	}
}

// TestConfigurationDocRequired: a row says "required" when Load requires
// its variable under both runtimes, "required with `ecs`" or "required
// with `docker`" when under that one only, and neither otherwise.
func TestConfigurationDocRequired(t *testing.T) {
	required := map[string][]string{
		RuntimeDocker: loadErrors(t, map[string]string{}).Vars(),
		RuntimeECS:    loadErrors(t, map[string]string{"SPAWNER_RUNTIME": RuntimeECS}).Vars(),
	}
	said := map[string]bool{}
	for _, row := range readConfigurationDoc(t) {
		name := row.names[0]
		var want []string
		switch {
		case row.fallback == "required":
			want = []string{RuntimeDocker, RuntimeECS}
		case strings.HasPrefix(row.fallback, "required with `"+RuntimeECS+"`"):
			want = []string{RuntimeECS}
		case strings.HasPrefix(row.fallback, "required with `"+RuntimeDocker+"`"):
			want = []string{RuntimeDocker}
		case strings.HasPrefix(row.fallback, "required"):
			t.Errorf("%s:%d: %s: %q, want \"required\" or \"required with `ecs`\" or \"with `docker`\"", configurationDoc, row.line, name, row.fallback)
			continue
		}
		said[name] = true
		for _, runtime := range []string{RuntimeDocker, RuntimeECS} {
			if got := slices.Contains(required[runtime], name); got != slices.Contains(want, runtime) {
				t.Errorf("%s:%d: %s: the doc says %q, but required under %s is %v", configurationDoc, row.line, name, row.fallback, runtime, got)
			}
		}
	}
	for runtime, names := range required {
		for _, name := range names {
			if !said[name] {
				t.Errorf("%s is required under %s but has no row of its own in %s", name, runtime, configurationDoc)
			}
		}
	}
}

var literalDefault = regexp.MustCompile("^`([^`]*)`$")

// TestConfigurationDocDefaults sets every variable whose default the
// reference writes as a single `value` to that value: the configuration
// must not change, or the reference documents a wrong default.
func TestConfigurationDocDefaults(t *testing.T) {
	checked := 0
	for _, row := range readConfigurationDoc(t) {
		m := literalDefault.FindStringSubmatch(row.fallback)
		if m == nil {
			continue
		}
		checked++
		name := row.names[0]
		c, err := load(t, with(requiredEnv(), map[string]string{name: m[1]}))
		if err != nil {
			t.Errorf("%s:%d: %s=%s, its documented default, is refused:\n%v", configurationDoc, row.line, name, m[1], err)
			continue
		}
		if c.WebSecretRandom {
			c.WebSecret = Secret{}
		}
		if diff := configDiff(c, defaults()); len(diff) > 0 {
			t.Errorf("%s:%d: %s=%s, its documented default, changes the configuration: %s", configurationDoc, row.line, name, m[1], strings.Join(diff, "; "))
		}
	}
	if checked < 15 {
		t.Errorf("only %d defaults checked: are they still written as a single `value`?", checked)
	}
}

// configDiff names each field of got that differs from want, with both
// values.
func configDiff(got, want *Config) []string {
	g, w := reflect.ValueOf(*got), reflect.ValueOf(*want)
	var diff []string
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			diff = append(diff, fmt.Sprintf("%s is %v, want %v", g.Type().Field(i).Name, g.Field(i), w.Field(i)))
		}
	}
	return diff
}
