package docker_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Tnze/go-mc/bot"
	cerrdefs "github.com/containerd/errdefs"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/mcsleep"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// asleep starts an asleep world's listener on addr, closed when the test
// ends, and checks that it answers on local, the same port on loopback.
func asleep(tb testing.TB, addr, local string) *mcsleep.Listener {
	tb.Helper()
	never := mcsleep.WakeFunc(func(context.Context, string, string) (bool, string) { return false, "" })
	l, err := mcsleep.Listen(addr, mcsleep.World{ID: "castle"}, mcsleep.Config{Waker: never})
	if err != nil {
		tb.Fatalf("listen for the asleep world on %s: %v", addr, err)
	}
	tb.Cleanup(l.Close)
	status, _, err := bot.PingAndListTimeout(local, 5*time.Second)
	if err != nil || !strings.Contains(string(status), "asleep") {
		tb.Fatalf("ping of the asleep world on %s: %s, %v; want the listener's status", local, status, err)
	}
	return l
}

// An asleep world's port passes between the bot's listener and the
// world's servers without a moment lost, on loopback as on every
// interface: the listener binds what the engine publishes, so while one
// holds the port the other is refused (the run with spawner.ErrPortTaken,
// leaving nothing behind), and each binds it the moment the other let it
// go, though the listener answered clients just before. The port a world
// keeps is never handed to another server, and only one server has it.
func TestWorldPortPassesBetweenListenerAndServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, hostIP string }{
		{"loopback", "127.0.0.1"},
		{"every interface", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, 2)
			r := w.runtime(func(c *docker.Config) { c.HostIP = tc.hostIP })
			kept := w.cfg.PortLo
			r.ReservePorts(func() []int { return []int{kept} })
			addr, local := r.ListenAddress(kept), net.JoinHostPort("127.0.0.1", strconv.Itoa(kept))
			if want := net.JoinHostPort(tc.hostIP, strconv.Itoa(kept)); addr != want {
				t.Errorf("ListenAddress = %q, want %q", addr, want)
			}
			l := asleep(t, addr, local)

			other := w.run(r, w.spec())
			if hp := w.hostPort(other); hp == kept {
				t.Errorf("another server was handed port %d, which the asleep world keeps", kept)
			}

			spec := w.spec()
			spec.HostPort = kept
			_, err := r.RunTask(ctx, spec)
			var rf *spawner.RunFailure
			if !errors.Is(err, spawner.ErrPortTaken) || !errors.As(err, &rf) || !strings.Contains(rf.Reason, strconv.Itoa(kept)) {
				t.Fatalf("RunTask on the port the listener holds: %v, want a RunFailure naming port %d that is ErrPortTaken", err, kept)
			}
			if _, err := w.cli.ContainerInspect(ctx, docker.ContainerName(spec.CreationID)); !cerrdefs.IsNotFound(err) {
				t.Errorf("the refused server left a container: %v", err)
			}

			// The wake: the listener lets the port go, the server has it.
			l.Close()
			task := w.run(r, spec)
			if hp := w.hostPort(task); hp != kept {
				t.Fatalf("the world's server is on port %d, want its kept %d", hp, kept)
			}
			w.ping(task)
			if err := mcsleep.CanListen(addr); !errors.Is(err, mcsleep.ErrPortTaken) {
				t.Errorf("CanListen while the server runs = %v, want ErrPortTaken", err)
			}
			if _, err := mcsleep.Listen(addr, mcsleep.World{ID: "castle"}, mcsleep.Config{Waker: mcsleep.WakeFunc(nil)}); !errors.Is(err, mcsleep.ErrPortTaken) {
				t.Errorf("Listen while the server runs = %v, want ErrPortTaken", err)
			}
			twin := w.spec()
			twin.HostPort = kept
			if _, err := r.RunTask(ctx, twin); !errors.Is(err, spawner.ErrPortTaken) {
				t.Errorf("a second server on the port: %v, want ErrPortTaken", err)
			}

			// The world falls asleep again: the listener has the port at once.
			if err := r.StopTask(ctx, task.ID, "asleep"); err != nil {
				t.Fatal(err)
			}
			if err := mcsleep.CanListen(addr); err != nil {
				t.Errorf("CanListen once the server was removed: %v", err)
			}
			asleep(t, addr, local)
		})
	}
}
