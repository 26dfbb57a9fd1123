package spawner

import (
	"errors"
	"fmt"
	"strings"
)

// MaxPlayers is the most players a store keeps for Server.Players: a
// larger count (a game server may answer anything) is stored as
// MaxPlayers, and a stored count above it is not read back.
const MaxPlayers = 1_000_000

// Storable reports whether a store (a table, an embedded file) may hold
// s: a server its Load could read back, with a task id or a
// creation id, an owner, a channel and a creation time, under a key that
// is not a game template's or a cooldown's. The error reads "server <key>: <what lacks>",
// for the store to wrap ("put %w").
func (s Server) Storable() error {
	switch {
	case s.TaskID == "" && s.CreationID == "":
		return errors.New("server: neither task id nor creation id")
	case s.Owner == "":
		return fmt.Errorf("server %s: no owner", s.Key())
	case s.ChannelID == "":
		return fmt.Errorf("server %s: no channel", s.Key())
	case s.CreatedAt.UnixMilli() <= 0:
		return fmt.Errorf("server %s: no creation time", s.Key())
	case strings.HasPrefix(s.Key(), GameKeyPrefix):
		return fmt.Errorf("server %s: the key is a game template's", s.Key())
	case strings.HasPrefix(s.Key(), CooldownKeyPrefix):
		return fmt.Errorf("server %s: the key is a cooldown's", s.Key())
	case s.Players < -1:
		return fmt.Errorf("server %s: players is not a player count", s.Key())
	}
	return nil
}
