package text

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The words of every phase of an image pull, in both languages, with the
// share and the size rounded as people read them.
func TestPullNotes(t *testing.T) {
	img := "ghcr.io/x/valheim:1"
	for _, c := range []struct {
		name   string
		p      spawner.PullProgress
		en, fr string
	}{
		{"started", spawner.PullProgress{Image: img, Phase: spawner.PullStarted},
			"pulling image `" + img + "`", "récupération de l'image `" + img + "`"},
		{"downloading", spawner.PullProgress{Image: img, Phase: spawner.PullDownloading, Done: 90 << 20, Total: 180<<20 + 1},
			"downloading image `" + img + "`: 49% of 181 MB", "téléchargement de l'image `" + img + "` : 49 % de 181 Mo"},
		{"size not known yet", spawner.PullProgress{Image: img, Phase: spawner.PullDownloading},
			"`: 0% of 0 MB", "` : 0 % de 0 Mo"},
		{"extracting", spawner.PullProgress{Image: img, Phase: spawner.PullExtracting},
			"extracting image `" + img + "`", "décompression de l'image `" + img + "`"},
		{"done", spawner.PullProgress{Image: img, Phase: spawner.PullDone},
			"image `" + img + "` ready", "image `" + img + "` prête"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := En.Pull(c.p); !strings.Contains(got, c.en) {
				t.Errorf("En.Pull(%+v) = %q, want %q", c.p, got, c.en)
			}
			if got := Fr.Pull(c.p); !strings.Contains(got, c.fr) {
				t.Errorf("Fr.Pull(%+v) = %q, want %q", c.p, got, c.fr)
			}
		})
	}
}
