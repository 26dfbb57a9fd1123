package lifecycle

import (
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

// downloadingNote is what an English status message shows of downloading(pct).
func downloadingNote(pct int64) string { return text.En.Pull(downloading(pct)) }

// A pull's progress is told in the ticket's language: a French member
// sees it in French though the bot's own locale is English, and never the
// English words.
func TestPullProgressInTheMembersLanguage(t *testing.T) {
	w := newWorld(t) // the bot speaks English (Options.Locale en-US)
	w.recover()
	w.ecs.onCall("RunTask", func() {
		id := w.m.Servers(admin)[0].CreationID
		w.m.Progress(id, downloading(40)) // shown at once
		w.m.Progress(id, spawner.PullProgress{Image: pullImage, Phase: spawner.PullExtracting})
		w.blockUntil(1) // the extraction waits for the interval
		w.clock.Advance(ProgressInterval)
		w.waitFor("the extraction note", func() bool { return editsWith(w.statusEdits(), "décompression") == 1 })
	})
	req, _ := w.request(alice, "")
	req.Locale = "fr"
	if err := w.m.Create(req); err != nil {
		t.Fatalf("Create: %v", err)
	}
	w.waitFor("the task to start", func() bool { return len(w.ecs.all()) == 1 })
	w.ecs.onCall("RunTask", nil)

	edits := w.statusEdits()
	for _, want := range []string{
		"📥 téléchargement de l'image `" + pullImage + "` : 40 % de 100 Mo",
		"📦 décompression de l'image `" + pullImage + "`",
	} {
		if editsWith(edits, want) != 1 {
			t.Errorf("status edits %q\nwant one with %q", edits, want)
		}
	}
	for _, en := range []string{"downloading", "extracting", "image " + pullImage} {
		if n := editsWith(edits, en); n != 0 {
			t.Errorf("a French member's status shows English %q: %q", en, edits)
		}
	}
}
