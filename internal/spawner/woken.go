package spawner

import (
	"errors"
	"fmt"
	"strings"
)

// WokenBy is who woke the world a server plays, when its creation is a
// wake: the Minecraft player whose login on the asleep world's port woke
// it, or the member who did (the Wake button, or the owner's /server
// create of the asleep world). At most one of the two is set; the zero
// value is a creation that woke no world. It is kept in the server's
// record, so the ready message of a creation a restart resumed still
// names who woke the world.
type WokenBy struct {
	Player string // a Minecraft name (1 to 16 ASCII letters, digits or _)
	Member string // a member's id (a Discord snowflake)
}

// Zero reports whether b names nobody: the creation woke no world.
func (b WokenBy) Zero() bool { return b.Player == "" && b.Member == "" }

// ErrWokenBy is the cause of WokenBy.Storable's error.
var ErrWokenBy = errors.New("not who woke a world")

// The kinds of waker in the wokenBy attribute: "player:<name>" or
// "member:<id>".
const (
	wokenByPlayer = "player:"
	wokenByMember = "member:"
)

// Storable returns nil when a record can keep b: the zero value, a
// player's name Minecraft accepts, or a member's id of 1 to 20 digits;
// not both. Anything else (a name with a space, a line break, markup)
// is an error wrapping ErrWokenBy.
func (b WokenBy) Storable() error {
	switch {
	case b.Zero():
		return nil
	case b.Player != "" && b.Member != "":
		return fmt.Errorf("%w: both a player and a member", ErrWokenBy)
	case b.Player != "" && !LoginName(b.Player):
		return fmt.Errorf("%w: a player's name is 1 to 16 letters, digits or _", ErrWokenBy)
	case b.Member != "" && !snowflake(b.Member):
		return fmt.Errorf("%w: a member's id is 1 to 20 digits", ErrWokenBy)
	}
	return nil
}

// attr is b, Storable, as the wokenBy attribute holds it; "" for the
// zero value.
func (b WokenBy) attr() string {
	switch {
	case b.Player != "":
		return wokenByPlayer + b.Player
	case b.Member != "":
		return wokenByMember + b.Member
	}
	return ""
}

// parseWokenBy reads the wokenBy attribute; "" is the zero value. An
// unknown kind, or a waker Storable refuses, is an error.
func parseWokenBy(v string) (WokenBy, error) {
	var b WokenBy
	if name, ok := strings.CutPrefix(v, wokenByPlayer); ok {
		b.Player = name
	} else if id, ok := strings.CutPrefix(v, wokenByMember); ok {
		b.Member = id
	}
	if err := b.Storable(); err != nil || (b.Zero() && v != "") {
		return WokenBy{}, ErrWokenBy
	}
	return b, nil
}

// wokenBy reads the optional wokenBy of a server's record.
func (d *reader) wokenBy(s *Server) {
	b, err := parseWokenBy(d.str(attrWokenBy, false))
	if err != nil {
		d.failf("%s is %w", attrWokenBy, err)
	}
	s.WokenBy = b
}

// snowflake reports whether id can be a Discord id: 1 to 20 digits.
func snowflake(id string) bool {
	if len(id) < 1 || len(id) > 20 {
		return false
	}
	for _, c := range []byte(id) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
