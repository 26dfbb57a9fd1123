package text

import (
	"fmt"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// StatusLink is the last line of a ticket's status message: the address of
// the server's live page.
func (l Lang) StatusLink(url string) string {
	return fmt.Sprintf(l.pick("🌐 Follow it live: %s", "🌐 Suivre en direct : %s"), spawner.LinkRef(url))
}

// Dashboard answers /server dashboard with the address of the live page of
// the member's servers (every server for an admin), valid for validFor.
func (l Lang) Dashboard(url string, all bool, validFor time.Duration) string {
	what := l.pick("your servers", "tes serveurs")
	if all {
		what = l.pick("every server", "tous les serveurs")
	}
	return fmt.Sprintf(l.pick("Live page of %s: %s\nThis link is yours: it works for %s; ask again for a new one.",
		"Page en direct de %s : %s\nCe lien est à toi : il marche pendant %s ; redemande-le pour en avoir un nouveau."),
		what, spawner.LinkRef(url), Duration(validFor))
}

// NoDashboard answers /server dashboard when no web page is configured.
func (l Lang) NoDashboard() string {
	return l.pick("No web page is configured for this bot (PUBLIC_URL is not set).",
		"Aucune page web n'est configurée pour ce bot (PUBLIC_URL n'est pas défini).")
}
