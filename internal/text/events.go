package text

import "fmt"

// Reclaimed tells owner at once that the provider is taking their
// server's capacity back (Task.Reclaimed): it stops within two minutes of
// the warning. The only provider that does is Fargate Spot, whom members
// know by that name.
func (l Lang) Reclaimed(owner string) string {
	return fmt.Sprintf(l.pick(
		"⚠️ %s Fargate Spot is reclaiming this server: it will stop within two minutes. Tell the players to log out; you can start a new server once it has stopped.",
		"⚠️ %s Fargate Spot reprend ce serveur : il s'arrêtera dans les deux minutes. Prévenez les joueurs de se déconnecter ; vous pourrez lancer un nouveau serveur une fois celui-ci arrêté."),
		Mention(owner))
}
