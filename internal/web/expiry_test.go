package web

import (
	"context"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// A connection opened with a valid token ends when the token expires: a
// link that leaked, or a member who lost the role, sees nothing past it.
func TestFeedEndsWhenItsTokenExpires(t *testing.T) {
	w := newWorld(t, HubOptions{}, snap("a", "u1", spawner.StateReady))
	c, _, err := w.dial(t, w.signer.Sign(MemberScope("u1"), time.Second), "")
	if err != nil {
		t.Fatalf("dial with a token valid 1s: %v", err)
	}
	if e := read(t, c); e.Server != "a" {
		t.Fatalf("snapshot = %+v, want server a", e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if got := websocket.CloseStatus(err); got != StatusLinkExpired {
		t.Fatalf("after the token's expiry the feed read %q, %v (close status %d), want closed with %d", data, err, got, StatusLinkExpired)
	}
	wait.For(t, "the expired client to leave the hub", func() bool { return w.hub.Clients() == 0 })

	// A long-lived token keeps its connection past that.
	long := w.mustDial(t, FleetScope(), "")
	_ = read(t, long)
	w.hub.Publish(change("a", "u1", spawner.StateStopping, time.Second))
	if e := read(t, long); e.State != spawner.StateStopping {
		t.Errorf("event on a valid connection = %+v, want the stopping change", e)
	}
}
