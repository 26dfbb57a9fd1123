package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

func withExtensions(n int, d time.Duration) option {
	return func(c *Options) {
		c.MaxExtensions = n
		c.Catalog[0].ExtendDuration = d
	}
}

// extend runs Extend, failing the test on any error.
func (w *world) extend(by spawner.Actor, srv spawner.Server) spawner.Extension {
	w.tb.Helper()
	ext, err := w.m.Extend(w.ctx, by, srv.ShortTaskID())
	if err != nil {
		w.tb.Fatalf("Extend by %s: %v\n%s", by.UserID, err, w)
	}
	return ext
}

// expectRefused fails the test unless err is a refusal with code want.
func expectRefused(tb testing.TB, what string, err error, want spawner.RefusalCode) *spawner.Refusal {
	tb.Helper()
	var r *spawner.Refusal
	if !errors.As(err, &r) || r.Code != want {
		tb.Fatalf("%s: err = %v, want refusal %d", what, err, want)
	}
	return r
}

func TestExtendUpToTheLimit(t *testing.T) {
	w := newWorld(t, withExtensions(2, 30*time.Minute))
	w.recover()
	srv, _ := w.readyServer(alice)
	member := spawner.Actor{UserID: alice}
	end := srv.CreatedAt.Add(w.game().MaxDuration)

	for i, left := range []int{1, 0} {
		end = end.Add(30 * time.Minute)
		ext := w.extend(member, srv)
		if !ext.StopsAt.Equal(end) || ext.Left != left || ext.Server.Extensions != i+1 {
			t.Fatalf("extension %d: stops %v, %d left, count %d; want %v, %d left, count %d", i+1, ext.StopsAt, ext.Left, ext.Server.Extensions, end, left, i+1)
		}
		rec, _ := w.store.get(srv.Key())
		if !rec.StopsAt.Equal(end) || rec.Extensions != i+1 {
			t.Errorf("record after extension %d: stops %v, count %d; want %v, %d", i+1, rec.StopsAt, rec.Extensions, end, i+1)
		}
		if got := w.m.StopsAt(ext.Server); !got.Equal(end) {
			t.Errorf("StopsAt = %v, want %v", got, end)
		}
		w.waitFor("the ticket told of the extension", func() bool {
			return len(w.chat.find(srv.ChannelID, text.Mention(alice)+" extended the server", text.Timestamp(end, spawner.TimeOfDay))) == 1
		})
		w.waitFor("the log channel told of the extension", func() bool {
			return len(w.chat.logsWith("extended by "+text.Mention(alice), text.Timestamp(end, spawner.TimeDateTime), srv.ShortTaskID())) == 1
		})
	}
	status := w.chat.messages(srv.ChannelID)[0]
	w.mustContain("status message", status.content, "Stops "+text.Timestamp(end, spawner.TimeOfDay))
	if msgs := w.chat.find(srv.ChannelID, "extended the server"); len(msgs) > 0 && len(msgs[0].mentions) != 0 {
		t.Errorf("the owner's own extension pings %v", msgs[0].mentions)
	}

	// The limit: refused, nothing changed.
	puts := len(w.store.putsOf())
	_, err := w.m.Extend(w.ctx, member, srv.ShortTaskID())
	if r := expectRefused(t, "third extension", err, spawner.RefusedExtendLimit); r.Limit != 2 {
		t.Errorf("refusal names the limit %d, want 2", r.Limit)
	}
	if got := text.En.Refusal(&spawner.Refusal{Code: spawner.RefusedExtendLimit, Limit: 2}); !strings.Contains(got, "2 times") {
		t.Errorf("refusal text %q does not give the count", got)
	}
	if n := len(w.store.putsOf()); n != puts {
		t.Errorf("a refused extension wrote the table")
	}
	if s, _ := w.serverOf(alice); !s.StopsAt.Equal(end) || s.Extensions != 2 {
		t.Errorf("after a refusal: stops %v, count %d; want %v, 2", s.StopsAt, s.Extensions, end)
	}

	// An admin has no limit and does not use the member's up.
	end = end.Add(30 * time.Minute)
	ext := w.extend(admin, srv)
	if !ext.StopsAt.Equal(end) || ext.Left != -1 || ext.Server.Extensions != 2 {
		t.Errorf("admin's extension: stops %v, %d left, count %d; want %v, -1, 2", ext.StopsAt, ext.Left, ext.Server.Extensions, end)
	}
	w.waitFor("the ticket told of the admin's extension, pinging the owner", func() bool {
		msgs := w.chat.find(srv.ChannelID, text.Mention(admin.UserID)+" extended the server")
		return len(msgs) == 1 && len(msgs[0].mentions) == 1 && msgs[0].mentions[0] == alice
	})
}

func TestExtendRefusals(t *testing.T) {
	w := newWorld(t, withExtensions(2, 30*time.Minute))
	w.recover()
	srv, _ := w.readyServer(alice)

	_, err := w.m.Extend(w.ctx, spawner.Actor{UserID: bob}, srv.ShortTaskID())
	expectRefused(t, "someone else's server", err, spawner.RefusedNotOwner)
	_, err = w.m.Extend(w.ctx, spawner.Actor{UserID: alice}, "0123456789abcdef")
	expectRefused(t, "no such server", err, spawner.RefusedNoServer)

	// A creation under way cannot be extended yet.
	w.ecs.mu.Lock()
	w.ecs.startStatus = spawner.TaskProvisioning
	w.ecs.mu.Unlock()
	w.create(bob, "")
	w.blockUntil(1)
	creating, _ := w.serverOf(bob)
	_, err = w.m.Extend(w.ctx, spawner.Actor{UserID: bob}, creating.CreationID)
	expectRefused(t, "a server being created", err, spawner.RefusedNotReady)

	// A failed save changes nothing and says so.
	w.store.failNext("Put", 1, errBoom)
	_, err = w.m.Extend(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
	var r *spawner.Refusal
	if err == nil || errors.As(err, &r) {
		t.Fatalf("extension with the table down: err = %v, want a failure", err)
	}
	if s, _ := w.serverOf(alice); !s.StopsAt.IsZero() || s.Extensions != 0 {
		t.Errorf("a failed extension changed the server: %+v", s)
	}

	// Members may not extend at all with a negative limit; admins still may.
	w2 := newWorld(t, withExtensions(-1, time.Hour))
	w2.recover()
	srv2, _ := w2.readyServer(alice)
	_, err = w2.m.Extend(w2.ctx, spawner.Actor{UserID: alice}, srv2.ShortTaskID())
	if r := expectRefused(t, "members may not extend", err, spawner.RefusedExtendLimit); r.Limit != 0 {
		t.Errorf("limit %d, want 0", r.Limit)
	}
	w2.extend(admin, srv2)
}

// The runtime warning is armed again for the new end, and the server stops
// at the new end, not the old one.
func TestExtendRearmsTheRuntimeWarning(t *testing.T) {
	w := newWorld(t, withExtensions(2, 30*time.Minute), withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
	w.recover()
	srv, _ := w.readyServer(alice)
	g := w.game()
	oldEnd := srv.CreatedAt.Add(g.MaxDuration)
	w.clock.AdvanceTo(oldEnd.Add(-g.MaxDurationWarning))
	w.pass(false)
	if n := len(w.chat.find(srv.ChannelID, "maximum duration")); n != 1 {
		t.Fatalf("%d runtime warnings before the extension, want 1\n%s", n, w)
	}
	ext := w.extend(spawner.Actor{UserID: alice}, srv)
	newEnd := oldEnd.Add(30 * time.Minute)
	if s, _ := w.serverOf(alice); s.RuntimeWarned {
		t.Errorf("the runtime warning is not armed again")
	}
	if rec, _ := w.store.get(srv.Key()); rec.RuntimeWarned || !rec.StopsAt.Equal(newEnd) {
		t.Errorf("record: warned %v, stops %v; want armed again, %v", rec.RuntimeWarned, rec.StopsAt, newEnd)
	}
	_ = ext

	w.clock.AdvanceTo(oldEnd)
	w.pass(true)
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("stopped at the old end\n%s", w)
	}
	if n := len(w.chat.find(srv.ChannelID, "maximum duration")); n != 1 {
		t.Errorf("%d runtime warnings at the old end, want still 1", n)
	}
	w.clock.AdvanceTo(newEnd.Add(-g.MaxDurationWarning))
	w.pass(false)
	warnings := w.chat.find(srv.ChannelID, "maximum duration", text.Timestamp(newEnd, spawner.TimeRelative))
	if len(warnings) != 1 {
		t.Fatalf("no runtime warning naming the new end\n%s", w)
	}
	w.clock.AdvanceTo(newEnd.Add(-time.Second))
	w.pass(false)
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("stopped before the new end\n%s", w)
	}
	w.advanceAndPass(time.Second, false)
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("still running at the new end\n%s", w)
	}
	if got := w.metrics.stoppedOf(spawner.CauseRuntime); got != 1 {
		t.Errorf("runtime stops = %d, want 1", got)
	}
}

// A restart keeps the new stop time and the count.
func TestExtensionSurvivesRecover(t *testing.T) {
	w := newWorld(t, withExtensions(2, 30*time.Minute), withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(-80 * time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	srv.StopsAt = t0.Add(40 * time.Minute)
	srv.Extensions = 2
	w.store.put(srv)
	w.recover()
	if got := w.m.StopsAt(srv); !got.Equal(srv.StopsAt) {
		t.Errorf("StopsAt after recovery = %v, want %v", got, srv.StopsAt)
	}
	_, err := w.m.Extend(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
	expectRefused(t, "extension past the limit after a restart", err, spawner.RefusedExtendLimit)
	w.advanceAndPass(39*time.Minute, true)
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("stopped before the recorded stop time\n%s", w)
	}
	w.advanceAndPass(time.Minute, false)
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("still running at the recorded stop time\n%s", w)
	}
}

// fakeRCON is a game's RCON as the lifecycle sees it.
type fakeRCON struct {
	j        *journal
	password string // accepted; "" accepts the server's own
	err      error
	calls    []rconCall
}

type rconCall struct{ addr, password, command string }

func (f *fakeRCON) Run(ctx context.Context, addr, password, command string) (string, error) {
	f.j.add("rcon.Run %s %q", addr, command)
	f.calls = append(f.calls, rconCall{addr, password, command})
	if f.err != nil {
		return "", f.err
	}
	if f.password != "" && password != f.password {
		return "", fmt.Errorf("rcon %s: %w", addr, spawner.ErrRCONAuth)
	}
	return "Made " + strings.TrimPrefix(command, "op ") + " a server operator", nil
}

func rconWorld(t *testing.T) (*world, *fakeRCON) {
	r := &fakeRCON{}
	w := newWorld(t, withGame(func(g *spawner.Game) {
		g.RCON = &spawner.RCON{Port: 25575, PasswordEnv: "RCON_PASSWORD"}
	}), withConfig(func(c *Options) { c.RCON = r }))
	r.j = w.j
	w.recover()
	return w, r
}

func TestOp(t *testing.T) {
	w, r := rconWorld(t)
	srv, _ := w.readyServer(alice)

	// A fresh password, in the game's variable and the record.
	specs := w.ecs.runSpecs()
	password := specs[0].Env["RCON_PASSWORD"]
	if len(password) != 48 || strings.Trim(password, "0123456789abcdef") != "" {
		t.Fatalf("RCON_PASSWORD = %q, want 24 random bytes in hex", password)
	}
	if rec, _ := w.store.get(srv.Key()); rec.RCONPassword != password {
		t.Errorf("the record keeps %q, want the password passed to the game", rec.RCONPassword)
	}
	bobSrv, _ := w.readyServer(bob)
	if other := w.ecs.runSpecs()[1].Env["RCON_PASSWORD"]; other == password || other == "" {
		t.Errorf("second server's password %q: want a fresh one", other)
	}

	reply, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve")
	if err != nil || reply != "Made Steve a server operator" {
		t.Fatalf("Op = %q, %v", reply, err)
	}
	want := rconCall{srv.Address + ":25575", password, "op Steve"}
	if len(r.calls) != 1 || r.calls[0] != want {
		t.Errorf("RCON calls %+v, want [%+v]", r.calls, want)
	}
	if _, err := w.m.Op(w.ctx, admin, bobSrv.ShortTaskID(), "Alex_01"); err != nil {
		t.Errorf("admin's op on bob's server: %v", err)
	}
	_, err = w.m.Op(w.ctx, spawner.Actor{UserID: carol}, srv.ShortTaskID(), "Steve")
	expectRefused(t, "a non-owner's op", err, spawner.RefusedNotOwner)
	if len(r.calls) != 2 {
		t.Errorf("RCON calls %d, want 2: the non-owner's made one", len(r.calls))
	}

	// The password is never shown or logged.
	var seen []string
	for _, id := range w.chat.channels() {
		ch, _ := w.chat.channel(id)
		seen = append(seen, ch.Topic)
		for _, m := range w.chat.messages(id) {
			seen = append(seen, m.content)
			seen = append(seen, m.edits...)
		}
	}
	seen = append(seen, w.chat.logLines()...)
	seen = append(seen, w.logs.String(), w.j.String())
	for _, s := range seen {
		if strings.Contains(s, password) {
			t.Fatalf("the RCON password shows in %q", s)
		}
	}
}

// A name Minecraft would refuse is refused before any RCON call, naming the problem.
func TestOpRefusesBadNames(t *testing.T) {
	w, r := rconWorld(t)
	srv, _ := w.readyServer(alice)
	for _, tc := range []struct{ name, problem string }{
		{"", "too short"},
		{"St", "too short"},
		{"Steve_the_Great_1", "too long"},
		{"Steve stop", "a space"},
		{"Steve\nstop", "line break"},
		{"Steve;stop", `";" is not allowed`},
		{"/stop", `"/" is not allowed`},
		{"Stéve", `"é" is not allowed`},
		{"Steve\x00", "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), tc.name)
			ref := expectRefused(t, "op "+tc.name, err, spawner.RefusedPlayerName)
			if got := text.En.Refusal(ref); !strings.Contains(got, tc.problem) {
				t.Errorf("refusal %q does not name the problem %q", got, tc.problem)
			}
		})
	}
	if len(r.calls) != 0 || w.j.count("rcon.Run") != 0 {
		t.Errorf("RCON called for a refused name: %+v", r.calls)
	}
}

func TestOpFailures(t *testing.T) {
	t.Run("game without RCON", func(t *testing.T) {
		r := &fakeRCON{}
		w := newWorld(t, withConfig(func(c *Options) { c.RCON = r }))
		w.recover()
		srv, _ := w.readyServer(alice)
		if env := w.ecs.runSpecs()[0].Env; len(env) == 0 || env["RCON_PASSWORD"] != "" {
			t.Errorf("environment %v of a game without RCON", env)
		}
		if s, _ := w.serverOf(alice); s.RCONPassword != "" {
			t.Errorf("a password was made for a game without RCON")
		}
		_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve")
		ref := expectRefused(t, "op without RCON", err, spawner.RefusedNoRCON)
		w.mustContain("refusal", text.En.Refusal(ref), "no RCON")
		if len(r.calls) != 0 {
			t.Errorf("RCON called: %+v", r.calls)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		w, r := rconWorld(t)
		r.password = "not-the-one-the-bot-made"
		srv, _ := w.readyServer(alice)
		_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve")
		if err == nil {
			t.Fatal("op with a refused password succeeded")
		}
		var ref *spawner.Refusal
		if errors.As(err, &ref) || !errors.Is(err, spawner.ErrRCONAuth) {
			t.Fatalf("err = %v, want one wrapping ErrRCONAuth", err)
		}
		if strings.Contains(err.Error(), r.calls[0].password) || strings.Contains(w.logs.String(), r.calls[0].password) {
			t.Errorf("the password shows in the error or the log: %v", err)
		}
		w.mustContain("answer", text.En.OpFailed(true), "refused the bot's RCON password")
	})
	t.Run("mapped port", func(t *testing.T) {
		w, r := rconWorld(t)
		srv, _ := w.readyServer(alice)
		w.ecs.mapPorts(srv.TaskID, map[int]int{25565: 40000, 25575: 40001})
		if _, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID(), "Steve"); err != nil {
			t.Fatal(err)
		}
		if got := r.calls[0].addr; got != srv.Address+":40001" {
			t.Errorf("RCON address %s, want the host port mapped to 25575", got)
		}
	})
	t.Run("not ready", func(t *testing.T) {
		w, r := rconWorld(t)
		w.create(alice, "")
		w.blockUntil(1)
		s, _ := w.serverOf(alice)
		_, err := w.m.Op(w.ctx, spawner.Actor{UserID: alice}, s.CreationID, "Steve")
		expectRefused(t, "op while creating", err, spawner.RefusedNotReady)
		if len(r.calls) != 0 {
			t.Errorf("RCON called: %+v", r.calls)
		}
	})
}
