package lifecycle

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// TestCreateCooldown: a member who created a server less than the cooldown
// ago is refused, told when to retry as a Discord timestamp; admins are
// exempt; the cooldown counts from the last accepted creation.
func TestCreateCooldown(t *testing.T) {
	w := newWorld(t, withConfig(func(c *Options) { c.CreateCooldown = 0 })) // the default
	w.recover()
	srv, _ := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.clock.Advance(time.Minute)
	req, r := w.request(alice, "")
	err := w.m.Create(req)
	ref, ok := err.(*spawner.Refusal)
	until := t0.Add(DefaultCreateCooldown)
	if !ok || ref.Code != spawner.RefusedCooldown || !ref.Until.Equal(until) {
		t.Fatalf("Create a minute after the last = %v, want RefusedCooldown until %v\n%s", err, until, w)
	}
	if len(r.all()) != 0 || len(w.chat.channels()) != 1 {
		t.Errorf("a refused Create did something: replies %q, channels %v", r.all(), w.chat.channels())
	}
	for _, lang := range []text.Lang{text.En, text.Fr} {
		msg := lang.Refusal(ref)
		w.mustContain("cooldown refusal", msg, text.Timestamp(until, spawner.TimeRelative))
	}
	// The refused attempt does not move the cooldown; an admin is exempt.
	w.clock.Advance(30 * time.Second)
	if err := w.m.Create(spawner.CreateRequest{Owner: admin.UserID, Admin: true, Locale: "en-US"}); err != nil {
		t.Errorf("admin's Create = %v, want accepted", err)
	}
	w.clock.AdvanceTo(until)
	req, _ = w.request(alice, "")
	if err := w.m.Create(req); err != nil {
		t.Errorf("Create once the cooldown is over = %v, want accepted", err)
	}
}

var errFull = fmt.Errorf("create ticket channel: %w", spawner.ErrCategoryFull)

// TestCategoryFull: a full category is a clear refusal with nothing
// started and nothing recorded; a lingering ticket of an ended server gives
// its slot up first.
func TestCategoryFull(t *testing.T) {
	t.Run("nothing to free", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		w.chat.failNext("CreateTicket", 1, errFull)
		r := w.create(alice, "")
		w.waitWorkers()
		replies := r.all()
		if len(replies) != 1 {
			t.Fatalf("replies = %q, want one\n%s", replies, w)
		}
		w.mustContain("reply", replies[0], "ticket category is full", "Nothing was started")
		if n := w.j.count("chat.CreateTicket"); n != 1 {
			t.Errorf("%d CreateTicket calls, want 1 (nothing to free)", n)
		}
		if w.j.count("store.Put") != 0 || w.j.count("ecs.RunTask") != 0 {
			t.Errorf("a refused creation recorded or ran something\n%s", w)
		}
		w.expectNothingLeft()
		req, _ := w.request(alice, "")
		if err := w.m.Create(req); err != nil {
			t.Errorf("alice's next Create = %v, want accepted", err)
		}
	})
	t.Run("a lingering ticket gives its slot up", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		old, _ := w.readyServer(bob)
		if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: bob}, old.ShortTaskID()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if w.chat.isDeleted(old.ChannelID) {
			t.Fatalf("bob's ticket closed before its delay")
		}
		w.chat.failNext("CreateTicket", 1, errFull)
		w.ecs.startStatus = spawner.TaskProvisioning
		r := w.create(alice, "")
		w.blockUntil(1) // alice's task is booting
		if !w.chat.isDeleted(old.ChannelID) {
			t.Errorf("bob's lingering ticket was not closed early\n%s", w)
		}
		del, second := w.j.index("chat.DeleteChannel "+old.ChannelID), strings.LastIndex(w.j.String(), "chat.CreateTicket")
		if del < 0 || second < 0 || w.j.count("chat.CreateTicket") != 3 {
			t.Errorf("want bob's channel deleted, then alice's ticket made on the second try\n%s", w)
		}
		if _, ok := w.serverOf(alice); !ok || len(w.ecs.runSpecs()) != 2 {
			t.Errorf("alice's creation did not go on\n%s", w)
		}
		w.mustContain("reply", r.all()[0], "Follow it in")
	})
}

// TestNoPublicIP: a RUNNING task that AWS gave no public address fails the
// creation with that reason, shows it got as far as running, and warns once.
func TestNoPublicIP(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.ecs.startStatus = spawner.TaskRunning
	w.ecs.failNext("Address", 1000, fmt.Errorf("describe network interface eni-1: %w", spawner.ErrNoPublicIP))
	r := w.create(alice, "")
	w.waitWorkers()
	why := text.En.FailNoPublicIP()
	replies := r.all()
	w.mustContain("last reply", replies[len(replies)-1], why)
	ch := w.chat.channels()[0]
	msgs := w.chat.messages(ch)
	w.mustContain("status message", msgs[0].content, "✅ running", "⏹️ stopped")
	w.mustContain("ticket channel's last message", w.lastMessage(ch).content, why)
	if n := strings.Count(w.logs.String(), "without a public address"); n != 1 {
		t.Errorf("logged the missing address %d times, want once\n%s", n, w)
	}
	if n := w.j.count("ecs.Address"); n != 1 {
		t.Errorf("%d address lookups, want 1 (the answer is final)", n)
	}
	w.expectNothingLeft()
}

// TestAddressErrorLoggedOnce: a lookup that keeps failing while the task
// runs is retried each poll and logged once.
func TestAddressErrorLoggedOnce(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.ecs.startStatus = spawner.TaskRunning
	w.ecs.failNext("Address", 3, errBoom)
	w.pinger.answer(4)
	w.create(alice, "")
	w.pollUntilWorkersDone(10)
	if srv, ok := w.serverOf(alice); !ok || srv.State != spawner.StateReady {
		t.Fatalf("server not ready after the address came\n%s", w)
	}
	if n := strings.Count(w.logs.String(), "task address; will retry"); n != 1 {
		t.Errorf("logged the failing lookup %d times, want once", n)
	}
}

// TestBootMatchesTaskByARN: a DescribeTasks answer holding another task
// first must not lend its status or its address to the creation.
func TestBootMatchesTaskByARN(t *testing.T) {
	w := newWorld(t)
	w.recover()
	other := spawner.Task{ID: "arn:aws:ecs:eu-west-3:111122223333:task/games/0ther", Status: spawner.TaskRunning, StartedBy: spawner.StartedBy}
	w.ecs.mu.Lock()
	w.ecs.describeFirst = []spawner.Task{other}
	w.ecs.ips[other.ID] = "203.0.113.99"
	w.ecs.mu.Unlock()
	w.pinger.answer(4)
	w.create(alice, "")
	w.blockUntil(1)
	if srv, _ := w.serverOf(alice); srv.State != spawner.StateProvisioning || srv.Address != "" {
		t.Fatalf("after one poll the server is %s at %q, want provisioning with no address\n%s", srv.State, srv.Address, w)
	}
	w.ecs.setAll(spawner.TaskRunning)
	w.pollUntilWorkersDone(5)
	srv, _ := w.serverOf(alice)
	ready := w.lastMessage(srv.ChannelID).content
	w.mustContain("ready message", ready, w.ecs.ipOf(srv.TaskID))
	if strings.Contains(ready, "203.0.113.99") {
		t.Errorf("the ready message names another task's address:\n%s", ready)
	}
}

// TestStatusMessageFailureCarriesOn: the status message failing (here for
// a missing permission, named in the log) does not abandon the creation; it
// is posted at the next step and kept up to date.
func TestStatusMessageFailureCarriesOn(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.chat.failNext("Send", 1, &spawner.MissingPermission{System: "the chat", Action: "send a message", Need: "Send Messages", Err: errBoom})
	srv, r := w.readyServer(alice)
	if !strings.Contains(w.logs.String(), `need="Send Messages"`) {
		t.Errorf("the log does not name the missing permission\n%s", w.logs)
	}
	msgs := w.chat.messages(srv.ChannelID)
	if len(msgs) != 2 {
		t.Fatalf("ticket channel has %d messages, want the status and the ready message\n%s", len(msgs), w)
	}
	w.mustContain("status message", msgs[0].content, "✅ ready")
	w.mustContain("ready message", msgs[1].content, srv.HostPort(), srv.Token)
	for _, m := range r.all() {
		if strings.Contains(m, "could not be created") {
			t.Errorf("alice was told the creation failed: %q", m)
		}
	}
}

// TestMustReadMessagesDelivered: the ready message, failing on a Discord
// outage or a missing permission, is retried with backoff until the owner
// gets it, and the failure is logged once (naming the permission).
func TestMustReadMessagesDelivered(t *testing.T) {
	perm := &spawner.MissingPermission{System: "the chat", Action: "send a message", Need: "View Channel, Send Messages", Err: errBoom}
	for _, tc := range []struct {
		name string
		err  error
		log  string
	}{
		{"outage", errBoom, "send ready message; will retry"},
		{"missing permission", perm, `need="View Channel, Send Messages"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.recover()
			w.ecs.startStatus = spawner.TaskRunning
			w.pinger.answer(4)
			w.chat.failAfter("Send", 1, 3, tc.err) // the status message goes, the ready message fails 3 times
			w.create(alice, "")
			srv := w.waitServerReady(alice)
			for i := range 3 {
				w.blockUntil(1) // the retry waits on its backoff
				if n := len(w.chat.find(srv.ChannelID, "your server is ready")); n != 0 {
					t.Fatalf("ready message posted after %d failures", i)
				}
				next, _ := w.clock.NextDeadline()
				w.clock.AdvanceTo(next)
			}
			w.waitFor("the ready message", func() bool { return len(w.chat.find(srv.ChannelID, srv.HostPort(), srv.Token)) == 1 })
			if got := w.chat.find(srv.ChannelID, "your server is ready"); len(got[0].mentions) != 1 || got[0].mentions[0] != alice {
				t.Errorf("the ready message pings %v, want alice", got[0].mentions)
			}
			if n := strings.Count(w.logs.String(), tc.log); n != 1 {
				t.Errorf("logged %q %d times, want once\n%s", tc.log, n, w)
			}
		})
	}
}

// TestEndMessageRetriedUntilClosed: the end message is retried while the
// ticket channel lingers, and no longer once it is deleted.
func TestEndMessageRetriedUntilClosed(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv, _ := w.readyServer(alice)
	w.chat.failNext("Send", 1000, errBoom)
	if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.blockUntil(1) // the retry waits on its backoff
	sends := w.j.count("chat.Send")
	next, _ := w.clock.NextDeadline()
	w.clock.AdvanceTo(next)
	w.blockUntil(1)
	if n := w.j.count("chat.Send"); n != sends+1 {
		t.Errorf("%d sends after the backoff, want one more than %d: the end message was not retried\n%s", n, sends, w)
	}
	w.clock.AdvanceTo(t0.Add(w.cfg.TicketCloseDelay))
	w.pass(false) // the channel closes; the retries stop
	w.waitWorkers()
	if !w.chat.isDeleted(srv.ChannelID) {
		t.Fatalf("ticket channel not closed\n%s", w)
	}
}

// waitServerReady waits until owner's server is ready in the mirror.
func (w *world) waitServerReady(owner string) spawner.Server {
	w.tb.Helper()
	var srv spawner.Server
	w.waitFor(owner+"'s server ready", func() bool {
		s, ok := w.serverOf(owner)
		srv = s
		return ok && s.State == spawner.StateReady
	})
	return srv
}

// TestRuntimeWatchdogHonoursStopsAt: a server whose stop time was moved
// (by /server extend) runs past the game's maximum duration.
func TestRuntimeWatchdogHonoursStopsAt(t *testing.T) {
	w := newWorld(t)
	g := w.game()
	srv := w.seed(seed{owner: alice, createdAt: t0.Add(-g.MaxDuration + time.Minute), state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	srv.StopsAt = t0.Add(30 * time.Minute)
	w.store.put(srv)
	w.pinger.answer(g.MinPlayers)
	w.recover()
	w.advanceAndPass(2*time.Minute, false) // past CreatedAt+MaxDuration
	if _, ok := w.serverOf(alice); !ok {
		t.Fatalf("stopped at the game's maximum duration, not at StopsAt\n%s", w)
	}
	w.clock.AdvanceTo(srv.StopsAt)
	w.pass(false)
	if _, ok := w.serverOf(alice); ok {
		t.Errorf("still running at StopsAt\n%s", w)
	}
	if got := w.m.StopsAt(srv); !got.Equal(srv.StopsAt) {
		t.Errorf("StopsAt = %v, want the record's %v", got, srv.StopsAt)
	}
}

// TestSweepBacksOff: a sweep that cannot read ECS is tried again sooner,
// with a growing wait, logged once, and its recovery is logged.
func TestSweepBacksOff(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.ecs.failNext("ListOwnedTasks", 3, errBoom)
	base := w.ecs.listCount() // Recover's
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second} {
		w.blockUntil(1)
		if n := w.ecs.listCount() - base; n != i+1 {
			t.Fatalf("%d ListOwnedTasks calls before retry %d, want %d\n%s", n, i+1, i+1, w)
		}
		next, _ := w.clock.NextDeadline()
		if got := next.Sub(w.clock.Now()); got != wait {
			t.Errorf("retry %d waits %v, want %v", i+1, got, wait)
		}
		w.clock.AdvanceTo(next)
	}
	w.waitFor("the sweep to recover", func() bool { return strings.Contains(w.logs.String(), "sweep recovered") })
	if n := strings.Count(w.logs.String(), "sweep failed"); n != 1 {
		t.Errorf("logged the failing sweep %d times, want once", n)
	}
	w.blockUntil(1)
	if next, _ := w.clock.NextDeadline(); next.Sub(w.clock.Now()) != w.game().CheckInterval {
		t.Errorf("after recovering the next sweep is at %v, want one interval later", next)
	}
	w.cancel()
	<-done
}

// TestShutdownLeavesNoGoroutine: Run, a booting creation and a message
// being retried all end with the context and Close; nothing is left.
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	w := newWorld(t)
	w.recover()
	readyAlice, _ := w.readyServer(alice)
	w.pinger.answer(0)
	w.chat.failNext("Send", 1000, errBoom)
	w.ecs.startStatus = spawner.TaskProvisioning
	w.create(bob, "")
	done := make(chan error, 1)
	go func() { done <- w.m.Run(w.ctx) }()
	w.advanceAndPass(w.game().CheckInterval, false) // alice's check: too few, a warning that is retried
	w.waitFor("the warning's retry to wait", func() bool {
		return strings.Contains(w.logs.String(), "send player warning; will retry") && w.clock.Waiters() >= 3
	})
	w.cancel()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return\n%s", w)
	}
	w.waitFor("every goroutine of the Manager to end", func() bool { return runtime.NumGoroutine() <= before })
	if _, ok := w.serverOf(alice); !ok || readyAlice.TaskID == "" {
		t.Errorf("alice's server was dropped at shutdown")
	}
}
