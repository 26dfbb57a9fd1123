package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// privateTasks is a runtime (Docker) that publishes private ports on a
// private address of its own.
type privateTasks struct {
	*fakeTasks
	err   error
	asked []string // "ARN port", in order
}

var _ PrivateAddresser = (*privateTasks)(nil)

func (p *privateTasks) PrivateAddress(_ context.Context, t spawner.Task, port int) (string, error) {
	p.asked = append(p.asked, fmt.Sprintf("%s %d", t.ID, port))
	if p.err != nil {
		return "", p.err
	}
	return fmt.Sprintf("172.17.0.1:%d", 40000+port%100), nil
}

func privateRCONWorld(t *testing.T, edit func(g *spawner.Game)) (*world, *fakeRCON, *privateTasks) {
	r := &fakeRCON{}
	var p *privateTasks
	w := newWorld(t, withGame(func(g *spawner.Game) {
		g.RCON = &spawner.RCON{Port: 25575, PasswordEnv: "RCON_PASSWORD"}
		if edit != nil {
			edit(g)
		}
	}), withConfig(func(c *Options) {
		c.RCON = r
		p = &privateTasks{fakeTasks: c.Tasks.(*fakeTasks)}
		c.Tasks = p
	}))
	r.j = w.j
	w.recover()
	return w, r, p
}

// Under a runtime with private addresses, /server op dials the RCON port
// where the runtime published it for the bot, not the players' address.
func TestOpUsesThePrivateAddress(t *testing.T) {
	w, r, p := privateRCONWorld(t, nil)
	srv, _ := w.readyServer(alice)
	if _, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve"); err != nil {
		t.Fatalf("op: %v", err)
	}
	if want := []string{srv.TaskID + " 25575"}; !slices.Equal(p.asked, want) {
		t.Errorf("private addresses asked %v, want %v", p.asked, want)
	}
	if len(r.calls) != 1 || r.calls[0].addr != "172.17.0.1:40075" {
		t.Errorf("RCON calls %+v, want one to the private address 172.17.0.1:40075", r.calls)
	}
}

// A private address the runtime cannot give fails the op, and the password
// is not sent to the players' address instead.
func TestOpFailsWithoutPrivateAddress(t *testing.T) {
	w, r, p := privateRCONWorld(t, nil)
	p.err = errors.New("container gone")
	srv, _ := w.readyServer(alice)
	_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve")
	if err == nil || !strings.Contains(err.Error(), "container gone") {
		t.Errorf("op without a private address: err %v, want the runtime's", err)
	}
	if len(r.calls) != 0 {
		t.Errorf("RCON called anyway: %+v", r.calls)
	}
	w.mustContain("log", w.logs.String(), "container gone")
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
