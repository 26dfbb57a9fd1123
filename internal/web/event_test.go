package web

import (
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestEventJSON: the feed's JSON, which the pages and anyone following the
// feed read, keeps its names and leaves out what an event does not say.
func TestEventJSON(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 15, 30, 0, time.UTC)
	n := 3
	yes, no := true, false
	for _, tc := range []struct {
		name string
		e    spawner.Event
		want string
	}{
		{"every field", spawner.Event{Type: spawner.EventWarning, Server: "3f9a1c07b2e4d865", Owner: "111111111111111111", State: spawner.StateReady,
			Time: at, Game: "minecraft", Title: "Minecraft", Variant: "official", Address: "203.0.113.7:25565", Players: &n, Min: 4,
			StopsAt: at.Add(90 * time.Minute), Steps: map[spawner.State]time.Time{spawner.StateRequested: at.Add(-time.Minute), spawner.StateReady: at},
			Warning: "players", K: 1, N: 3, Cause: spawner.CausePlayers,
			World: &spawner.EventWorld{Name: "survival", Owner: "111111111111111111", State: spawner.WorldRunning, Size: 12_900_000}},
			`{"type":"warning","server":"3f9a1c07b2e4d865","owner":"111111111111111111","state":"ready","time":"2026-12-07T20:15:30Z",` +
				`"game":"minecraft","title":"Minecraft","variant":"official","address":"203.0.113.7:25565","players":3,"minPlayers":4,` +
				`"stopsAt":"2026-12-07T21:45:30Z","steps":{"ready":"2026-12-07T20:15:30Z","requested":"2026-12-07T20:14:30Z"},` +
				`"warning":"players","k":1,"n":3,"cause":"players",` +
				`"world":{"name":"survival","owner":"111111111111111111","state":"running","size":12900000}}`},
		{"the least", spawner.Event{Type: spawner.EventState, Server: "a", Owner: "u", State: spawner.StateRequested, Time: at},
			`{"type":"state","server":"a","owner":"u","state":"requested","time":"2026-12-07T20:15:30Z"}`},
		{"a server of a world", spawner.Event{Type: spawner.EventState, Server: "a", Owner: "u", State: spawner.StateReady, Time: at,
			World: &spawner.EventWorld{Name: "survival", Owner: "u", State: spawner.WorldRunning, Size: 12_900_000}},
			`{"type":"state","server":"a","owner":"u","state":"ready","time":"2026-12-07T20:15:30Z",` +
				`"world":{"name":"survival","owner":"u","state":"running","size":12900000}}`},
		{"a new world, never backed up", spawner.Event{Type: spawner.EventSnapshot, Server: "a", Owner: "u", State: spawner.StateRequested, Time: at,
			World: &spawner.EventWorld{Name: "survival", Owner: "u", State: spawner.WorldRunning}},
			`{"type":"snapshot","server":"a","owner":"u","state":"requested","time":"2026-12-07T20:15:30Z",` +
				`"world":{"name":"survival","owner":"u","state":"running","size":0}}`},
		{"a world saved at the end", spawner.Event{Type: spawner.EventEnded, Server: "a", Owner: "u", State: spawner.StateStopped, Time: at,
			Cause: spawner.CauseCommand, World: &spawner.EventWorld{Name: "survival", Owner: "u", State: spawner.WorldAsleep, Size: 1 << 30, Saved: &yes}},
			`{"type":"ended","server":"a","owner":"u","state":"stopped","time":"2026-12-07T20:15:30Z","cause":"command",` +
				`"world":{"name":"survival","owner":"u","state":"asleep","size":1073741824,"saved":true}}`},
		{"a world whose backup failed at the end", spawner.Event{Type: spawner.EventEnded, Server: "a", Owner: "u", State: spawner.StateStopped, Time: at,
			Cause: spawner.CauseTaskEnded, World: &spawner.EventWorld{Name: "survival", Owner: "u", State: spawner.WorldAsleep, Size: 1 << 30, Saved: &no}},
			`{"type":"ended","server":"a","owner":"u","state":"stopped","time":"2026-12-07T20:15:30Z","cause":"task_ended",` +
				`"world":{"name":"survival","owner":"u","state":"asleep","size":1073741824,"saved":false}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeEvent(tc.e)
			if err != nil || string(got) != tc.want {
				t.Errorf("encodeEvent = %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
}
