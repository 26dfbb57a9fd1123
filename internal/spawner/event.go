package spawner

import "time"

// EventType says what an Event tells.
type EventType string

// The types of event, each with what it tells.
const (
	EventSnapshot EventType = "snapshot" // the server as it is, sent first to a new client
	EventState    EventType = "state"    // a step of its life
	EventPlayers  EventType = "players"  // a new player count
	EventWarning  EventType = "warning"  // a watchdog warning (players or runtime)
	EventExtended EventType = "extended" // /server extend moved the stop time
	EventEnded    EventType = "ended"    // stopped; Cause says why
)

// Event is one change of one server, as the feed tells it to those who
// follow the server. It carries nothing secret: never the admin token,
// never the RCON password.
type Event struct {
	Type    EventType
	Server  string // the server's public id (the creation id)
	Owner   string // the owner's member id, for scoping
	State   State
	Time    time.Time
	Game    string
	Title   string
	Variant string
	Address string // host:port once known
	Players *int
	Min     int       // the game's minimum players, for a game that counts them
	StopsAt time.Time // once ready
	// Steps are the times each state was reached, for the page's timeline.
	Steps map[State]time.Time
	// Warning is "players" or "runtime" for EventWarning, with K of N.
	Warning string
	K       int
	N       int
	Cause   StopCause // why it ended, for EventEnded
	// World is the world the server plays, for a game with a world.
	World *EventWorld
}

// EventWorld is a server's world as the pages show it.
type EventWorld struct {
	Name  string
	Owner string // the owner's member id
	State WorldState
	Size  int64 // bytes, as of its newest backup
	// Saved is set on EventEnded once the world's backup at the end of the
	// server is done: true when it was saved, false when the backup failed
	// (the admin log says why). Nil before.
	Saved *bool
}
