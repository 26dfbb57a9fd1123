package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// rconCall is one command a game's RCON was asked to run.
type rconCall struct{ addr, password, command string }

// rconLog is a game's RCON behind a mockRCON: the calls it got, and the
// password it accepts ("" the server's own).
type rconLog struct {
	mu       sync.Mutex
	calls    []rconCall
	password string
}

func (r *rconLog) fake() *mockRCON {
	return &mockRCON{RunFn: func(_ context.Context, addr, password, command string) (string, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, rconCall{addr, password, command})
		if r.password != "" && password != r.password {
			return "", fmt.Errorf("rcon %s: %w", addr, spawner.ErrRCONAuth)
		}
		return "Made " + strings.TrimPrefix(command, "op ") + " a server operator", nil
	}}
}

func (r *rconLog) all() []rconCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// withRCON gives the game RCON on 25575 and the world r as its RCON client.
func withRCON(r *rconLog) []option {
	return []option{
		withGame(func(g *spawner.Game) { g.RCON = &spawner.RCON{Port: 25575, PasswordEnv: "RCON_PASSWORD"} }),
		withConfig(func(c *Options) { c.RCON = r.fake() }),
	}
}

func TestOp(t *testing.T) {
	r := &rconLog{}
	w := newWorld(t, withRCON(r)...)
	w.recover()
	srv := w.readyServer(alice)

	// A fresh password, in the game's variable and the record.
	password := w.cluster.runs.all()[0].Env["RCON_PASSWORD"]
	if len(password) != 48 || strings.Trim(password, "0123456789abcdef") != "" {
		t.Fatalf("RCON_PASSWORD = %q, want 24 random bytes in hex", password)
	}
	if rec, _ := w.table.get(srv.Key()); rec.RCONPassword != password {
		t.Errorf("the record keeps %q, want the password passed to the game", rec.RCONPassword)
	}
	bobSrv := w.readyServer(bob)
	if other := w.cluster.runs.all()[1].Env["RCON_PASSWORD"]; other == password || other == "" {
		t.Errorf("second server's password %q: want a fresh one", other)
	}

	reply, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve")
	if err != nil || reply != "Made Steve a server operator" {
		t.Fatalf("Op = %q, %v", reply, err)
	}
	if want := []rconCall{{srv.Address + ":25575", password, "op Steve"}}; !slices.Equal(r.all(), want) {
		t.Errorf("RCON calls %+v, want %+v", r.all(), want)
	}
	if _, err := w.m.Op(w.ctx, admin, bobSrv.ShortTaskID(), "Alex_01"); err != nil {
		t.Errorf("admin's op on bob's server: %v", err)
	}
	_, err = w.m.Op(w.ctx, spawner.Actor{UserID: carol}, srv.ShortTaskID(), "Steve")
	expectRefused(t, "a non-owner's op", err, spawner.RefusedNotOwner)
	if n := len(r.all()); n != 2 {
		t.Errorf("RCON calls %d, want 2: the non-owner's made one", n)
	}

	// The password is never shown or logged.
	if dump := w.String(); strings.Contains(dump, password) {
		t.Fatalf("the RCON password shows in a channel, a message, the log channel or the log:\n%s", dump)
	}
}

// A name Minecraft would refuse is refused before any RCON call.
func TestOpRefusesBadNames(t *testing.T) {
	r := &rconLog{}
	w := newWorld(t, withRCON(r)...)
	w.recover()
	srv := w.readyServer(alice)
	for _, name := range []string{"", "St", "Steve_the_Great_1", "Steve stop", "Steve\nstop", "Steve;stop", "/stop", "Stéve", "Steve\x00"} {
		_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), name)
		if ref := refusalOf(t, fmt.Sprintf("op %q", name), err, spawner.RefusedPlayerName); ref.Name != name {
			t.Errorf("refusal names %q, want %q", ref.Name, name)
		}
	}
	if calls := r.all(); len(calls) != 0 {
		t.Errorf("RCON called for a refused name: %+v", calls)
	}
}

func TestOpFailures(t *testing.T) {
	t.Run("game without RCON", func(t *testing.T) {
		r := &rconLog{}
		w := newWorld(t, withConfig(func(c *Options) { c.RCON = r.fake() }))
		w.recover()
		srv := w.readyServer(alice)
		if env := w.cluster.runs.all()[0].Env; len(env) == 0 || env["RCON_PASSWORD"] != "" {
			t.Errorf("environment %v of a game without RCON", env)
		}
		if s, _ := w.serverOf(alice); s.RCONPassword != "" {
			t.Errorf("a password was made for a game without RCON")
		}
		_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve")
		expectRefused(t, "op without RCON", err, spawner.RefusedNoRCON)
		if calls := r.all(); len(calls) != 0 {
			t.Errorf("RCON called: %+v", calls)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		r := &rconLog{password: "not-the-one-the-bot-made"}
		w := newWorld(t, withRCON(r)...)
		w.recover()
		srv := w.readyServer(alice)
		_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve")
		var ref *spawner.Refusal
		if err == nil || errors.As(err, &ref) || !errors.Is(err, spawner.ErrRCONAuth) {
			t.Fatalf("err = %v, want one wrapping ErrRCONAuth", err)
		}
		if sent := r.all()[0].password; strings.Contains(err.Error(), sent) || strings.Contains(w.logs.String(), sent) {
			t.Errorf("the password shows in the error or the log: %v", err)
		}
	})
	t.Run("mapped port", func(t *testing.T) {
		r := &rconLog{}
		w := newWorld(t, withRCON(r)...)
		w.recover()
		srv := w.readyServer(alice)
		w.cluster.mapPorts(srv.TaskID, map[int]int{25565: 40000, 25575: 40001})
		if _, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve"); err != nil {
			t.Fatal(err)
		}
		if got := r.all()[0].addr; got != srv.Address+":40001" {
			t.Errorf("RCON address %s, want the host port mapped to 25575", got)
		}
	})
	t.Run("not ready", func(t *testing.T) {
		r := &rconLog{}
		w := newWorld(t, withRCON(r)...)
		w.recover()
		w.create(alice, "")
		w.blockUntil(1)
		s, _ := w.serverOf(alice)
		_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, s.CreationID, "Steve")
		expectRefused(t, "op while creating", err, spawner.RefusedNotReady)
		if calls := r.all(); len(calls) != 0 {
			t.Errorf("RCON called: %+v", calls)
		}
	})
}

// withPrivateAddresses makes the world's runtime one that reaches the
// private ports at an address of its own, 172.17.0.1:400xx, or fails
// with err; asked records what it was asked, "ARN port".
func withPrivateAddresses(err error, asked *[]string) option {
	return func(c *Options) {
		c.Tasks = &mockPrivateTasks{mockTasks: c.Tasks.(*mockTasks), PrivateAddressFn: func(_ context.Context, t spawner.Task, port int) (string, error) {
			*asked = append(*asked, fmt.Sprintf("%s %d", t.ID, port))
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("172.17.0.1:%d", 40000+port%100), nil
		}}
	}
}

// Under a runtime with private addresses, /server op dials the RCON port
// where the runtime published it for the bot, not the players' address.
func TestOpUsesThePrivateAddress(t *testing.T) {
	r := &rconLog{}
	var asked []string
	w := newWorld(t, append(withRCON(r), withPrivateAddresses(nil, &asked))...)
	w.recover()
	srv := w.readyServer(alice)
	if _, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve"); err != nil {
		t.Fatalf("op: %v", err)
	}
	if want := []string{srv.TaskID + " 25575"}; !slices.Equal(asked, want) {
		t.Errorf("private addresses asked %v, want %v", asked, want)
	}
	if calls := r.all(); len(calls) != 1 || calls[0].addr != "172.17.0.1:40075" {
		t.Errorf("RCON calls %+v, want one to the private address 172.17.0.1:40075", calls)
	}
}

// A private address the runtime cannot give fails the op, and the password
// is not sent to the players' address instead.
func TestOpFailsWithoutPrivateAddress(t *testing.T) {
	r := &rconLog{}
	var asked []string
	gone := errors.New("container gone")
	w := newWorld(t, append(withRCON(r), withPrivateAddresses(gone, &asked))...)
	w.recover()
	srv := w.readyServer(alice)
	if _, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve"); !errors.Is(err, gone) {
		t.Errorf("op without a private address: err %v, want the runtime's", err)
	}
	if calls := r.all(); len(calls) != 0 {
		t.Errorf("RCON called anyway: %+v", calls)
	}
	if w.logCount("container gone") != 1 {
		t.Errorf("the runtime's failure is not logged:\n%s", w.logs)
	}
}

// The RCON port is always in the container's ports and marked private; the
// game's own ports are not.
func TestContainerSpecMarksRCONPrivate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ports []spawner.PortSpec
		want  []spawner.PortSpec
	}{
		{"default ports", nil, []spawner.PortSpec{{Port: 25565, Proto: "tcp"}, {Port: 25575, Proto: "tcp"}}},
		{"listed without RCON", []spawner.PortSpec{{Port: 25565, Proto: "tcp"}, {Port: 25565, Proto: "udp"}},
			[]spawner.PortSpec{{Port: 25565, Proto: "tcp"}, {Port: 25565, Proto: "udp"}, {Port: 25575, Proto: "tcp"}}},
		{"listed with RCON", []spawner.PortSpec{{Port: 25575, Proto: "tcp"}, {Port: 25565, Proto: "tcp"}},
			[]spawner.PortSpec{{Port: 25575, Proto: "tcp"}, {Port: 25565, Proto: "tcp"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := spawner.Game{Port: 25565, Ports: tc.ports, RCON: &spawner.RCON{Port: 25575, PasswordEnv: "RCON_PASSWORD"}}
			c := containerSpec(g)
			if !slices.Equal(c.Ports, tc.want) {
				t.Errorf("ports %v, want %v", c.Ports, tc.want)
			}
			if !slices.Equal(c.PrivatePorts, []int{25575}) {
				t.Errorf("private ports %v, want only RCON's 25575", c.PrivatePorts)
			}
		})
	}
	if c := containerSpec(spawner.Game{Port: 25565}); len(c.PrivatePorts) != 0 {
		t.Errorf("a game without RCON has private ports %v", c.PrivatePorts)
	}
}
