package main

import (
	"context"
	"testing"

	"github.com/mineral-contest/spawner/internal/mcsleep"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// An asleep world is answered for with the status its game last gave:
// its version, its protocol and its maximum of players, as a Minecraft
// client's server list shows them; a world whose maximum is not known
// shows a vanilla server's.
func TestSleepShowsTheWorldsLastStatus(t *testing.T) {
	t.Parallel()
	never := mcsleep.WakeFunc(func(context.Context, string, string) (bool, string) { return false, "" })
	set, err := mcsleep.NewSet(mcsleep.SetConfig{Config: mcsleep.Config{Waker: never, Lang: text.En}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.CloseAll)
	s := &asleepWorlds{set: set, listen: func(int) string { return "127.0.0.1:0" }}

	for _, tc := range []struct {
		world   spawner.World
		wantMax int
	}{
		{spawner.World{ID: "w-known", Port: 25570, StatusVersion: "Paper 1.21.4", StatusProtocol: 769, StatusMax: 40}, 40},
		{spawner.World{ID: "w-unknown", Port: 25571, StatusVersion: "Paper 1.21.4", StatusProtocol: 769}, mcsleep.DefaultMaxPlayers},
	} {
		if err := s.Sleep(tc.world); err != nil {
			t.Fatalf("Sleep %s: %v", tc.world.ID, err)
		}
		l := set.Get(tc.world.ID)
		if l == nil {
			t.Fatalf("nothing answers for %s", tc.world.ID)
		}
		st, err := slPing(l.Addr().String())
		if err != nil {
			t.Fatalf("ping %s: %v", tc.world.ID, err)
		}
		if st.Players.Max != tc.wantMax || st.Players.Online != 0 || st.Version.Name != "Paper 1.21.4" || st.Version.Protocol != 769 {
			t.Errorf("%s shows %+v, want 0/%d players of Paper 1.21.4 (769)", tc.world.ID, st, tc.wantMax)
		}
	}
}
