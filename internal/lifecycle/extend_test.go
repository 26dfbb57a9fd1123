package lifecycle

import (
	"context"
	"errors"
	"slices"
	"strconv"
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

// extended is the purpose of the ticket's message of an extension to end.
func extended(end time.Time) string { return "extended-" + strconv.FormatInt(end.UnixMilli(), 10) }

func TestExtendUpToTheLimit(t *testing.T) {
	w := newWorld(t, withExtensions(2, 30*time.Minute))
	w.recover()
	srv := w.readyServer(alice)
	member := spawner.Actor{UserID: alice}
	end := srv.CreatedAt.Add(w.game().MaxDuration)

	for i, left := range []int{1, 0} {
		end = end.Add(30 * time.Minute)
		ext := w.extend(member, srv)
		if !ext.StopsAt.Equal(end) || ext.Left != left || ext.Server.Extensions != i+1 {
			t.Fatalf("extension %d: stops %v, %d left, count %d; want %v, %d left, count %d", i+1, ext.StopsAt, ext.Left, ext.Server.Extensions, end, left, i+1)
		}
		rec, _ := w.table.get(srv.Key())
		if !rec.StopsAt.Equal(end) || rec.Extensions != i+1 {
			t.Errorf("record after extension %d: stops %v, count %d; want %v, %d", i+1, rec.StopsAt, rec.Extensions, end, i+1)
		}
		if got := w.m.StopsAt(ext.Server); !got.Equal(end) {
			t.Errorf("StopsAt = %v, want %v", got, end)
		}
		w.waitFor("the ticket and the log channel told of the extension", func() bool {
			_, ok := w.said(srv, extended(end))
			return ok && w.logged(srv, "log-"+extended(end)) == 1
		})
		// The owner's own extension pings nobody.
		if p := w.expectSaid(srv, extended(end)); p.content != text.En.ExtendedTicket(alice, end) {
			t.Errorf("the ticket's message does not say alice extended it to %v:\n%s", end, p.content)
		}
	}
	w.waitWorkers()
	ext, _ := w.serverOf(alice)
	if status, _ := w.said(srv, "status"); status.content != text.En.Status(w.game(), ext, text.En.StatusStopsAt(end)) {
		t.Errorf("the status message does not show the new stop time:\n%s", status.content)
	}

	// The limit: refused, nothing changed.
	puts := w.table.puts.len()
	_, err := w.m.Extend(w.ctx, member, srv.ShortTaskID())
	if r := refusalOf(t, "third extension", err, spawner.RefusedExtendLimit); r.Limit != 2 {
		t.Errorf("refusal names the limit %d, want 2", r.Limit)
	}
	if n := w.table.puts.len(); n != puts {
		t.Errorf("a refused extension wrote the table")
	}
	if s, _ := w.serverOf(alice); !s.StopsAt.Equal(end) || s.Extensions != 2 {
		t.Errorf("after a refusal: stops %v, count %d; want %v, 2", s.StopsAt, s.Extensions, end)
	}

	// An admin has no limit and does not use the member's up.
	end = end.Add(30 * time.Minute)
	ext2 := w.extend(admin, srv)
	if !ext2.StopsAt.Equal(end) || ext2.Left != -1 || ext2.Server.Extensions != 2 {
		t.Errorf("admin's extension: stops %v, %d left, count %d; want %v, -1, 2", ext2.StopsAt, ext2.Left, ext2.Server.Extensions, end)
	}
	w.waitFor("the ticket told of the admin's extension", func() bool { _, ok := w.said(srv, extended(end)); return ok })
	w.expectSaid(srv, extended(end), alice) // pinging the owner
}

func TestExtendRefusals(t *testing.T) {
	w := newWorld(t, withExtensions(2, 30*time.Minute))
	w.recover()
	srv := w.readyServer(alice)

	_, err := w.m.Extend(w.ctx, spawner.Actor{UserID: bob}, srv.ShortTaskID())
	expectRefused(t, "someone else's server", err, spawner.RefusedNotOwner)
	_, err = w.m.Extend(w.ctx, spawner.Actor{UserID: alice}, "0123456789abcdef")
	expectRefused(t, "no such server", err, spawner.RefusedNoServer)

	// A creation under way cannot be extended yet.
	w.cluster.startIn(spawner.TaskProvisioning)
	w.create(bob, "")
	w.blockUntil(1)
	creating, _ := w.serverOf(bob)
	_, err = w.m.Extend(w.ctx, spawner.Actor{UserID: bob}, creating.CreationID)
	expectRefused(t, "a server being created", err, spawner.RefusedNotReady)

	// A failed save changes nothing and says so.
	w.store.PutFn = func(context.Context, spawner.Server) error { return errBoom }
	_, err = w.m.Extend(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
	var r *spawner.Refusal
	if err == nil || errors.As(err, &r) {
		t.Fatalf("extension with the table down: err = %v, want a failure", err)
	}
	if s, _ := w.serverOf(alice); !s.StopsAt.IsZero() || s.Extensions != 0 {
		t.Errorf("a failed extension changed the server: %+v", s)
	}

	// Members may not extend at all with a limit of 0; admins still may.
	w2 := newWorld(t, withExtensions(0, time.Hour))
	w2.recover()
	srv2 := w2.readyServer(alice)
	_, err = w2.m.Extend(w2.ctx, spawner.Actor{UserID: alice}, srv2.ShortTaskID())
	if r := refusalOf(t, "members may not extend", err, spawner.RefusedExtendLimit); r.Limit != 0 {
		t.Errorf("limit %d, want 0", r.Limit)
	}
	w2.extend(admin, srv2)
}

// The runtime warning is armed again for the new end, and the server stops
// at the new end, not the old one.
func TestExtendRearmsTheRuntimeWarning(t *testing.T) {
	w := newWorld(t, withExtensions(2, 30*time.Minute), withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
	w.recover()
	srv := w.readyServer(alice)
	g := w.game()
	oldEnd := srv.CreatedAt.Add(g.MaxDuration)
	warnings := func() []string {
		var out []string
		for _, p := range w.guild.purposes(srv.ChannelID, 0) {
			if strings.HasPrefix(p, "warn-runtime-") {
				out = append(out, p)
			}
		}
		return out
	}
	w.clock.AdvanceTo(oldEnd.Add(-g.MaxDurationWarning))
	w.pass(false)
	if got := warnings(); len(got) != 1 {
		t.Fatalf("%d runtime warnings before the extension, want 1\n%s", len(got), w)
	}
	w.extend(spawner.Actor{UserID: alice}, srv)
	newEnd := oldEnd.Add(30 * time.Minute)
	if s, _ := w.serverOf(alice); s.RuntimeWarned {
		t.Errorf("the runtime warning is not armed again")
	}
	if rec, _ := w.table.get(srv.Key()); rec.RuntimeWarned || !rec.StopsAt.Equal(newEnd) {
		t.Errorf("record: warned %v, stops %v; want armed again, %v", rec.RuntimeWarned, rec.StopsAt, newEnd)
	}

	w.clock.AdvanceTo(oldEnd)
	w.pass(true)
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("stopped at the old end\n%s", w)
	}
	if got := warnings(); len(got) != 1 {
		t.Errorf("%d runtime warnings at the old end, want still 1", len(got))
	}
	w.clock.AdvanceTo(newEnd.Add(-g.MaxDurationWarning))
	w.pass(false)
	if got, want := warnings(), "warn-runtime-"+strconv.FormatInt(newEnd.UnixMilli(), 10); len(got) != 2 || got[1] != want {
		t.Fatalf("runtime warnings %q, want a second one naming the new end\n%s", got, w)
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
	w.expectEnded(srv, spawner.CauseRuntime)
}

// A restart keeps the new stop time and the count.
func TestExtensionSurvivesRecover(t *testing.T) {
	w := newWorld(t, withExtensions(2, 30*time.Minute), withGame(func(g *spawner.Game) { g.MinPlayers = 0 }))
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(-80 * time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	srv.StopsAt = t0.Add(40 * time.Minute)
	srv.Extensions = 2
	w.table.put(srv)
	w.recover()
	if got := w.m.StopsAt(srv); !got.Equal(srv.StopsAt) {
		t.Errorf("StopsAt after recovery = %v, want %v", got, srv.StopsAt)
	}
	_, err := w.m.Extend(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
	if r := refusalOf(t, "extension past the limit after a restart", err, spawner.RefusedExtendLimit); r.Limit != 2 {
		t.Errorf("refusal names the limit %d, want 2", r.Limit)
	}
	w.advanceAndPass(39*time.Minute, true)
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("stopped before the recorded stop time\n%s", w)
	}
	w.advanceAndPass(time.Minute, false)
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("still running at the recorded stop time\n%s", w)
	}
	if said := w.guild.purposes(srv.ChannelID, 0); !slices.Contains(said, "end") {
		t.Errorf("said %q, want the end", said)
	}
}
