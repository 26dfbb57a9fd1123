package deploy

// The workflow that builds the game image (.github/workflows/game-image.yml):
// actionlint checks every workflow, this one is read for what it promises,
// and its alert script runs for real against a stand-in webhook and AWS CLI.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	"time"

	"github.com/rhysd/actionlint"
)

const (
	gameImageWorkflow = ".github/workflows/game-image.yml"
	gameImageAlert    = ".github/scripts/game-image-alert.sh"
)

// alertReceiver is a webhook that keeps what it was sent.
type alertReceiver struct {
	srv    *httptest.Server
	status int

	mu     sync.Mutex
	bodies [][]byte
	types  []string
	paths  []string
}

func newAlertReceiver(tb testing.TB, status int) *alertReceiver {
	tb.Helper()
	a := &alertReceiver{status: status}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.bodies = append(a.bodies, b)
		a.types = append(a.types, r.Header.Get("Content-Type"))
		a.paths = append(a.paths, r.Method+" "+r.URL.Path)
		a.mu.Unlock()
		w.WriteHeader(a.status)
	}))
	tb.Cleanup(a.srv.Close)
	return a
}

// imageBuildAlert is the JSON body of an alert, as the bot's alerts read it.
type imageBuildAlert struct {
	Kind     string            `json:"kind"`
	Severity string            `json:"severity"`
	Title    string            `json:"title"`
	Text     string            `json:"text"`
	Content  string            `json:"content"`
	Time     string            `json:"time"`
	Fields   map[string]string `json:"fields"`
}

// TestGameImageAlert runs the workflow's alert script: a build's result
// reaches the webhook and SNS as the bot's alert JSON, readable by a
// Discord- or Slack-compatible webhook, and the webhook's URL, which holds
// its token, shows nowhere.
func TestGameImageAlert(t *testing.T) {
	needTools(t, "sh", "curl", "jq")
	script := filepath.Join(repoRoot(t), gameImageAlert)
	const hook = "/api/webhooks/123/s3cr3t-hook-token"
	const topic = "arn:aws:sns:eu-west-3:123456789012:spawner-alerts"

	// aws is a stand-in for the AWS CLI that keeps its arguments, one a line.
	bin := t.TempDir()
	awsArgs := filepath.Join(t.TempDir(), "aws-args")
	fakeAWS := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >\"$AWS_ARGS_FILE\"\nexit \"${AWS_EXIT:-0}\"\n"
	if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(fakeAWS), 0o755); err != nil {
		t.Fatal(err)
	}

	build := []string{
		"IMAGE=ghcr.io/mineral-contest/mineralcontest",
		"TAGS=ghcr.io/mineral-contest/mineralcontest:2.8.5.3\nghcr.io/mineral-contest/mineralcontest:latest",
		"DIGEST=sha256:" + strings.Repeat("ab", 32),
		"PLUGIN_VERSION=2.8.5.3",
		"PLUGIN_SHA256=" + strings.Repeat("cd", 32),
		"RUN_URL=https://github.com/mineral-contest/spawner/actions/runs/42",
		"COMMIT=0123456789abcdef0123456789abcdef01234567",
		"TRIGGER=schedule",
	}
	run := func(t *testing.T, a *alertReceiver, env ...string) (string, error) {
		t.Helper()
		_ = os.Remove(awsArgs)
		cmd := exec.CommandContext(t.Context(), "sh", script)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"AWS_ARGS_FILE="+awsArgs, "ALERT_WEBHOOK_URL=", "ALERT_SNS_TOPIC_ARN=")
		if a != nil {
			cmd.Env = append(cmd.Env, "CURL_CA_BUNDLE="+trustServer(t, a.srv))
		}
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), "s3cr3t") {
			t.Errorf("the output shows the webhook's token:\n%s", out)
		}
		return string(out), err
	}
	received := func(t *testing.T, a *alertReceiver) imageBuildAlert {
		t.Helper()
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.bodies) != 1 {
			t.Fatalf("the webhook got %d alerts, want 1", len(a.bodies))
		}
		if a.types[0] != "application/json" || a.paths[0] != "POST "+hook {
			t.Errorf("the webhook got %s with Content-Type %q, want POST %s as application/json", a.paths[0], a.types[0], hook)
		}
		var got imageBuildAlert
		dec := json.NewDecoder(strings.NewReader(string(a.bodies[0])))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("alert body %s: %v", a.bodies[0], err)
		}
		if _, err := time.Parse(time.RFC3339, got.Time); err != nil {
			t.Errorf("alert time %q is not RFC 3339: %v", got.Time, err)
		}
		if got.Kind != "image-build" || got.Title == "" || got.Text == "" || got.Content == "" {
			t.Errorf("alert %+v lacks its kind, title, text or content", got)
		}
		if strings.Contains(got.Content, "\n") || len(got.Content) > 2000 {
			t.Errorf("alert content %q is not one line a Discord webhook shows", got.Content)
		}
		return got
	}

	t.Run("success reaches the webhook and SNS", func(t *testing.T) {
		a := newAlertReceiver(t, http.StatusNoContent)
		out, err := run(t, a, append(build, "RESULT=success", "ALERT_WEBHOOK_URL="+a.srv.URL+hook, "ALERT_SNS_TOPIC_ARN="+topic)...)
		if err != nil {
			t.Fatalf("alert failed: %v\n%s", err, out)
		}
		got := received(t, a)
		if got.Severity != "info" || !strings.Contains(got.Title, "built") || !strings.Contains(got.Title, "2.8.5.3") {
			t.Errorf("alert %q %q, want info and a title saying the image was built with plugin 2.8.5.3", got.Severity, got.Title)
		}
		for _, want := range []string{"ghcr.io/mineral-contest/mineralcontest", "sha256:" + strings.Repeat("ab", 32), "actions/runs/42"} {
			if !strings.Contains(got.Text, want) || !strings.Contains(got.Content, want) {
				t.Errorf("alert text %q or content %q lacks %s", got.Text, got.Content, want)
			}
		}
		wantFields := map[string]string{
			"result": "success", "image": "ghcr.io/mineral-contest/mineralcontest",
			"tags":   "ghcr.io/mineral-contest/mineralcontest:2.8.5.3, ghcr.io/mineral-contest/mineralcontest:latest",
			"digest": "sha256:" + strings.Repeat("ab", 32), "plugin": "2.8.5.3", "plugin_sha256": strings.Repeat("cd", 32),
			"run":    "https://github.com/mineral-contest/spawner/actions/runs/42",
			"commit": "0123456789abcdef0123456789abcdef01234567", "trigger": "schedule",
		}
		for k, want := range wantFields {
			if got.Fields[k] != want {
				t.Errorf("alert field %s = %q, want %q", k, got.Fields[k], want)
			}
		}

		args, err := os.ReadFile(awsArgs)
		if err != nil {
			t.Fatalf("SNS was not published to: %v", err)
		}
		argv := strings.Split(strings.TrimSuffix(string(args), "\n"), "\n")
		flag := func(name string) string {
			if i := slices.Index(argv, name); i >= 0 && i+1 < len(argv) {
				return argv[i+1]
			}
			return ""
		}
		if !slices.Equal(argv[:2], []string{"sns", "publish"}) || flag("--topic-arn") != topic || flag("--region") != "eu-west-3" {
			t.Errorf("aws %q, want sns publish to %s in eu-west-3", argv, topic)
		}
		if subject := flag("--subject"); subject != got.Title || len(subject) > 100 {
			t.Errorf("SNS subject %q, want the title %q (100 characters at most)", subject, got.Title)
		}
		var published imageBuildAlert
		if err := json.Unmarshal([]byte(flag("--message")), &published); err != nil || published.Title != got.Title || published.Fields["digest"] != got.Fields["digest"] {
			t.Errorf("SNS message %q (%v), want the webhook's JSON", flag("--message"), err)
		}
	})
	t.Run("failure is an error", func(t *testing.T) {
		a := newAlertReceiver(t, http.StatusOK)
		env := append(slices.Clone(build[:1]), "PLUGIN_VERSION=2.9.0", "RUN_URL=https://github.com/o/r/actions/runs/7", "RESULT=failure", "ALERT_WEBHOOK_URL="+a.srv.URL+hook)
		if out, err := run(t, a, env...); err != nil {
			t.Fatalf("alert failed: %v\n%s", err, out)
		}
		got := received(t, a)
		if got.Severity != "error" || !strings.Contains(got.Title, "failed") || !strings.Contains(got.Content, "actions/runs/7") {
			t.Errorf("alert %q %q %q, want an error whose title says it failed and whose content links the run", got.Severity, got.Title, got.Content)
		}
		if _, ok := got.Fields["digest"]; ok {
			t.Errorf("a failed build's alert has a digest field %q", got.Fields["digest"])
		}
	})
	t.Run("cancelled is an error", func(t *testing.T) {
		a := newAlertReceiver(t, http.StatusOK)
		if out, err := run(t, a, append(build, "RESULT=cancelled", "ALERT_WEBHOOK_URL="+a.srv.URL+hook)...); err != nil {
			t.Fatalf("alert failed: %v\n%s", err, out)
		}
		if got := received(t, a); got.Severity != "error" || !strings.Contains(got.Title, "cancelled") {
			t.Errorf("alert %q %q, want an error saying cancelled", got.Severity, got.Title)
		}
	})
	t.Run("skipped build tells nothing", func(t *testing.T) {
		a := newAlertReceiver(t, http.StatusOK)
		if out, err := run(t, a, append(build, "RESULT=skipped", "ALERT_WEBHOOK_URL="+a.srv.URL+hook, "ALERT_SNS_TOPIC_ARN="+topic)...); err != nil {
			t.Fatalf("alert failed: %v\n%s", err, out)
		}
		if len(a.bodies) != 0 {
			t.Errorf("a skipped build sent %d alerts", len(a.bodies))
		}
		if _, err := os.Stat(awsArgs); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a skipped build published to SNS (%v)", err)
		}
	})
	t.Run("nowhere to send", func(t *testing.T) {
		out, err := run(t, nil, append(build, "RESULT=success")...)
		if err != nil || !strings.Contains(out, "nothing sent") {
			t.Errorf("alert with neither variable: %v %q, want success saying nothing was sent", err, out)
		}
	})
	t.Run("plain http refused", func(t *testing.T) {
		out, err := run(t, nil, append(build, "RESULT=success", "ALERT_WEBHOOK_URL=http://example.invalid"+hook)...)
		if err == nil || !strings.Contains(out, "https://") {
			t.Errorf("alert to an http:// webhook: %v %q, want it refused", err, out)
		}
	})
	t.Run("webhook refusing fails the step without showing its URL", func(t *testing.T) {
		a := newAlertReceiver(t, http.StatusBadRequest)
		out, err := run(t, a, append(build, "RESULT=success", "ALERT_WEBHOOK_URL="+a.srv.URL+hook)...)
		if err == nil || !strings.Contains(out, "refused the alert") {
			t.Errorf("alert to a refusing webhook: %v %q, want a failure saying so", err, out)
		}
	})
	t.Run("SNS failing fails the step", func(t *testing.T) {
		out, err := run(t, nil, append(build, "RESULT=success", "ALERT_SNS_TOPIC_ARN="+topic, "AWS_EXIT=255")...)
		if err == nil || !strings.Contains(out, "publishing to "+topic+" failed") {
			t.Errorf("alert with SNS failing: %v %q, want a failure saying so", err, out)
		}
	})
}

// runActionlint runs the actionlint the module pins (go tool) on files, without
// shellcheck and pyflakes, so its findings do not depend on what else the
// machine has installed.
func runActionlint(tb testing.TB, files ...string) (string, int) {
	tb.Helper()
	args := append([]string{"tool", "actionlint", "-no-color", "-shellcheck=", "-pyflakes="}, files...)
	cmd := exec.CommandContext(tb.Context(), "go", args...)
	cmd.Dir = repoRoot(tb)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return string(out), 1 // findings
	default:
		tb.Fatalf("go tool actionlint: %v\n%s", err, out)
		return "", 0
	}
}

// TestWorkflowsPassActionlint: every workflow passes actionlint, and
// actionlint, as run here, does find the faults of a broken one.
func TestWorkflowsPassActionlint(t *testing.T) {
	root := repoRoot(t)
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, ".github", "workflows", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if !slices.Contains(files, filepath.Join(root, gameImageWorkflow)) {
		t.Fatalf("no %s among the workflows %v", gameImageWorkflow, files)
	}
	if out, code := runActionlint(t, files...); code != 0 || strings.TrimSpace(out) != "" {
		t.Errorf("actionlint finds:\n%s", out)
	}

	broken := filepath.Join(t.TempDir(), "broken.yml")
	wf := strings.NewReplacer(
		"${{ steps.target.outputs.push == 'true' }}", "${{ steps.nowhere.outputs.push }}",
		"cron: \"17 4 * * 1\"", "cron: \"17 4 * * 8\"",
		"needs: build", "needs: buid",
	).Replace(readRepoFile(t, gameImageWorkflow))
	if err := os.WriteFile(broken, []byte(wf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runActionlint(t, broken)
	if code != 1 {
		t.Fatalf("actionlint passes a broken workflow:\n%s", out)
	}
	for _, want := range []string{"nowhere", "cron", "buid"} {
		if !strings.Contains(out, want) {
			t.Errorf("actionlint does not report the broken %s:\n%s", want, out)
		}
	}
}

// usesLine is a step's `uses:` line pinned by commit with its release in a comment.
var usesLine = regexp.MustCompile(`^\s*(?:- )?uses: ([^@\s]+)@([0-9a-f]{40}) # v[0-9]+\.[0-9]+\.[0-9]+$`)

// checkGameImageWorkflow lists what is wrong with the game image's workflow:
// when it runs, what it may do, what it runs, where the result goes.
func checkGameImageWorkflow(tb testing.TB, text string) []string {
	tb.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	wf, errs := actionlint.Parse([]byte(text))
	if len(errs) > 0 || wf == nil {
		for _, e := range errs {
			bad("parse: %s", e.Error())
		}
		return append(problems, "the workflow cannot be read")
	}

	events := map[string]actionlint.Event{}
	for _, e := range wf.On {
		events[e.EventName()] = e
	}
	if s, ok := events["schedule"].(*actionlint.ScheduledEvent); !ok || len(s.Schedules) == 0 {
		bad("no schedule: the image is not rebuilt when its base or the plugin moves")
	} else {
		for _, e := range s.Schedules {
			f := strings.Fields(e.Cron.Value)
			if len(f) != 5 || f[2] != "*" || f[3] != "*" || !regexp.MustCompile(`^[0-6]$`).MatchString(f[4]) {
				bad("schedule %q is not weekly", e.Cron.Value)
			}
		}
	}
	for _, name := range []string{"push", "pull_request"} {
		e, ok := events[name].(*actionlint.WebhookEvent)
		if !ok {
			bad("no %s trigger: a change of the image's files is not built", name)
			continue
		}
		var paths []string
		if e.Paths != nil {
			for _, p := range e.Paths.Values {
				paths = append(paths, p.Value)
			}
		}
		for _, want := range []string{gameImageDir + "/**", gameImageWorkflow} {
			if !slices.Contains(paths, want) {
				bad("%s paths %v lack %s", name, paths, want)
			}
		}
	}
	if _, ok := events["workflow_dispatch"]; !ok {
		bad("no workflow_dispatch: an admin cannot build by hand")
	}

	if wf.Permissions == nil || wf.Permissions.All != nil || len(wf.Permissions.Scopes) > 0 {
		bad("the workflow's permissions are not {}: each job names its own")
	}
	allowed := map[string]map[string]string{
		"build": {"contents": "read", "packages": "write"},
		"alert": {"contents": "read", "id-token": "write"},
	}
	for id, job := range wf.Jobs {
		if job.Permissions == nil || job.Permissions.All != nil {
			bad("job %s has no permissions of its own, or all of them", id)
			continue
		}
		for scope, p := range job.Permissions.Scopes {
			if want, ok := allowed[id][scope]; !ok || (p.Value.Value != want && p.Value.Value != "read" && p.Value.Value != "none") {
				bad("job %s may %s %s", id, p.Value.Value, scope)
			}
		}
		for _, st := range job.Steps {
			if r, ok := st.Exec.(*actionlint.ExecRun); ok && r.Run != nil && strings.Contains(r.Run.Value, "${{") {
				bad("job %s line %d: a run script with ${{ }} inside: pass values through env", id, r.Run.Pos.Line)
			}
		}
	}
	for i, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "uses:") && !strings.HasPrefix(strings.TrimSpace(line), "#") && !usesLine.MatchString(line) {
			bad("line %d: %q is not pinned by a full commit SHA with its release in a comment", i+1, strings.TrimSpace(line))
		}
	}

	build, alert := wf.Jobs["build"], wf.Jobs["alert"]
	if build == nil || alert == nil {
		return append(problems, "want the jobs build and alert")
	}
	var actions []string
	for _, st := range build.Steps {
		a, ok := st.Exec.(*actionlint.ExecAction)
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(a.Uses.Value, "@")
		actions = append(actions, name)
		if name != "docker/build-push-action" {
			continue
		}
		platforms := ""
		if in := a.Inputs["platforms"]; in != nil {
			platforms = in.Value.Value
		}
		for _, want := range []string{"linux/amd64", "linux/arm64"} {
			if !strings.Contains(platforms, want) {
				bad("build-push-action platforms %q lack %s", platforms, want)
			}
		}
		if in := a.Inputs["context"]; in == nil || in.Value.Value != "${{ env.CONTEXT }}" {
			bad("build-push-action does not build ${{ env.CONTEXT }}")
		}
	}
	for _, want := range []string{"docker/setup-qemu-action", "docker/setup-buildx-action", "docker/login-action", "docker/build-push-action"} {
		if !slices.Contains(actions, want) {
			bad("the build job does not use %s", want)
		}
	}
	if ctx := wf.Env; ctx == nil || ctx.Vars["context"] == nil || ctx.Vars["context"].Value.Value != gameImageDir {
		bad("env CONTEXT is not %s", gameImageDir)
	}
	if !strings.Contains(text, "/mineralcontest}") {
		bad("the default repository is not ghcr.io/<owner>/mineralcontest, the template's image")
	}

	if !slices.ContainsFunc(alert.Needs, func(s *actionlint.String) bool { return s.Value == "build" }) {
		bad("the alert job does not wait for the build")
	}
	if alert.If == nil || !strings.Contains(alert.If.Value, "always()") {
		bad("the alert job does not run when the build fails (if: always())")
	}
	sends := false
	for _, st := range alert.Steps {
		r, ok := st.Exec.(*actionlint.ExecRun)
		if !ok || st.Env == nil || !strings.Contains(r.Run.Value, filepath.Base(gameImageAlert)) {
			continue
		}
		env := map[string]string{}
		for k, v := range st.Env.Vars {
			env[strings.ToUpper(k)] = v.Value.Value
		}
		sends = env["ALERT_WEBHOOK_URL"] == "${{ secrets.ALERT_WEBHOOK_URL }}" &&
			strings.Contains(env["ALERT_SNS_TOPIC_ARN"], "vars.ALERT_SNS_TOPIC_ARN") &&
			env["RESULT"] == "${{ needs.build.result }}" && env["DIGEST"] == "${{ needs.build.outputs.digest }}"
	}
	if !sends {
		bad("no alert step runs %s with the build's result and digest, secrets.ALERT_WEBHOOK_URL and vars.ALERT_SNS_TOPIC_ARN", gameImageAlert)
	}
	return problems
}

// TestGameImageWorkflow: the workflow runs weekly, on its files' changes and
// by hand; starts with no permission and gives each job only its own; runs
// actions pinned by commit; builds both architectures; and tells the alerts
// the result, also of a failed build. Each broken variant is caught.
func TestGameImageWorkflow(t *testing.T) {
	text := readRepoFile(t, gameImageWorkflow)
	schedule := regexp.MustCompile(`(?s)  schedule:\n.*?- cron: "[^"]*"\n`).FindString(text)
	if problems := checkGameImageWorkflow(t, text); len(problems) > 0 {
		t.Errorf("%s:\n%s", gameImageWorkflow, strings.Join(problems, "\n"))
	}

	cases := []struct{ name, old, new, want string }{
		{"daily", `cron: "17 4 * * 1"`, `cron: "17 4 * * *"`, "not weekly"},
		{"no schedule", schedule, "", "no schedule"},
		{"action on a tag", "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1", "actions/checkout@v7", "not pinned"},
		{"SHA without its release", "@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a # v7.3.0", "@53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", "not pinned"},
		{"write-all", "permissions: {}", "permissions: write-all", "not {}"},
		{"extra permission", "      packages: write\n", "      packages: write\n      actions: write\n", "may write actions"},
		{"one architecture", "platforms: linux/amd64,linux/arm64", "platforms: linux/amd64", "lack linux/arm64"},
		{"no alert on failure", "if: always() && ", "if: ", "always()"},
		{"expression in a script", `echo "### $IMAGE"`, `echo "### ${{ steps.target.outputs.image }}"`, "pass values through env"},
		{"webhook not a secret", "ALERT_WEBHOOK_URL: ${{ secrets.ALERT_WEBHOOK_URL }}", "ALERT_WEBHOOK_URL: ${{ vars.ALERT_WEBHOOK_URL }}", "secrets.ALERT_WEBHOOK_URL"},
		{"files not watched", "      - deploy/games/mineralcontest/**\n", "", "lack " + gameImageDir},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.old == "" || !strings.Contains(text, tc.old) {
				t.Fatalf("the workflow has no %q to break", tc.old)
			}
			problems := checkGameImageWorkflow(t, strings.Replace(text, tc.old, tc.new, 1))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("replacing %q by %q: problems %q, want one saying %q", tc.old, tc.new, problems, tc.want)
			}
		})
	}
}
