// Package fakedocker is a Docker engine that lives inside a test: the
// Engine API on a unix socket, answering the calls the bot makes to follow
// a fleet it already runs (ping and version negotiation, info, container
// list and inspect, the events stream) from containers the test puts in it.
//
// It runs nothing: a container is a record, and whatever listens on its
// published ports is the test's (mcserver responders on 127.0.0.1). It is
// for measuring the bot with more containers than a real engine on a test
// machine holds; the behaviour of the Docker runtime is tested against a
// real engine (package dockerd).
//
// A call it does not answer gets 404 with the engine's error shape and is
// recorded (Unexpected), so a measurement can tell that the bot did
// something the fake does not model.
package fakedocker

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/system"
)

// APIVersion is the Engine API version the fake says it speaks.
const APIVersion = "1.47"

// Container is a container the engine knows, running since Created.
type Container struct {
	ID      string // 64 hex digits
	Name    string // without the leading slash
	Image   string
	Labels  map[string]string
	Created time.Time
}

// Engine is a running fake. Its methods are safe for concurrent use.
type Engine struct {
	sock string
	ln   net.Listener
	srv  *http.Server

	mu         sync.Mutex
	containers []Container
	byID       map[string]int
	unexpected []string
	closing    chan struct{}
}

// New starts an engine with no container on a socket in a folder of tb's,
// closed when tb's cleanups run.
func New(tb testing.TB) *Engine {
	tb.Helper()
	e := &Engine{sock: filepath.Join(tb.TempDir(), "docker.sock"), byID: map[string]int{}, closing: make(chan struct{})}
	ln, err := net.Listen("unix", e.sock)
	if err != nil {
		tb.Fatalf("fakedocker: listen: %v", err)
	}
	e.ln = ln
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	tb.Cleanup(func() {
		close(e.closing) // ends the events streams, which Close would wait for
		_ = e.srv.Close()
	})
	return e
}

// Host is the engine's address for DOCKER_HOST.
func (e *Engine) Host() string { return "unix://" + e.sock }

// Add puts c in the engine, running.
func (e *Engine) Add(c Container) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.byID[c.ID] = len(e.containers)
	e.containers = append(e.containers, c)
}

// Unexpected lists the calls the fake did not answer, "METHOD path".
func (e *Engine) Unexpected() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.unexpected)
}

// versioned strips the "/v1.47" prefix the client puts on every path.
var versioned = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

func (e *Engine) serve(w http.ResponseWriter, r *http.Request) {
	path := versioned.ReplaceAllString(r.URL.Path, "/")
	w.Header().Set("Api-Version", APIVersion)
	w.Header().Set("Ostype", "linux")
	switch {
	case path == "/_ping":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte("OK"))
		}
	case path == "/info" && r.Method == http.MethodGet:
		writeJSON(w, system.Info{ID: "fakedocker", NCPU: 2, MemTotal: 64 << 30, OSType: "linux", ServerVersion: "28.5.2"})
	case path == "/containers/json" && r.Method == http.MethodGet:
		e.list(w, r)
	case strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/json") && r.Method == http.MethodGet:
		e.inspect(w, strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/json"))
	case path == "/events" && r.Method == http.MethodGet:
		e.events(w, r)
	default:
		e.mu.Lock()
		e.unexpected = append(e.unexpected, r.Method+" "+r.URL.Path)
		e.mu.Unlock()
		apiError(w, http.StatusNotFound, "fakedocker does not answer "+r.Method+" "+path)
	}
}

// list answers GET /containers/json, with the label filters applied.
func (e *Engine) list(w http.ResponseWriter, r *http.Request) {
	args, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	e.mu.Lock()
	out := make([]container.Summary, 0, len(e.containers))
	for _, c := range e.containers {
		if !args.MatchKVList("label", c.Labels) {
			continue
		}
		out = append(out, container.Summary{
			ID: c.ID, Names: []string{"/" + c.Name}, Image: c.Image, Labels: c.Labels,
			Created: c.Created.Unix(), State: container.StateRunning, Status: "Up",
		})
	}
	e.mu.Unlock()
	writeJSON(w, out)
}

// inspect answers GET /containers/{id or name}/json.
func (e *Engine) inspect(w http.ResponseWriter, ref string) {
	e.mu.Lock()
	i, ok := e.byID[ref]
	if !ok {
		for j, c := range e.containers {
			if c.Name == ref {
				i, ok = j, true
				break
			}
		}
	}
	var c Container
	if ok {
		c = e.containers[i]
	}
	e.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "No such container: "+ref)
		return
	}
	writeJSON(w, container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: c.ID, Name: "/" + c.Name, Image: c.Image,
			Created: c.Created.UTC().Format(time.RFC3339Nano),
			State: &container.State{
				Status: container.StateRunning, Running: true, Pid: 1,
				StartedAt: c.Created.UTC().Format(time.RFC3339Nano), FinishedAt: "0001-01-01T00:00:00Z",
			},
			HostConfig: &container.HostConfig{},
		},
		Config: &container.Config{Image: c.Image, Labels: c.Labels},
	})
}

// events answers GET /events with a stream that stays open and quiet
// until the client leaves or the engine closes: containers here never die.
func (e *Engine) events(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	select {
	case <-r.Context().Done():
	case <-e.closing:
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers with the engine's error shape, {"message": ...}.
func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
