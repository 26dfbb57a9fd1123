package lifecycle

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// feed records what the Manager publishes, as the web hub would get it.
type feed struct {
	mu     sync.Mutex
	events []spawner.Event
}

func (f *feed) Publish(e spawner.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

func (f *feed) all() []spawner.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]spawner.Event(nil), f.events...)
}

// String lists the events as "type/state" with what they carry.
func (f *feed) String() string {
	var b strings.Builder
	for _, e := range f.all() {
		fmt.Fprintf(&b, "  %s/%s addr=%s players=%v warning=%s %d/%d cause=%s stops=%v\n",
			e.Type, e.State, e.Address, e.Players, e.Warning, e.K, e.N, e.Cause, e.StopsAt)
	}
	return b.String()
}

// links are web links that name the server and a fixed token.
type links struct{ base string }

func (l links) Server(srv spawner.Server, _ spawner.Game) string {
	return l.base + "/servers/" + srv.CreationID + "?token=t0k3n"
}

func TestEventsFollowACreationToItsEnd(t *testing.T) {
	f := &feed{}
	w := newWorld(t, withConfig(func(c *Options) {
		c.Events = f
		c.Links = links{base: "https://pages.example.org"}
	}))
	w.recover()
	w.create(alice, "")
	w.blockUntil(1)
	w.ecs.setAll(spawner.TaskPending)
	w.clock.Advance(w.cfg.PollInterval)
	w.blockUntil(1)
	w.ecs.setAll(spawner.TaskRunning)
	w.clock.Advance(w.cfg.PollInterval)
	w.blockUntil(1)
	w.pinger.answer(4)
	w.clock.Advance(w.cfg.PollInterval)
	w.waitWorkers()
	srv, _ := w.serverOf(alice)
	addr := srv.HostPort()

	var got []string
	for _, e := range f.all() {
		got = append(got, string(e.Type)+"/"+string(e.State))
		if e.Server != srv.CreationID || e.Owner != alice || e.Title != "Minecraft" || e.Min != 4 {
			t.Errorf("event %+v does not name alice's server", e)
		}
	}
	want := "state/requested state/provisioning state/pending state/running state/booting state/ready players/ready"
	if strings.Join(got, " ") != want {
		t.Fatalf("events:\n  %s\nwant:\n  %s\n%s", strings.Join(got, " "), want, f)
	}
	evs := f.all()
	if evs[3].Address != addr || evs[2].Address != "" {
		t.Errorf("the address comes with running: %s", f)
	}
	if stop := t0.Add(90 * time.Minute); !evs[5].StopsAt.Equal(stop) || !evs[4].StopsAt.IsZero() {
		t.Errorf("the stop time comes with ready, %v: %s", stop, f)
	}
	if p := evs[6].Players; p == nil || *p != 4 {
		t.Errorf("players event %v, want 4", p)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Time.Before(evs[i-1].Time) {
			t.Errorf("event %d is older than the one before: %s", i, f)
		}
	}

	// The status message links to the live page.
	status := w.chat.messages(srv.ChannelID)[0].content
	w.mustContain("status message", status, text.En.StatusLink("https://pages.example.org/servers/"+srv.CreationID+"?token=t0k3n"))

	// A new client's snapshot: the server as it is, with its steps' times.
	snap := w.m.Snapshot()
	if len(snap) != 1 {
		t.Fatalf("snapshot = %+v, want alice's server", snap)
	}
	s := snap[0]
	if s.Type != spawner.EventSnapshot || s.State != spawner.StateReady || s.Address != addr || s.Players == nil || *s.Players != 4 ||
		!s.Time.Equal(evs[6].Time) || s.StopsAt.IsZero() {
		t.Errorf("snapshot = %+v", s)
	}
	for _, st := range []spawner.State{spawner.StateRequested, spawner.StateProvisioning, spawner.StatePending,
		spawner.StateRunning, spawner.StateBooting, spawner.StateReady} {
		if s.Steps[st].IsZero() {
			t.Errorf("snapshot has no time for step %s: %v", st, s.Steps)
		}
	}

	// A moved stop time (as /server extend moves it) is told once, with the
	// status message that shows it.
	later := t0.Add(2 * time.Hour)
	moved, _ := w.m.update(srv.CreationID, func(e *entry) { e.srv.StopsAt = later })
	w.m.editStatus(w.ctx, moved, "")
	w.m.editStatus(w.ctx, srv, "") // a copy from before: nothing moves back
	if evs := f.all(); len(evs) != 8 || evs[7].Type != spawner.EventExtended || !evs[7].StopsAt.Equal(later) {
		t.Errorf("after the stop time moved to %v:\n%s", later, f)
	}

	// The watchdog: fewer players, a warning.
	n := len(f.all())
	w.pinger.answer(1)
	w.advanceAndPass(w.game().CheckInterval, false)
	var after []string
	for _, e := range f.all()[n:] {
		after = append(after, fmt.Sprintf("%s:%s:%d/%d", e.Type, e.Warning, e.K, e.N))
	}
	if strings.Join(after, " ") != "players::0/0 warning:players:1/3" {
		t.Errorf("after a check with 1 player: %v\n%s", after, f)
	}

	// The end, with its cause; the server leaves the snapshot.
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	evs = f.all()
	last, before := evs[len(evs)-1], evs[len(evs)-2]
	if before.Type != spawner.EventState || before.State != spawner.StateStopping ||
		last.Type != spawner.EventEnded || last.State != spawner.StateStopped || last.Cause != spawner.CauseCommand {
		t.Errorf("the end reads %+v then %+v", before, last)
	}
	if snap := w.m.Snapshot(); len(snap) != 0 {
		t.Errorf("snapshot after the end = %+v", snap)
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
	w := newWorld(t, withConfig(func(c *Options) { c.Links = links{base: long} }))
	w.recover()
	w.create(alice, "")
	w.blockUntil(1)
	ch := w.chat.channels()[0]
	status := w.chat.messages(ch)[0]
	srv, _ := w.serverOf(alice)
	if status.footer != text.En.StatusLink(long+"/servers/"+srv.CreationID+"?token=t0k3n") {
		t.Errorf("status message footer = %q, want the link to its page", status.footer)
	}
	if currentStep(status.content) != "provisioning" {
		t.Errorf("status message lost its steps:\n%s", status.content)
	}
}
