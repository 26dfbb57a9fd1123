package docker_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dockerd"
)

// playPort is a game port of the specs below that nothing listens on: it
// stands for the port players use while the responder stands for RCON.
const playPort = 7777

// privateSpec is a server whose game port playPort is public and whose
// responder port is private, as RCON is.
func (w *world) privateSpec() spawner.TaskSpec {
	spec := w.spec()
	spec.Ports = []spawner.PortSpec{{Port: playPort, Proto: "tcp"}, {Port: gamePort, Proto: "tcp"}}
	spec.PrivatePorts = []int{gamePort}
	return spec
}

// bindings are the host addresses and ports the engine reports for the
// container port p/tcp of task.
func (w *world) bindings(task spawner.Task, p int) []nat.PortBinding {
	w.tb.Helper()
	c, err := w.cli.ContainerInspect(context.Background(), task.ID)
	if err != nil {
		w.tb.Fatalf("inspect %s: %v", task.ID, err)
	}
	return c.NetworkSettings.Ports[nat.Port(strconv.Itoa(p)+"/tcp")]
}

// allInterfaces reports whether a binding listens on every address.
func allInterfaces(b nat.PortBinding) bool {
	ip := net.ParseIP(b.HostIP)
	return b.HostIP == "" || ip == nil || ip.IsUnspecified()
}

// With DOCKER_PUBLIC_HOST a public name and game ports on every address,
// the private port is published on the host's address on the default
// bridge only, also when the engine created docker0 itself and does not
// list its gateway (as after every boot; every test engine starts so): the
// bot reaches it there, a connection to any other host address is
// refused, and the game port stays on every address.
func TestPrivatePortOnBridgeGateway(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 5)
	r := w.runtime(func(c *docker.Config) { c.HostIP = "" }) // as in production
	ctx := context.Background()
	gateway := w.engine.BridgeAddress(t)

	task := w.run(r, w.privateSpec())
	rcon := w.bindings(task, gamePort)
	if len(rcon) == 0 {
		t.Fatalf("private port %d is not published: %+v", gamePort, rcon)
	}
	for _, b := range rcon {
		if allInterfaces(b) || b.HostIP != gateway {
			t.Errorf("private port %d published on %q, want the bridge gateway %s only", gamePort, b.HostIP, gateway)
		}
	}
	play := w.bindings(task, playPort)
	if len(play) == 0 || !allInterfaces(play[0]) {
		t.Errorf("game port %d published on %+v, want every address", playPort, play)
	}

	addr, err := r.PrivateAddress(ctx, task, gamePort)
	if want := net.JoinHostPort(gateway, strconv.Itoa(w.hostPort(task))); err != nil || addr != want {
		t.Fatalf("private address = %q, %v; want %q", addr, err, want)
	}
	dockerd.WaitForPing(t, addr, 20*time.Second)
	other := net.JoinHostPort("127.0.0.1", strconv.Itoa(w.hostPort(task)))
	if c, err := net.DialTimeout("tcp", other, 5*time.Second); err == nil {
		_ = c.Close()
		t.Errorf("the private port answers on %s too", other)
	}
}

// With the private address configured (the bot on the engine's host), the
// private port is on it alone and the bot reaches it there.
func TestPrivatePortOnConfiguredAddress(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 5)
	r := w.runtime(func(c *docker.Config) { c.HostIP, c.PrivateHostIP = "", "127.0.0.1" })
	task := w.run(r, w.privateSpec())
	for _, b := range w.bindings(task, gamePort) {
		if b.HostIP != "127.0.0.1" {
			t.Errorf("private port %d published on %q, want 127.0.0.1 only", gamePort, b.HostIP)
		}
	}
	addr, err := r.PrivateAddress(context.Background(), task, gamePort)
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(w.hostPort(task))); err != nil || addr != want {
		t.Fatalf("private address = %q, %v; want %q", addr, err, want)
	}
	dockerd.WaitForPing(t, addr, 20*time.Second)
}

// A port published on every address (a container created before private
// ports were) is reached at the public host; a port not published at all
// is an error, not a guess.
func TestPrivateAddressOfPublicAndMissingPorts(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 5)
	r := w.runtime(func(c *docker.Config) { c.HostIP = "" })
	ctx := context.Background()
	task := w.run(r, w.spec())
	addr, err := r.PrivateAddress(ctx, task, gamePort)
	if want := net.JoinHostPort(w.cfg.PublicHost, strconv.Itoa(w.hostPort(task))); err != nil || addr != want {
		t.Errorf("private address of a public port = %q, %v; want %q", addr, err, want)
	}
	if addr, err := r.PrivateAddress(ctx, task, playPort); err == nil {
		t.Errorf("private address of a port not published = %q, want an error", addr)
	}
	if err := w.cli.ContainerRemove(ctx, task.ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if addr, err := r.PrivateAddress(ctx, task, gamePort); err == nil {
		t.Errorf("private address of a removed container = %q, want an error", addr)
	}
}
