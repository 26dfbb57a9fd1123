package lifecycle

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// The players a check sees are saved when the count moved, and only
// then, so /server list after a restart shows the last count, not the one
// at ready nor 0.
func TestRestartShowsTheLastPlayerCount(t *testing.T) {
	w := newWorld(t)
	w.recover()
	g := w.game()
	srv, _ := w.readyServer(alice) // ready with g.MinPlayers online
	w.pinger.answer(g.MinPlayers + 2)
	w.advanceAndPass(g.CheckInterval, false)
	if rec, ok := w.store.get(srv.Key()); !ok || rec.Players != g.MinPlayers+2 {
		t.Fatalf("record after a check saw %d players = %+v, want the count saved", g.MinPlayers+2, rec)
	}
	puts := len(w.store.putsOf())
	w.advanceAndPass(g.CheckInterval, false) // the same count: nothing to write
	if n := len(w.store.putsOf()) - puts; n != 0 {
		t.Errorf("a check that saw the same count wrote the record %d times", n)
	}

	w.cancel()
	w.restart()
	w.recover()
	me := spawner.Actor{UserID: alice}
	list := text.En.List(w.m.Servers(me), w.m.StopsAt, false)
	if want := text.En.Players(g.MinPlayers + 2); !strings.Contains(list, want) {
		t.Errorf("/server list after a restart:\n%s\nwant %q", list, want)
	}
}
