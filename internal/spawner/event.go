package spawner

import "time"

// EventType says what an Event tells.
type EventType string

const (
	EventSnapshot EventType = "snapshot" // the server as it is, sent first to a new client
	EventState    EventType = "state"    // a step of its life
	EventPlayers  EventType = "players"  // a new player count
	EventWarning  EventType = "warning"  // a watchdog warning (players or runtime)
	EventExtended EventType = "extended" // /server extend moved the stop time
	EventEnded    EventType = "ended"    // stopped; Cause says why
)

// Event is one change of one server, as the web feed sends it. It carries
// nothing secret: never the admin token, never the RCON password.
type Event struct {
	Type    EventType `json:"type"`
	Server  string    `json:"server"` // the server's public id (the creation id)
	Owner   string    `json:"owner"`  // Discord user id, for scoping
	State   State     `json:"state"`
	Time    time.Time `json:"time"`
	Game    string    `json:"game,omitempty"`
	Title   string    `json:"title,omitempty"`
	Variant string    `json:"variant,omitempty"`
	Address string    `json:"address,omitempty"` // ip:port once known
	Players *int      `json:"players,omitempty"`
	Min     int       `json:"minPlayers,omitempty"`
	StopsAt time.Time `json:"stopsAt,omitzero"`
	// Steps are the times each state was reached, for the page's timeline.
	Steps map[State]time.Time `json:"steps,omitempty"`
	// Warning is "players" or "runtime" for EventWarning, with K of N.
	Warning string    `json:"warning,omitempty"`
	K       int       `json:"k,omitempty"`
	N       int       `json:"n,omitempty"`
	Cause   StopCause `json:"cause,omitempty"`
}
