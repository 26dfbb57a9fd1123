package bolt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// record is a server as stored: the dynamo table's item, attribute for
// attribute, as a JSON object. Strings are S, numbers N, the boolean BOOL;
// empty values are left out, as the table leaves them out.
type record struct {
	TaskID          string `json:"taskId"`                    // S: the key, task ARN or spawner.PendingKeyPrefix+creation id
	PublicIP        string `json:"publicIpAddress,omitempty"` // S
	Token           string `json:"token,omitempty"`           // S, secret
	CreationDate    int64  `json:"creationDate"`              // N, Unix ms
	ChannelID       string `json:"channelId,omitempty"`       // S
	TypeServer      string `json:"typeServer,omitempty"`      // S, the variant
	UserID          string `json:"userId,omitempty"`          // S
	CreationID      string `json:"creationId,omitempty"`      // S
	Game            string `json:"game,omitempty"`            // S
	StatusMessageID string `json:"statusMessageId,omitempty"` // S
	Port            int    `json:"port,omitempty"`            // N
	Locale          string `json:"locale,omitempty"`          // S
	State           string `json:"state,omitempty"`           // S, spawner.State
	RunningDate     int64  `json:"runningDate,omitempty"`     // N, Unix ms
	ReadyDate       int64  `json:"readyDate,omitempty"`       // N, Unix ms
	Warnings        int    `json:"warnings,omitempty"`        // N
	RuntimeWarned   bool   `json:"runtimeWarned,omitempty"`   // BOOL
	StopAt          int64  `json:"stopAt,omitempty"`          // N, Unix ms
	Extensions      int    `json:"extensions,omitempty"`      // N
	RCONPassword    string `json:"rconPassword,omitempty"`    // S, secret
	GameTemplate    string `json:"gameTemplate,omitempty"`    // S, JSON text
	Players         int    `json:"players,omitempty"`         // N, -1: not counted; absent: unknown (0)
}

// gameRecord is a game template as stored: the dynamo table's item.
type gameRecord struct {
	TaskID    string `json:"taskId"`              // S: spawner.GameKeyPrefix+name
	Template  string `json:"template"`            // S: the template's JSON
	UpdatedAt int64  `json:"updatedAt,omitempty"` // N, Unix ms
}

// cooldownRecord is a member's creation cooldown as stored: the dynamo
// table's item.
type cooldownRecord struct {
	TaskID    string `json:"taskId"`    // S: spawner.CooldownKeyPrefix+member id
	StartedAt int64  `json:"startedAt"` // N, Unix ms
}

func encode(s spawner.Server) record {
	return record{
		TaskID:          s.Key(),
		PublicIP:        s.Address,
		Token:           s.Token,
		CreationDate:    s.CreatedAt.UnixMilli(),
		ChannelID:       s.ChannelID,
		TypeServer:      s.Variant,
		UserID:          s.Owner,
		CreationID:      s.CreationID,
		Game:            s.Game,
		StatusMessageID: s.StatusMessageID,
		Port:            s.Port,
		Locale:          s.Locale,
		State:           string(s.State),
		RunningDate:     millis(s.RunningAt),
		ReadyDate:       millis(s.ReadyAt),
		Warnings:        s.Warnings,
		RuntimeWarned:   s.RuntimeWarned,
		StopAt:          millis(s.StopsAt),
		Extensions:      s.Extensions,
		RCONPassword:    s.RCONPassword,
		GameTemplate:    string(s.GameTemplate),
		Players:         min(s.Players, spawner.MaxPlayers),
	}
}

// millis is t in Unix ms, 0 for the zero time (left out).
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// decode turns the record stored under key into a server, or says (as an
// *ItemError) what in it is wrong. Values never appear in the error.
func decode(key string, v []byte) (spawner.Server, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return spawner.Server{}, &ItemError{Key: key, Err: jsonProblem(err)}
	}
	fail := func(format string, args ...any) (spawner.Server, error) {
		return spawner.Server{}, &ItemError{Key: key, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case r.TaskID == "":
		return fail("taskId is missing")
	case r.TaskID != key:
		return fail("taskId does not match the record's key")
	case r.UserID == "":
		return fail("userId is missing")
	case r.ChannelID == "":
		return fail("channelId is missing")
	case r.CreationDate <= 0:
		return fail("creationDate is not a time after 1970")
	case r.RunningDate < 0:
		return fail("runningDate is not a time after 1970")
	case r.ReadyDate < 0:
		return fail("readyDate is not a time after 1970")
	case r.StopAt < 0:
		return fail("stopAt is not a time after 1970")
	case r.Port < 0 || r.Port > 65535:
		return fail("port is not a TCP port")
	case r.Warnings < 0 || r.Warnings > 1000:
		return fail("warnings is not a small whole number")
	case r.Extensions < 0 || r.Extensions > 1000:
		return fail("extensions is not a small whole number")
	case r.State != "" && !spawner.State(r.State).Known():
		return fail("state is not a known state")
	case r.Players < -1 || r.Players > spawner.MaxPlayers:
		return fail("players is not a player count")
	}
	s := spawner.Server{
		Owner:           r.UserID,
		ChannelID:       r.ChannelID,
		CreatedAt:       time.UnixMilli(r.CreationDate).UTC(),
		Address:         r.PublicIP,
		Token:           r.Token,
		Variant:         r.TypeServer,
		CreationID:      r.CreationID,
		Game:            r.Game,
		StatusMessageID: r.StatusMessageID,
		Port:            r.Port,
		Locale:          r.Locale,
		State:           spawner.State(r.State),
		RunningAt:       fromMillis(r.RunningDate),
		ReadyAt:         fromMillis(r.ReadyDate),
		Warnings:        r.Warnings,
		RuntimeWarned:   r.RuntimeWarned,
		StopsAt:         fromMillis(r.StopAt),
		Extensions:      r.Extensions,
		RCONPassword:    r.RCONPassword,
		Players:         r.Players,
	}
	if r.GameTemplate != "" {
		s.GameTemplate = []byte(r.GameTemplate)
	}
	if id, ok := strings.CutPrefix(key, spawner.PendingKeyPrefix); ok {
		if s.CreationID != "" && s.CreationID != id {
			return fail("creationId does not match the key's creation id")
		}
		s.CreationID = id
	} else {
		s.TaskID = key
	}
	return s, nil
}

// decodeGame reads the game record stored under name.
func decodeGame(name string, v []byte) ([]byte, error) {
	key := spawner.GameKeyPrefix + name
	var r gameRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, &ItemError{Key: key, Err: jsonProblem(err)}
	}
	switch {
	case name == "":
		return nil, &ItemError{Key: key, Err: errors.New("the game has no name")}
	case r.Template == "":
		return nil, &ItemError{Key: key, Err: errors.New("template is missing")}
	case !json.Valid([]byte(r.Template)):
		return nil, &ItemError{Key: key, Err: errors.New("template is not JSON")}
	}
	return []byte(r.Template), nil
}

// decodeCooldown reads the cooldown record of member.
func decodeCooldown(member string, v []byte) (time.Time, error) {
	key := spawner.CooldownKeyPrefix + member
	var r struct {
		StartedAt *int64 `json:"startedAt"`
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return time.Time{}, &ItemError{Key: key, Err: jsonProblem(err)}
	}
	switch {
	case member == "":
		return time.Time{}, &ItemError{Key: key, Err: errors.New("the cooldown names no member")}
	case r.StartedAt == nil:
		return time.Time{}, &ItemError{Key: key, Err: errors.New("startedAt is missing")}
	case *r.StartedAt <= 0:
		return time.Time{}, &ItemError{Key: key, Err: errors.New("startedAt is not a time after 1970")}
	}
	return time.UnixMilli(*r.StartedAt).UTC(), nil
}

// jsonProblem says what is wrong with a record that does not decode,
// naming the attribute when the JSON is well formed but a value has the
// wrong type, and never quoting a value.
func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		// Value is "string", "number", "number 1.5", ...: keep the kind only.
		kind, _, _ := strings.Cut(te.Value, " ")
		return fmt.Errorf("%s is a JSON %s, want %s", te.Field, kind, jsonKind(te.Type.Kind().String()))
	}
	return errors.New("the record is not a JSON object")
}

// jsonKind names a Go kind as JSON does.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
