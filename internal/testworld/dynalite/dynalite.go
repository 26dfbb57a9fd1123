// Package dynalite gives tests a real DynamoDB: dynalite from npm, in
// memory, one process per Start, listening on loopback. It also puts a
// fault proxy in front of it, so a test can cut DynamoDB off for a while
// without losing the table's content.
//
// dynalite is installed by `npm ci` at the repository root (package.json and
// package-lock.json there). When node or the package is missing the test
// fails, it is never skipped: a suite that silently does not talk to a
// database proves nothing.
package dynalite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/syncbuf"
)

// startTimeout bounds how long Start waits for dynalite to print its port.
// A cold start takes a few hundred milliseconds; the margin is for loaded
// CI machines running many packages at once.
const startTimeout = 30 * time.Second

// stopTimeout bounds how long the cleanup waits for dynalite to exit after
// its stdin closed, before killing it.
const stopTimeout = 5 * time.Second

// Instance is one running dynalite process, empty when started. It lives
// until the test (or benchmark) that started it ends.
type Instance struct {
	endpoint string
	port     int
}

// Start runs a fresh, empty dynalite for tb and returns once it accepts
// connections. The process is stopped when tb's cleanups run; it also exits
// on its own if the test binary dies, because it watches its stdin.
//
// Start fails tb (tb.Fatal) when node is not on PATH, when
// node_modules/dynalite is missing at the repository root (run `npm ci`
// there), or when dynalite does not come up. It must be called from the
// test's goroutine.
func Start(tb testing.TB) *Instance {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatalf("dynalite: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatalf("dynalite: node is not installed (%v); the tests need Node.js >= 20 and `npm ci` run at %s", err, root)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "dynalite", "package.json")); err != nil {
		tb.Fatalf("dynalite: %s is missing; run `npm ci` at the repository root %s to install the test DynamoDB", filepath.Join(root, "node_modules", "dynalite"), root)
	}
	script := filepath.Join(root, "internal", "testworld", "dynalite", "dynalite.js")

	cmd := exec.Command(node, script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(root, "node_modules"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("dynalite: stdin pipe: %v", err)
	}
	stdout := &firstLine{line: make(chan string, 1)}
	cmd.Stdout = stdout
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("dynalite: start node: %v", err)
	}

	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	tb.Cleanup(func() {
		// Closing stdin is the polite stop; the kill is for a process that
		// does not listen.
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	select {
	case line := <-stdout.line:
		var msg struct {
			Port int `json:"port"`
		}
		if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.Port <= 0 {
			tb.Fatalf("dynalite: unexpected first line %q on stdout; node stderr:\n%s", line, stderr.String())
		}
		return &Instance{endpoint: "http://127.0.0.1:" + strconv.Itoa(msg.Port), port: msg.Port}
	case <-exited:
		tb.Fatalf("dynalite: node exited (%v) before printing its port; node stderr:\n%s", cmd.ProcessState, stderr.String())
	case <-time.After(startTimeout):
		tb.Fatalf("dynalite: no port line on stdout after %v; node stderr so far:\n%s", startTimeout, stderr.String())
	}
	return nil
}

// Endpoint is the URL of the DynamoDB API, "http://127.0.0.1:PORT", for
// the SDK's BaseEndpoint or AWS_ENDPOINT_URL_DYNAMODB.
func (i *Instance) Endpoint() string { return i.endpoint }

// Addr is dynalite's "127.0.0.1:PORT".
func (i *Instance) Addr() string { return "127.0.0.1:" + strconv.Itoa(i.port) }

// repoRoot walks up from the working directory (the package directory under
// go test) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find go.mod: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: cannot find the repository root")
		}
		dir = parent
	}
}

// firstLine hands the first line written to it to line and discards the
// rest, so a chatty dynalite never blocks on a full pipe.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	line chan string
}

func (w *firstLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.sent = true
		w.line <- string(w.buf[:i])
		w.buf = nil
	}
	return len(p), nil
}
