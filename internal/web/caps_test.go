package web

import (
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A link spelled another way is still the same link: line breaks
// (%0A) put anywhere in a token, which base64 decoding skips, do not make
// new links to count apart.
func TestFeedCapCountsTheLinkNotItsSpelling(t *testing.T) {
	w := newWorld(t, HubOptions{MaxPerToken: 2})
	token := w.signer.Sign(MemberScope("u1"), time.Hour)
	var open []*websocket.Conn
	refused := 0
	for _, at := range []int{0, 1, 5, 10, 20, 30, len(token) - 1, len(token)} {
		variant := token[:at] + "%0A" + token[at:]
		c, resp, err := w.dial(t, variant, "")
		switch {
		case err == nil:
			open = append(open, c)
		case resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusUnauthorized):
			refused++
		default:
			t.Fatalf("dial %q: %v", variant, err)
		}
	}
	for range 2 {
		if c, _, err := w.dial(t, token, ""); err == nil {
			open = append(open, c)
		} else {
			refused++
		}
	}
	if len(open) > 2 {
		t.Fatalf("one link opened %d connections (%d refused); the cap is 2", len(open), refused)
	}
	// Another member is not refused because of it.
	if _, _, err := w.dial(t, w.signer.Sign(MemberScope("u2"), time.Hour), ""); err != nil {
		t.Fatalf("another member's link: %v", err)
	}
}

// /server dashboard hands out a new link each time: the links made for one
// member count together, the ticket's link of their server among them,
// and another member still connects.
func TestFeedCapsConnectionsPerMember(t *testing.T) {
	w := newWorld(t, HubOptions{MaxPerToken: 2, MaxPerMember: 3})
	fresh := func(scope Scope, i int) string {
		return w.signer.Sign(scope, time.Hour+time.Duration(i)*time.Second) // a new link each time
	}
	for i := range 3 {
		if _, _, err := w.dial(t, fresh(MemberScope("u1"), i), ""); err != nil {
			t.Fatalf("link %d of u1: %v", i+1, err)
		}
	}
	refuse := func(why, token string) {
		t.Helper()
		c, resp, err := w.dial(t, token, "")
		if err == nil {
			c.CloseNow()
			t.Fatalf("%s: upgraded past the member's cap", why)
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s: %v; want 429", why, err)
		}
	}
	refuse("a fourth fresh link of u1", fresh(MemberScope("u1"), 3))
	refuse("the ticket's link of u1's server", fresh(ServerScope("a").For("u1"), 0))
	if _, _, err := w.dial(t, fresh(MemberScope("u2"), 0), ""); err != nil {
		t.Fatalf("u2 past u1's cap: %v", err)
	}
	if _, _, err := w.dial(t, fresh(ServerScope("b").For("u2"), 0), ""); err != nil {
		t.Fatalf("u2's ticket link past u1's cap: %v", err)
	}

	// Admins' fleet links count per admin.
	for i := range 3 {
		if _, _, err := w.dial(t, fresh(FleetScope().For("admin1"), i), ""); err != nil {
			t.Fatalf("link %d of admin1: %v", i+1, err)
		}
	}
	refuse("a fourth fresh link of admin1", fresh(FleetScope().For("admin1"), 3))
	if _, _, err := w.dial(t, fresh(FleetScope().For("admin2"), 0), ""); err != nil {
		t.Fatalf("admin2 past admin1's cap: %v", err)
	}
}
