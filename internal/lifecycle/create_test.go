package lifecycle

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// currentStep returns the label of the step a status message shows as in
// progress (⏳), or "" when none is.
func currentStep(status string) string {
	for _, line := range strings.Split(status, "\n") {
		if label, ok := strings.CutPrefix(line, "⏳ "); ok {
			return label
		}
	}
	return ""
}

func TestCreateBootsToReady(t *testing.T) {
	for _, tc := range []struct {
		variant, shown, allow string
	}{
		{variant: "official", shown: "official", allow: "false"},
		{variant: "non_official", shown: "non-official", allow: "true"},
		{variant: "", shown: "official", allow: "false"}, // the game's default variant
	} {
		t.Run("variant="+tc.variant, func(t *testing.T) {
			w := newWorld(t)
			w.recover()
			wantVariant := tc.variant
			if wantVariant == "" {
				wantVariant = "official"
			}

			// Create answers at once: the ticket channel is made in the background.
			gate := make(chan struct{})
			w.chat.onCall("CreateTicket", func() { <-gate })
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
			chans := w.chat.channels()
			if len(chans) != 1 {
				t.Fatalf("channels made: %v, want 1\n%s", chans, w)
			}
			ch := chans[0]
			ticket, _ := w.chat.channel(ch)
			w.mustContain("ticket topic", ticket.Topic, TopicMarker+id)
			if ticket.owner != alice {
				t.Errorf("ticket owner = %q, want %q", ticket.owner, alice)
			}
			if got := r.all(); len(got) != 1 || !strings.Contains(got[0], text.ChannelLink(ch)) {
				t.Errorf("replies = %q, want one with the link %s", got, text.ChannelLink(ch))
			}
			if len(w.chat.logsWith(text.Mention(alice), "requested", text.ChannelLink(ch))) != 1 {
				t.Errorf("log channel does not tell alice's request\n%s", w)
			}

			pendingKey := spawner.PendingKeyPrefix + id
			iPut, iRun := w.j.index("store.Put "+pendingKey), w.j.index("ecs.RunTask")
			if iPut < 0 || iRun < 0 || iPut > iRun {
				t.Errorf("pending record put at call %d, RunTask at %d: want the record first\n%s", iPut, iRun, w)
			}
			puts := w.store.putsOf()
			if len(puts) < 2 {
				t.Fatalf("puts = %+v, want the pending record then the task's\n%s", puts, w)
			}
			status := w.chat.messages(ch)[0]
			pending := puts[0]
			if pending.Key() != pendingKey || pending.Owner != alice || pending.ChannelID != ch ||
				pending.StatusMessageID != status.id || pending.Token == "" || pending.Variant != wantVariant ||
				pending.Game != "minecraft" || !pending.CreatedAt.Equal(t0) || pending.TaskARN != "" {
				t.Errorf("pending record = %+v", pending)
			}
			token := pending.Token

			specs := w.ecs.runSpecs()
			if len(specs) != 1 {
				t.Fatalf("RunTask calls = %d, want 1", len(specs))
			}
			spec := specs[0]
			wantEnv := map[string]string{"EULA": "TRUE", "OPREDEEM_TOKEN": token, "ALLOW_NON_OFFICIAL": tc.allow}
			if !maps.Equal(spec.Env, wantEnv) {
				t.Errorf("task env = %v, want %v", spec.Env, wantEnv)
			}
			wantTags := map[string]string{
				spawner.TagCreation: id, spawner.TagOwner: alice, spawner.TagChannel: ch,
				spawner.TagGame: "minecraft", spawner.TagVariant: wantVariant,
			}
			if !maps.Equal(spec.Tags, wantTags) {
				t.Errorf("task tags = %v, want %v", spec.Tags, wantTags)
			}
			if spec.CreationID != id || spec.TaskDefinition != "minecraft-server" || spec.Container != "minecraft" {
				t.Errorf("task spec = %+v", spec)
			}
			arn := w.ecs.all()[0]
			if got := w.store.keys(); len(got) != 1 || got[0] != arn {
				t.Errorf("table keys = %v, want only the task's record %s", got, arn)
			}
			if rec, _ := w.store.get(arn); rec.CreationID != id || rec.Token != token || rec.State != spawner.StateProvisioning {
				t.Errorf("task record = %+v", rec)
			}
			if got := currentStep(w.chat.messages(ch)[0].content); got != "provisioning" {
				t.Errorf("status step = %q, want provisioning\n%s", got, w)
			}

			// PROVISIONING → PENDING → RUNNING, one poll each.
			w.ecs.setAll(spawner.TaskPending)
			w.clock.Advance(w.cfg.PollInterval)
			w.blockUntil(1)
			if got := currentStep(w.chat.messages(ch)[0].content); got != "pending" {
				t.Errorf("status step = %q, want pending\n%s", got, w)
			}
			w.ecs.setAll(spawner.TaskRunning)
			w.clock.Advance(w.cfg.PollInterval)
			w.blockUntil(1)
			addr := w.ecs.ipOf(arn) + ":25565"
			st := w.chat.messages(ch)[0].content
			w.mustContain("status message once running", st, "✅ running · `"+addr+"`")
			if got := currentStep(st); got != "booting" {
				t.Errorf("status step = %q, want booting\n%s", got, w)
			}
			if rec, _ := w.store.get(arn); rec.HostPort() != addr {
				t.Errorf("record address = %q, want %q (saved so a restart knows it)", rec.HostPort(), addr)
			}
			if p := w.pinger.pings(); len(p) != 1 || p[0] != addr {
				t.Errorf("pings = %v, want one of %s", p, addr)
			}

			// The game answers: ready.
			w.pinger.answer(0)
			w.clock.Advance(w.cfg.PollInterval)
			w.waitWorkers()

			srv, _ := w.serverOf(alice)
			if srv.State != spawner.StateReady || srv.HostPort() != addr {
				t.Fatalf("server = %+v, want ready at %s", srv, addr)
			}
			msgs := w.chat.messages(ch)
			if len(msgs) != 2 {
				t.Fatalf("ticket channel has %d messages, want status and ready\n%s", len(msgs), w)
			}
			ready := msgs[1]
			stopAt := t0.Add(90 * time.Minute)
			w.mustContain("ready message", ready.content,
				text.Mention(alice), "`"+addr+"`", "1.20.4", tc.shown, "**Minimum players:** 4",
				text.Timestamp(stopAt, "t"), text.Timestamp(stopAt, "R"), "`/opredeem "+token+"`")
			if len(ready.mentions) != 1 || ready.mentions[0] != alice {
				t.Errorf("ready message pings %v, want only alice", ready.mentions)
			}
			final := msgs[0].content
			w.mustContain("final status", final, "✅ ready")
			if got := currentStep(final); got != "" {
				t.Errorf("final status still shows %q in progress", got)
			}
			steps := []string{"requested"}
			for _, e := range msgs[0].edits {
				if s := currentStep(e); s != "" && s != steps[len(steps)-1] {
					steps = append(steps, s)
				}
			}
			if got, want := strings.Join(steps, " → "), "requested → provisioning → pending → booting"; got != want {
				t.Errorf("status went through %s, want %s", got, want)
			}
			if rec, _ := w.store.get(arn); rec.State != spawner.StateReady {
				t.Errorf("record state = %q, want ready", rec.State)
			}
			if len(w.chat.logsWith(addr, text.Mention(alice), spawner.TaskID(arn))) != 1 {
				t.Errorf("log channel does not tell the server is ready\n%s", w)
			}
			for _, l := range w.chat.logLines() {
				if strings.Contains(l, token) {
					t.Errorf("log channel shows the admin token: %s", l)
				}
			}
			if strings.Contains(w.logs.String(), token) {
				t.Errorf("the daemon's log shows the admin token")
			}
			if len(w.ecs.runSpecs()) != 1 {
				t.Errorf("RunTask called %d times, want 1", len(w.ecs.runSpecs()))
			}
		})
	}
}

func TestCreateRefusals(t *testing.T) {
	// refused checks a Create is refused with code and that nothing changed.
	refused := func(w *world, req spawner.CreateRequest, r *replies, code spawner.RefusalCode) *spawner.Refusal {
		t := w.tb
		t.Helper()
		before := len(w.m.Servers(admin))
		tickets, runs := w.j.count("chat.CreateTicket"), w.j.count("ecs.RunTask")
		err := w.m.Create(req)
		ref, ok := err.(*spawner.Refusal)
		if !ok || ref.Code != code {
			t.Fatalf("Create(%+v) = %v, want refusal %d\n%s", req, err, code, w)
		}
		if got := len(w.m.Servers(admin)); got != before {
			t.Errorf("servers went from %d to %d after a refusal", before, got)
		}
		if got := w.j.count("chat.CreateTicket"); got != tickets {
			t.Errorf("a refused Create made a ticket channel")
		}
		if got := w.j.count("ecs.RunTask"); got != runs {
			t.Errorf("a refused Create ran a task")
		}
		if got := r.all(); len(got) != 0 {
			t.Errorf("a refused Create replied %q (the caller renders the refusal)", got)
		}
		return ref
	}

	t.Run("before recover", func(t *testing.T) {
		w := newWorld(t)
		req, r := w.request(alice, "")
		refused(w, req, r, spawner.RefusedShuttingDown)
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
		refused(w, req, r, spawner.RefusedShuttingDown)
	})
	t.Run("member with a server", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		w.readyServer(alice)
		req, r := w.request(alice, "non_official")
		refused(w, req, r, spawner.RefusedBusy)
		if req, _ := w.request(bob, ""); w.m.Create(req) != nil {
			t.Errorf("bob refused while only alice has a server")
		}
	})
	t.Run("member with a creation in progress", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		gate := make(chan struct{})
		defer close(gate)
		w.chat.onCall("CreateTicket", func() { <-gate })
		w.create(alice, "")
		w.waitFor("the creation to make its ticket channel", func() bool { return w.j.count("chat.CreateTicket") == 1 })
		req, r := w.request(alice, "")
		refused(w, req, r, spawner.RefusedBusy)
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
		a, _ := w.readyServer(alice)
		w.readyServer(bob)
		req, r := w.request(carol, "")
		if ref := refused(w, req, r, spawner.RefusedCap); ref.Limit != 2 {
			t.Errorf("cap refusal Limit = %d, want 2", ref.Limit)
		}
		req.Admin = true
		refused(w, req, r, spawner.RefusedCap) // the cap holds for admins too
		if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, a.TaskID()); err != nil {
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
		if ref := refused(w, req, r, spawner.RefusedUnknownGame); ref.Name != "terraria" {
			t.Errorf("refusal names %q, want terraria", ref.Name)
		}
	})
	t.Run("unknown variant", func(t *testing.T) {
		w := newWorld(t)
		w.recover()
		req, r := w.request(alice, "hardcore")
		if ref := refused(w, req, r, spawner.RefusedUnknownVariant); ref.Name != "hardcore" {
			t.Errorf("refusal names %q, want hardcore", ref.Name)
		}
	})
}

// TestCreateFailures goes through every way a creation can fail and checks
// what the member and the admins are told, that nothing is left, and that
// the member may create again at once.
func TestCreateFailures(t *testing.T) {
	lang := text.For("en")
	for _, tc := range []struct {
		name  string
		opts  []option
		setup func(w *world)
		drive func(w *world) // from Create until the worker returned
		why   string         // what the member and the log channel are told
		cause spawner.StopCause
		// noChannel: no ticket channel was made.
		noChannel bool
		// stopsTask: a task was started and must have been stopped.
		stopsTask bool
		// noRun: the creation failed before RunTask.
		noRun bool
	}{{
		name:      "ticket channel",
		setup:     func(w *world) { w.chat.failNext("CreateTicket", 1, errBoom) },
		why:       lang.FailChannel(),
		noChannel: true,
		noRun:     true,
	}, {
		name:  "pending record",
		setup: func(w *world) { w.store.failNext("Put", 1, errBoom) },
		why:   lang.FailRecord(),
		noRun: true,
	}, {
		name: "run task failure",
		setup: func(w *world) {
			w.ecs.failNext("RunTask", 1, &spawner.RunFailure{Reason: "RESOURCE:FARGATE", Detail: "capacity is unavailable"})
		},
		why: "it could not be started (RESOURCE:FARGATE)",
	}, {
		name: "run task error after starting a task",
		setup: func(w *world) {
			w.ecs.runStartsAnyway = true
			w.ecs.failNext("RunTask", 1, errBoom)
		},
		why:       "it could not be started",
		stopsTask: true,
	}, {
		name:      "task record",
		setup:     func(w *world) { w.store.failAfter("Put", 1, 1, errBoom) },
		why:       lang.FailRecord(),
		stopsTask: true,
	}, {
		name: "task stopped while booting",
		drive: func(w *world) {
			w.blockUntil(1)
			w.ecs.endOnOwn(w.ecs.all()[0], "Essential container in task exited", 137)
			w.clock.Advance(w.cfg.PollInterval)
			w.waitWorkers()
		},
		why: "the server stopped on its own (Essential container in task exited, exit code 137)",
	}, {
		name:  "never running",
		opts:  []option{withGame(func(g *spawner.Game) { g.ReadyTimeout = time.Minute })},
		drive: func(w *world) { w.pollUntilWorkersDone(20) },
		why:   "it did not start within 1 min",
	}, {
		name: "no ping answer",
		opts: []option{withGame(func(g *spawner.Game) { g.ReadyTimeout = time.Minute })},
		setup: func(w *world) {
			w.ecs.startStatus = spawner.TaskRunning
		},
		drive:     func(w *world) { w.pollUntilWorkersDone(20) },
		why:       "the game did not answer within 1 min of starting",
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
			cause := tc.cause
			if cause == "" {
				cause = spawner.CauseFailed
			}
			r := w.create(alice, "")
			if tc.drive != nil {
				tc.drive(w)
			} else {
				w.waitWorkers()
			}

			// The member is told, in their answer and in the ticket channel.
			replies := r.all()
			if len(replies) == 0 {
				t.Fatalf("alice was never answered\n%s", w)
			}
			w.mustContain("last reply", replies[len(replies)-1], "could not be created: "+tc.why, "try again")
			var ch string
			if chans := w.chat.channels(); len(chans) > 0 {
				ch = chans[0]
			}
			if tc.noChannel {
				if ch != "" {
					t.Errorf("a channel was made: %s", ch)
				}
			} else {
				if ch == "" {
					t.Fatalf("no ticket channel\n%s", w)
				}
				w.mustContain("first reply", replies[0], text.ChannelLink(ch))
				last := w.lastMessage(ch)
				w.mustContain("ticket channel's last message", last.content, tc.why, "This channel closes in 1 min")
				if len(last.mentions) != 1 || last.mentions[0] != alice {
					t.Errorf("the failure pings %v, want alice", last.mentions)
				}
				if msgs := w.chat.messages(ch); len(msgs) > 1 {
					w.mustContain("status message", msgs[0].content, "⏹️ stopped")
				}
			}
			// The admins are told.
			if got := w.chat.logsWith(text.Mention(alice), logPhrase(cause), tc.why); len(got) != 1 {
				t.Errorf("log channel lines telling the failure = %q, want 1\n%s", got, w)
			}
			if got := w.metrics.stoppedOf(cause); got != 1 {
				t.Errorf("metrics counted %d stops for %s, want 1", got, cause)
			}
			// Nothing is left.
			w.expectNothingLeft()
			if tc.noRun && len(w.ecs.runSpecs()) > 0 {
				t.Errorf("RunTask was called after the creation failed")
			}
			if tc.stopsTask {
				arns := w.ecs.all()
				if len(arns) != 1 {
					t.Fatalf("tasks = %v, want the one started", arns)
				}
				if stops := w.ecs.stopped(); len(stops) == 0 || stops[0] != arns[0] {
					t.Errorf("StopTask calls = %v, want the started task", taskIDs(stops))
				}
			}
			if !tc.noChannel {
				w.expectClosedAfterDelay(ch)
			}
			// The slot is free again, at once: no cooldown.
			req, _ := w.request(alice, "")
			if err := w.m.Create(req); err != nil {
				t.Errorf("alice's next Create: %v, want accepted", err)
			}
		})
	}
}

// logPhrase is how the (English) log channel line names a server's end.
func logPhrase(cause spawner.StopCause) string {
	switch cause {
	case spawner.CauseTaskEnded, spawner.CauseRecordGone:
		return " gone: "
	case spawner.CauseRestart:
		return "interrupted by a restart"
	}
	return "failed: "
}
