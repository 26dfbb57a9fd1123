package web

import (
	"encoding/json"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// eventJSON is an event as the feed sends it and the pages read it. Its
// names are the feed's, fixed: the pages and whoever follows the feed
// rely on them.
type eventJSON struct {
	Type    spawner.EventType           `json:"type"`
	Server  string                      `json:"server"`
	Owner   string                      `json:"owner"`
	State   spawner.State               `json:"state"`
	Time    time.Time                   `json:"time"`
	Game    string                      `json:"game,omitempty"`
	Title   string                      `json:"title,omitempty"`
	Variant string                      `json:"variant,omitempty"`
	Address string                      `json:"address,omitempty"`
	Players *int                        `json:"players,omitempty"`
	Min     int                         `json:"minPlayers,omitempty"`
	StopsAt time.Time                   `json:"stopsAt,omitzero"`
	Steps   map[spawner.State]time.Time `json:"steps,omitempty"`
	Warning string                      `json:"warning,omitempty"`
	K       int                         `json:"k,omitempty"`
	N       int                         `json:"n,omitempty"`
	Cause   spawner.StopCause           `json:"cause,omitempty"`
	World   *worldJSON                  `json:"world,omitempty"`
}

// worldJSON is the world a server plays, as the feed sends it: its size
// is always there (0 for a world never backed up yet); saved only once
// the backup at the server's end is done, true or false.
type worldJSON struct {
	Name  string             `json:"name"`
	Owner string             `json:"owner"`
	State spawner.WorldState `json:"state"`
	Size  int64              `json:"size"`
	Saved *bool              `json:"saved,omitempty"`
}

// encodeEvent is e as the feed's JSON.
func encodeEvent(e spawner.Event) ([]byte, error) {
	return json.Marshal(eventJSON{
		Type: e.Type, Server: e.Server, Owner: e.Owner, State: e.State, Time: e.Time,
		Game: e.Game, Title: e.Title, Variant: e.Variant, Address: e.Address,
		Players: e.Players, Min: e.Min, StopsAt: e.StopsAt, Steps: e.Steps,
		Warning: e.Warning, K: e.K, N: e.N, Cause: e.Cause, World: encodeWorld(e.World),
	})
}

// encodeWorld is w as the feed's JSON; nil for a server without a world.
func encodeWorld(w *spawner.EventWorld) *worldJSON {
	if w == nil {
		return nil
	}
	return &worldJSON{Name: w.Name, Owner: w.Owner, State: w.State, Size: w.Size, Saved: w.Saved}
}
