package alert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/alert"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/syncbuf"
)

// t0 is when every test's fake clock starts.
var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

const waitTimeout = 10 * time.Second

// fakeClock is a clock the test moves; every After is recorded.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []*clockWait
	calls int
}

type clockWait struct {
	at time.Time
	d  time.Duration
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waits = append(c.waits, &clockWait{at: c.now.Add(d), d: d, ch: ch})
	return ch
}

// Advance moves the clock by d, firing every wait due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waits[:0]
	for _, w := range c.waits {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waits = kept
}

// pending is the duration asked by every wait not fired yet.
func (c *fakeClock) pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, w := range c.waits {
		out = append(out, w.d)
	}
	return out
}

// afterCalls is how many times After was called.
func (c *fakeClock) afterCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// waitFor polls cond until it holds, failing with what it waited for.
func waitFor(tb testing.TB, what string, cond func() bool, dump func() string) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s\n%s", waitTimeout, what, dump())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// counts records Config.Count.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) count(sink, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[sink+"/"+outcome]++
}

func (c *counts) get(sink, outcome string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[sink+"/"+outcome]
}

func (c *counts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

// post is one POST the receiver got.
type post struct {
	header http.Header
	raw    string
	body   alert.Body
}

// receiver is an HTTPS webhook receiver: it answers the statuses it is
// given, in order, then 200; hang makes it hold every request until the
// test ends.
type receiver struct {
	tb  testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	statuses []int
	headers  []http.Header // sent with the answer of the same index
	posts    []post
	hang     bool
	release  chan struct{}
}

func newReceiver(tb testing.TB) *receiver {
	tb.Helper()
	r := &receiver{tb: tb, release: make(chan struct{})}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	tb.Cleanup(func() {
		close(r.release)
		r.srv.Close()
	})
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(req.Body)
	var b alert.Body
	if err := json.Unmarshal(raw, &b); err != nil {
		r.tb.Errorf("the webhook got a body that is not JSON: %v\n%s", err, raw)
	}
	r.mu.Lock()
	r.posts = append(r.posts, post{header: req.Header.Clone(), raw: string(raw), body: b})
	status, header := http.StatusOK, http.Header{}
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	if len(r.headers) > 0 {
		header, r.headers = r.headers[0], r.headers[1:]
	}
	hang := r.hang
	r.mu.Unlock()
	if hang {
		select {
		case <-r.release:
		case <-req.Context().Done():
		}
		return
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

// answer sets the statuses of the next POSTs, with the headers of each.
func (r *receiver) answer(statuses []int, headers ...http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = statuses
	r.headers = headers
}

func (r *receiver) setHang(h bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hang = h
}

func (r *receiver) all() []post {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.posts)
}

// waitPosts waits until the receiver got n POSTs and returns them.
func (r *receiver) waitPosts(tb testing.TB, n int, dump func() string) []post {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("%d POST(s) to the webhook", n), func() bool { return len(r.all()) >= n }, dump)
	return r.all()
}

// rig is a Notifier with a webhook receiver, a fake clock, counts and logs.
type rig struct {
	n      *alert.Notifier
	recv   *receiver
	clock  *fakeClock
	counts *counts
	logs   *syncbuf.Buffer
}

func newRig(tb testing.TB, change func(c *alert.Config)) *rig {
	tb.Helper()
	r := &rig{recv: newReceiver(tb), clock: &fakeClock{now: t0}, counts: &counts{}, logs: &syncbuf.Buffer{}}
	cfg := alert.Config{
		WebhookURL: r.recv.srv.URL + "/services/T0/B0/hook-token-0123456789",
		HTTPClient: r.recv.srv.Client(),
		Deployment: "spawner-servers",
		Clock:      r.clock,
		Log:        slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Count:      r.counts.count,
	}
	if change != nil {
		change(&cfg)
	}
	r.n = alert.New(cfg)
	r.n.Start()
	tb.Cleanup(r.close)
	return r
}

// close closes the Notifier, failing when it does not return.
func (r *rig) close() {
	done := make(chan struct{})
	go func() { r.n.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		panic("Notifier.Close did not return")
	}
}

func (r *rig) dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- clock: %v, waits %v\n--- counts: %v\n--- posts:\n", r.clock.Now().Format(time.TimeOnly), r.clock.pending(), r.counts)
	for _, p := range r.recv.all() {
		b.WriteString("  " + p.raw + "\n")
	}
	b.WriteString("--- log:\n" + r.logs.String())
	return b.String()
}

// waitPending waits until some goroutine waits on the clock for d.
func (r *rig) waitPending(tb testing.TB, d time.Duration) {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("a wait of %v on the clock", d), func() bool { return slices.Contains(r.clock.pending(), d) }, r.dump)
}

// creationFailed is a creation of member 100…001's minecraft server that
// failed for reason.
func creationFailed(id, reason string) spawner.Alert {
	srv := spawner.Server{CreationID: id, TaskID: "arn:aws:ecs:eu-west-3:123456789012:task/c/" + id, Game: "minecraft", Owner: "100000000000000001",
		Token: "server-token-must-not-leak", RCONPassword: "rcon-password-must-not-leak"}
	a := spawner.CreationFailedAlert(srv, spawner.CauseFailed, "it could not be started ("+reason+")", "it could not be started ("+reason+")", t0)
	a.Title = "Creation failed"
	return a
}

// TestWebhookBody: one alert, one POST of the documented JSON, readable as
// data, by Slack (text) and by Discord (content, no mention).
func TestWebhookBody(t *testing.T) {
	r := newRig(t, nil)
	a := creationFailed("c0ffee01", "RESOURCE:MEMORY")
	a.Text += " <@everyone> & co"
	r.n.Alert(a)
	p := r.recv.waitPosts(t, 1, r.dump)[0]
	if ct := p.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	b := p.body
	want := alert.Body{
		Version: 1, ID: b.ID, Kind: "creation-failed", Severity: "error", Title: "Creation failed",
		Detail:  "it could not be started (RESOURCE:MEMORY) <@everyone> & co",
		Text:    "❌ Creation failed: it could not be started (RESOURCE:MEMORY) &lt;@everyone&gt; &amp; co · minecraft · spawner-servers",
		Content: "❌ Creation failed: it could not be started (RESOURCE:MEMORY) <@everyone> & co · minecraft · spawner-servers",
		Time:    "2026-12-07T10:00:00Z", Deployment: "spawner-servers", Server: "c0ffee01", Game: "minecraft", Member: "100000000000000001",
		Fields: map[string]string{"task": "c0ffee01", "cause": "failed"},
	}
	b.AllowedMentions = want.AllowedMentions
	if got, _ := json.Marshal(b); string(got) != string(mustJSON(t, want)) {
		t.Errorf("body\n got %s\nwant %s", got, mustJSON(t, want))
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(b.ID) {
		t.Errorf("id = %q, want 32 hex digits", b.ID)
	}
	if !strings.Contains(p.raw, `"allowed_mentions":{"parse":[]}`) {
		t.Errorf("the body does not turn Discord's mentions off: %s", p.raw)
	}
	for _, secret := range []string{"server-token-must-not-leak", "rcon-password-must-not-leak"} {
		if strings.Contains(p.raw, secret) {
			t.Errorf("the body carries a secret of the server: %s", p.raw)
		}
	}
	waitFor(t, "the alert counted sent", func() bool { return r.counts.get(alert.SinkWebhook, alert.OutcomeSent) == 1 }, r.dump)
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestWebhookContentFitsDiscord: a very long detail is cut so the content
// stays within Discord's 2000 characters.
func TestWebhookContentFitsDiscord(t *testing.T) {
	r := newRig(t, nil)
	a := creationFailed("c0ffee01", strings.Repeat("é", 5000))
	r.n.Alert(a)
	b := r.recv.waitPosts(t, 1, r.dump)[0].body
	if n := len([]rune(b.Content)); n > 2000 {
		t.Errorf("content is %d characters, more than Discord's 2000", n)
	}
	if b.Detail != a.Text {
		t.Errorf("the detail was cut too: %d characters of %d", len([]rune(b.Detail)), len([]rune(a.Text)))
	}
}

// TestWebhookRetriedWithBackoff: a 500 is retried after the backoff, a 503
// after the Retry-After it asks, doubling from the minimum; the same alert
// (same id) goes through in the end.
func TestWebhookRetriedWithBackoff(t *testing.T) {
	r := newRig(t, func(c *alert.Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Minute })
	r.recv.answer([]int{500, 503, 500}, nil, http.Header{"Retry-After": {"7"}})
	r.n.Alert(creationFailed("c0ffee01", "RESOURCE:MEMORY"))

	r.recv.waitPosts(t, 1, r.dump)
	r.waitPending(t, time.Second) // first backoff: the minimum
	r.clock.Advance(time.Second)
	r.recv.waitPosts(t, 2, r.dump)
	r.waitPending(t, 7*time.Second) // 2 s, but the receiver asked for 7
	r.clock.Advance(7 * time.Second)
	r.recv.waitPosts(t, 3, r.dump)
	r.waitPending(t, 4*time.Second) // doubled again
	r.clock.Advance(4 * time.Second)
	posts := r.recv.waitPosts(t, 4, r.dump)
	waitFor(t, "the alert counted sent", func() bool { return r.counts.get(alert.SinkWebhook, alert.OutcomeSent) == 1 }, r.dump)
	for _, p := range posts[1:] {
		if p.body.ID != posts[0].body.ID {
			t.Errorf("a retry has id %s, the first try %s: a receiver could not drop the copy", p.body.ID, posts[0].body.ID)
		}
	}
	if n := r.counts.get(alert.SinkWebhook, alert.OutcomeFailed); n != 0 {
		t.Errorf("failed = %d, want 0", n)
	}
	if n := strings.Count(r.logs.String(), "retrying with backoff"); n != 1 {
		t.Errorf("the failures were logged %d times, want once:\n%s", n, r.logs)
	}
}

// TestWebhookGivesUp: a 404 is not retried; repeated 500s are, up to the
// attempts allowed; either way the alert counts as failed.
func TestWebhookGivesUp(t *testing.T) {
	t.Run("404", func(t *testing.T) {
		r := newRig(t, nil)
		r.recv.answer([]int{404})
		r.n.Alert(creationFailed("c0ffee01", "RESOURCE:MEMORY"))
		waitFor(t, "the alert counted failed", func() bool { return r.counts.get(alert.SinkWebhook, alert.OutcomeFailed) == 1 }, r.dump)
		if n := len(r.recv.all()); n != 1 {
			t.Errorf("POSTs = %d, want 1: a 404 is not retried", n)
		}
		if slices.Contains(r.clock.pending(), alert.DefaultMinBackoff) {
			t.Errorf("a backoff is waited after a 404")
		}
		if !strings.Contains(r.logs.String(), "404 Not Found: check ALERT_WEBHOOK_URL") {
			t.Errorf("the log does not say to check ALERT_WEBHOOK_URL:\n%s", r.logs)
		}
	})
	t.Run("500s", func(t *testing.T) {
		r := newRig(t, func(c *alert.Config) { c.Attempts = 3 })
		r.recv.answer([]int{500, 500, 500, 500})
		r.n.Alert(creationFailed("c0ffee01", "RESOURCE:MEMORY"))
		r.recv.waitPosts(t, 1, r.dump)
		r.waitPending(t, time.Second)
		r.clock.Advance(time.Second)
		r.recv.waitPosts(t, 2, r.dump)
		r.waitPending(t, 2*time.Second)
		r.clock.Advance(2 * time.Second)
		waitFor(t, "the alert counted failed", func() bool { return r.counts.get(alert.SinkWebhook, alert.OutcomeFailed) == 1 }, r.dump)
		if n := len(r.recv.all()); n != 3 {
			t.Errorf("POSTs = %d, want the 3 attempts", n)
		}
	})
}

// TestDeduplicated: the same failure repeating within the window is told
// once, then once more in a summary with the number of repeats when the
// window ends; another failure is told at once; after a quiet window the
// failure is told again as new.
func TestDeduplicated(t *testing.T) {
	r := newRig(t, func(c *alert.Config) { c.Window = 10 * time.Minute })
	r.n.Alert(creationFailed("c0ffee01", "RESOURCE:MEMORY"))
	r.clock.Advance(time.Minute)
	r.n.Alert(creationFailed("c0ffee02", "RESOURCE:MEMORY"))
	r.clock.Advance(time.Minute)
	last := creationFailed("c0ffee03", "RESOURCE:MEMORY")
	last.Time = r.clock.Now()
	r.n.Alert(last)
	r.n.Alert(creationFailed("c0ffee04", "RESOURCE:CPU"))
	posts := r.recv.waitPosts(t, 2, r.dump)
	if got := r.counts.get(alert.SinkWebhook, alert.OutcomeDeduplicated); got != 2 {
		t.Errorf("deduplicated = %d, want 2\n%s", got, r.dump())
	}
	if posts[0].body.Server != "c0ffee01" || posts[1].body.Server != "c0ffee04" {
		t.Fatalf("told first: %s then %s, want c0ffee01 (memory) then c0ffee04 (cpu)\n%s", posts[0].body.Server, posts[1].body.Server, r.dump())
	}

	// The window of the first ends: its summary.
	calls := r.clock.afterCalls()
	r.clock.Advance(8 * time.Minute)
	posts = r.recv.waitPosts(t, 3, r.dump)
	sum := posts[2].body
	if sum.Repeats != 2 || sum.Since != "2026-12-07T10:00:00Z" || sum.Server != "c0ffee03" || sum.Time != "2026-12-07T10:02:00Z" {
		t.Errorf("summary: repeats %d since %s, server %s at %s; want 2 since 10:00, the last (c0ffee03 at 10:02)\n%s", sum.Repeats, sum.Since, sum.Server, sum.Time, r.dump())
	}
	if !strings.HasSuffix(sum.Content, "(+2 · 10:00–10:02 UTC)") {
		t.Errorf("summary's content %q does not tell the repeats", sum.Content)
	}

	// The next windows end quiet: nothing more is told, and the failure is
	// new again.
	waitFor(t, "the summariser to wait again", func() bool { return r.clock.afterCalls() > calls }, r.dump)
	r.clock.Advance(10 * time.Minute)
	r.clock.Advance(10 * time.Minute)
	again := creationFailed("c0ffee05", "RESOURCE:MEMORY")
	again.Time = r.clock.Now()
	r.n.Alert(again)
	posts = r.recv.waitPosts(t, 4, r.dump)
	if p := posts[3].body; p.Server != "c0ffee05" || p.Repeats != 0 {
		t.Errorf("after quiet windows, told %s with %d repeats; want c0ffee05 as new\n%s", p.Server, p.Repeats, r.dump())
	}
	if n := len(r.recv.all()); n != 4 {
		t.Errorf("POSTs = %d, want 4\n%s", n, r.dump())
	}
}

// TestAlertNeverBlocks: a receiver that hangs slows no caller: Alert
// returns at once, the alerts beyond the queue are dropped and counted,
// and Close returns, dropping the rest.
func TestAlertNeverBlocks(t *testing.T) {
	r := newRig(t, func(c *alert.Config) { c.QueueSize = 4 })
	r.recv.setHang(true)
	const n = 100
	done := make(chan struct{})
	go func() {
		for i := range n {
			r.n.Alert(creationFailed(fmt.Sprintf("c%07d", i), fmt.Sprintf("reason %d", i)))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("%d alerts not raised within %v while the webhook hangs", n, waitTimeout)
	}
	dropped := r.counts.get(alert.SinkWebhook, alert.OutcomeDropped)
	if dropped < n-4-1 || dropped > n-4 {
		t.Errorf("dropped = %d, want %d or %d (a queue of 4, one in flight or not yet)\n%s", dropped, n-5, n-4, r.dump())
	}
	if !strings.Contains(r.logs.String(), "alert dropped") {
		t.Errorf("no log line says alerts were dropped:\n%s", r.logs)
	}
	r.close()
	if got := r.counts.get(alert.SinkWebhook, alert.OutcomeDropped); got != n {
		t.Errorf("after Close, dropped = %d, want all %d (none went through)\n%s", got, n, r.dump())
	}
	r.n.Alert(creationFailed("after", "closed"))
	if got := r.counts.get(alert.SinkWebhook, alert.OutcomeDropped); got != n+1 {
		t.Errorf("an alert after Close is not counted dropped")
	}
}

// TestCloseDuringBackoff: Close ends a delivery waiting to retry.
func TestCloseDuringBackoff(t *testing.T) {
	r := newRig(t, nil)
	r.recv.answer([]int{500})
	r.n.Alert(creationFailed("c0ffee01", "RESOURCE:MEMORY"))
	r.waitPending(t, time.Second)
	r.close()
	if got := r.counts.get(alert.SinkWebhook, alert.OutcomeDropped); got != 1 {
		t.Errorf("dropped = %d, want 1\n%s", got, r.dump())
	}
}

// TestNoSecretLeaves: a secret the Notifier is given never reaches a body,
// wherever it appears in the alert; the webhook's URL never reaches a log
// or an error, even when the webhook cannot be reached.
func TestNoSecretLeaves(t *testing.T) {
	const token = "MTEwMDAwMDAwMDAwMDAwMDAwMg.discord.token-value"
	r := newRig(t, func(c *alert.Config) { c.Secrets = []string{token, "short"} })
	a := creationFailed("c0ffee01", "refused with "+token)
	a.Title = "Creation failed " + token
	a.Fields["echo"] = token
	r.n.Alert(a)
	p := r.recv.waitPosts(t, 1, r.dump)[0]
	if strings.Contains(p.raw, token) || !strings.Contains(p.raw, "[redacted]") {
		t.Errorf("the body carries the secret, or says nothing was taken out:\n%s", p.raw)
	}

	// A webhook that cannot be reached.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String() + "/api/webhooks/1234/hook-token-of-discord"
	ln.Close()
	logs := &syncbuf.Buffer{}
	n := alert.New(alert.Config{WebhookURL: closed, MinBackoff: time.Millisecond, Log: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = n.Deliver(ctx, creationFailed("c0ffee02", "RESOURCE:MEMORY"))
	if err == nil {
		t.Fatalf("Deliver to a closed port = nil")
	}
	for _, s := range []string{err.Error(), logs.String()} {
		if strings.Contains(s, "hook-token-of-discord") || !strings.Contains(s, ln.Addr().String()) {
			t.Errorf("the webhook's URL is told, or its host is not:\n%s", s)
		}
	}
}

// TestDeliver: Deliver sends from the caller, retrying until it goes
// through, for the alert the process must not exit without.
func TestDeliver(t *testing.T) {
	recv := newReceiver(t)
	recv.answer([]int{500})
	n := alert.New(alert.Config{WebhookURL: recv.srv.URL, HTTPClient: recv.srv.Client(), MinBackoff: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	a := spawner.StartFailedAlert("discord: the bot cannot see guild 1 (404): check DISCORD_GUILD_ID", time.Time{})
	a.Title = "The bot could not start"
	if err := n.Deliver(ctx, a); err != nil {
		t.Fatalf("Deliver = %v", err)
	}
	posts := recv.all()
	if len(posts) != 2 || posts[1].body.Kind != "start-failed" || !strings.Contains(posts[1].body.Content, "check DISCORD_GUILD_ID") || posts[1].body.Time == "" {
		t.Errorf("posts = %+v, want the alert twice (a 500, then through)", posts)
	}
}

// TestNoSink: without a topic or a webhook, alerts are taken and dropped
// silently; nothing runs.
func TestNoSink(t *testing.T) {
	n := alert.New(alert.Config{})
	if s := n.Sinks(); len(s) != 0 {
		t.Fatalf("sinks = %v", s)
	}
	n.Start()
	n.Alert(creationFailed("c0ffee01", "RESOURCE:MEMORY"))
	if err := n.Deliver(context.Background(), creationFailed("c0ffee02", "RESOURCE:MEMORY")); err != nil {
		t.Errorf("Deliver without sinks = %v", err)
	}
	if err := n.Check(context.Background()); err != nil {
		t.Errorf("Check without sinks = %v", err)
	}
	n.Close()
}

// TestSummaryOfAWindowEndedUnseen: a repeat that comes after its window
// ended, before the summariser saw the end, still gets the repeats told
// first, as the summariser would have (here it never runs until Start).
func TestSummaryOfAWindowEndedUnseen(t *testing.T) {
	recv := newReceiver(t)
	clock := &fakeClock{now: t0}
	n := alert.New(alert.Config{WebhookURL: recv.srv.URL, HTTPClient: recv.srv.Client(), Window: 10 * time.Minute, Clock: clock,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer n.Close()
	n.Alert(creationFailed("c0ffee01", "RESOURCE:MEMORY"))
	clock.Advance(time.Minute)
	second := creationFailed("c0ffee02", "RESOURCE:MEMORY")
	second.Time = clock.Now()
	n.Alert(second)
	clock.Advance(10 * time.Minute)
	third := creationFailed("c0ffee03", "RESOURCE:MEMORY")
	third.Time = clock.Now()
	n.Alert(third)
	n.Start()
	dump := func() string { return fmt.Sprint(recv.all()) }
	posts := recv.waitPosts(t, 2, dump)
	if first, sum := posts[0].body, posts[1].body; first.Server != "c0ffee01" || sum.Server != "c0ffee02" || sum.Repeats != 1 || sum.Since != "2026-12-07T10:00:00Z" {
		t.Fatalf("told %s, then %s with %d repeats since %s; want c0ffee01, then the summary of c0ffee02 (1 since 10:00)", first.Server, sum.Server, sum.Repeats, sum.Since)
	}
	// The third is the first repeat of the new window: told in its summary.
	waitFor(t, "the summariser to wait for the window's end", func() bool { return slices.Contains(clock.pending(), 10*time.Minute) }, dump)
	clock.Advance(10 * time.Minute)
	posts = recv.waitPosts(t, 3, dump)
	if sum := posts[2].body; sum.Server != "c0ffee03" || sum.Repeats != 1 || sum.Since != "2026-12-07T10:01:00Z" {
		t.Errorf("then %s with %d repeats since %s; want the summary of c0ffee03 (1 since 10:01)", sum.Server, sum.Repeats, sum.Since)
	}
}
