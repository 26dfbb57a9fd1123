package spawner

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Record is one record of a store (a table, an embedded file)
// as the store read it or is to write it: its attributes by name, each of
// a neutral kind. A store only translates its wire format into a Record
// and back; what a record holds and what makes one malformed (Server,
// Game, Cooldown, World, Session, Report) is said here, once, for every store.
//
// The attributes are the original JavaScript bot's, with its names and
// types (taskId, publicIpAddress, token, creationDate in Unix ms,
// channelId, typeServer, userId), so a table it wrote is adopted; ours
// come after and are optional on read: absent means unknown.
type Record map[string]Attr

// KeyAttr is the attribute that holds a record's key, the table's
// partition key (a string): a task id, PendingKeyPrefix+creation id,
// GameKeyPrefix+name, CooldownKeyPrefix+member id, WorldKeyPrefix+world
// id, SessionKeyPrefix+id or ReportKeyPrefix+month.
const KeyAttr = "taskId"

// The attributes of a server's record; the first group is the original
// bot's and must not change.
const (
	attrPublicIP     = "publicIpAddress" // string
	attrToken        = "token"           // string, secret
	attrCreationDate = "creationDate"    // number, Unix ms
	attrChannelID    = "channelId"       // string
	attrTypeServer   = "typeServer"      // string, the variant
	attrUserID       = "userId"          // string

	attrCreationID      = "creationId"      // string
	attrGame            = "game"            // string
	attrStatusMessageID = "statusMessageId" // string
	attrPort            = "port"            // number
	attrLocale          = "locale"          // string
	attrState           = "state"           // string, a State
	attrRunningDate     = "runningDate"     // number, Unix ms
	attrReadyDate       = "readyDate"       // number, Unix ms
	attrWarnings        = "warnings"        // number: player-count warnings since the last good check
	attrRuntimeWarned   = "runtimeWarned"   // boolean: the maximum-duration warning was posted
	attrStopAt          = "stopAt"          // number, Unix ms: when the runtime watchdog stops the server
	attrExtensions      = "extensions"      // number: /server extend calls so far
	attrRCONPassword    = "rconPassword"    // string, secret
	attrGameTemplate    = "gameTemplate"    // string: the game's template at creation, JSON
	attrPlayers         = "players"         // number: what the last probe saw; -1: not counted
	attrWorldID         = "worldId"         // string: the world the server plays, for a game with one
	attrWokenBy         = "wokenBy"         // string: who woke that world, "player:<name>" or "member:<id>"
)

// Attr is one attribute of a Record.
type Attr struct {
	Kind AttrKind
	Text string // a string's value, or a number's decimal text ("1700000000000", "1.7e12")
	Bool bool   // a boolean's value
}

// StringAttr is the string attribute v.
func StringAttr(v string) Attr { return Attr{Kind: AttrString, Text: v} }

// NumberAttr is the number attribute n.
func NumberAttr(n int64) Attr { return Attr{Kind: AttrNumber, Text: strconv.FormatInt(n, 10)} }

// BoolAttr is the boolean attribute v.
func BoolAttr(v bool) Attr { return Attr{Kind: AttrBool, Bool: v} }

// AttrKind is what an attribute holds. A record is made of strings,
// numbers and booleans; the other kinds a store can hold are there to be
// named in the problem of a record that holds one.
type AttrKind int

// The kinds of attribute: a record holds the first three; the others
// are only named in a problem.
const (
	AttrString AttrKind = iota + 1
	AttrNumber
	AttrBool
	AttrNull
	AttrBinary
	AttrList
	AttrMap
	AttrSet
)

// String names the kind in a problem: "userId is a number, want a string".
func (k AttrKind) String() string {
	switch k {
	case AttrString:
		return "a string"
	case AttrNumber:
		return "a number"
	case AttrBool:
		return "a boolean"
	case AttrNull:
		return "null"
	case AttrBinary:
		return "binary"
	case AttrList:
		return "a list"
	case AttrMap:
		return "a map"
	case AttrSet:
		return "a set"
	}
	return "of an unknown kind"
}

// RecordError is a stored record that could not be read: the store leaves
// it as it is and skips it; the daemon reports it and carries on.
type RecordError struct {
	Key string // the record's key, or "" when it has none usable
	Err error  // what is wrong, naming the attribute; never a value (a token is a secret)
}

func (e *RecordError) Error() string {
	key := strconv.Quote(e.Key)
	if e.Key == "" {
		key = "without a usable " + KeyAttr
	}
	return fmt.Sprintf("item %s: %v", key, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// Key is the key the record holds: its KeyAttr, a non-empty string. The
// error names what is wrong with it.
func (r Record) Key() (string, error) {
	d := reader{rec: r}
	key := d.str(KeyAttr, true)
	return key, d.err
}

// set puts a in r under name.
func (r Record) set(name string, a Attr) { r[name] = a }

// setString puts v under name, unless it is empty: a record leaves out
// what is not known, as the original bot did.
func (r Record) setString(name, v string) {
	if v != "" {
		r.set(name, StringAttr(v))
	}
}

// setNumber puts n under name, unless it is 0.
func (r Record) setNumber(name string, n int) {
	if n != 0 {
		r.set(name, NumberAttr(int64(n)))
	}
}

// setTime puts t in Unix ms under name, unless it is the zero time.
func (r Record) setTime(name string, t time.Time) {
	if !t.IsZero() {
		r.set(name, NumberAttr(t.UnixMilli()))
	}
}

// reader reads typed attributes of one record, keeping the first problem.
type reader struct {
	rec Record
	err error
}

func (d *reader) failf(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

// get returns the attribute name when it is there and of kind want. A
// required one that is missing, or one of another kind, is a problem.
func (d *reader) get(name string, want AttrKind, required bool) (Attr, bool) {
	a, ok := d.rec[name]
	switch {
	case !ok:
		if required {
			d.failf("%s is missing", name)
		}
		return Attr{}, false
	case a.Kind != want:
		d.failf("%s is %s, want %s", name, a.Kind, want)
		return Attr{}, false
	}
	return a, true
}

// str reads a string; a required one may not be empty either.
func (d *reader) str(name string, required bool) string {
	a, ok := d.get(name, AttrString, required)
	if ok && required && a.Text == "" {
		d.failf("%s is empty", name)
	}
	return a.Text
}

// boolean reads an optional boolean.
func (d *reader) boolean(name string) bool {
	a, _ := d.get(name, AttrBool, false)
	return a.Bool
}

// number reads a whole number.
func (d *reader) number(name string, required bool) (int64, bool) {
	a, ok := d.get(name, AttrNumber, required)
	if !ok {
		return 0, false
	}
	n, err := wholeNumber(a.Text)
	if err != nil {
		d.failf("%s is not a whole number", name)
		return 0, false
	}
	return n, true
}

// wholeNumber reads a number's decimal text. A JavaScript writer may have
// stored a whole number as a float ("1.7e12"), which is read as it means.
func wholeNumber(text string) (int64, error) {
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, errors.New("not a whole number")
	}
	return int64(f), nil
}

// time reads a time in Unix ms, after 1970. An optional one that is
// absent or 0 is the zero time: not known.
func (d *reader) time(name string, required bool) time.Time {
	n, ok := d.number(name, required)
	switch {
	case !ok, n == 0 && !required:
		return time.Time{}
	case n <= 0:
		d.failf("%s is not a time after 1970", name)
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// within reads an optional number from lo to hi, what saying what it
// should be when it is not; absent is 0.
func (d *reader) within(name string, lo, hi int64, what string) int {
	n, ok := d.number(name, false)
	if ok && (n < lo || n > hi) {
		d.failf("%s is not %s", name, what)
		return 0
	}
	return int(n)
}
