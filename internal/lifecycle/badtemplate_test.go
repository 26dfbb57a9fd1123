package lifecycle

import (
	"errors"
	"testing"
)

// Recover is retried at start while ECS or the table fail; a malformed
// stored template is told in the log channel once, not at every attempt.
func TestMalformedTemplateToldOnceAcrossRecoverRetries(t *testing.T) {
	games := newFakeGames()
	games.docs["broken"] = []byte(`{"name": "broken", "port": "x"}`)
	games.docs["factorio"] = factorioTemplate
	w := newWorld(t, withGames(games))
	w.ecs.failNext("ListOwnedTasks", 2, errBoom)
	for attempt := 1; attempt <= 2; attempt++ {
		if err := w.m.Recover(w.ctx); !errors.Is(err, errBoom) {
			t.Fatalf("Recover attempt %d = %v, want the ECS failure", attempt, err)
		}
	}
	w.recover()
	if got := w.chat.logsWith("broken", "port"); len(got) != 1 {
		t.Errorf("log channel lines about the broken template after 3 attempts = %q, want 1\n%s", got, w)
	}
	if _, ok := w.m.Catalog().Lookup("broken"); ok {
		t.Errorf("a malformed template is offered")
	}
	if _, ok := w.m.Catalog().Lookup("factorio"); !ok {
		t.Errorf("the good template is not offered")
	}
}
