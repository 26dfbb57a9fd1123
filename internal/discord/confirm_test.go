package discord

import (
	"errors"
	"testing"
	"time"
)

// A confirmation answers its own member's first click within its life,
// once. Another member's click (which Discord prevents for an ephemeral
// confirmation, but a forged interaction could carry) changes nothing, and
// the member can still click after it.
func TestConfirmationClaim(t *testing.T) {
	at := time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	var cs confirmations
	id := cs.add(confirmation{action: "delete", user: "alice", at: at})

	for _, c := range []struct {
		id, user string
		now      time.Time
		want     error
	}{
		{"nope", "alice", at, errUnknown},
		{id, "bob", at, errNotYours},
		{id, "alice", at.Add(confirmLife + time.Second), errExpired},
		{id, "alice", at.Add(-2 * time.Minute), errExpired}, // a clock set back
		{id, "alice", at.Add(confirmLife), nil},
		{id, "alice", at.Add(confirmLife), errAnswered},
		{id, "bob", at, errNotYours},
	} {
		got, err := cs.claim(c.id, c.user, c.now)
		if !errors.Is(err, c.want) || (err == nil && got.action != "delete") {
			t.Errorf("claim(%q, %q, +%s) = %+v, %v; want %v", c.id, c.user, c.now.Sub(at), got, err, c.want)
		}
	}
}

// The bot remembers a bounded number of confirmations: the old ones go
// first, expired ones as soon as another is added.
func TestConfirmationsBounded(t *testing.T) {
	at := time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	var cs confirmations
	first := cs.add(confirmation{user: "alice", at: at})
	for i := 1; i < maxConfirmations+10; i++ {
		cs.add(confirmation{user: "alice", at: at.Add(time.Duration(i) * time.Millisecond)})
	}
	if n := len(cs.byID); n != maxConfirmations {
		t.Errorf("%d confirmations remembered, want %d", n, maxConfirmations)
	}
	if _, err := cs.claim(first, "alice", at); !errors.Is(err, errUnknown) {
		t.Errorf("the oldest confirmation is still there: %v", err)
	}
	cs.add(confirmation{user: "bob", at: at.Add(3 * confirmLife)})
	if n := len(cs.byID); n != 1 {
		t.Errorf("%d confirmations remembered after the others expired long ago, want 1", n)
	}
}
