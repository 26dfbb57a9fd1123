package web

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time for signers under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestSignVerifyRoundTrip(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)}
	s := NewSigner([]byte("secret"), clk.Now)
	for _, scope := range []Scope{ServerScope("srv-1"), MemberScope("123456789012345678"), FleetScope()} {
		t.Run(scope.String(), func(t *testing.T) {
			token := s.Sign(scope, time.Hour)
			if strings.ContainsAny(token, "+/=?&# ") {
				t.Fatalf("token %q is not URL-safe", token)
			}
			if strings.Contains(token, "secret") {
				t.Fatalf("token %q shows the secret", token)
			}
			got, err := s.Verify(token)
			if err != nil || got != scope {
				t.Fatalf("Verify = %v, %v; want %v", got, err, scope)
			}
		})
	}
}

func TestSignVerifyHolder(t *testing.T) {
	s := NewSigner([]byte("secret"), (&clock{t: t0}).Now)
	for _, scope := range []Scope{ServerScope("srv-1").For("111"), MemberScope("222").For("222"), FleetScope().For("333")} {
		got, err := s.Verify(s.Sign(scope, time.Hour))
		if err != nil || got != scope {
			t.Errorf("Verify = %+v, %v; want %+v", got, err, scope)
		}
		if got.String() != scope.String() || !strings.HasPrefix(got.String(), string(scope.Kind)) {
			t.Errorf("the holder changed the scope's text: %q", got.String())
		}
	}
	// A link without a holder, as every link made before holders existed.
	if got, err := s.Verify(s.Sign(FleetScope(), time.Hour)); err != nil || got.Holder != "" || got.Kind != ScopeFleet {
		t.Errorf("Verify of a link without a holder = %+v, %v", got, err)
	}
}

// Only the spelling Sign makes is a link: base64 decoding skips line
// breaks and ignores the spare bits of the last character, so other
// spellings of one token would otherwise pass for other links.
func TestVerifyRefusesOtherSpellings(t *testing.T) {
	s := NewSigner([]byte("secret"), (&clock{t: t0}).Now)
	good := s.Sign(MemberScope("123456789012345678"), time.Hour)
	if _, err := s.Verify(good); err != nil {
		t.Fatalf("Verify(good) = %v", err)
	}
	payload, mac, _ := strings.Cut(good, ".")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, mac[len(mac)-1])
	spare := mac[:len(mac)-1] + string(alphabet[last^1]) // a 32-byte MAC leaves 2 spare bits
	for name, token := range map[string]string{
		"line break in the payload": payload[:3] + "\n" + payload[3:] + "." + mac,
		"line break in the MAC":     payload + "." + mac[:5] + "\r\n" + mac[5:],
		"trailing line break":       good + "\n",
		"spare bits set":            payload + "." + spare,
		"padding":                   good + "=",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Verify(token); !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("Verify(%q) = %v; want ErrTokenInvalid", token, err)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)}
	s := NewSigner([]byte("secret"), clk.Now)
	good := s.Sign(ServerScope("srv-1"), time.Hour)
	other := NewSigner([]byte("another secret"), clk.Now).Sign(FleetScope(), time.Hour)
	payload, mac, _ := strings.Cut(good, ".")
	fleetPayload, _, _ := strings.Cut(other, ".")
	for name, token := range map[string]string{
		"empty":               "",
		"no dot":              "abcdef",
		"not base64":          "!!!.???",
		"forged with another": other,
		"scope swapped":       fleetPayload + "." + mac,
		"mac cut":             payload + "." + mac[:10],
		"payload changed":     "B" + payload[1:] + "." + mac,
		"too long":            strings.Repeat("a", 600) + "." + mac,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Verify(token); !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("Verify(%q) = %v; want ErrTokenInvalid", token, err)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		clk.Add(time.Hour)
		if _, err := s.Verify(good); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("Verify after expiry = %v; want ErrTokenExpired", err)
		}
	})
}

func TestScopeCovers(t *testing.T) {
	for _, tc := range []struct {
		scope         Scope
		server, owner string
		want          bool
	}{
		{ServerScope("a"), "a", "u1", true},
		{ServerScope("a"), "b", "u1", false},
		{MemberScope("u1"), "b", "u1", true},
		{MemberScope("u1"), "c", "u2", false},
		{MemberScope(""), "c", "", false},
		{FleetScope(), "c", "u2", true},
	} {
		if got := tc.scope.Covers(tc.server, tc.owner); got != tc.want {
			t.Errorf("%v.Covers(%q, %q) = %v; want %v", tc.scope, tc.server, tc.owner, got, tc.want)
		}
	}
}

func TestParseScope(t *testing.T) {
	for _, text := range []string{"server:a", "member:42", "fleet", "backup:w1/20261207T153000123Z-0a1b2c3d"} {
		s, err := ParseScope(text)
		if err != nil || s.String() != text {
			t.Errorf("ParseScope(%q) = %v, %v", text, s, err)
		}
	}
	for _, text := range []string{"", "server:", "admin:1", "fleet:x", "member",
		"backup:", "backup:w1", "backup:w1/", "backup:/b1", "backup:../b1", "backup:w1/b1/c", "backup:w1/.."} {
		if _, err := ParseScope(text); err == nil {
			t.Errorf("ParseScope(%q) accepted", text)
		}
	}
}
