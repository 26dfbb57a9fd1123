package lifecycle

import (
	"context"
	"slices"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// pullImage is the image the progress tests pull.
const pullImage = "itzg/minecraft-server"

// downloading is the progress of a pull of pullImage pct% through 100 MB.
func downloading(pct int64) spawner.PullProgress {
	return spawner.PullProgress{Image: pullImage, Phase: spawner.PullDownloading, Done: pct << 20, Total: 100 << 20}
}

var extracting = spawner.PullProgress{Image: pullImage, Phase: spawner.PullExtracting}

// statusEdits returns every content the status message of the only ticket
// channel was edited to, in order.
func (w *world) statusEdits() []string {
	if chans := w.guild.channels(); len(chans) > 0 {
		if posts := w.guild.posts(chans[0]); len(posts) > 0 {
			return posts[0].edits
		}
	}
	return nil
}

// noted reports which notes the status edits showed, in order, with lang:
// the edit that shows each note is the status message with it.
func noted(edits []string, srv spawner.Server, lang text.Lang, notes ...spawner.PullProgress) []int {
	var out []int
	for _, e := range edits {
		for i, n := range notes {
			if e == lang.Status(testGame(), srv, lang.Pull(n)) {
				out = append(out, i)
			}
		}
	}
	return out
}

// A pull's progress shows in the status message at most once per
// ProgressInterval, the latest note winning, and a note still waiting when
// the task starts is never shown over the steps that follow.
func TestProgressRateLimitedAndEndsWithTheStart(t *testing.T) {
	w := newWorld(t)
	w.recover()
	var requested spawner.Server
	w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
		requested, _ = w.serverOf(alice)
		id := spec.CreationID
		w.m.Progress(id, downloading(5))  // shown at once
		w.m.Progress(id, downloading(10)) // too soon: waits
		w.m.Progress(id, downloading(15)) // replaces it
		w.blockUntil(1)                   // the note's worker waits for the interval
		w.clock.Advance(ProgressInterval)
		w.waitFor("the waiting note to be shown", func() bool {
			return len(noted(w.statusEdits(), requested, text.En, downloading(15))) == 1
		})
		w.m.Progress(id, extracting) // too soon again, and the task starts first
		return w.cluster.RunTask(ctx, spec)
	}
	w.create(alice, "")
	w.waitFor("the task to start", func() bool { return len(w.cluster.all()) == 1 })
	w.blockUntil(2)                   // the boot's poll and the note waiting for its interval
	w.clock.Advance(ProgressInterval) // the waiting note's time comes after the start
	w.cancel()                        // Close waits for every worker: a late note would be shown by now

	edits := w.statusEdits()
	if got := noted(edits, requested, text.En, downloading(5), downloading(10), downloading(15), extracting); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("notes shown %v (of 5%%, 10%%, 15%%, extracting), want 5%% then 15%% once each", got)
	}
	if last := edits[len(edits)-1]; last == text.En.Status(testGame(), requested, text.En.Pull(extracting)) {
		t.Errorf("the status message ends on a pull note shown after the task started")
	}
}

// Progress leaves a server that is not starting its task alone.
func TestProgressIgnoresServersNotStarting(t *testing.T) {
	w := newWorld(t)
	w.recover()
	srv := w.readyServer(alice)
	before := len(w.statusEdits())
	w.m.Progress(srv.CreationID, downloading(5))
	w.m.Progress("no-such-creation", downloading(5))
	w.waitWorkers()
	if got := w.statusEdits(); len(got) != before {
		t.Errorf("a ready server's status was edited with a note: %q", got[before:])
	}
}

// A pull's progress is told in the ticket's language: a French member
// sees it in French though the bot's own locale is English.
func TestPullProgressInTheMembersLanguage(t *testing.T) {
	w := newWorld(t) // the bot speaks English (Options.Locale en-US)
	w.recover()
	var requested spawner.Server
	w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
		requested, _ = w.serverOf(alice)
		w.m.Progress(spec.CreationID, downloading(40)) // shown at once
		w.m.Progress(spec.CreationID, extracting)
		w.blockUntil(1) // the extraction waits for the interval
		w.clock.Advance(ProgressInterval)
		w.waitFor("the extraction note", func() bool {
			return len(noted(w.statusEdits(), requested, text.Fr, extracting)) == 1
		})
		return w.cluster.RunTask(ctx, spec)
	}
	req, _ := w.request(alice, "")
	req.Locale = "fr"
	if err := w.m.Create(req); err != nil {
		t.Fatalf("Create: %v", err)
	}
	w.waitFor("the task to start", func() bool { return len(w.cluster.all()) == 1 })
	if got := noted(w.statusEdits(), requested, text.Fr, downloading(40), extracting); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("French notes shown %v, want the download then the extraction\n%s", got, w)
	}
	if got := noted(w.statusEdits(), requested, text.En, downloading(40), extracting); len(got) != 0 {
		t.Errorf("a French member's status shows English notes %v", got)
	}
}
