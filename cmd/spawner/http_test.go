package main

// The operator's side of a running daemon: /healthz, /readyz, /metrics,
// `spawner health`, a bad HTTP_ADDR, and the logs (JSON, level).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// httpListening finds the address in the daemon's "http listening" log
// line, text or JSON.
var httpListening = regexp.MustCompile(`http listening"?,? ?"?addr"?[=:]"?([0-9.]+:[0-9]+)`)

// httpAddrOf waits for the daemon to log where its HTTP server listens
// (HTTP_ADDR=127.0.0.1:0 picks a free port) and returns that address.
func httpAddrOf(tb testing.TB, w *world, d *daemonHandle) string {
	tb.Helper()
	var addr string
	w.waitFor(tb, `the daemon to log "http listening addr=..."`, func() bool {
		if m := httpListening.FindStringSubmatch(d.logs.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	}, d)
	return addr
}

// httpGet fetches url and returns the status and the body.
func httpGet(tb testing.TB, url string) (int, string) {
	tb.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// httpHealth runs `spawner health` against addr.
func httpHealth(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return run(ctx, []string{"health"}, func(k string) string {
		if k == "HTTP_ADDR" {
			return addr
		}
		return ""
	}, io.Discard, io.Discard)
}

// httpWaitReady polls /readyz until it answers 200.
func httpWaitReady(tb testing.TB, w *world, d *daemonHandle, addr, what string) {
	tb.Helper()
	var status int
	var body string
	w.waitFor(tb, what+" (/readyz 200)", func() bool {
		status, body = httpGet(tb, "http://"+addr+"/readyz")
		return status == http.StatusOK
	}, d)
	if strings.TrimSpace(body) != "ready" {
		tb.Errorf("/readyz 200 body = %q", body)
	}
}

// TestHTTPHealthAndReady: /healthz answers as soon as the process is up,
// /readyz only once the gateway is connected and the table answers, and
// again not while DynamoDB is out of reach.
func TestHTTPHealthAndReady(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "DYNAMODB_CREATE_TABLE": "false"}})
	if err := w.serverTable(t).EnsureTable(context.Background()); err != nil {
		t.Fatalf("create the table: %v", err)
	}
	// DynamoDB is down as the daemon starts: it cannot read its table, so it
	// does not connect to the gateway, but it is up.
	w.db.Down()
	d := w.startNoWait(t)
	addr := httpAddrOf(t, w, d)
	base := "http://" + addr

	if status, body := httpGet(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while starting = %d %q, want 200", status, body)
	}
	if err := httpHealth(addr); err != nil {
		t.Errorf("spawner health while starting: %v", err)
	}
	status, body := httpGet(t, base+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "discord gateway not connected") || !strings.Contains(body, "table") {
		t.Errorf("/readyz while starting with DynamoDB down = %d %q, want 503 naming the gateway and the table", status, body)
	}
	if w.discord.Connected() {
		t.Errorf("the daemon connected to Discord before reading its table; /healthz was not shown to answer before it")
	}

	w.db.Up()
	w.waitFor(t, "the daemon to start once DynamoDB is back", func() bool {
		return w.discord.Connected() && len(w.discord.CommandsIn(guildID)) > 0 && strings.Contains(d.logs.String(), "spawner started")
	}, d)
	httpWaitReady(t, w, d, addr, "the daemon to be ready")

	// DynamoDB goes away while the daemon runs: not ready, and says why.
	w.db.Down()
	status, body = httpGet(t, base+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "table") || strings.Contains(body, "gateway") {
		t.Errorf("/readyz with DynamoDB down = %d %q, want 503 naming the table only", status, body)
	}
	if status, _ := httpGet(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz with DynamoDB down = %d, want 200: the process is up", status)
	}
	w.db.Up()
	httpWaitReady(t, w, d, addr, "the daemon to be ready again once DynamoDB is back")

	if err := d.stop(t); err != nil {
		t.Errorf("daemon returned %v", err)
	}
	if err := httpHealth(addr); err == nil {
		t.Errorf("spawner health succeeded against a stopped daemon")
	}
}

// TestHTTPBadAddr: an HTTP_ADDR that is malformed or taken stops the start
// with an error naming HTTP_ADDR, before anything is done.
func TestHTTPBadAddr(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	for _, addr := range []string{"nonsense", "127.0.0.1:99999", taken.Addr().String()} {
		env := make(map[string]string, len(w.env))
		for k, v := range w.env {
			env[k] = v
		}
		env["HTTP_ADDR"] = addr
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		var out syncBuffer
		err := run(ctx, []string{"run"}, func(k string) string { return env[k] }, &out, &out)
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Errorf("HTTP_ADDR=%s: run did not stop at start with an error: %v", addr, err)
			continue
		}
		if got := err.Error() + "\n" + out.String(); !strings.Contains(got, "HTTP_ADDR") || !strings.Contains(got, addr) {
			t.Errorf("HTTP_ADDR=%s: the error does not name HTTP_ADDR and its value:\nerr: %v\noutput:\n%s", addr, err, out.String())
		}
	}
	// No partial start: no gateway, no commands, no table.
	if n := w.discord.Identifies(); n != 0 {
		t.Errorf("the daemon identified %d time(s) on the gateway", n)
	}
	if cmds := w.discord.CommandsIn(guildID); len(cmds) != 0 {
		t.Errorf("commands registered: %+v", cmds)
	}
	if tables := checkTables(t, w); len(tables) != 0 {
		t.Errorf("tables created: %v", tables)
	}
}

// httpMetrics scrapes /metrics, which must parse as the Prometheus text
// format.
func httpMetrics(tb testing.TB, addr string) map[string]*dto.MetricFamily {
	tb.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		tb.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		tb.Fatalf("GET /metrics = %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("/metrics is not in the Prometheus text format: %v", err)
	}
	return families
}

// httpMetric is the value of the metric name with exactly the labels given
// among its own (a counter, gauge, or a histogram's sample count); 0 when
// there is none.
func httpMetric(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// httpWaitMetric polls /metrics until name{labels} is at least least.
func httpWaitMetric(tb testing.TB, w *world, d *daemonHandle, addr, name string, labels map[string]string, least float64) {
	tb.Helper()
	w.waitFor(tb, fmt.Sprintf("%s%v to reach %v on /metrics", name, labels, least), func() bool {
		return httpMetric(httpMetrics(tb, addr), name, labels) >= least
	}, d)
}

// TestHTTPMetricsAndJSONLogs follows one server from creation to stop on
// /metrics, with a failed ECS call and a failed Discord call in between,
// and reads the daemon's JSON logs.
func TestHTTPMetricsAndJSONLogs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json"}})
	d := w.start(t)
	addr := httpAddrOf(t, w, d)
	u := member(1)

	m := httpMetrics(t, addr)
	for _, name := range []string{"spawner_servers", "spawner_ping_seconds"} {
		if m[name] == nil {
			t.Errorf("/metrics lacks %s before any server", name)
		}
	}
	if got := httpMetric(m, "spawner_servers", map[string]string{"state": "ready"}); got != 0 {
		t.Errorf(`spawner_servers{state="ready"} = %v before any server, want 0`, got)
	}

	channelID, arn := createReady(t, w, d, u, nil)
	m = httpMetrics(t, addr)
	if got := httpMetric(m, "spawner_servers", map[string]string{"state": "ready"}); got != 1 {
		t.Errorf(`spawner_servers{state="ready"} = %v with one ready server, want 1`, got)
	}
	if got := httpMetric(m, "spawner_creations_total", nil); got != 1 {
		t.Errorf("spawner_creations_total = %v after one creation, want 1", got)
	}
	if f := m["spawner_ping_seconds"]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("spawner_ping_seconds is not a histogram: %v", f)
	} else if got := httpMetric(m, "spawner_ping_seconds", nil); got < 1 {
		t.Errorf("spawner_ping_seconds counts %v pings after the server answered one", got)
	}

	// An ECS call that fails through the SDK's 3 attempts: the sweep's ListTasks.
	w.aws.FailNext("ListTasks", 3, fakeaws.ServerError)
	httpWaitMetric(t, w, d, addr, "spawner_aws_errors_total", map[string]string{"service": "ECS", "operation": "ListTasks"}, 1)

	// A Discord call that fails for good (a 5xx would be retried): the answer to /server list.
	w.discord.FailNext("POST", "/interactions/*/*/callback", 1, http.StatusBadRequest)
	w.discord.Command(u, "en-US", []string{"server", "list"}, nil)
	httpWaitMetric(t, w, d, addr, "spawner_discord_errors_total", map[string]string{"operation": "interaction response"}, 1)

	// The owner stops it.
	taskID := arn[strings.LastIndex(arn, "/")+1:]
	stop := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": taskID})
	stop.WaitResponse(t, waitLong)
	stop.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "stopped") })
	m = httpMetrics(t, addr)
	if got := httpMetric(m, "spawner_stops_total", map[string]string{"reason": "command"}); got != 1 {
		t.Errorf(`spawner_stops_total{reason="command"} = %v after /server stop, want 1`, got)
	}
	if got := httpMetric(m, "spawner_stops_total", nil); got != 1 {
		t.Errorf("spawner_stops_total = %v in all after one stop, want 1", got)
	}
	if got := httpMetric(m, "spawner_servers", map[string]string{"state": "ready"}); got != 0 {
		t.Errorf(`spawner_servers{state="ready"} = %v after the stop, want 0`, got)
	}

	// The logs: one JSON object per line; the lifecycle events carry the
	// task, the user and the channel.
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon returned %v", err)
	}
	var ready map[string]any
	for i, line := range strings.Split(strings.TrimSpace(d.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %d is not a JSON object: %v\n%s", i+1, err, line)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line %d has no %q: %s", i+1, k, line)
			}
		}
		if rec["msg"] == "server ready" {
			ready = rec
		}
	}
	if ready == nil {
		t.Fatalf(`no "server ready" log line:\n%s`, d.logs.String())
	}
	for k, want := range map[string]string{"task": arn, "user": u.ID, "channel": channelID, "level": "INFO"} {
		if got, _ := ready[k].(string); got != want {
			t.Errorf("server ready log: %s = %v, want %s; record: %v", k, ready[k], want, ready)
		}
	}
	if strings.Contains(d.logs.String(), w.discord.Options().Token) || strings.Contains(d.logs.String(), fakeaws.SecretAccessKey) {
		t.Errorf("a secret reached the logs")
	}
}

// TestLogLevelWarn: LOG_LEVEL=warn keeps the daemon's failures and hides
// its everyday lines.
func TestLogLevelWarn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"LOG_LEVEL": "warn"}})
	// w.start waits for the "spawner started" info line, which warn hides.
	d := w.startNoWait(t)
	w.waitFor(t, "the daemon to register its commands and connect", func() bool {
		return len(w.discord.CommandsIn(guildID)) > 0 && w.discord.Connected()
	}, d)
	u := member(1)
	createReady(t, w, d, u, nil)

	// A failure is still told.
	w.discord.FailNext("POST", "/interactions/*/*/callback", 1, http.StatusBadRequest)
	w.discord.Command(u, "en-US", []string{"server", "list"}, nil)
	w.waitFor(t, "the failed answer to be logged at level ERROR", func() bool {
		return strings.Contains(d.logs.String(), "level=ERROR")
	}, d)
	for _, line := range strings.Split(d.logs.String(), "\n") {
		if strings.Contains(line, "level=INFO") || strings.Contains(line, "level=DEBUG") {
			t.Errorf("LOG_LEVEL=warn shows: %s", line)
		}
	}
}
