// Package dockerd runs a real Docker engine for tests: Debian's dockerd
// (package docker.io), started as root with its data, its exec root and its
// API socket in a temporary folder of its own, and bridge networking so
// ports publish on 127.0.0.1 as in production.
//
// Engines share the docker0 bridge and their iptables chains, so only one
// runs on the machine at a time: a test binary starts at most one (Shared),
// and holds a machine-wide lock (flock on a file in os.TempDir()) from its
// start to its stop, so two test binaries take turns. The engine dies with
// the test binary (Pdeathsig SIGKILL), and whatever a killed binary left
// behind (processes, mounts, folders) is cleaned by the next start.
//
// Every engine starts as on a host just booted: the docker0 interface an
// earlier engine left is deleted first, so the engine creates it (see
// removeBridge), unless the host's own engine runs and uses it.
//
// A test that needs the engine calls Shared; when none can be started it
// fails with the engine's log tail, it never skips. A package using it runs
// its tests through Run, so the engine is stopped when they end:
//
//	func TestMain(m *testing.M) { os.Exit(dockerd.Run(m)) }
package dockerd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// Bounds of the engine's start and stop.
const (
	startTimeout = 60 * time.Second // dockerd answering its API
	lockTimeout  = 5 * time.Minute  // another test binary's engine to finish
	stopGrace    = 15 * time.Second // dockerd exiting after SIGTERM
)

// prefix starts the name of every engine's folder in os.TempDir(); the
// cgroup parent of every engine's containers is cgroupParent.
const (
	prefix       = "spawner-dockerd-"
	cgroupParent = "spawner-testworld"
	lockName     = "spawner-dockerd.lock"
)

// Engine is one running dockerd. Its methods are safe for concurrent use.
type Engine struct {
	dir  string // everything the engine writes
	host string // "unix://<dir>/docker.sock"
	lock *os.File

	cmd     *exec.Cmd
	exited  chan struct{} // closed when dockerd has exited
	waitErr error

	imageOnce sync.Once
	image     string
	imageErr  error
}

var shared struct {
	once sync.Once
	mu   sync.Mutex
	e    *Engine
	err  error
}

// Shared returns the test binary's engine, starting it on first use (which
// may wait for another test binary's engine to stop). It fails tb, with the
// engine's log tail, when no engine can be started.
func Shared(tb testing.TB) *Engine {
	tb.Helper()
	shared.once.Do(func() {
		e, err := start()
		shared.mu.Lock()
		shared.e, shared.err = e, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	e, err := shared.e, shared.err
	shared.mu.Unlock()
	if err != nil {
		tb.Fatalf("dockerd: cannot start a Docker engine (install Debian's docker.io and run as root): %v", err)
	}
	return e
}

// Run runs the tests of m, then stops the shared engine if one was started,
// and returns m's exit code. Call it from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	e := shared.e
	shared.e = nil
	shared.mu.Unlock()
	if e != nil {
		if err := e.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dockerd: stop:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Host is the engine's address for the Docker client: "unix:///tmp/.../docker.sock".
func (e *Engine) Host() string { return e.host }

// Client returns a Docker client of the engine, closed when tb's cleanups run.
func (e *Engine) Client(tb testing.TB) *client.Client {
	tb.Helper()
	c, err := client.NewClientWithOpts(client.WithHost(e.host), client.WithAPIVersionNegotiation())
	if err != nil {
		tb.Fatalf("dockerd: client: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// LogTail is the last n lines the engine logged, for a failure message.
func (e *Engine) LogTail(n int) string { return logTail(filepath.Join(e.dir, "dockerd.log"), n) }

// start takes the machine-wide lock, cleans what a killed engine left, and
// starts dockerd, returning once it answers.
func start() (*Engine, error) {
	lock, err := takeLock(filepath.Join(os.TempDir(), lockName))
	if err != nil {
		return nil, err
	}
	cleanStale()
	if err := removeBridge(); err != nil {
		releaseLock(lock)
		return nil, err
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		releaseLock(lock)
		return nil, err
	}
	e := &Engine{dir: dir, host: "unix://" + filepath.Join(dir, "docker.sock"), lock: lock, exited: make(chan struct{})}
	if err := e.launch(); err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("%w\n--- dockerd log tail ---\n%s", err, logTail(filepath.Join(dir, "dockerd.log"), 40))
	}
	return e, nil
}

// launch starts dockerd and waits for its API.
func (e *Engine) launch() error {
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return fmt.Errorf("dockerd not found: %w (apt-get install docker.io)", err)
	}
	logf, err := os.Create(filepath.Join(e.dir, "dockerd.log"))
	if err != nil {
		return err
	}
	e.cmd = exec.Command(bin,
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"),
		"-H", e.host,
		"--tls=false",
		"--cgroup-parent", cgroupParent,
		"--config-file", writeEmptyConfig(e.dir),
	)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.Env = append(os.Environ(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	// Pdeathsig fires when the thread that started the child ends, so the
	// child is started from a locked thread that lives exactly as long as
	// dockerd does: when the test binary dies, so does the engine.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if err := e.cmd.Start(); err != nil {
			started <- err
			close(e.exited)
			_ = logf.Close()
			return
		}
		started <- nil
		e.waitErr = e.cmd.Wait()
		_ = logf.Close()
		close(e.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}

	c, err := client.NewClientWithOpts(client.WithHost(e.host), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Ping(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("dockerd exited before answering: %w", e.waitErr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer on %s within %s: %w", e.host, startTimeout, err)
		}
	}
}

// writeEmptyConfig writes an empty daemon.json so the host's
// /etc/docker/daemon.json does not change the test engine.
func writeEmptyConfig(dir string) string {
	p := filepath.Join(dir, "daemon.json")
	_ = os.WriteFile(p, []byte("{}\n"), 0o644)
	return p
}

// Stop removes every container, stops dockerd (SIGTERM, then SIGKILL after
// a grace), kills what it left, deletes its folder and releases the
// machine-wide lock. Idempotent.
func (e *Engine) Stop() error {
	if e.lock == nil {
		return nil
	}
	var errs []error
	if e.cmd != nil && e.cmd.Process != nil {
		select {
		case <-e.exited:
		default:
			errs = append(errs, e.removeContainers())
			_ = e.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-e.exited:
			case <-time.After(stopGrace):
				_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
				<-e.exited
			}
		}
	}
	killUnder(e.dir)
	unmountUnder(e.dir)
	if err := os.RemoveAll(e.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", e.dir, err))
	}
	releaseLock(e.lock)
	e.lock = nil
	return errors.Join(errs...)
}

// removeContainers force-removes every container of the engine, so no
// shim or game process outlives it.
func (e *Engine) removeContainers() error {
	c, err := client.NewClientWithOpts(client.WithHost(e.host), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, ct := range list {
		if err := c.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", ct.ID[:12], err))
		}
	}
	return errors.Join(errs...)
}

// takeLock takes the machine-wide engine lock, waiting for another test
// binary's engine to stop.
func takeLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("engine lock: %w", err)
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("engine lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("engine lock %s: another test binary held it for %s", path, lockTimeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func releaseLock(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}

// cleanStale removes what engines of killed test binaries left: their
// processes (dockerd, containerd, shims name their folder; game processes
// live in the cgroup parent), their mounts and their folders. It runs under
// the machine-wide lock, so no live engine is touched.
func cleanStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, d := range dirs {
		killUnder(d)
	}
	killCgroup()
	for _, d := range dirs {
		unmountUnder(d)
		_ = os.RemoveAll(d)
	}
}

// killUnder SIGKILLs every process whose command line names dir, the
// engine's own processes (dockerd, its containerd, the shims).
func killUnder(dir string) {
	procs, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(cmdline), dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	killCgroup()
}

// killCgroup SIGKILLs every process left in the test engines' cgroup parent:
// the game processes of containers whose engine was killed.
func killCgroup() {
	files, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", cgroupParent, "*", "cgroup.procs"))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", cgroupParent, "*", "cgroup.procs"))
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(line); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

// logTail is the last n lines of the file at path.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
