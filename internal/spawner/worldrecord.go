package spawner

import (
	"fmt"
	"math"
	"strings"
)

// The attributes of a world's record (taskId WorldKeyPrefix+id). Its
// owner, game, state, port and creation time are userId, game, state,
// port and creationDate, as a server's.
const (
	attrWorldName      = "name"           // string: see ValidWorldName
	attrSize           = "size"           // number: bytes of content, as of the newest backup
	attrLastPlayed     = "lastPlayed"     // number, Unix ms: when its last server ended
	attrHost           = "host"           // string: the host players reached its last server at
	attrStatusVersion  = "statusVersion"  // string: the version its game last answered a ping with
	attrStatusProtocol = "statusProtocol" // number: the protocol its game last answered a ping with
	attrStatusMax      = "statusMax"      // number: the maximum of players its game last answered a ping with
	attrStorage        = "storage"        // string: the runtime's handle of its content
	attrServer         = "server"         // string: creation id of the server playing it
)

// WorldKey is the key of the world id: WorldKeyPrefix+id. An id that
// ValidWorldID refuses (empty, a '/', "..") is refused: "world: ...".
func WorldKey(id string) (string, error) {
	if err := ValidWorldID(id); err != nil {
		return "", fmt.Errorf("world: %w", err)
	}
	return WorldKeyPrefix + id, nil
}

// Storable reports whether a store may hold w: a world Record.World reads
// back, with a valid id, an owner, a game, a valid name and a known state;
// a size that is not negative, a TCP port or 0, a status protocol that
// fits 32 bits, a status maximum from 0 to MaxPlayers, and times after 1970 or zero. The error reads
// "world <id>: <what is wrong>", for the store to wrap ("put %w").
func (w World) Storable() error {
	if _, err := WorldKey(w.ID); err != nil {
		return err
	}
	var why string
	switch {
	case w.Owner == "":
		why = "no owner"
	case w.Game == "":
		why = "no game"
	case ValidWorldName(w.Name) != nil:
		return fmt.Errorf("world %s: %w", w.ID, ValidWorldName(w.Name))
	case !w.State.Known():
		why = fmt.Sprintf("state %q is none of %s, %s, %s", w.State, WorldRunning, WorldAsleep, WorldStored)
	case w.Size < 0:
		why = "a negative size"
	case w.Port < 0 || w.Port > 65535:
		why = "port is not a TCP port"
	case w.StatusProtocol < math.MinInt32 || w.StatusProtocol > math.MaxInt32:
		why = "status protocol is not a protocol number"
	case w.StatusMax < 0 || w.StatusMax > MaxPlayers:
		why = "status max is not a player count"
	case !w.LastPlayed.IsZero() && w.LastPlayed.UnixMilli() <= 0:
		why = "last played before 1970"
	case !w.CreatedAt.IsZero() && w.CreatedAt.UnixMilli() <= 0:
		why = "created before 1970"
	default:
		return nil
	}
	return fmt.Errorf("world %s: %s", w.ID, why)
}

// Record is the record that keeps w under w.Key(): empty strings, zero
// numbers and zero times are left out, and times are in Unix ms (they load
// back truncated to the millisecond, in UTC). A world Record.World could
// not read back is refused with Storable's error.
func (w World) Record() (Record, error) {
	if err := w.Storable(); err != nil {
		return nil, err
	}
	r := Record{
		KeyAttr:       StringAttr(w.Key()),
		attrUserID:    StringAttr(w.Owner),
		attrGame:      StringAttr(w.Game),
		attrWorldName: StringAttr(w.Name),
		attrState:     StringAttr(string(w.State)),
	}
	if w.Size != 0 {
		r.set(attrSize, NumberAttr(w.Size))
	}
	r.setTime(attrLastPlayed, w.LastPlayed)
	r.setNumber(attrPort, w.Port)
	r.setString(attrHost, w.Host)
	r.setString(attrStatusVersion, w.StatusVersion)
	r.setNumber(attrStatusProtocol, w.StatusProtocol)
	r.setNumber(attrStatusMax, w.StatusMax)
	r.setTime(attrCreationDate, w.CreatedAt)
	r.setString(attrStorage, w.Storage)
	r.setString(attrServer, w.Server)
	return r, nil
}

// World reads r, stored under key (WorldKeyPrefix+id), as a world. What
// in it is wrong comes back as a *RecordError naming key and the
// attribute: a key whose id ValidWorldID refuses, a taskId other than the
// key, userId, game, name or state missing or empty, a name ValidWorldName
// refuses, an unknown state, an attribute of the wrong kind, a negative
// size, a port, status protocol or status maximum out of range, a time before 1970. An
// optional number or time that is 0 is not known, as when it is absent.
func (r Record) World(key string) (World, error) {
	d := reader{rec: r}
	if own, err := r.Key(); err != nil {
		d.err = err
	} else if own != key {
		d.failf("%s does not match the record's key", KeyAttr)
	}
	w := World{ID: strings.TrimPrefix(key, WorldKeyPrefix)}
	if err := ValidWorldID(w.ID); err != nil {
		d.failf("the key names no world: %w", err)
	}
	w.Owner = d.str(attrUserID, true)
	w.Game = d.str(attrGame, true)
	w.Name = d.str(attrWorldName, true)
	w.State = WorldState(d.str(attrState, true))
	w.Size, _ = d.number(attrSize, false)
	w.LastPlayed = d.time(attrLastPlayed, false)
	w.Port = d.within(attrPort, 0, 65535, "a TCP port")
	w.Host = d.str(attrHost, false)
	w.StatusVersion = d.str(attrStatusVersion, false)
	w.StatusProtocol = d.within(attrStatusProtocol, math.MinInt32, math.MaxInt32, "a protocol number")
	w.StatusMax = d.within(attrStatusMax, 0, MaxPlayers, "a player count")
	w.CreatedAt = d.time(attrCreationDate, false)
	w.Storage = d.str(attrStorage, false)
	w.Server = d.str(attrServer, false)
	switch {
	case d.err != nil:
	case ValidWorldName(w.Name) != nil:
		d.failf("%s is %w", attrWorldName, ValidWorldName(w.Name))
	case !w.State.Known():
		d.failf("%s is not a known world state", attrState)
	case w.Size < 0:
		d.failf("%s is not a size in bytes", attrSize)
	}
	if d.err != nil {
		return World{}, &RecordError{Key: key, Err: d.err}
	}
	return w, nil
}

// worldOfServer reads the optional worldId of a server's record: an id
// ValidWorldID refuses is a problem, since it would name a world's folder
// or volume.
func (d *reader) worldOfServer(s *Server) {
	s.WorldID = d.str(attrWorldID, false)
	if s.WorldID != "" && ValidWorldID(s.WorldID) != nil {
		d.failf("%s is not a world id", attrWorldID)
	}
}
