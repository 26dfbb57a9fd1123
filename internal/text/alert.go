package text

import "github.com/mineral-contest/spawner/internal/spawner"

// AlertTitle is the title of an alert of kind k, one short line.
func (l Lang) AlertTitle(k spawner.AlertKind) string {
	switch k {
	case spawner.AlertCreationFailed:
		return l.pick("Creation failed", "Échec d'une création")
	case spawner.AlertServerFailed:
		return l.pick("Server gone", "Serveur disparu")
	case spawner.AlertStopFailed:
		return l.pick("Server not stopped yet", "Serveur pas encore arrêté")
	case spawner.AlertBackupFailed:
		return l.pick("World backup failed", "Échec de la sauvegarde d'un monde")
	case spawner.AlertStartFailed:
		return l.pick("The bot could not start", "Le bot n'a pas pu démarrer")
	case spawner.AlertImageBuild:
		return l.pick("Game image build", "Construction de l'image du jeu")
	}
	return string(k)
}
