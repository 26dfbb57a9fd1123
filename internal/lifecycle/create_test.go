package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// states is the steps the feed was told of server id, in order.
func (w *world) states(id string) []spawner.State {
	var out []spawner.State
	for _, e := range w.feed.all() {
		if e.Server == id && e.Type == spawner.EventState {
			out = append(out, e.State)
		}
	}
	return out
}

// order records the calls of several fakes, in order.
type order struct {
	mu    sync.Mutex
	calls []string
}

func (o *order) add(call string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, call)
}

func (o *order) index(call string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Index(o.calls, call)
}

func TestCreateBootsToReady(t *testing.T) {
	for _, tc := range []struct{ variant, want, allow string }{
		{variant: "official", want: "official", allow: "false"},
		{variant: "non_official", want: "non_official", allow: "true"},
		{variant: "", want: "official", allow: "false"}, // the game's default variant
	} {
		t.Run("variant="+tc.variant, func(t *testing.T) {
			w := newWorld(t)
			w.recover()
			calls := &order{}
			gate := make(chan struct{})
			w.chat.CreateTicketFn = func(ctx context.Context, tk spawner.Ticket) (string, error) {
				<-gate
				return w.guild.CreateTicket(ctx, tk)
			}
			w.store.PutFn = func(ctx context.Context, s spawner.Server) error {
				calls.add("put " + s.Key())
				return w.table.Put(ctx, s)
			}
			w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
				calls.add("run")
				return w.cluster.RunTask(ctx, spec)
			}

			// Create answers at once: the ticket channel is made in the background.
			r := w.create(alice, tc.variant)
			srvs := w.m.Servers(spawner.Actor{UserID: alice})
			if len(srvs) != 1 || srvs[0].State != spawner.StateRequested {
				t.Fatalf("right after Create, alice's servers = %+v, want one requested", srvs)
			}
			id := srvs[0].CreationID
			close(gate)

			// The worker makes the channel, says where to follow, records the
			// creation, runs the task, then polls it.
			w.blockUntil(1)
			chans := w.guild.channels()
			if len(chans) != 1 {
				t.Fatalf("channels made: %v, want 1\n%s", chans, w)
			}
			ch := chans[0]
			if tk, _ := w.guild.ticketOf(ch); !strings.HasSuffix(tk.Topic, " · "+TopicMarker+id) || tk.owner != alice {
				t.Errorf("ticket = topic %q, owner %s; want the creation's marker, alice's", tk.Topic, tk.owner)
			}
			if got := r.all(); !slices.Equal(got, []string{text.En.CreationStarted(ch)}) {
				t.Errorf("replies = %q, want the creation started in %s", got, ch)
			}
			srv, _ := w.serverOf(alice)
			if n := w.logged(srv, "log-created"); n != 1 {
				t.Errorf("the log channel was told of the request %d times, want once", n)
			}
			pendingKey := spawner.PendingKeyPrefix + id
			if iPut, iRun := calls.index("put "+pendingKey), calls.index("run"); iPut < 0 || iRun < 0 || iPut > iRun {
				t.Errorf("calls %q: want the pending record put before RunTask", calls.calls)
			}
			puts := w.table.puts.all()
			status := w.guild.posts(ch)[0]
			pending := puts[0]
			if pending.Key() != pendingKey || pending.Owner != alice || pending.ChannelID != ch ||
				pending.StatusMessageID != status.id || pending.Token == "" || pending.Variant != tc.want ||
				pending.Game != "minecraft" || !pending.CreatedAt.Equal(t0) || pending.TaskID != "" {
				t.Errorf("pending record = %+v", pending)
			}
			token := pending.Token

			specs := w.cluster.runs.all()
			if len(specs) != 1 {
				t.Fatalf("RunTask calls = %d, want 1", len(specs))
			}
			spec := specs[0]
			if want := map[string]string{"EULA": "TRUE", "OPREDEEM_TOKEN": token, "ALLOW_NON_OFFICIAL": tc.allow}; !maps.Equal(spec.Env, want) {
				t.Errorf("task env = %v, want %v", spec.Env, want)
			}
			wantTags := map[string]string{
				spawner.TagCreation: id, spawner.TagOwner: alice, spawner.TagChannel: ch,
				spawner.TagGame: "minecraft", spawner.TagVariant: tc.want,
			}
			if !maps.Equal(spec.Tags, wantTags) {
				t.Errorf("task tags = %v, want %v", spec.Tags, wantTags)
			}
			if spec.CreationID != id || spec.TaskDefinition != "minecraft-server" || spec.Container != "minecraft" {
				t.Errorf("task spec = %+v", spec)
			}
			arn := w.cluster.all()[0]
			if got := w.table.keys(); !slices.Equal(got, []string{arn}) {
				t.Errorf("table keys = %v, want only the task's record %s", got, arn)
			}
			if rec, _ := w.table.get(arn); rec.CreationID != id || rec.Token != token || rec.State != spawner.StateProvisioning {
				t.Errorf("task record = %+v", rec)
			}

			// PROVISIONING → PENDING → RUNNING, one poll each.
			w.cluster.setAll(spawner.TaskPending)
			w.clock.Advance(w.cfg.PollInterval)
			w.blockUntil(1)
			if srv, _ := w.serverOf(alice); srv.State != spawner.StatePending {
				t.Errorf("server is %s, want pending", srv.State)
			}
			w.cluster.setAll(spawner.TaskRunning)
			w.clock.Advance(w.cfg.PollInterval)
			w.blockUntil(1)
			addr := w.cluster.ipOf(arn) + ":25565"
			if srv, _ := w.serverOf(alice); srv.State != spawner.StateBooting || srv.HostPort() != addr {
				t.Errorf("server is %s at %q, want booting at %s", srv.State, srv.HostPort(), addr)
			}
			if rec, _ := w.table.get(arn); rec.HostPort() != addr {
				t.Errorf("record address = %q, want %q (saved so a restart knows it)", rec.HostPort(), addr)
			}
			if p := w.players.pinged(); !slices.Equal(p, []string{addr}) {
				t.Errorf("pings = %v, want one of %s", p, addr)
			}

			// The game answers: ready.
			w.players.answer(0)
			w.clock.Advance(w.cfg.PollInterval)
			w.waitWorkers()
			srv, _ = w.serverOf(alice)
			if srv.State != spawner.StateReady || srv.HostPort() != addr {
				t.Fatalf("server = %+v, want ready at %s", srv, addr)
			}
			if got := w.guild.purposes(ch, 0); !slices.Equal(got, []string{"status", "ready"}) {
				t.Fatalf("ticket channel says %q, want the status and the ready message\n%s", got, w)
			}
			g := w.game()
			if ready := w.expectSaid(srv, "ready", alice); ready.content != text.En.Ready(g, srv, t0.Add(90*time.Minute)) {
				t.Errorf("ready message:\n%s\nwant:\n%s", ready.content, text.En.Ready(g, srv, t0.Add(90*time.Minute)))
			}
			if status, _ := w.said(srv, "status"); status.content != text.En.Status(g, srv, "") {
				t.Errorf("status message:\n%s\nwant the ready step:\n%s", status.content, text.En.Status(g, srv, ""))
			}
			want := []spawner.State{spawner.StateRequested, spawner.StateProvisioning, spawner.StatePending,
				spawner.StateRunning, spawner.StateBooting, spawner.StateReady}
			if got := w.states(id); !slices.Equal(got, want) {
				t.Errorf("steps shown %v, want %v", got, want)
			}
			if rec, _ := w.table.get(arn); rec.State != spawner.StateReady {
				t.Errorf("record state = %q, want ready", rec.State)
			}
			if n := w.logged(srv, "log-ready"); n != 1 {
				t.Errorf("the log channel was told the server is ready %d times, want once", n)
			}
			for _, m := range w.guild.logged("") {
				if strings.Contains(m.Content, token) {
					t.Errorf("log channel shows the admin token: %s", m.Content)
				}
			}
			if strings.Contains(w.logs.String(), token) {
				t.Errorf("the daemon's log shows the admin token")
			}
			if n := len(w.cluster.runs.all()); n != 1 {
				t.Errorf("RunTask called %d times, want 1", n)
			}
		})
	}
}

func TestCreateRefusals(t *testing.T) {
	// refused checks a Create is refused with want, all it names (the
	// cap, for RefusedCap) included, and that nothing changed.
	refused := func(w *world, req spawner.CreateRequest, r *replies, want spawner.Refusal) {
		t := w.tb
		t.Helper()
		before, tickets, runs := len(w.m.Servers(admin)), len(w.guild.channels()), len(w.cluster.runs.all())
		if ref := refusalOf(t, "Create", w.m.Create(req), want.Code); *ref != want {
			t.Errorf("refusal = %+v, want %+v", *ref, want)
		}
		if got := len(w.m.Servers(admin)); got != before {
			t.Errorf("servers went from %d to %d after a refusal", before, got)
		}
		w.waitWorkers()
		if len(w.guild.channels()) != tickets || len(w.cluster.runs.all()) != runs {
			t.Errorf("a refused Create made a ticket channel or ran a task")
		}
		if got := r.all(); len(got) != 0 {
			t.Errorf("a refused Create replied %q (the caller renders the refusal)", got)
		}
	}

	t.Run("before recover", func(t *testing.T) {
		w := newWorld(t)
		req, r := w.request(alice, "")
		refused(w, req, r, spawner.Refusal{Code: spawner.RefusedShuttingDown})
		w.recover()
		if err := w.m.Create(req); err != nil {
			t.Fatalf("Create after Recover: %v", err)
		}
	})
	t.Run("shutting down", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		w.cancel()
		req, r := w.request(alice, "")
		refused(w, req, r, spawner.Refusal{Code: spawner.RefusedShuttingDown})
	})
	t.Run("member with a server", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		w.readyServer(alice)
		req, r := w.request(alice, "non_official")
		refused(w, req, r, spawner.Refusal{Code: spawner.RefusedBusy})
		if req, _ := w.request(bob, ""); w.m.Create(req) != nil {
			t.Errorf("bob refused while only alice has a server")
		}
	})
	t.Run("member with a creation in progress", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		entered, gate := make(chan struct{}), make(chan struct{})
		defer close(gate)
		w.chat.CreateTicketFn = func(ctx context.Context, tk spawner.Ticket) (string, error) {
			close(entered)
			<-gate
			return w.guild.CreateTicket(ctx, tk)
		}
		w.create(alice, "")
		<-entered
		req, r := w.request(alice, "")
		expectRefused(t, "a second Create", w.m.Create(req), spawner.RefusedBusy)
		if len(r.all()) != 0 {
			t.Errorf("a refused Create replied %q", r.all())
		}
	})
	t.Run("admin exempt", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		for i := range 3 {
			req, _ := w.request(admin.UserID, "")
			req.Admin = true
			if err := w.m.Create(req); err != nil {
				t.Fatalf("admin's creation %d: %v", i+1, err)
			}
		}
		if got := len(w.m.Servers(admin)); got != 3 {
			t.Errorf("admin has %d servers, want 3", got)
		}
	})
	t.Run("global cap", func(t *testing.T) {
		w := newWorld(t, withConfig(func(c *Options) { c.MaxServers = 2 }))
		w.recover()
		a := w.readyServer(alice)
		w.readyServer(bob)
		req, r := w.request(carol, "")
		refused(w, req, r, spawner.Refusal{Code: spawner.RefusedCap, Limit: 2})
		req.Admin = true
		refused(w, req, r, spawner.Refusal{Code: spawner.RefusedCap, Limit: 2}) // the cap holds for admins too
		if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, a.ShortTaskID()); err != nil {
			t.Fatalf("stop alice's server: %v", err)
		}
		req.Admin = false
		if err := w.m.Create(req); err != nil {
			t.Errorf("carol refused once a slot was free: %v", err)
		}
	})
	t.Run("unknown game", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		req, r := w.request(alice, "")
		req.Game = "terraria"
		refused(w, req, r, spawner.Refusal{Code: spawner.RefusedUnknownGame, Name: "terraria"})
	})
	t.Run("unknown variant", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		req, r := w.request(alice, "hardcore")
		refused(w, req, r, spawner.Refusal{Code: spawner.RefusedUnknownVariant, Name: "hardcore"})
	})
}

// TestCreateFailures goes through every way a creation can fail and checks
// what the member and the admins are told, that nothing is left, and that
// the member may create again at once.
func TestCreateFailures(t *testing.T) {
	lang := text.En
	for _, tc := range []struct {
		name  string
		opts  []option
		setup func(w *world)
		drive func(w *world) // from Create until the worker returned
		why   string         // the reason the member and the log channel are told
		cause spawner.StopCause
		// noChannel: no ticket channel was made.
		noChannel bool
		// stopsTask: a task was started and must have been stopped.
		stopsTask bool
		// noRun: the creation failed before RunTask.
		noRun bool
	}{{
		name: "ticket channel",
		setup: func(w *world) {
			w.chat.CreateTicketFn = func(context.Context, spawner.Ticket) (string, error) { return "", errBoom }
		},
		why:       lang.FailChannel(),
		noChannel: true,
		noRun:     true,
	}, {
		name: "pending record",
		setup: func(w *world) {
			fail := failing(1)
			w.store.PutFn = func(ctx context.Context, s spawner.Server) error {
				if fail() {
					return errBoom
				}
				return w.table.Put(ctx, s)
			}
		},
		why:   lang.FailRecord(),
		noRun: true,
	}, {
		name: "run task failure",
		setup: func(w *world) {
			w.tasks.RunTaskFn = func(context.Context, spawner.TaskSpec) (spawner.Task, error) {
				return spawner.Task{}, &spawner.RunFailure{Reason: "RESOURCE:FARGATE", Detail: "capacity is unavailable"}
			}
		},
		why: lang.FailRun("RESOURCE:FARGATE"),
	}, {
		name: "run task error after starting a task",
		setup: func(w *world) {
			w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
				_, _ = w.cluster.RunTask(ctx, spec) // started all the same
				return spawner.Task{}, errBoom
			}
		},
		why:       lang.FailRun(""),
		stopsTask: true,
	}, {
		name: "task record",
		setup: func(w *world) {
			fail := failingAfter(1, 1)
			w.store.PutFn = func(ctx context.Context, s spawner.Server) error {
				if fail() {
					return errBoom
				}
				return w.table.Put(ctx, s)
			}
		},
		why:       lang.FailRecord(),
		stopsTask: true,
	}, {
		name: "task stopped while booting",
		drive: func(w *world) {
			w.blockUntil(1)
			w.cluster.endOnOwn(w.cluster.all()[0], "Essential container in task exited", 137)
			w.clock.Advance(w.cfg.PollInterval)
			w.waitWorkers()
		},
		why: lang.FailTaskEnded(spawner.Task{Status: spawner.TaskStopped, StoppedReason: "Essential container in task exited", ExitCode: ptr(int32(137))}),
	}, {
		name:  "never running",
		opts:  []option{withGame(func(g *spawner.Game) { g.ReadyTimeout = time.Minute })},
		drive: func(w *world) { w.pollUntilWorkersDone(20) },
		why:   lang.FailNotRunning(time.Minute),
	}, {
		name:      "no ping answer",
		opts:      []option{withGame(func(g *spawner.Game) { g.ReadyTimeout = time.Minute })},
		setup:     func(w *world) { w.cluster.startIn(spawner.TaskRunning) },
		drive:     func(w *world) { w.pollUntilWorkersDone(20) },
		why:       lang.FailNotReady(time.Minute),
		cause:     spawner.CauseNotReady,
		stopsTask: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			// A cooldown longer than the test: a creation that failed does
			// not start it, so "you can try again" is true.
			cooldown := withConfig(func(c *Options) { c.CreateCooldown = time.Hour })
			w := newWorld(t, append([]option{cooldown}, tc.opts...)...)
			w.recover()
			if tc.setup != nil {
				tc.setup(w)
			}
			cause := cmpCause(tc.cause, spawner.CauseFailed)
			r := w.create(alice, "")
			if tc.drive != nil {
				tc.drive(w)
			} else {
				w.waitWorkers()
			}

			// The member is told, in their answer and in the ticket channel.
			if got, want := r.last(), lang.CreationFailed(tc.why); got != want {
				t.Errorf("last reply = %q, want %q", got, want)
			}
			var ch string
			if chans := w.guild.channels(); len(chans) > 0 {
				ch = chans[0]
			}
			switch {
			case tc.noChannel && ch != "":
				t.Errorf("a channel was made: %s", ch)
			case tc.noChannel:
				if got := w.guild.logged(""); len(got) != 1 || !strings.HasSuffix(got[0].Key, "/log-end") || !strings.Contains(got[0].Content, tc.why) {
					t.Errorf("log channel = %+v, want the end, with the reason\n%s", got, w)
				}
				if got := w.metrics.stoppedOf(cause); got != 1 {
					t.Errorf("metrics counted %d %s stops, want 1", got, cause)
				}
			default:
				srv := spawner.Server{CreationID: w.creationIn(ch), ChannelID: ch, Owner: alice}
				if got := r.all()[0]; got != lang.CreationStarted(ch) {
					t.Errorf("first reply = %q, want the creation started in %s", got, ch)
				}
				w.expectEnded(srv, cause)
				if end, _ := w.said(srv, "end"); !strings.Contains(end.content, tc.why) {
					t.Errorf("the end message does not give the reason %q:\n%s", tc.why, end.content)
				}
				w.expectClosedAfterDelay(ch)
			}
			// Nothing is left.
			w.expectNothingLeft()
			if tc.noRun && len(w.cluster.runs.all()) > 0 {
				t.Errorf("RunTask was called after the creation failed")
			}
			if tc.stopsTask {
				arns := w.cluster.all()
				if len(arns) != 1 {
					t.Fatalf("tasks = %v, want the one started", arns)
				}
				if stops := w.cluster.stops.all(); len(stops) == 0 || stops[0] != arns[0] {
					t.Errorf("StopTask calls = %v, want the started task", stops)
				}
			}
			// The slot is free again, at once: no cooldown.
			req, _ := w.request(alice, "")
			if err := w.m.Create(req); err != nil {
				t.Errorf("alice's next Create: %v, want accepted", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func cmpCause(c, def spawner.StopCause) spawner.StopCause {
	if c == "" {
		return def
	}
	return c
}

// creationIn is the creation id a ticket channel's topic marks.
func (w *world) creationIn(channelID string) string {
	tk, _ := w.guild.ticketOf(channelID)
	id, _ := ticketCreation(tk.Topic)
	return id
}

// TestCategoryFull: a full category is a clear refusal with nothing
// started and nothing recorded; a lingering ticket of an ended server gives
// its slot up first.
func TestCategoryFull(t *testing.T) {
	errFull := fmt.Errorf("create ticket channel: %w", spawner.ErrCategoryFull)
	t.Run("nothing to free", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		tries := 0
		w.chat.CreateTicketFn = func(context.Context, spawner.Ticket) (string, error) {
			tries++
			return "", errFull
		}
		r := w.create(alice, "")
		w.waitWorkers()
		if got, want := r.all(), []string{text.En.Refusal(&spawner.Refusal{Code: spawner.RefusedCategoryFull})}; !slices.Equal(got, want) {
			t.Errorf("replies = %q, want %q", got, want)
		}
		if tries != 1 {
			t.Errorf("%d CreateTicket calls, want 1 (nothing to free)", tries)
		}
		if w.table.puts.len() != 0 || len(w.cluster.runs.all()) != 0 {
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
		old := w.readyServer(bob)
		if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: bob}, old.ShortTaskID()); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if w.guild.isDeleted(old.ChannelID) {
			t.Fatalf("bob's ticket closed before its delay")
		}
		calls := &order{}
		w.chat.DeleteChannelFn = func(ctx context.Context, id string) error {
			calls.add("delete " + id)
			return w.guild.DeleteChannel(ctx, id)
		}
		full := failing(1)
		w.chat.CreateTicketFn = func(ctx context.Context, tk spawner.Ticket) (string, error) {
			calls.add("create")
			if full() {
				return "", errFull
			}
			return w.guild.CreateTicket(ctx, tk)
		}
		w.cluster.startIn(spawner.TaskProvisioning)
		r := w.create(alice, "")
		w.blockUntil(1) // alice's task is booting
		if want := []string{"create", "delete " + old.ChannelID, "create"}; !slices.Equal(calls.calls, want) {
			t.Errorf("calls %q, want bob's channel deleted, then alice's ticket made on the second try", calls.calls)
		}
		if _, ok := w.serverOf(alice); !ok || len(w.cluster.runs.all()) != 2 {
			t.Errorf("alice's creation did not go on\n%s", w)
		}
		if chans := w.guild.channels(); r.all()[0] != text.En.CreationStarted(chans[len(chans)-1]) {
			t.Errorf("reply %q, want the creation started", r.all()[0])
		}
	})
}

// TestStatusMessageFailureCarriesOn: the status message failing (here for
// a missing permission, named in the log) does not abandon the creation; it
// is posted at the next step and kept up to date.
func TestStatusMessageFailureCarriesOn(t *testing.T) {
	w := newWorld(t)
	w.recover()
	fail := failing(1)
	w.chat.SendFn = func(ctx context.Context, ch string, m spawner.Message) (string, error) {
		if fail() {
			return "", &spawner.MissingPermission{System: "the chat", Action: "send a message", Need: "Send Messages", Err: errBoom}
		}
		return w.guild.Send(ctx, ch, m)
	}
	w.cluster.startIn(spawner.TaskRunning)
	w.players.answer(4)
	r := w.create(alice, "")
	w.waitWorkers()
	srv := w.waitServerReady(alice)
	if w.logCount(`need="Send Messages"`) != 1 {
		t.Errorf("the log does not name the missing permission once\n%s", w.logs)
	}
	if got := w.guild.purposes(srv.ChannelID, 0); !slices.Equal(got, []string{"status", "ready"}) {
		t.Fatalf("ticket channel says %q, want the status and the ready message\n%s", got, w)
	}
	if status, _ := w.said(srv, "status"); status.content != text.En.Status(w.game(), srv, "") {
		t.Errorf("the status message does not show the ready step:\n%s", status.content)
	}
	if r.last() != text.En.CreationStarted(srv.ChannelID) {
		t.Errorf("alice was answered %q, want the creation started only", r.all())
	}
}
