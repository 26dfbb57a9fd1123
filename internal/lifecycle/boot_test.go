package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// TestNoPublicIP: a RUNNING task that will have no public address fails the
// creation with that reason, shows it got as far as running, and warns once.
func TestNoPublicIP(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.cluster.startIn(spawner.TaskRunning)
	var lookups atomic.Int32
	w.tasks.AddressFn = func(context.Context, spawner.Task, int) (string, error) {
		lookups.Add(1)
		return "", fmt.Errorf("describe network interface eni-1: %w", spawner.ErrNoPublicIP)
	}
	r := w.create(alice, "")
	w.waitWorkers()
	if got, want := r.last(), text.En.CreationFailed(text.En.FailNoPublicIP()); got != want {
		t.Errorf("last reply = %q, want %q", got, want)
	}
	ch := w.guild.channels()[0]
	srv := spawner.Server{CreationID: w.creationIn(ch), ChannelID: ch, Owner: alice}
	w.expectEnded(srv, spawner.CauseFailed)
	if got := w.states(srv.CreationID); !slices.Contains(got, spawner.StateRunning) || slices.Contains(got, spawner.StateBooting) {
		t.Errorf("steps shown %v, want running, never booting", got)
	}
	if n := w.logCount("without a public address"); n != 1 {
		t.Errorf("logged the missing address %d times, want once\n%s", n, w)
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d address lookups, want 1 (the answer is final)", n)
	}
	w.expectNothingLeft()
}

// TestAddressErrorLoggedOnce: a lookup that keeps failing while the task
// runs is retried each poll and logged once.
func TestAddressErrorLoggedOnce(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.cluster.startIn(spawner.TaskRunning)
	fail := failing(3)
	w.tasks.AddressFn = func(ctx context.Context, t spawner.Task, port int) (string, error) {
		if fail() {
			return "", errBoom
		}
		return w.cluster.Address(ctx, t, port)
	}
	w.players.answer(4)
	w.create(alice, "")
	w.pollUntilWorkersDone(10)
	if srv, ok := w.serverOf(alice); !ok || srv.State != spawner.StateReady {
		t.Fatalf("server not ready after the address came\n%s", w)
	}
	if n := w.logCount("task address; will retry"); n != 1 {
		t.Errorf("logged the failing lookup %d times, want once", n)
	}
}

// TestBootMatchesTaskByID: a DescribeTasks answer holding another task
// first must not lend its status or its address to the creation.
func TestBootMatchesTaskByID(t *testing.T) {
	w := newWorld(t)
	w.recover()
	other := spawner.Task{ID: "arn:aws:ecs:eu-west-3:111122223333:task/games/0ther", Status: spawner.TaskRunning, StartedBy: spawner.StartedBy}
	w.tasks.DescribeTasksFn = func(ctx context.Context, ids []string) ([]spawner.Task, error) {
		ts, err := w.cluster.DescribeTasks(ctx, ids)
		return append([]spawner.Task{other}, ts...), err
	}
	w.players.answer(4)
	w.create(alice, "")
	w.blockUntil(1)
	if srv, _ := w.serverOf(alice); srv.State != spawner.StateProvisioning || srv.Address != "" {
		t.Fatalf("after one poll the server is %s at %q, want provisioning with no address\n%s", srv.State, srv.Address, w)
	}
	w.cluster.setAll(spawner.TaskRunning)
	w.pollUntilWorkersDone(5)
	srv, _ := w.serverOf(alice)
	if srv.State != spawner.StateReady || srv.Address != w.cluster.ipOf(srv.TaskID) {
		t.Errorf("server %s at %q, want ready at its own task's address %s", srv.State, srv.Address, w.cluster.ipOf(srv.TaskID))
	}
}

// TestBootingBeat: while several servers boot, each tick describes all
// their tasks in one DescribeTasks, and pings each booting server once;
// a server that answers is ready at that tick, the others go on.
func TestBootingBeat(t *testing.T) {
	w := newWorld(t)
	w.recover()
	owners := []string{alice, bob, carol}
	for _, o := range owners {
		w.create(o, "")
	}
	w.blockUntil(len(owners)) // every worker took its first step and waits for the beat
	ids := w.cluster.all()
	slices.Sort(ids)
	if len(ids) != len(owners) {
		t.Fatalf("tasks = %v, want %d\n%s", ids, len(owners), w)
	}
	w.cluster.setAll(spawner.TaskRunning)

	for tick := 1; tick <= 3; tick++ {
		descs, pings := len(w.cluster.descs.all()), len(w.players.pinged())
		if tick == 3 {
			w.players.answer(4) // the games answer: all ready at this tick
		}
		w.clock.Advance(w.cfg.PollInterval)
		if tick < 3 {
			w.blockUntil(len(owners))
		} else {
			w.waitWorkers()
		}
		d := w.cluster.descs.all()[descs:]
		if len(d) != 1 {
			t.Fatalf("tick %d: DescribeTasks calls = %v, want one for all booting tasks\n%s", tick, d, w)
		}
		got := slices.Clone(d[0])
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Errorf("tick %d: described %v, want every booting task %v", tick, got, ids)
		}
		if n := len(w.players.pinged()) - pings; n != len(owners) {
			t.Errorf("tick %d: %d pings, want one per booting server (%d)", tick, n, len(owners))
		}
	}
	for _, o := range owners {
		if srv, ok := w.serverOf(o); !ok || srv.State != spawner.StateReady {
			t.Errorf("server of %s = %+v, want ready\n%s", o, srv, w)
		}
	}
}

// TestHostPortOfAContainer: under a container runtime the game port is
// published on a host port: the address recorded, shown and pinged is the
// host port; the container spec names the image, the ports and the limits.
func TestHostPortOfAContainer(t *testing.T) {
	w := newWorld(t, withGame(func(g *spawner.Game) {
		g.Image = "itzg/minecraft-server"
		g.Memory = 3072
	}))
	w.recover()
	w.players.answer(w.game().MinPlayers)
	w.create(alice, "")
	w.waitFor("the task", func() bool { return len(w.cluster.all()) == 1 })
	w.cluster.mapPorts(w.cluster.all()[0], map[int]int{25565: 25570}) // 25565 published on 25570
	w.cluster.set(w.cluster.all()[0], func(t *spawner.Task) { t.Status = spawner.TaskRunning })
	w.pollUntilWorkersDone(5)
	srv, ok := w.serverOf(alice)
	if !ok || srv.State != spawner.StateReady {
		t.Fatalf("server not ready: %+v\n%s", srv, w)
	}
	if srv.Port != 25570 || !strings.HasSuffix(srv.HostPort(), ":25570") {
		t.Errorf("server port = %d (%s), want the host port 25570", srv.Port, srv.HostPort())
	}
	if pings := w.players.pinged(); len(pings) == 0 || !strings.HasSuffix(pings[len(pings)-1], ":25570") {
		t.Errorf("pings went to %q, want the host port", pings)
	}
	if ready := w.expectSaid(srv, "ready", alice); ready.content != text.En.Ready(w.game(), srv, srv.StopTime(w.game())) {
		t.Errorf("the ready message is not the one of the server at its host port:\n%s", ready.content)
	}
	spec := w.cluster.runs.all()[0]
	if spec.Image != "itzg/minecraft-server" || spec.Memory != 3072 || !slices.Equal(spec.Ports, []spawner.PortSpec{{Port: 25565, Proto: "tcp"}}) {
		t.Errorf("container spec = %+v", spec.ContainerSpec)
	}
	if rec, ok := w.table.get(srv.TaskID); !ok || rec.Port != 25570 {
		t.Errorf("record = %+v, want the host port kept for a restart", rec)
	}
}
