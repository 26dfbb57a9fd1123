package lifecycle

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestLostAnswersPostOnce: Discord posts a message and the answer is lost.
// The status message, posted again at the next step, is the one already
// there, brought up to date; the ready message, retried with backoff until
// an answer comes, is in the ticket once.
func TestLostAnswersPostOnce(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.chat.loseAnswer("⏳ requested", 1)
	w.chat.loseAnswer("your server is ready", 2)
	w.ecs.startStatus = spawner.TaskRunning
	w.pinger.answer(4)
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
	w.waitFor("the ready message's answer", func() bool {
		return strings.Contains(w.logs.String(), "sent ready message after retrying")
	})

	if n := w.j.count("chat.Send " + srv.ChannelID); n < 5 {
		t.Errorf("%d sends in the ticket, want the status twice and the ready message three times\n%s", n, w)
	}
	msgs := w.chat.messages(srv.ChannelID)
	if len(msgs) != 2 {
		t.Fatalf("ticket channel has %d messages, want the status and the ready message once each\n%s", len(msgs), w)
	}
	w.mustContain("status message", msgs[0].content, "✅ ready")
	w.mustContain("ready message", msgs[1].content, "your server is ready", srv.HostPort())
}

// TestLostStatusAnswerShowsEnd: the status message was posted but its
// answer lost, and the creation fails before another step. Posted again at
// the end, the message returned is the first one, still saying
// "requested": it is edited to tell the end.
func TestLostStatusAnswerShowsEnd(t *testing.T) {
	w := newWorld(t)
	w.recover()
	w.chat.loseAnswer("⏳ requested", 1)
	w.ecs.failNext("RunTask", 1, &spawner.RunFailure{Reason: "RESOURCE:FARGATE", Detail: "capacity is unavailable"})
	w.create(alice, "")
	w.waitWorkers()
	ch := w.chat.channels()[0]
	status := w.chat.find(ch, "🎮")
	if len(status) != 1 {
		t.Fatalf("%d status messages, want 1\n%s", len(status), w)
	}
	if strings.Contains(status[0].content, "⏳ requested") {
		t.Errorf("the status message still says the creation is requested after it failed:\n%s", status[0].content)
	}
}
