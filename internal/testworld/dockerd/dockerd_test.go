package dockerd_test

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/mineral-contest/spawner/internal/testworld/dockerd"
)

func TestMain(m *testing.M) { os.Exit(dockerd.Run(m)) }

// The responder image runs and answers a Server List Ping through a port
// published on 127.0.0.1, as the adapter's tests rely on.
func TestResponderAnswersThroughPublishedPort(t *testing.T) {
	e := dockerd.Shared(t)
	img := e.ResponderImage(t)
	c := e.Client(t)
	ctx := context.Background()

	port := freePort(t)
	cport := nat.Port(strconv.Itoa(dockerd.ResponderPort) + "/tcp")
	created, err := c.ContainerCreate(ctx,
		&container.Config{Image: img, ExposedPorts: nat.PortSet{cport: {}}, Env: []string{"MC_PLAYERS=3"}},
		&container.HostConfig{PortBindings: nat.PortMap{cport: {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(port)}}}},
		nil, nil, "")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, e.LogTail(20))
	}
	t.Cleanup(func() { _ = c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true}) })
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start: %v\n%s", err, e.LogTail(20))
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if resp := dockerd.WaitForPing(t, addr, 20*time.Second); !strings.Contains(resp, `"online":3`) {
		t.Fatalf("ping answer %s, want 3 players online", resp)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
