package text

import (
	"fmt"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Pull is the note under the steps of the status message while a game's
// image is pulled onto the runtime's host: started, the share downloaded
// and its size, extracting, done.
func (l Lang) Pull(p spawner.PullProgress) string {
	img := "`" + p.Image + "`"
	switch p.Phase {
	case spawner.PullDownloading:
		pct := 0
		if p.Total > 0 {
			pct = int(min(max(p.Done, 0), p.Total) * 100 / p.Total)
		}
		mb := (p.Total + (1 << 20) - 1) >> 20
		return fmt.Sprintf(l.pick("📥 downloading image %s: %d%% of %d MB", "📥 téléchargement de l'image %s : %d %% de %d Mo"), img, pct, mb)
	case spawner.PullExtracting:
		return l.pick("📦 extracting image ", "📦 décompression de l'image ") + img
	case spawner.PullDone:
		return l.pick("📦 image ", "📦 image ") + img + l.pick(" ready", " prête")
	}
	return l.pick("📥 pulling image ", "📥 récupération de l'image ") + img
}
