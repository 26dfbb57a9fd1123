package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// linksTo makes the links of the pages at base, naming the server with a
// fixed token.
func linksTo(base string) *mockLinks {
	return &mockLinks{ServerFn: func(srv spawner.Server, _ spawner.Game) string {
		return base + "/servers/" + srv.CreationID + "?token=t0k3n"
	}}
}

// TestFeedFollowsACreationToItsEnd: the feed is told of every step the
// status message shows, the players, a warning, a moved stop time and the
// end with its cause; a new client's snapshot is the server as it is.
// (The feed's own rules are feed_test.go's.)
func TestFeedFollowsACreationToItsEnd(t *testing.T) {
	w := newWorld(t, withConfig(func(c *Options) { c.Links = linksTo("https://pages.example.org") }))
	w.recover()
	w.create(alice, "")
	w.blockUntil(1)
	w.cluster.setAll(spawner.TaskPending)
	w.clock.Advance(w.cfg.PollInterval)
	w.blockUntil(1)
	w.cluster.setAll(spawner.TaskRunning)
	w.clock.Advance(w.cfg.PollInterval)
	w.blockUntil(1)
	w.players.answer(4)
	w.clock.Advance(w.cfg.PollInterval)
	w.waitWorkers()
	srv, _ := w.serverOf(alice)

	var got []string
	for _, e := range w.feed.all() {
		got = append(got, string(e.Type)+"/"+string(e.State))
		if e.Server != srv.CreationID || e.Owner != alice || e.Title != "Minecraft" || e.Min != 4 {
			t.Errorf("event %+v does not name alice's server", e)
		}
	}
	want := "state/requested state/provisioning state/pending state/running state/booting state/ready players/ready"
	if strings.Join(got, " ") != want {
		t.Fatalf("events:\n  %s\nwant:\n  %s", strings.Join(got, " "), want)
	}
	evs := w.feed.all()
	if evs[3].Address != srv.HostPort() || evs[2].Address != "" {
		t.Errorf("the address does not come with running: %+v", evs)
	}
	if stop := t0.Add(90 * time.Minute); !evs[5].StopsAt.Equal(stop) || !evs[4].StopsAt.IsZero() {
		t.Errorf("the stop time %v does not come with ready: %+v", stop, evs)
	}

	// The status message links to the live page.
	link := "https://pages.example.org/servers/" + srv.CreationID + "?token=t0k3n"
	if status, _ := w.said(srv, "status"); status.content != text.En.Status(w.game(), srv, "") || status.footer != text.En.StatusLink(link) {
		t.Errorf("the status message does not have the link to %s as its footer:\n%s\nfooter: %s", link, status.content, status.footer)
	}

	// A new client's snapshot: the server as it is, with its steps' times.
	snap := w.m.Snapshot()
	if len(snap) != 1 {
		t.Fatalf("snapshot = %+v, want alice's server", snap)
	}
	if s := snap[0]; s.Type != spawner.EventSnapshot || s.State != spawner.StateReady || s.Address != srv.HostPort() ||
		s.Players == nil || *s.Players != 4 || !s.Time.Equal(evs[6].Time) || len(s.Steps) != 6 {
		t.Errorf("snapshot = %+v", s)
	}

	// A moved stop time (as /server extend moves it) is told once, with the
	// status message that shows it.
	later := t0.Add(2 * time.Hour)
	moved, _ := w.m.fleet.update(srv.CreationID, func(e *entry) { e.srv.StopsAt = later })
	w.m.editStatus(w.ctx, moved, "")
	w.m.editStatus(w.ctx, srv, "") // a copy from before: nothing moves back
	if evs := w.feed.all(); len(evs) != 8 || evs[7].Type != spawner.EventExtended || !evs[7].StopsAt.Equal(later) {
		t.Errorf("after the stop time moved to %v: %+v", later, evs[7:])
	}

	// The watchdog: fewer players, a warning.
	n := len(w.feed.all())
	w.players.answer(1)
	w.advanceAndPass(w.game().CheckInterval, false)
	var after []string
	for _, e := range w.feed.all()[n:] {
		after = append(after, fmt.Sprintf("%s:%s:%d/%d", e.Type, e.Warning, e.K, e.N))
	}
	if strings.Join(after, " ") != "players::0/0 warning:players:1/3" {
		t.Errorf("after a check with 1 player: %v", after)
	}

	// The end, with its cause; the server leaves the snapshot.
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	evs = w.feed.all()
	last, before := evs[len(evs)-1], evs[len(evs)-2]
	if before.Type != spawner.EventState || before.State != spawner.StateStopping ||
		last.Type != spawner.EventEnded || last.State != spawner.StateStopped || last.Cause != spawner.CauseCommand {
		t.Errorf("the end reads %+v then %+v", before, last)
	}
	if snap := w.m.Snapshot(); len(snap) != 0 {
		t.Errorf("snapshot after the end = %+v", snap)
	}
	if stopped, _ := w.said(srv, "status"); stopped.footer != "" || strings.Contains(stopped.content, link) {
		t.Errorf("the status message of an ended server still links to its page")
	}

	// Nothing secret ever.
	for _, e := range evs {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), srv.Token) {
			t.Errorf("event carries the admin token: %s", b)
		}
	}
}

// TestStatusLinkIsAFooter: the link to the server's page is the status
// message's footer, which the chat leaves out of a message too long for
// it, never the steps.
func TestStatusLinkIsAFooter(t *testing.T) {
	long := "https://pages.example.org/" + strings.Repeat("x", 1990)
	w := newWorld(t, withConfig(func(c *Options) { c.Links = linksTo(long) }))
	w.recover()
	w.create(alice, "")
	w.blockUntil(1)
	srv, _ := w.serverOf(alice)
	status, _ := w.said(srv, "status")
	if status.footer != text.En.StatusLink(long+"/servers/"+srv.CreationID+"?token=t0k3n") {
		t.Errorf("status message footer = %q, want the link to its page", status.footer)
	}
	if status.content != text.En.Status(w.game(), srv, "") {
		t.Errorf("status message lost its steps:\n%s", status.content)
	}
}

// TestLostAnswersPostOnce: Discord posts a message and the answer is lost.
// The status message, posted again at the next step, is the one already
// there, brought up to date; the ready message, retried with backoff until
// an answer comes, is in the ticket once.
func TestLostAnswersPostOnce(t *testing.T) {
	w := newWorld(t)
	w.recover()
	lost := map[string]int{"status": 1, "ready": 2} // answers to lose, by purpose
	var sends []string
	w.chat.SendFn = func(ctx context.Context, ch string, m spawner.Message) (string, error) {
		id, err := w.guild.Send(ctx, ch, m)
		purpose := m.Key[strings.LastIndex(m.Key, "/")+1:]
		sends = append(sends, purpose)
		if lost[purpose] > 0 {
			lost[purpose]--
			return "", fmt.Errorf("send message: answer lost: %w", errBoom)
		}
		return id, err
	}
	w.cluster.startIn(spawner.TaskRunning)
	w.players.answer(4)
	w.create(alice, "")
	srv := w.waitServerReady(alice)
	for i := range 2 {
		w.blockUntil(1) // the retry waits on its backoff
		next, ok := w.clock.NextDeadline()
		if !ok {
			t.Fatalf("no retry of the ready message after %d lost answers\n%s", i+1, w)
		}
		w.clock.AdvanceTo(next)
	}
	w.waitFor("the ready message's answer", func() bool { return w.logCount("sent ready message after retrying") == 1 })
	w.waitWorkers()
	if !slices.Equal(sends, []string{"status", "status", "ready", "ready", "ready"}) {
		t.Errorf("sends %q, want the status twice and the ready message three times", sends)
	}
	if got := w.guild.purposes(srv.ChannelID, 0); !slices.Equal(got, []string{"status", "ready"}) {
		t.Fatalf("ticket channel says %q, want the status and the ready message once each\n%s", got, w)
	}
	if status, _ := w.said(srv, "status"); status.content != text.En.Status(w.game(), srv, "") {
		t.Errorf("the status message does not show ready:\n%s", status.content)
	}
}

// TestLostStatusAnswerShowsEnd: the status message was posted but its
// answer lost, and the creation fails before another step. Posted again at
// the end, the message returned is the first one, still saying
// "requested": it is edited to tell the end.
func TestLostStatusAnswerShowsEnd(t *testing.T) {
	w := newWorld(t)
	w.recover()
	lose := failing(1)
	w.chat.SendFn = func(ctx context.Context, ch string, m spawner.Message) (string, error) {
		id, err := w.guild.Send(ctx, ch, m)
		if lose() {
			return "", errBoom
		}
		return id, err
	}
	w.tasks.RunTaskFn = func(context.Context, spawner.TaskSpec) (spawner.Task, error) {
		return spawner.Task{}, &spawner.RunFailure{Reason: "RESOURCE:FARGATE", Detail: "capacity is unavailable"}
	}
	w.create(alice, "")
	w.waitWorkers()
	ch := w.guild.channels()[0]
	srv := spawner.Server{CreationID: w.creationIn(ch), ChannelID: ch, Owner: alice, Variant: "official", State: spawner.StateStopped}
	if got := w.guild.purposes(ch, 0); !slices.Equal(got, []string{"status", "end"}) {
		t.Fatalf("ticket channel says %q, want one status message and the end\n%s", got, w)
	}
	if status, _ := w.said(srv, "status"); status.content != text.En.Status(w.game(), srv, "") {
		t.Errorf("the status message does not show the end:\n%s", status.content)
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
			w.cluster.startIn(spawner.TaskRunning)
			w.players.answer(4)
			fail := failingAfter(1, 3) // the status message goes, the ready message fails 3 times
			w.chat.SendFn = func(ctx context.Context, ch string, m spawner.Message) (string, error) {
				if fail() {
					return "", tc.err
				}
				return w.guild.Send(ctx, ch, m)
			}
			w.create(alice, "")
			srv := w.waitServerReady(alice)
			for i := range 3 {
				w.blockUntil(1) // the retry waits on its backoff
				if _, ok := w.said(srv, "ready"); ok {
					t.Fatalf("ready message posted after %d failures", i)
				}
				next, _ := w.clock.NextDeadline()
				w.clock.AdvanceTo(next)
			}
			w.waitFor("the ready message", func() bool { _, ok := w.said(srv, "ready"); return ok })
			w.expectSaid(srv, "ready", alice)
			if n := w.logCount(tc.log); n != 1 {
				t.Errorf("logged %q %d times, want once\n%s", tc.log, n, w)
			}
		})
	}
}
