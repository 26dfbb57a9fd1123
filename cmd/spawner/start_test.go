package main

// A start that fails says why, once, on stderr, with what to check; a
// transient failure is retried rather than fatal; and whatever way the start
// ends, the daemon leaves no goroutine behind. These tests count the
// process's goroutines, so none of them runs in parallel.

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// daemonFrames mark a goroutine as the daemon's: its own code, its
// adapters', the Discord client's, or an HTTP server's accept loop. The
// test world's goroutines and the idle connections of HTTP clients are not.
var daemonFrames = []string{
	"spawner/cmd/spawner.",
	"spawner/internal/lifecycle.",
	"spawner/internal/discord.",
	"spawner/internal/ecs.",
	"spawner/internal/dynamo.",
	"spawner/internal/mcping.",
	"spawner/internal/metrics.",
	"spawner/internal/alert.",
	"github.com/bwmarrin/discordgo.",
	"\nnet/http.(*Server).Serve(", // the accept loop itself, not what it created
}

var goroutineID = regexp.MustCompile(`^goroutine (\d+) `)

// daemonGoroutines returns the stacks of the daemon's goroutines, by id,
// but for the caller's own.
func daemonGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for i, g := range strings.Split(string(buf), "\n\n") {
		m := goroutineID.FindStringSubmatch(g)
		if i == 0 || m == nil { // the first is the caller
			continue
		}
		for _, f := range daemonFrames {
			if strings.Contains(g, f) && !worldGoroutine(g) {
				out[m[1]] = g
				break
			}
		}
	}
	return out
}

// worldGoroutine reports whether a goroutine is the test's or its world's.
func worldGoroutine(stack string) bool {
	for _, f := range []string{"spawner/cmd/spawner.Test", "testing.tRunner", "net/http/httptest.", "spawner/internal/testworld/"} {
		if strings.Contains(stack, f) {
			return true
		}
	}
	return false
}

// noGoroutineLeft waits, boundedly, until every daemon goroutine that was
// not there before has ended, and fails with their stacks when some remain.
func noGoroutineLeft(tb testing.TB, before map[string]string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := daemonGoroutines()
		for id := range before {
			delete(left, id)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, g := range left {
				b.WriteString(g + "\n\n")
			}
			tb.Fatalf("%d daemon goroutine(s) left 10s after run returned:\n%s", len(left), b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startRun runs the daemon with w's environment and overrides (an empty
// value removes a variable) and returns its stderr, a cancel func, and the
// channel run's error arrives on.
func startRun(tb testing.TB, w *world, overrides map[string]string) (*syncBuffer, context.CancelFunc, <-chan error) {
	tb.Helper()
	env := maps.Clone(w.env)
	overrideEnv(env, overrides)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run"}, func(k string) string { return env[k] }, &bytes.Buffer{}, stderr)
	}()
	tb.Cleanup(cancel)
	return stderr, cancel, done
}

// runResult waits, boundedly, for run to return.
func runResult(tb testing.TB, done <-chan error, stderr *syncBuffer) error {
	tb.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(waitLong):
		tb.Fatalf("run did not return within %s; stderr:\n%s", waitLong, stderr.String())
		return nil
	}
}

// TestStartWrongToken: a token Discord refuses is permanent: run exits at
// once with one plain line on stderr (even with JSON logs) that says to
// check DISCORD_TOKEN, and nothing of the token.
func TestStartWrongToken(t *testing.T) {
	w := newWorld(t, worldOptions{})
	const wrongToken = "MTEwMDAwMDAwMDAwMDAwMDAwMg.wrong.token-value"
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(wrongToken), 0o600); err != nil {
		t.Fatal(err)
	}
	before := daemonGoroutines()
	stderr, _, done := startRun(t, w, map[string]string{"DISCORD_TOKEN_FILE": path, "LOG_FORMAT": "json"})
	err := runResult(t, done, stderr)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("run = %v (exit %d), want an error and exit 1; stderr:\n%s", err, exitCode(err), stderr)
	}
	const want = "spawner: discord: the token was refused (401): check DISCORD_TOKEN"
	if n := strings.Count(stderr.String(), want); n != 1 {
		t.Errorf("stderr says %q %d times, want once as a plain line:\n%s", want, n, stderr)
	}
	if strings.Contains(stderr.String(), wrongToken) || strings.Contains(stderr.String(), w.discord.Options().Token) {
		t.Errorf("a token appears on stderr:\n%s", stderr)
	}
	if n := w.discord.Identifies(); n != 0 {
		t.Errorf("the gateway was opened %d time(s) with a refused token", n)
	}
	noGoroutineLeft(t, before)
}

// TestStartDiscordUnreachable: Discord out of reach is transient: the
// daemon says where it tried and what to check, keeps trying, and stops
// cleanly when told to.
func TestStartDiscordUnreachable(t *testing.T) {
	w := newWorld(t, worldOptions{})
	closed := checkClosedURL(t)
	before := daemonGoroutines()
	stderr, cancel, done := startRun(t, w, map[string]string{"DISCORD_API_URL": closed, "HTTP_ADDR": "127.0.0.1:0"})
	want := "discord unreachable at " + closed + ": check DISCORD_API_URL"
	w.waitFor(t, "stderr to say "+want, func() bool { return strings.Contains(stderr.String(), want) }, nil)
	select {
	case err := <-done:
		t.Fatalf("run returned %v on a transient failure; stderr:\n%s", err, stderr)
	default:
	}
	cancel()
	if err := runResult(t, done, stderr); err != nil {
		t.Errorf("run after the stop = %v, want nil", err)
	}
	noGoroutineLeft(t, before)
}

// TestStartDynamoDBUnreachable: with DYNAMODB_CREATE_TABLE=true and
// DynamoDB out of reach, the daemon says where it tried and what to check,
// keeps trying, and carries on once DynamoDB answers.
func TestStartDynamoDBUnreachable(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.db.Down()
	before := daemonGoroutines()
	stderr, cancel, done := startRun(t, w, map[string]string{"DYNAMODB_CREATE_TABLE": "true"})
	want := "dynamodb unreachable at " + w.db.Endpoint() + ": check AWS_ENDPOINT_URL_DYNAMODB / AWS_REGION"
	w.waitFor(t, "stderr to say "+want, func() bool { return strings.Contains(stderr.String(), want) }, nil)
	w.db.Up()
	w.waitFor(t, "the daemon to start once DynamoDB answers", func() bool { return strings.Contains(stderr.String(), "spawner started") }, nil)
	if tables := checkTables(t, w); len(tables) != 1 || tables[0] != tableName {
		t.Errorf("tables = %v, want %s created", tables, tableName)
	}
	cancel()
	if err := runResult(t, done, stderr); err != nil {
		t.Errorf("run after the stop = %v, want nil", err)
	}
	noGoroutineLeft(t, before)
}

// TestStartBadTable: a table with another key schema is permanent: run
// exits naming AWS_DYNAMODB_TABLE_NAME, with its HTTP server shut down.
func TestStartBadTable(t *testing.T) {
	w := newWorld(t, worldOptions{})
	_, err := w.dynamo(t).CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(tableName),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("create a table with another key: %v", err)
	}
	before := daemonGoroutines()
	stderr, _, done := startRun(t, w, map[string]string{"HTTP_ADDR": "127.0.0.1:0"})
	if err := runResult(t, done, stderr); err == nil {
		t.Fatalf("run = nil with a table of another key schema; stderr:\n%s", stderr)
	}
	if !regexp.MustCompile(`(?m)^spawner: dynamodb: .*` + tableName + `.*: check AWS_DYNAMODB_TABLE_NAME$`).MatchString(stderr.String()) {
		t.Errorf("stderr does not tell the table's problem as one line naming AWS_DYNAMODB_TABLE_NAME:\n%s", stderr)
	}
	noGoroutineLeft(t, before)
}

// TestStartCancelledDuringRecover: SIGTERM while recovery is being retried
// (ECS out of reach) stops the daemon cleanly, HTTP server included.
func TestStartCancelledDuringRecover(t *testing.T) {
	w := newWorld(t, worldOptions{})
	before := daemonGoroutines()
	stderr, cancel, done := startRun(t, w, map[string]string{"AWS_ENDPOINT_URL_ECS": checkClosedURL(t), "HTTP_ADDR": "127.0.0.1:0"})
	w.waitFor(t, "recovery to be retried", func() bool {
		return strings.Contains(stderr.String(), "recover servers from the table and ECS; retrying")
	}, nil)
	cancel()
	if err := runResult(t, done, stderr); err != nil {
		t.Errorf("run after the stop = %v, want nil; stderr:\n%s", err, stderr)
	}
	if strings.Contains(stderr.String(), "spawner started") {
		t.Errorf("the daemon says it started:\n%s", stderr)
	}
	noGoroutineLeft(t, before)
}

// TestStartAndStopLeavesNoGoroutine: a daemon that served, then stopped,
// leaves nothing running: watchdogs, gateway, HTTP server.
func TestStartAndStopLeavesNoGoroutine(t *testing.T) {
	w := newWorld(t, worldOptions{env: map[string]string{"HTTP_ADDR": "127.0.0.1:0"}})
	before := daemonGoroutines()
	d := w.start(t)
	if err := d.stop(t); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	noGoroutineLeft(t, before)
}
