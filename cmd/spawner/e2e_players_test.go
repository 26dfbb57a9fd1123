package main

import (
	"strings"
	"testing"
	"time"
)

// The players a check saw are kept in the table: after a restart,
// /server list shows the last count, though the game no longer answers.
func TestRestartShowsLastPlayerCount(t *testing.T) {
	t.Parallel()
	const interval = 300 * time.Millisecond
	w := newWorld(t, worldOptions{env: map[string]string{
		"GAMESERVER_MIN_REQUIRED_PLAYERS":                  "2",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": interval.String(),
	}})
	w.players.Store(3)
	d1 := w.start(t)
	u := member(1)
	_, arn := createReady(t, w, d1, u, nil)
	game := w.mc.Get(wdTask(t, w, arn).PublicIP)
	game.SetPlayers(7, 20)
	w.waitFor(t, "the record to keep the 7 players a check saw", func() bool {
		recs := w.table(t)
		return len(recs) == 1 && recs[0].Players == 7
	}, d1)
	if err := d1.stop(t); err != nil {
		t.Fatalf("first daemon: %v", err)
	}
	game.SetSilent(true) // only the table can tell the count now
	w.start(t)

	for _, c := range []struct{ locale, want string }{{"en-US", "7 player(s)"}, {"fr", "7 joueur(s)"}} {
		list := w.discord.Command(u, c.locale, []string{"server", "list"}, nil).WaitResponse(t, waitLong).Text()
		if !strings.Contains(list, c.want) {
			t.Errorf("/server list (%s) after the restart = %q, want %q", c.locale, list, c.want)
		}
	}
}
