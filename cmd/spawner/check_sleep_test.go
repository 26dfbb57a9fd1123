package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/mcsleep"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// loopbackPort is a port nothing listens on now.
func loopbackPort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestCheckAsleepPorts: an asleep world's port held by another process is
// one problem naming the world and the port; a free port, or one a running
// spawner answers on for the world (in French here), is fine; worlds that
// keep no port are not looked at.
func TestCheckAsleepPorts(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ours, err := mcsleep.Listen("127.0.0.1:0", mcsleep.World{ID: "w-ours"}, mcsleep.Config{
		Lang:  text.Fr,
		Waker: mcsleep.WakeFunc(func(context.Context, string, string) (bool, string) { return false, "" }),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	port := func(a net.Addr) int { return a.(*net.TCPAddr).Port }
	worlds := []spawner.World{
		{ID: "w-taken", Name: "castle", Owner: "42", State: spawner.WorldAsleep, Port: port(taken.Addr())},
		{ID: "w-free", Name: "farm", Owner: "42", State: spawner.WorldAsleep, Port: loopbackPort(t)},
		{ID: "w-ours", Name: "base", Owner: "43", State: spawner.WorldAsleep, Port: port(ours.Addr())},
		{ID: "w-stored", Name: "old", Owner: "43", State: spawner.WorldStored, Port: port(taken.Addr())},
		{ID: "w-lost", Name: "lost", Owner: "43", State: spawner.WorldAsleep},
	}
	listenAddr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	got := checkAsleepPorts(context.Background(), worlds, listenAddr)
	if len(got.problems) != 1 {
		t.Fatalf("problems = %q, want one, for w-taken", got.problems)
	}
	p := got.problems[0]
	for _, want := range []string{"w-taken", `"castle"`, "port " + strconv.Itoa(port(taken.Addr())), "another process", "/server create world:castle"} {
		if !strings.Contains(p, want) {
			t.Errorf("the problem %q does not say %q", p, want)
		}
	}
	if got.ok != "" {
		t.Errorf("ok = %q with a problem", got.ok)
	}

	got = checkAsleepPorts(context.Background(), worlds[1:], listenAddr)
	if len(got.problems) != 0 || got.ok != "asleep worlds' ports: 1 free for the bot, 1 answered by a running spawner" {
		t.Errorf("without the taken port: ok %q, problems %q", got.ok, got.problems)
	}
	if got := checkAsleepPorts(context.Background(), worlds[3:4], listenAddr); got.ok != "asleep worlds' ports: none kept" {
		t.Errorf("no asleep world with a port: ok %q, problems %q", got.ok, got.problems)
	}
}
