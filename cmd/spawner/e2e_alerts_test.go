package main

// Alerts outside Discord, end to end: the real daemon publishes to an SNS
// topic (goaws, in this process, with a queue subscribed and read through
// the real SQS client) and POSTs to an HTTPS receiver. goaws keeps its
// state in globals: these tests do not run in parallel.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mineral-contest/spawner/internal/alert"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/goaws"
)

// testAlertClient trusts the certificate every httptest TLS server of this
// process presents (they share one), so the daemon POSTs alerts to the
// tests' HTTPS receivers exactly as to a real webhook.
func testAlertClient() *http.Client {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
}

// alertHook is the path of the receiver's webhook URL: the token a chat
// webhook's URL holds, a secret.
const alertHook = "/api/webhooks/1234567890/alert-hook-token-0123456789"

// alertReceiver is an HTTPS webhook receiver recording the alerts POSTed
// to alertHook.
type alertReceiver struct {
	srv *httptest.Server

	mu    sync.Mutex
	posts []string
}

func newAlertReceiver(tb testing.TB) *alertReceiver {
	tb.Helper()
	r := &alertReceiver{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.URL.Path != alertHook || req.Method != http.MethodPost {
			http.NotFound(w, req)
			return
		}
		r.mu.Lock()
		r.posts = append(r.posts, string(body))
		r.mu.Unlock()
	}))
	tb.Cleanup(r.srv.Close)
	return r
}

func (r *alertReceiver) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.posts)
}

// alertWorld is a world with an SNS topic, its subscribed queue and a
// webhook receiver, the daemon configured to alert both.
type alertWorld struct {
	*world
	q     *goaws.SQS
	topic string
	recv  *alertReceiver
	// sns are the notifications read from the queue so far.
	sns []goaws.Notification
}

const alertQueue = "alerts-sub"

func newAlertWorld(t *testing.T, env map[string]string) *alertWorld {
	t.Helper()
	q := goaws.Start(t)
	w := &alertWorld{q: q, topic: q.CreateTopic(t, "spawner-alerts"), recv: newAlertReceiver(t)}
	q.Subscribe(t, w.topic, alertQueue)
	e := map[string]string{
		"ALERT_SNS_TOPIC_ARN":  w.topic,
		"AWS_ENDPOINT_URL_SNS": q.Endpoint(),
		"ALERT_WEBHOOK_URL":    w.recv.srv.URL + alertHook,
		"HTTP_ADDR":            "127.0.0.1:0",
	}
	maps.Copy(e, env)
	w.world = newWorld(t, worldOptions{env: e})
	return w
}

// bodies are the alerts each sink got so far, decoded.
func (w *alertWorld) bodies(tb testing.TB) (sns, webhook []alert.Body) {
	tb.Helper()
	w.sns = append(w.sns, w.q.Notifications(tb, alertQueue)...)
	for _, n := range w.sns {
		sns = append(sns, decodeAlert(tb, n.Message))
	}
	for _, p := range w.recv.all() {
		webhook = append(webhook, decodeAlert(tb, p))
	}
	return sns, webhook
}

func decodeAlert(tb testing.TB, s string) alert.Body {
	tb.Helper()
	var b alert.Body
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		tb.Fatalf("an alert is not the JSON body: %v\n%s", err, s)
	}
	return b
}

// waitAlerts waits until each sink got n alerts and returns them.
func (w *alertWorld) waitAlerts(tb testing.TB, d *daemonHandle, n int) (sns, webhook []alert.Body) {
	tb.Helper()
	w.waitFor(tb, fmt.Sprintf("%d alert(s) on SNS and on the webhook", n), func() bool {
		sns, webhook = w.bodies(tb)
		return len(sns) >= n && len(webhook) >= n
	}, d)
	return sns, webhook
}

// expectNoSecret fails when a secret of the world's configuration is in
// an alert either sink got.
func (w *alertWorld) expectNoSecret(tb testing.TB) {
	tb.Helper()
	raw := strings.Join(w.recv.all(), "\n")
	for _, n := range w.sns {
		raw += "\n" + n.Subject + "\n" + n.Message
	}
	for _, secret := range []string{w.discord.Options().Token, fakeaws.SecretAccessKey, fakeaws.AccessKeyID, alertHook, "alert-hook-token"} {
		if strings.Contains(raw, secret) {
			tb.Errorf("an alert carries the secret %q:\n%s", secret, raw)
		}
	}
}

// TestAlertCreationFailed: a creation that fails is told once to each
// sink, with why; the same failure again is counted, not told again.
func TestAlertCreationFailed(t *testing.T) {
	w := newAlertWorld(t, nil)
	d := w.start(t)
	addr := httpAddrOf(t, w.world, d)
	u := member(1)
	w.aws.RunFailures(1, "RESOURCE:MEMORY")
	ix := failureCreate(t, w.world, u, "en-US")
	failureOutcome(t, w.world, d, ix, u, failureWant{
		answer: "Your server could not be created: it could not be started (RESOURCE:MEMORY). Nothing is left running; you can try again.",
		log:    []string{"❌ Échec de la création pour <@" + u.ID + "> : il n'a pas pu être lancé (RESOURCE:MEMORY)"},
		ticket: "The server could not be created: it could not be started (RESOURCE:MEMORY)",
	})
	sns, webhook := w.waitAlerts(t, d, 1)
	for sink, b := range map[string]alert.Body{"sns": sns[0], "webhook": webhook[0]} {
		if b.Kind != "creation-failed" || b.Severity != "error" || b.Member != u.ID || b.Game != "minecraft" || b.Deployment != tableName ||
			b.Title != "Échec d'une création" || b.Detail != "il n'a pas pu être lancé (RESOURCE:MEMORY)" || b.Server == "" {
			t.Errorf("%s got %+v", sink, b)
		}
	}
	if sns[0].ID != webhook[0].ID {
		t.Errorf("the sinks got different alerts: %s and %s", sns[0].ID, webhook[0].ID)
	}

	// The same failure again: counted on both sinks, told to neither.
	w.aws.RunFailures(1, "RESOURCE:MEMORY")
	ix = failureCreate(t, w.world, member(2), "en-US")
	ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "could not be created") })
	for _, sink := range []string{"sns", "webhook"} {
		httpWaitMetric(t, w.world, d, addr, "spawner_alerts_total", map[string]string{"sink": sink, "outcome": "deduplicated"}, 1)
	}
	m := httpMetrics(t, addr)
	for _, sink := range []string{"sns", "webhook"} {
		if got := httpMetric(m, "spawner_alerts_total", map[string]string{"sink": sink, "outcome": "sent"}); got != 1 {
			t.Errorf(`spawner_alerts_total{sink=%q,outcome="sent"} = %v, want 1`, sink, got)
		}
	}
	if sns, webhook := w.bodies(t); len(sns) != 1 || len(webhook) != 1 {
		t.Errorf("after the same failure again, SNS got %d alerts and the webhook %d, want 1 each", len(sns), len(webhook))
	}
	w.expectNoSecret(t)
}

// TestAlertServerFailed: a ready server whose task crashes is told to
// each sink once, with its exit code.
func TestAlertServerFailed(t *testing.T) {
	w := newAlertWorld(t, nil)
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w.world, d, u, nil)
	w.aws.Crash(arn, "OutOfMemoryError: Container killed due to memory usage", 137)
	w.waitFor(t, "the owner to be told the server is gone", func() bool { return w.said(channelID, "Server gone:") }, d)
	sns, webhook := w.waitAlerts(t, d, 1)
	for sink, b := range map[string]alert.Body{"sns": sns[0], "webhook": webhook[0]} {
		if b.Kind != "server-failed" || b.Severity != "error" || b.Fields["exitCode"] != "137" || !strings.Contains(b.Detail, "OutOfMemoryError") || b.Member != u.ID {
			t.Errorf("%s got %+v", sink, b)
		}
	}
	w.expectNoSecret(t)
}

// TestAlertStartFailed: a start that fails once the configuration was
// read (a guild the bot cannot see) is told to each sink, once, before
// the process exits.
func TestAlertStartFailed(t *testing.T) {
	w := newAlertWorld(t, map[string]string{"DISCORD_GUILD_ID": "1999999999999999999"})
	before := daemonGoroutines()
	stderr, _, done := startRun(t, w.world, nil)
	if err := runResult(t, done, stderr); err == nil || exitCode(err) != 1 {
		t.Fatalf("run = %v, want an error and exit 1; stderr:\n%s", err, stderr)
	}
	// Told before run returned: no wait.
	sns, webhook := w.bodies(t)
	if len(sns) != 1 || len(webhook) != 1 {
		t.Fatalf("SNS got %d alerts and the webhook %d, want 1 each, before the exit; stderr:\n%s", len(sns), len(webhook), stderr)
	}
	for sink, b := range map[string]alert.Body{"sns": sns[0], "webhook": webhook[0]} {
		if b.Kind != "start-failed" || b.Title != "The bot could not start" || !strings.Contains(b.Detail, "check DISCORD_GUILD_ID") || !strings.Contains(b.Content, "check DISCORD_GUILD_ID") {
			t.Errorf("%s got %+v", sink, b)
		}
	}
	w.expectNoSecret(t)
	noGoroutineLeft(t, before)
}

// TestCheckAlerts: check reads the topic, publishing nothing, and accepts
// the webhook's https URL without posting to it or showing its token; a
// missing topic, an SNS out of reach and a webhook in clear are problems
// naming the variable to fix.
func TestCheckAlerts(t *testing.T) {
	w := newAlertWorld(t, nil)
	host := strings.TrimPrefix(w.recv.srv.URL, "https://")
	closed := checkClosedURL(t)
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		ok        []string
		problems  []string
	}{{
		name: "both right",
		ok: []string{
			"alerts: sns topic " + w.topic + " (read, nothing published)",
			"alerts: webhook https://" + host + "/… (an https URL; nothing posted to it)",
		},
	}, {
		name:      "no such topic",
		overrides: map[string]string{"ALERT_SNS_TOPIC_ARN": goaws.TopicARN("none")},
		problems:  []string{"ALERT_SNS_TOPIC_ARN: topic " + goaws.TopicARN("none") + " does not exist: create it (deploy/terraform does when asked), or correct the ARN"},
	}, {
		name:      "sns out of reach",
		overrides: map[string]string{"AWS_ENDPOINT_URL_SNS": closed},
		problems:  []string{"AWS_ENDPOINT_URL_SNS: "},
	}, {
		name:      "webhook in clear",
		overrides: map[string]string{"ALERT_WEBHOOK_URL": "http://" + host + alertHook},
		problems:  []string{"ALERT_WEBHOOK_URL: must be an https URL"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := checkRunEnv(t, w.world, tc.overrides)
			for _, ok := range tc.ok {
				if !strings.Contains(r.out, "ok       "+ok+"\n") {
					t.Errorf("no ok line %q:\n%s", ok, r.out)
				}
			}
			problems := r.problems()
			if len(problems) != len(tc.problems) {
				t.Errorf("problems = %q, want %q", problems, tc.problems)
			}
			for i, want := range tc.problems {
				if i < len(problems) && !strings.HasPrefix(problems[i], want) {
					t.Errorf("problem %q, want it to start with %q", problems[i], want)
				}
			}
			if (r.err == nil) != (len(tc.problems) == 0) {
				t.Errorf("check = %v with problems %q", r.err, problems)
			}
			if strings.Contains(r.out, "alert-hook-token") {
				t.Errorf("check shows the webhook's token:\n%s", r.out)
			}
		})
	}
	if sns, webhook := w.bodies(t); len(sns) != 0 || len(webhook) != 0 {
		t.Errorf("check sent alerts: %d to SNS, %d to the webhook", len(sns), len(webhook))
	}
}
