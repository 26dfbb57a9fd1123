package config

import (
	"bufio"
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

// TestEnvExampleDocumentsEveryVariable records every variable Load reads
// and looks for each in .env.example, set ("NAME=") or commented ("# NAME=").
func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	read := map[string]bool{}
	record := func(env map[string]string) func(string) string {
		return func(k string) string { read[k] = true; return env[k] }
	}
	dir := t.TempDir()
	key := writeFile(t, dir, "key", "AKIAEXAMPLEKEYID0007")
	for _, env := range []map[string]string{
		requiredEnv(),
		with(requiredEnv(), map[string]string{"AWS_REGION": "", "AWS_ACCESS_KEY_ID_FILE": key}),
	} {
		_, _ = Load(record(env), os.ReadFile)
	}

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
	if len(read) < 40 {
		t.Errorf("only %d variables recorded (%v); the recording misses some", len(read), read)
	}
}
