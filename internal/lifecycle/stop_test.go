package lifecycle

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// expectStoppedBy checks srv was stopped by the /server stop of by: task
// stopped, record and mirror entry gone, owner and log channel told, the
// status message showing the end, the ticket channel deleted after the
// delay.
func (w *world) expectStoppedBy(srv spawner.Server, by string) {
	w.tb.Helper()
	if srv.TaskID != "" {
		if t := w.cluster.get(srv.TaskID); t.Status != spawner.TaskStopped {
			w.tb.Errorf("task %s is %s, want stopped", srv.ShortTaskID(), t.Status)
		}
	}
	w.expectNothingLeft()
	w.expectEnded(srv, spawner.CauseCommand)
	end, _ := w.said(srv, "end")
	if want := text.En.Ended(srv.Owner, spawner.CauseCommand, by, "", w.cfg.TicketCloseDelay); end.content != want {
		w.tb.Errorf("end message:\n%s\nwant the one naming who stopped it:\n%s", end.content, want)
	}
	stopped := srv
	stopped.State = spawner.StateStopped
	if status, _ := w.said(srv, "status"); status.content != text.En.Status(w.game(), stopped, "") {
		w.tb.Errorf("the status message does not show the end:\n%s", status.content)
	}
	w.expectClosedAfterDelay(srv.ChannelID)
}

func TestStopByOwner(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	got, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got.TaskID != srv.TaskID {
		t.Errorf("Stop returned %+v, want alice's server", got)
	}
	w.expectStoppedBy(srv, alice)
	if got := w.states(srv.CreationID); got[len(got)-1] != spawner.StateStopping {
		t.Errorf("steps shown %v, want stopping last before the end", got)
	}
	if req, _ := w.request(alice, ""); w.m.Create(req) != nil {
		t.Errorf("alice cannot create a server after stopping hers")
	}
}

func TestStopByAdmin(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); err != nil {
		t.Fatalf("admin's Stop: %v", err)
	}
	w.expectStoppedBy(srv, admin.UserID)
}

func TestStopRefused(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
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
			expectRefused(t, "Stop", err, tc.want)
		})
	}
	if len(w.cluster.stops.all()) > 0 || len(w.table.keys()) != 1 || len(w.m.Servers(admin)) != 1 {
		t.Errorf("a refused stop changed something\n%s", w)
	}
	if n := w.logged(srv, "log-end"); n != 0 {
		t.Errorf("a refused stop was logged")
	}
}

// holdStop makes StopTask wait, once, until the returned gate is closed;
// entered is closed when it is called.
func (w *world) holdStop() (entered, gate chan struct{}, calls *atomic.Int32) {
	entered, gate, calls = make(chan struct{}), make(chan struct{}), &atomic.Int32{}
	w.tasks.StopTaskFn = func(ctx context.Context, arn, reason string) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-gate
		}
		return w.cluster.StopTask(ctx, arn, reason)
	}
	return entered, gate, calls
}

func TestStopWhileStopping(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	entered, gate, calls := w.holdStop()
	first := make(chan error, 1)
	go func() {
		_, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
		first <- err
	}()
	<-entered
	_, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID())
	expectRefused(t, "a second Stop while stopping", err, spawner.RefusedStopping)
	close(gate)
	if err := <-first; err != nil {
		t.Fatalf("first Stop: %v", err)
	}
	w.expectStoppedBy(srv, alice)
	if n := calls.Load(); n != 1 {
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
	var asked bool
	w.m.fleet.update(id, func(e *entry) { asked = e.stopBy != nil })
	return asked
}

func TestStopDuringCreation(t *testing.T) {
	t.Run("while the task boots", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		r := w.create(alice, "")
		w.blockUntil(1) // booting: the task is PROVISIONING, next poll in 5s
		srv, _ := w.serverOf(alice)
		entered, gate, _ := w.holdStop()
		res := w.stopAsync(spawner.Actor{UserID: alice}, srv.ShortTaskID())
		select {
		case <-entered: // the worker is ending it without waiting for its poll
		case <-time.After(waitTimeout):
			t.Fatalf("the creation worker did not start stopping the task\n%s", w)
		}
		_, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID())
		expectRefused(t, "a second Stop", err, spawner.RefusedStopping)
		close(gate)
		got := w.awaitStop(res)
		if got.err != nil || got.srv.CreationID != srv.CreationID {
			t.Fatalf("Stop during creation = %+v, %v", got.srv, got.err)
		}
		// Stop answers once the task is stopped and the record removed.
		if tk := w.cluster.get(srv.TaskID); tk.Status != spawner.TaskStopped || len(w.table.keys()) != 0 {
			t.Errorf("Stop returned with the task %s and the table %v", tk.Status, w.table.keys())
		}
		if !w.clock.Now().Equal(t0) {
			t.Errorf("the clock moved")
		}
		w.waitWorkers()
		w.expectStoppedBy(srv, alice)
		// The member's answer no longer points to the deleted channel.
		replies := r.all()
		if len(replies) != 2 || replies[0] != text.En.CreationStarted(srv.ChannelID) || replies[1] != text.En.CreationStopped(time.Time{}) {
			t.Errorf("replies = %q, want the channel then the stop", replies)
		}
		if n := len(w.cluster.all()); n != 1 {
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
		w.store.DeleteFn = func(context.Context, string) error { return errBoom }
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
		w.chat.CreateTicketFn = func(ctx context.Context, tk spawner.Ticket) (string, error) {
			<-gate
			return w.guild.CreateTicket(ctx, tk)
		}
		w.create(alice, "")
		srv, _ := w.serverOf(alice)
		res := w.stopAsync(spawner.Actor{UserID: alice}, srv.CreationID)
		w.waitFor("the stop to be asked", func() bool { return w.stopAsked(srv.CreationID) })
		close(gate)
		if got := w.awaitStop(res); got.err != nil {
			t.Fatalf("Stop by creation id: %v", got.err)
		}
		w.waitWorkers()
		if n := len(w.cluster.runs.all()); n != 0 {
			t.Errorf("RunTask called %d times after the stop", n)
		}
		srv.ChannelID = w.guild.channels()[0]
		w.expectStoppedBy(srv, alice)
	})
}

// TestStopAskedWhileBecomingReady asks for the stop while the creation's
// last ping is under way: the stop is accepted, so it must happen.
func TestStopAskedWhileBecomingReady(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.cluster.startIn(spawner.TaskRunning)
	w.players.answer(4)
	var res <-chan stopResult
	var registered bool
	w.pinger.PingFn = func(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error) {
		if res == nil {
			srv, _ := w.serverOf(alice)
			res = w.stopAsync(spawner.Actor{UserID: alice}, srv.ShortTaskID())
			for deadline := time.Now().Add(waitTimeout); !registered && time.Now().Before(deadline); {
				registered = w.stopAsked(srv.CreationID)
				time.Sleep(time.Millisecond)
			}
		}
		return w.players.Ping(ctx, proto, addr)
	}
	w.create(alice, "")
	w.waitWorkers()
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
		t.Fatalf("bug: a stop asked while the server became ready is lost: Stop has not returned, server %s is %s\n%s", srv.ShortTaskID(), srv.State, w)
	}
	w.expectNothingLeft()
}

func TestStopRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  func(w *world)
		tries int // failed attempts before the one that works
	}{
		{"StopTask fails", func(w *world) {
			fail := failing(2)
			w.tasks.StopTaskFn = func(ctx context.Context, arn, reason string) error {
				if fail() {
					return errBoom
				}
				return w.cluster.StopTask(ctx, arn, reason)
			}
		}, 2},
		{"Delete fails", func(w *world) {
			fail := failing(1)
			w.store.DeleteFn = func(ctx context.Context, key string) error {
				if fail() {
					return errBoom
				}
				return w.table.Delete(ctx, key)
			}
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.recover()
			srv := w.readyServer(alice)
			var stops atomic.Int32
			tc.fail(w)
			stop := w.tasks.StopTaskFn
			w.tasks.StopTaskFn = func(ctx context.Context, arn, reason string) error {
				stops.Add(1)
				return stop(ctx, arn, reason)
			}
			_, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID())
			if !errors.Is(err, errBoom) {
				t.Fatalf("Stop = %v, want the failure", err)
			}
			// Kept and tracked, admins told once.
			check := func(when string) {
				t.Helper()
				if _, ok := w.table.get(srv.TaskID); !ok {
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
				if n := w.logged(srv, "log-stop-retry"); n != 1 {
					t.Errorf("%s: log channel told the failed stop %d times, want once\n%s", when, n, w)
				}
				if n := w.logged(srv, "log-end"); n != 0 {
					t.Errorf("%s: log channel told the end", when)
				}
			}
			check("after Stop")
			_, err = w.m.Stop(w.ctx, admin, srv.ShortTaskID())
			expectRefused(t, "Stop while a stop is pending", err, spawner.RefusedStopping)
			w.advanceAndPass(w.cfg.PollInterval, false)
			if n := stops.Load(); n != 1 {
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

// TestEndMessageRetriedUntilClosed: the end message is retried while the
// ticket channel lingers, and no longer once it is deleted.
func TestEndMessageRetriedUntilClosed(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	var sends atomic.Int32
	w.chat.SendFn = func(context.Context, string, spawner.Message) (string, error) {
		sends.Add(1)
		return "", errBoom
	}
	if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.blockUntil(1) // the retry waits on its backoff
	before := sends.Load()
	next, _ := w.clock.NextDeadline()
	w.clock.AdvanceTo(next)
	w.blockUntil(1)
	if n := sends.Load(); n != before+1 {
		t.Errorf("%d sends after the backoff, want one more than %d: the end message was not retried\n%s", n, before, w)
	}
	w.clock.AdvanceTo(t0.Add(w.cfg.TicketCloseDelay))
	w.pass(false) // the channel closes; the retries stop
	w.waitWorkers()
	if !w.guild.isDeleted(srv.ChannelID) {
		t.Fatalf("ticket channel not closed\n%s", w)
	}
}
