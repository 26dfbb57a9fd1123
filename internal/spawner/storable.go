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
// s: a server Record.Server reads back, with a task id or a
// creation id, an owner, a channel and a creation time, under a key that
// is not a game template's, a cooldown's, a session's, a report's or a
// world's (IsServerKey), a WorldID that is empty or valid
// (ValidWorldID), and a WokenBy that is Storable. The error reads "server <key>: <what lacks>", for the
// store to wrap ("put %w").
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
	case !IsServerKey(s.Key()):
		kind, _ := kindOf(s.Key())
		return fmt.Errorf("server %s: the key is a %s's", s.Key(), kind)
	case s.Players < -1:
		return fmt.Errorf("server %s: players is not a player count", s.Key())
	case s.WorldID != "" && ValidWorldID(s.WorldID) != nil:
		return fmt.Errorf("server %s: %w", s.Key(), ValidWorldID(s.WorldID))
	case s.WokenBy.Storable() != nil:
		return fmt.Errorf("server %s: %s is %w", s.Key(), attrWokenBy, s.WokenBy.Storable())
	}
	return nil
}

// Record is the record that keeps s, under s.Key(): empty strings, zero
// numbers and zero times are left out, times are in Unix ms (they load
// back truncated to the millisecond, in UTC), and Players is capped at
// MaxPlayers. A server Record.Server could not read back is refused with
// Storable's error.
func (s Server) Record() (Record, error) {
	if err := s.Storable(); err != nil {
		return nil, err
	}
	r := Record{KeyAttr: StringAttr(s.Key()), attrCreationDate: NumberAttr(s.CreatedAt.UnixMilli())}
	r.setString(attrPublicIP, s.Address)
	r.setString(attrToken, s.Token)
	r.setString(attrChannelID, s.ChannelID)
	r.setString(attrTypeServer, s.Variant)
	r.setString(attrUserID, s.Owner)
	r.setString(attrCreationID, s.CreationID)
	r.setString(attrGame, s.Game)
	r.setString(attrStatusMessageID, s.StatusMessageID)
	r.setString(attrLocale, s.Locale)
	r.setString(attrState, string(s.State))
	r.setNumber(attrPort, s.Port)
	r.setTime(attrRunningDate, s.RunningAt)
	r.setTime(attrReadyDate, s.ReadyAt)
	r.setNumber(attrWarnings, max(s.Warnings, 0))
	if s.RuntimeWarned {
		r.set(attrRuntimeWarned, BoolAttr(true))
	}
	r.setTime(attrStopAt, s.StopsAt)
	r.setNumber(attrExtensions, max(s.Extensions, 0))
	r.setString(attrRCONPassword, s.RCONPassword)
	r.setString(attrGameTemplate, string(s.GameTemplate))
	r.setNumber(attrPlayers, min(s.Players, MaxPlayers))
	r.setString(attrWorldID, s.WorldID)
	r.setString(attrWokenBy, s.WokenBy.attr())
	return r, nil
}

// Server reads r, stored under key, as a server. What in it is wrong comes
// back as a *RecordError naming key and the attribute: a required one
// (taskId, the key itself; userId; channelId; creationDate) missing or
// empty, an attribute of the wrong kind, a number out of its range, a time
// before 1970, an unknown state, a creationId other than the key's, a
// worldId ValidWorldID refuses, a wokenBy that names nobody a record
// keeps (see WokenBy.Storable). An optional number or time that is 0 is
// not known, as when it is absent.
//
// A record of the original bot reads with Port 0 (the caller fills in its
// game's port), an empty State (the caller treats it as ready) and no
// WorldID, as does one of a server of a game without a world.
func (r Record) Server(key string) (Server, error) {
	d := reader{rec: r}
	if own, err := r.Key(); err != nil {
		d.err = err
	} else if own != key {
		d.failf("%s does not match the record's key", KeyAttr)
	}
	s := Server{TaskID: key}
	if id, ok := strings.CutPrefix(key, PendingKeyPrefix); ok {
		s.TaskID, s.CreationID = "", id
	}
	d.identity(&s)
	d.progress(&s)
	d.watchdogs(&s)
	if d.err != nil {
		return Server{}, &RecordError{Key: key, Err: d.err}
	}
	return s, nil
}

// identity reads who asked for the server, where, and for what game.
func (d *reader) identity(s *Server) {
	s.Owner = d.str(attrUserID, true)
	s.ChannelID = d.str(attrChannelID, true)
	s.CreatedAt = d.time(attrCreationDate, true)
	if id := d.str(attrCreationID, false); id != "" {
		if s.CreationID != "" && id != s.CreationID {
			d.failf("%s does not match the key's creation id", attrCreationID)
		}
		s.CreationID = id
	}
	s.Game = d.str(attrGame, false)
	s.Variant = d.str(attrTypeServer, false)
	s.Locale = d.str(attrLocale, false)
	s.Token = d.str(attrToken, false)
	s.RCONPassword = d.str(attrRCONPassword, false)
	if tpl := d.str(attrGameTemplate, false); tpl != "" {
		s.GameTemplate = []byte(tpl)
	}
	d.worldOfServer(s)
	d.wokenBy(s)
}

// progress reads where the server is in its life.
func (d *reader) progress(s *Server) {
	s.State = State(d.str(attrState, false))
	if s.State != "" && !s.State.Known() {
		d.failf("%s is not a known state", attrState)
	}
	s.StatusMessageID = d.str(attrStatusMessageID, false)
	s.Address = d.str(attrPublicIP, false)
	s.Port = d.within(attrPort, 0, 65535, "a TCP port")
	s.RunningAt = d.time(attrRunningDate, false)
	s.ReadyAt = d.time(attrReadyDate, false)
}

// watchdogs reads what the watchdogs keep across a restart.
func (d *reader) watchdogs(s *Server) {
	s.Warnings = d.within(attrWarnings, 0, 1000, "a small whole number")
	s.RuntimeWarned = d.boolean(attrRuntimeWarned)
	s.StopsAt = d.time(attrStopAt, false)
	s.Extensions = d.within(attrExtensions, 0, 1000, "a small whole number")
	s.Players = d.within(attrPlayers, -1, MaxPlayers, "a player count")
}
