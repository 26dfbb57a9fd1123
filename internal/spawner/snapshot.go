package spawner

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Snapshot is everything a store holds, read at once: what the daemon
// rebuilds its state from at start.
type Snapshot struct {
	Servers []Server
	// Games are the stored game templates by name, each the JSON document
	// as it was put; their content is the caller's to check.
	Games map[string][]byte
	// Cooldowns are when each member's creation cooldown started, by
	// member id. A store an older bot wrote has none.
	Cooldowns map[string]time.Time
	// Worlds are the worlds (records under WorldKeyPrefix).
	Worlds []World
	// Problems are the records that could not be read, left in the store
	// and skipped: a *RecordError each, naming the key and what is wrong.
	// GameProblems are those of game templates, which are told apart.
	Problems     []error
	GameProblems []error
}

// Add reads r, stored under key, into s: a game template, a cooldown, a
// world or a server, as its key says. A record that cannot be read is added to the
// problems instead. Sessions and reports are not part of a snapshot (they
// are read on demand): a record under their keys is left out.
func (s *Snapshot) Add(key string, r Record) {
	switch {
	case !InSnapshot(key):
	case strings.HasPrefix(key, GameKeyPrefix):
		name, doc, err := r.Game(key)
		if err != nil {
			s.GameProblems = append(s.GameProblems, err)
			return
		}
		if s.Games == nil {
			s.Games = make(map[string][]byte)
		}
		s.Games[name] = doc
	case strings.HasPrefix(key, CooldownKeyPrefix):
		member, since, err := r.Cooldown(key)
		if err != nil {
			s.Problems = append(s.Problems, err)
			return
		}
		if s.Cooldowns == nil {
			s.Cooldowns = make(map[string]time.Time)
		}
		s.Cooldowns[member] = since
	case strings.HasPrefix(key, WorldKeyPrefix):
		w, err := r.World(key)
		if err != nil {
			s.Problems = append(s.Problems, err)
			return
		}
		s.Worlds = append(s.Worlds, w)
	default:
		srv, err := r.Server(key)
		if err != nil {
			s.Problems = append(s.Problems, err)
			return
		}
		s.Servers = append(s.Servers, srv)
	}
}

// Skip adds to the problems the record under key (may be "" when the
// record has no usable key) that could not be read at all, err saying why.
func (s *Snapshot) Skip(key string, err error) {
	err = &RecordError{Key: key, Err: err}
	if strings.HasPrefix(key, GameKeyPrefix) {
		s.GameProblems = append(s.GameProblems, err)
		return
	}
	s.Problems = append(s.Problems, err)
}

// kinds are the prefixes of the keys of records other than servers', with
// the word that names each kind in a message.
var kinds = []struct{ prefix, name string }{
	{GameKeyPrefix, "game"},
	{CooldownKeyPrefix, "cooldown"},
	{WorldKeyPrefix, "world"},
	{SessionKeyPrefix, "session"},
	{ReportKeyPrefix, "report"},
}

// DescribeKey names the record of key in a message: "game <name>",
// "cooldown <member id>", "world <id>", "session <id>", "report
// <YYYY-MM>" or "server <key>".
func DescribeKey(key string) string {
	kind, rest := kindOf(key)
	return kind + " " + rest
}

// IsServerKey reports whether key may be a server's: it is not the key of
// a game template, a cooldown, a world, a session or a report.
func IsServerKey(key string) bool {
	kind, _ := kindOf(key)
	return kind == "server"
}

// kindOf is the kind of the record of key, as a word ("server" when no
// other kind's prefix starts it), and the key less that prefix.
func kindOf(key string) (kind, rest string) {
	for _, k := range kinds {
		if rest, ok := strings.CutPrefix(key, k.prefix); ok {
			return k.name, rest
		}
	}
	return "server", key
}

// InSnapshot reports whether the record of key is read with the others at
// start (Snapshot.Add): a server's, a game template's, a cooldown's or a
// world's. A session's or a report's is read on demand.
func InSnapshot(key string) bool {
	return !strings.HasPrefix(key, SessionKeyPrefix) && !strings.HasPrefix(key, ReportKeyPrefix)
}

// GameKey is the key of the game template name: GameKeyPrefix+name. An
// empty name is refused: "game: empty name".
func GameKey(name string) (string, error) {
	if name == "" {
		return "", errors.New("game: empty name")
	}
	return GameKeyPrefix + name, nil
}

// CooldownKey is the key of member's creation cooldown:
// CooldownKeyPrefix+member. An empty member is refused: "cooldown: empty
// member".
func CooldownKey(member string) (string, error) {
	if member == "" {
		return "", errors.New("cooldown: empty member")
	}
	return CooldownKeyPrefix + member, nil
}

// The attributes of a game template's record (taskId GameKeyPrefix+name)
// and of a cooldown's (taskId CooldownKeyPrefix+member id).
const (
	attrTemplate  = "template"  // string: the template's JSON
	attrUpdatedAt = "updatedAt" // number, Unix ms: when it was put
	attrStartedAt = "startedAt" // number, Unix ms: when the cooldown started
)

// GameRecord is the record that keeps the template doc under name, put at
// updated. An empty name or a doc that is not JSON, which Game could not
// read back, is refused; the error reads "game <name>: <what is wrong>".
func GameRecord(name string, doc []byte, updated time.Time) (Record, error) {
	key, err := GameKey(name)
	if err != nil {
		return nil, err
	}
	if !json.Valid(doc) {
		return nil, fmt.Errorf("game %s: the template is not JSON", name)
	}
	r := Record{KeyAttr: StringAttr(key), attrTemplate: StringAttr(string(doc))}
	r.setTime(attrUpdatedAt, updated)
	return r, nil
}

// Game reads r, stored under key (GameKeyPrefix+name), as a game template:
// its name and its JSON document. A key without a name, a template missing,
// not a string or not JSON, or an updatedAt that is not a time is a
// *RecordError naming key.
func (r Record) Game(key string) (name string, doc []byte, err error) {
	d := reader{rec: r}
	name = strings.TrimPrefix(key, GameKeyPrefix)
	tpl, _ := d.get(attrTemplate, AttrString, true)
	d.time(attrUpdatedAt, false)
	switch {
	case d.err != nil:
	case name == "":
		d.failf("the game has no name")
	case !json.Valid([]byte(tpl.Text)):
		d.failf("%s is not JSON", attrTemplate)
	}
	if d.err != nil {
		return "", nil, &RecordError{Key: key, Err: d.err}
	}
	return name, []byte(tpl.Text), nil
}

// CooldownRecord is the record that keeps member's creation cooldown,
// started at since. An empty member or a time Cooldown could not read back
// (not after 1970) is refused; the error reads "cooldown <member>: ...".
func CooldownRecord(member string, since time.Time) (Record, error) {
	key, err := CooldownKey(member)
	if err != nil {
		return nil, err
	}
	if since.UnixMilli() <= 0 {
		return nil, fmt.Errorf("cooldown %s: no start time", member)
	}
	return Record{KeyAttr: StringAttr(key), attrStartedAt: NumberAttr(since.UnixMilli())}, nil
}

// Cooldown reads r, stored under key (CooldownKeyPrefix+member id), as a
// member's creation cooldown. A key without a member, or a startedAt
// missing, not a number or not a time after 1970, is a *RecordError
// naming key.
func (r Record) Cooldown(key string) (member string, since time.Time, err error) {
	d := reader{rec: r}
	member = strings.TrimPrefix(key, CooldownKeyPrefix)
	since = d.time(attrStartedAt, true)
	if member == "" {
		d.failf("the cooldown names no member")
	}
	if d.err != nil {
		return "", time.Time{}, &RecordError{Key: key, Err: d.err}
	}
	return member, since, nil
}
