package text

import "fmt"

// SpotInterruption tells owner at once that Fargate Spot is reclaiming
// their server: AWS stops it within two minutes of the warning.
func (l Lang) SpotInterruption(owner string) string {
	return fmt.Sprintf(l.pick(
		"⚠️ %s Fargate Spot is reclaiming this server: it will stop within two minutes. Tell the players to log out; you can start a new server once it has stopped.",
		"⚠️ %s Fargate Spot reprend ce serveur : il s'arrêtera dans les deux minutes. Prévenez les joueurs de se déconnecter ; vous pourrez lancer un nouveau serveur une fois celui-ci arrêté."),
		Mention(owner))
}
