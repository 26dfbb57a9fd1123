package spawner

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session is one game server's run, kept after the server is gone so the
// cost of a month can be told: who asked for it, for which game, when it
// ran, its size and where. It is stored under SessionKeyPrefix+ID for
// SessionRetentionMonths after it ended, and read on demand (a month's
// report, /server cost), never with the servers at start.
type Session struct {
	ID      string // the server's creation id: one session per server
	Owner   string // the member who asked for it (their id)
	Game    string
	Variant string
	// StartedAt is when the runtime was asked to run the server: Fargate
	// bills from the image pull, which follows at once. EndedAt is when
	// the task or container stopped; zero while the server runs.
	StartedAt time.Time
	EndedAt   time.Time
	// CPU (in units of 1/1024 vCPU, as ECS counts them) and Memory (MiB)
	// are the task's size; 0 is not known, and a session of unknown size
	// is counted in hours but not priced.
	CPU    int
	Memory int
	// Capacity is where it ran: CapacityFargate, CapacityFargateSpot or
	// CapacityDocker.
	Capacity string
	// Region is the AWS region of an ECS task; empty under Docker.
	Region string
	// PublicIP is true when the task had a public IPv4 address of its
	// own, which AWS bills by the hour.
	PublicIP bool
}

// Where a session ran (Session.Capacity): ECS's capacity providers, or the
// Docker engine of one host.
const (
	CapacityFargate     = "FARGATE"
	CapacityFargateSpot = "FARGATE_SPOT"
	CapacityDocker      = "docker"
)

// SessionKeyPrefix starts the key of a session's record: "session/<id>".
const SessionKeyPrefix = "session/"

// SessionRetentionMonths is how long a session is kept after it ended
// (after it started, while it runs): 13 months, so that a month's report
// can be compared with the same month a year before.
const SessionRetentionMonths = 13

// ExpiresAt is when a record stamped at t (a session's end, a report's
// sending) is no longer kept: SessionRetentionMonths later.
func ExpiresAt(t time.Time) time.Time { return t.AddDate(0, SessionRetentionMonths, 0) }

// SessionCutoff is the oldest a session kept at now may have ended:
// SessionRetentionMonths before now. A store prunes those that ended
// before it (PruneSessions).
func SessionCutoff(now time.Time) time.Time { return now.AddDate(0, -SessionRetentionMonths, 0) }

// SessionKey is the key of the session id: SessionKeyPrefix+id. An empty
// id is refused: "session: empty id".
func SessionKey(id string) (string, error) {
	if id == "" {
		return "", errors.New("session: empty id")
	}
	return SessionKeyPrefix + id, nil
}

// Key is the session's key: SessionKeyPrefix+ID.
func (s Session) Key() string { return SessionKeyPrefix + s.ID }

// Running reports whether the session has not ended yet.
func (s Session) Running() bool { return s.EndedAt.IsZero() }

// Until is when the session ended, or now while it runs.
func (s Session) Until(now time.Time) time.Time {
	if s.Running() {
		return now
	}
	return s.EndedAt
}

// Duration is how long the session ran, up to now while it runs; never
// negative.
func (s Session) Duration(now time.Time) time.Duration {
	return max(s.Until(now).Sub(s.StartedAt), 0)
}

// Overlaps reports whether the session ran at some time in [from, to):
// it started before to, and ended after from or runs still.
func (s Session) Overlaps(from, to time.Time) bool {
	return s.StartedAt.Before(to) && (s.Running() || s.EndedAt.After(from))
}

// Ended reports whether the session ended before t: a running one has not.
func (s Session) Ended(before time.Time) bool {
	return !s.Running() && s.EndedAt.Before(before)
}

// Largest sizes a session's record keeps: more than any Fargate task or
// Docker host has, and small enough that cost arithmetic stays exact.
const (
	MaxSessionCPU    = 1 << 20 // 1024 vCPU
	MaxSessionMemory = 1 << 24 // 16 TiB in MiB
)

// The attributes of a session's record (taskId SessionKeyPrefix+id); who,
// the game and the variant are userId, game and typeServer, as a
// server's; startedAt is a cooldown's.
const (
	attrEndedAt   = "endedAt"  // number, Unix ms; absent while it runs
	attrCPU       = "cpu"      // number, 1/1024 vCPU
	attrMemory    = "memory"   // number, MiB
	attrCapacity  = "capacity" // string: FARGATE, FARGATE_SPOT or docker
	attrRegion    = "region"   // string
	attrHadIPv4   = "publicIp" // boolean
	attrExpiresAt = TimeToLiveAttr
)

// TimeToLiveAttr is the attribute of a session's or a report's record
// that holds when it expires (ExpiresAt), a number in Unix seconds: the
// attribute of the DynamoDB table's time to live, which deletes the record
// then.
const TimeToLiveAttr = "expiresAt"

// KnownCapacity reports whether c is one of the capacities a session may
// have run on.
func KnownCapacity(c string) bool {
	return c == CapacityFargate || c == CapacityFargateSpot || c == CapacityDocker
}

// Storable reports whether a store may hold s: a session Record.Session
// reads back, with an id, an owner, a start after 1970, an end not before
// it, a known capacity and sizes within bounds. The error reads
// "session <id>: <what is wrong>", for the store to wrap ("put %w").
func (s Session) Storable() error {
	var why string
	switch {
	case s.ID == "":
		return errors.New("session: empty id")
	case s.Owner == "":
		why = "no owner"
	case s.StartedAt.UnixMilli() <= 0:
		why = "no start time"
	case !s.Running() && s.EndedAt.Before(s.StartedAt):
		why = "it ended before it started"
	case !KnownCapacity(s.Capacity):
		why = fmt.Sprintf("capacity %q is none of %s, %s, %s", s.Capacity, CapacityFargate, CapacityFargateSpot, CapacityDocker)
	case s.CPU < 0 || s.CPU > MaxSessionCPU:
		why = "cpu is not a task size"
	case s.Memory < 0 || s.Memory > MaxSessionMemory:
		why = "memory is not a task size"
	default:
		return nil
	}
	return fmt.Errorf("session %s: %s", s.ID, why)
}

// Record is the record that keeps s under s.Key(), with expiresAt
// (Unix seconds) SessionRetentionMonths after it ended, or after it
// started while it runs. Times are in Unix ms, so they load back
// truncated to the millisecond, in UTC. A session Record.Session could not
// read back is refused with Storable's error.
func (s Session) Record() (Record, error) {
	if err := s.Storable(); err != nil {
		return nil, err
	}
	last := s.EndedAt // the session's last known time: its end, or its start while it runs
	if s.Running() {
		last = s.StartedAt
	}
	r := Record{
		KeyAttr:       StringAttr(s.Key()),
		attrUserID:    StringAttr(s.Owner),
		attrStartedAt: NumberAttr(s.StartedAt.UnixMilli()),
		attrCapacity:  StringAttr(s.Capacity),
		attrExpiresAt: NumberAttr(ExpiresAt(last).Unix()),
	}
	r.setString(attrGame, s.Game)
	r.setString(attrTypeServer, s.Variant)
	r.setTime(attrEndedAt, s.EndedAt)
	r.setNumber(attrCPU, s.CPU)
	r.setNumber(attrMemory, s.Memory)
	r.setString(attrRegion, s.Region)
	if s.PublicIP {
		r.set(attrHadIPv4, BoolAttr(true))
	}
	return r, nil
}

// Session reads r, stored under key (SessionKeyPrefix+id), as a session.
// What in it is wrong comes back as a *RecordError naming key and the
// attribute: a key without an id, userId, startedAt or capacity missing,
// an attribute of the wrong kind, a time before 1970, an end before the
// start, an unknown capacity, a size out of bounds.
func (r Record) Session(key string) (Session, error) {
	d := reader{rec: r}
	s := Session{ID: strings.TrimPrefix(key, SessionKeyPrefix)}
	s.Owner = d.str(attrUserID, true)
	s.Game = d.str(attrGame, false)
	s.Variant = d.str(attrTypeServer, false)
	s.StartedAt = d.time(attrStartedAt, true)
	s.EndedAt = d.time(attrEndedAt, false)
	s.CPU = d.within(attrCPU, 0, MaxSessionCPU, "a task size")
	s.Memory = d.within(attrMemory, 0, MaxSessionMemory, "a task size")
	s.Capacity = d.str(attrCapacity, true)
	s.Region = d.str(attrRegion, false)
	s.PublicIP = d.boolean(attrHadIPv4)
	d.number(attrExpiresAt, false)
	switch {
	case d.err != nil:
	case s.ID == "":
		d.failf("the session has no id")
	case !KnownCapacity(s.Capacity):
		d.failf("%s is not a known capacity", attrCapacity)
	case !s.Running() && s.EndedAt.Before(s.StartedAt):
		d.failf("%s is before %s", attrEndedAt, attrStartedAt)
	}
	if d.err != nil {
		return Session{}, &RecordError{Key: key, Err: d.err}
	}
	return s, nil
}
