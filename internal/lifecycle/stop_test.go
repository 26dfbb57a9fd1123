package lifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// expectStoppedBy checks srv was stopped by the /server stop of by: task
// stopped, record and mirror entry gone, owner and log channel told, the
// ticket channel deleted after the delay.
func (w *world) expectStoppedBy(srv spawner.Server, by string) {
	w.tb.Helper()
	if t, _ := w.ecs.get(srv.TaskID); t.Status != spawner.TaskStopped {
		w.tb.Errorf("task %s is %s, want stopped", srv.ShortTaskID(), t.Status)
	}
	w.expectNothingLeft()
	last := w.lastMessage(srv.ChannelID)
	w.mustContain("ticket channel's last message", last.content, "Server stopped by "+text.Mention(by))
	if len(last.mentions) != 1 || last.mentions[0] != srv.Owner {
		w.tb.Errorf("the stop message pings %v, want the owner %s", last.mentions, srv.Owner)
	}
	w.mustContain("status message", w.chat.messages(srv.ChannelID)[0].content, "⏹️ stopped")
	if got := w.chat.logsWith(text.Mention(srv.Owner), "stopped by "+text.Mention(by), srv.ShortTaskID()); len(got) != 1 {
		w.tb.Errorf("log channel lines telling the stop = %q, want 1\n%s", got, w)
	}
	if got := w.metrics.stoppedOf(spawner.CauseCommand); got != 1 {
		w.tb.Errorf("metrics counted %d command stops, want 1", got)
	}
	w.expectClosedAfterDelay(srv.ChannelID)
}

func TestStopByOwner(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	got, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got.TaskID != srv.TaskID {
		t.Errorf("Stop returned %+v, want alice's server", got)
	}
	w.expectStoppedBy(srv, alice)
	if req, _ := w.request(alice, ""); w.m.Create(req) != nil {
		t.Errorf("alice cannot create a server after stopping hers")
	}
}

func TestStopByAdmin(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); err != nil {
		t.Fatalf("admin's Stop: %v", err)
	}
	w.expectStoppedBy(srv, admin.UserID)
}

func TestStopRefused(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	for _, tc := range []struct {
		name string
		by   spawner.Actor
		id   string
		want spawner.RefusalCode
	}{
		{"another member", spawner.Actor{UserID: bob}, srv.ShortTaskID(), spawner.RefusedNotOwner},
		{"unknown id", spawner.Actor{UserID: alice}, "0123456789abcdef", spawner.RefusedNoServer},
		{"unknown id by admin", admin, "0123456789abcdef", spawner.RefusedNoServer},
		{"empty id", spawner.Actor{UserID: alice}, "", spawner.RefusedNoServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.m.Stop(w.ctx, tc.by, tc.id)
			if got := refusalCode(err); got != tc.want {
				t.Fatalf("Stop = %v, want refusal %d", err, tc.want)
			}
		})
	}
	if len(w.ecs.stopped()) > 0 || len(w.store.keys()) != 1 || len(w.m.Servers(admin)) != 1 {
		t.Errorf("a refused stop changed something\n%s", w)
	}
	if got := w.chat.logsWith("stopped"); len(got) > 0 {
		t.Errorf("a refused stop was logged: %q", got)
	}
}

func TestStopWhileStopping(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	entered := make(chan struct{})
	gate := make(chan struct{})
	w.ecs.onCall("StopTask", func() {
		close(entered)
		<-gate
	})
	first := make(chan error, 1)
	go func() {
		_, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
		first <- err
	}()
	<-entered
	if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); refusalCode(err) != spawner.RefusedStopping {
		t.Errorf("second Stop while stopping = %v, want RefusedStopping", err)
	}
	w.ecs.onCall("StopTask", nil)
	close(gate)
	if err := <-first; err != nil {
		t.Fatalf("first Stop: %v", err)
	}
	w.expectStoppedBy(srv, alice)
	if n := w.j.count("ecs.StopTask"); n != 1 {
		t.Errorf("StopTask called %d times, want 1", n)
	}
}

// stopResult is what a Stop run in the background returned.
type stopResult struct {
	srv spawner.Server
	err error
}

// stopAsync runs Stop in the background: during a creation it waits for
// the creation worker to end the server.
func (w *world) stopAsync(by spawner.Actor, id string) <-chan stopResult {
	res := make(chan stopResult, 1)
	go func() {
		srv, err := w.m.Stop(w.ctx, by, id)
		res <- stopResult{srv, err}
	}()
	return res
}

// awaitStop waits for a Stop run by stopAsync to return.
func (w *world) awaitStop(res <-chan stopResult) stopResult {
	w.tb.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(waitTimeout):
		w.tb.Fatalf("Stop did not return within %v\n%s", waitTimeout, w)
		return stopResult{}
	}
}

// stopAsked reports whether a /server stop is waiting for the creation worker of creation id.
func (w *world) stopAsked(id string) bool {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	e, ok := w.m.entries[id]
	return ok && e.stopBy != nil
}

func TestStopDuringCreation(t *testing.T) {
	t.Run("while the task boots", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		r := w.create(alice, "")
		w.blockUntil(1) // booting: the task is PROVISIONING, next poll in 5s
		srv, _ := w.serverOf(alice)
		entered, gate := make(chan struct{}), make(chan struct{})
		w.ecs.onCall("StopTask", func() {
			close(entered)
			<-gate
		})
		res := w.stopAsync(spawner.Actor{UserID: alice}, srv.ShortTaskID())
		select {
		case <-entered: // the worker is ending it without waiting for its poll
		case <-time.After(waitTimeout):
			t.Fatalf("the creation worker did not start stopping the task\n%s", w)
		}
		if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); refusalCode(err) != spawner.RefusedStopping {
			t.Errorf("second Stop = %v, want RefusedStopping", err)
		}
		w.ecs.onCall("StopTask", nil)
		close(gate)
		got := w.awaitStop(res)
		if got.err != nil || got.srv.CreationID != srv.CreationID {
			t.Fatalf("Stop during creation = %+v, %v", got.srv, got.err)
		}
		// Stop answers once the task is stopped and the record removed.
		if tk, _ := w.ecs.get(srv.TaskID); tk.Status != spawner.TaskStopped || len(w.store.keys()) != 0 {
			t.Errorf("Stop returned with the task %s and the table %v", tk.Status, w.store.keys())
		}
		if !w.clock.Now().Equal(t0) {
			t.Errorf("the clock moved")
		}
		w.waitWorkers()
		w.expectStoppedBy(srv, alice)
		// The member's answer no longer points to the deleted channel.
		replies := r.all()
		if len(replies) < 2 {
			t.Fatalf("replies = %q, want the channel link then the stop", replies)
		}
		w.mustContain("first reply", replies[0], text.ChannelLink(srv.ChannelID))
		last := replies[len(replies)-1]
		w.mustContain("last reply", last, "creation of your server was stopped")
		if strings.Contains(last, text.ChannelLink(srv.ChannelID)) {
			t.Errorf("the last reply still points to the deleted channel: %q", last)
		}
		if n := len(w.ecs.all()); n != 1 {
			t.Errorf("%d tasks started, want 1", n)
		}
	})
	t.Run("its end fails", func(t *testing.T) {
		// The table is down: the member is told the stop is retried, as
		// for a watched server, instead of waiting for the retry.
		w := newWorld(t)
		w.recover()
		w.create(alice, "")
		w.blockUntil(1)
		srv, _ := w.serverOf(alice)
		w.store.failNext("Delete", 1000, errBoom)
		got := w.awaitStop(w.stopAsync(spawner.Actor{UserID: alice}, srv.ShortTaskID()))
		if got.err == nil || refusalCode(got.err) != 0 {
			t.Fatalf("Stop during creation with the table down = %v, want a failure to tell", got.err)
		}
		w.expectPhase(srv.CreationID, phaseEndWanted)
	})
	t.Run("before the task exists", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		gate := make(chan struct{})
		w.chat.onCall("CreateTicket", func() { <-gate })
		w.create(alice, "")
		srv, _ := w.serverOf(alice)
		res := w.stopAsync(spawner.Actor{UserID: alice}, srv.CreationID)
		w.waitFor("the stop to be asked", func() bool { return w.stopAsked(srv.CreationID) })
		close(gate)
		if got := w.awaitStop(res); got.err != nil {
			t.Fatalf("Stop by creation id: %v", got.err)
		}
		w.waitWorkers()
		if n := len(w.ecs.runSpecs()); n != 0 {
			t.Errorf("RunTask called %d times after the stop", n)
		}
		w.expectNothingLeft()
		ch := w.chat.channels()[0]
		w.mustContain("ticket channel's last message", w.lastMessage(ch).content, "Server stopped by "+text.Mention(alice))
		w.expectClosedAfterDelay(ch)
	})
}

// TestStopAskedWhileBecomingReady asks for the stop while the creation's
// last ping is under way: the stop is accepted, so it must happen.
func TestStopAskedWhileBecomingReady(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.ecs.startStatus = spawner.TaskRunning
	w.pinger.answer(4)
	var res <-chan stopResult
	var registered bool
	w.pinger.onCall("Ping", func() {
		if res != nil {
			return
		}
		srv, _ := w.serverOf(alice)
		res = w.stopAsync(spawner.Actor{UserID: alice}, srv.ShortTaskID())
		for deadline := time.Now().Add(waitTimeout); !registered && time.Now().Before(deadline); {
			registered = w.stopAsked(srv.CreationID)
			time.Sleep(time.Millisecond)
		}
	})
	w.create(alice, "")
	w.waitWorkers()
	w.pinger.onCall("Ping", nil)
	if res == nil || !registered {
		t.Fatalf("the stop was not asked during the ping\n%s", w)
	}
	w.pass(true)
	w.advanceAndPass(w.game().CheckInterval, true)
	select {
	case got := <-res:
		if got.err != nil {
			t.Errorf("Stop = %v", got.err)
		}
	case <-time.After(waitTimeout):
		srv, _ := w.serverOf(alice)
		t.Fatalf("bug: a stop asked while the server became ready is lost: Stop has not returned, server %s is %s, tasks running %v\n%s",
			srv.ShortTaskID(), srv.State, taskIDs(w.ecs.running()), w)
	}
	w.expectNothingLeft()
}

func TestStopRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  func(w *world)
		tries int // failed attempts before the one that works
	}{
		{"StopTask fails", func(w *world) { w.ecs.failNext("StopTask", 2, errBoom) }, 2},
		{"Delete fails", func(w *world) { w.store.failNext("Delete", 1, errBoom) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.recover()
			srv, _ := w.readyServer(alice)
			tc.fail(w)
			_, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
			if !errors.Is(err, errBoom) {
				t.Fatalf("Stop = %v, want the failure", err)
			}
			// Kept and tracked, admins told once.
			check := func(when string) {
				t.Helper()
				if _, ok := w.store.get(srv.TaskID); !ok {
					t.Errorf("%s: the record was removed although the stop failed", when)
				}
				got, ok := w.serverOf(alice)
				if !ok {
					t.Fatalf("%s: the server is no longer tracked\n%s", when, w)
				}
				if got.State != spawner.StateStopping {
					t.Errorf("%s: state = %s, want stopping", when, got.State)
				}
				w.expectPhase(srv.CreationID, phaseEndWanted) // retried by the sweep only
				if l := w.chat.logsWith("Could not stop task `" + srv.ShortTaskID() + "`"); len(l) != 1 {
					t.Errorf("%s: log channel told the failed stop %d times, want once\n%s", when, len(l), w)
				}
				if l := w.chat.logsWith("stopped by"); len(l) != 0 {
					t.Errorf("%s: log channel says stopped: %q", when, l)
				}
			}
			check("after Stop")
			if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); refusalCode(err) != spawner.RefusedStopping {
				t.Errorf("Stop while a stop is pending = %v, want RefusedStopping", err)
			}
			w.advanceAndPass(w.cfg.PollInterval, false)
			if n := w.j.count("ecs.StopTask"); n != 1 {
				t.Errorf("a pass without sweep retried the stop (%d StopTask calls)", n)
			}
			for i := 1; i < tc.tries; i++ {
				w.advanceAndPass(w.game().CheckInterval, true)
				check("after a failed retry")
			}
			w.advanceAndPass(w.game().CheckInterval, true)
			w.expectStoppedBy(srv, alice)
		})
	}
}
