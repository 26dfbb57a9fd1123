package spawner

import (
	"errors"
	"time"
)

// Refusal codes of /server extend and /server op. They are numbered apart
// from those of spawner.go, so codes added there never collide with these.
const (
	RefusedExtendLimit RefusalCode = iota + 100 // extend: the member used their GAMESERVER_MAX_EXTENSIONS (Limit)
	RefusedNotReady                             // extend, op: the server is still being created
	RefusedNoRCON                               // op: the server's game has no RCON
	RefusedPlayerName                           // op: Name is not a player name Minecraft accepts
)

// controlError is Refusal.Error for the codes above.
func (r *Refusal) controlError() string {
	switch r.Code {
	case RefusedExtendLimit:
		return "refused: extension limit reached"
	case RefusedNotReady:
		return "refused: server not ready"
	case RefusedNoRCON:
		return "refused: the game has no RCON"
	case RefusedPlayerName:
		return "refused: not a player name"
	default:
		return r.worldError()
	}
}

// Extension is what one /server extend did.
type Extension struct {
	Server  Server    // the server as it is now
	StopsAt time.Time // its new stop time
	// Left is how many more times its owner may extend it; -1 when the
	// one who extended it is an admin, who has no limit.
	Left int
}

// ErrRCONAuth is the cause of an error from running an RCON command when
// the game refused the password: a game whose RCON does not take its
// password from the variable its template names.
var ErrRCONAuth = errors.New("the game refused the RCON password")
