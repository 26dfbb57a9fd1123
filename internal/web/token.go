// Package web serves the live pages of spawner and the WebSocket feed of
// server events they read, behind short-lived signed links.
package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ScopeKind says what a token lets its holder see.
type ScopeKind string

const (
	ScopeServer ScopeKind = "server" // one server, by its public id
	ScopeMember ScopeKind = "member" // every server a Discord member owns
	ScopeFleet  ScopeKind = "fleet"  // every server: the admin's view
)

// Scope names what a token covers: one server, a member's servers, or the
// whole fleet. Its text form is "server:<id>", "member:<user id>" or "fleet".
type Scope struct {
	Kind ScopeKind
	ID   string // server id or Discord user id; empty for the fleet
}

// ServerScope covers the one server with this public id.
func ServerScope(id string) Scope { return Scope{Kind: ScopeServer, ID: id} }

// MemberScope covers every server whose Owner is this Discord user id.
func MemberScope(userID string) Scope { return Scope{Kind: ScopeMember, ID: userID} }

// FleetScope covers every server.
func FleetScope() Scope { return Scope{Kind: ScopeFleet} }

// String returns the scope's text form, as ParseScope reads it.
func (s Scope) String() string {
	if s.Kind == ScopeFleet {
		return string(ScopeFleet)
	}
	return string(s.Kind) + ":" + s.ID
}

// ParseScope reads "server:<id>", "member:<id>" or "fleet".
func ParseScope(text string) (Scope, error) {
	if text == string(ScopeFleet) {
		return FleetScope(), nil
	}
	kind, id, ok := strings.Cut(text, ":")
	if !ok || id == "" || (kind != string(ScopeServer) && kind != string(ScopeMember)) {
		return Scope{}, fmt.Errorf("parse scope %q: want server:<id>, member:<id> or fleet", text)
	}
	return Scope{Kind: ScopeKind(kind), ID: id}, nil
}

// Covers reports whether the scope lets its holder see the server with this
// id and owner.
func (s Scope) Covers(server, owner string) bool {
	switch s.Kind {
	case ScopeFleet:
		return true
	case ScopeServer:
		return s.ID != "" && server == s.ID
	case ScopeMember:
		return s.ID != "" && owner == s.ID
	}
	return false
}

// Errors of Verify and of the scope check. Callers branch on them with
// errors.Is: ErrTokenInvalid and ErrTokenExpired are 401, ErrOutOfScope 403.
var (
	ErrTokenInvalid = errors.New("invalid token")
	ErrTokenExpired = errors.New("expired token")
	ErrOutOfScope   = errors.New("token does not cover this server")
)

const tokenVersion = 1

// Signer makes and checks the tokens of web links. A token is
// base64url(payload) "." base64url(HMAC-SHA256(secret, payload)), where the
// payload is a version byte, the expiry in Unix seconds (8 bytes, big
// endian) and the scope's text. It is safe for concurrent use.
type Signer struct {
	secret []byte
	now    func() time.Time
}

// NewSigner returns a Signer keyed with secret, reading the time from now
// (time.Now when nil). The secret is copied; it never appears in a token,
// an error or a log.
func NewSigner(secret []byte, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	return &Signer{secret: append([]byte(nil), secret...), now: now}
}

// Sign returns a URL-safe token for scope that expires ttl from now.
func (s *Signer) Sign(scope Scope, ttl time.Duration) string {
	payload := make([]byte, 9, 9+len(scope.String()))
	payload[0] = tokenVersion
	binary.BigEndian.PutUint64(payload[1:9], uint64(s.now().Add(ttl).Unix()))
	payload = append(payload, scope.String()...)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(payload))
}

// Verify returns the scope a token names. It returns an error wrapping
// ErrTokenInvalid when the token is malformed or not signed with this
// Signer's secret, and ErrTokenExpired when it is genuine but past its
// expiry. The MAC is compared in constant time before anything else is read.
func (s *Signer) Verify(token string) (Scope, error) {
	scope, _, err := s.verify(token)
	return scope, err
}

// verify is Verify that also returns how long the token has left, by the
// Signer's clock.
func (s *Signer) verify(token string) (Scope, time.Duration, error) {
	enc := base64.RawURLEncoding
	p, m, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 {
		return Scope{}, 0, fmt.Errorf("verify token: %w", ErrTokenInvalid)
	}
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil {
		return Scope{}, 0, fmt.Errorf("verify token: %w", ErrTokenInvalid)
	}
	if !hmac.Equal(mac, s.mac(payload)) {
		return Scope{}, 0, fmt.Errorf("verify token: %w", ErrTokenInvalid)
	}
	if len(payload) < 9 || payload[0] != tokenVersion {
		return Scope{}, 0, fmt.Errorf("verify token: %w", ErrTokenInvalid)
	}
	scope, err := ParseScope(string(payload[9:]))
	if err != nil {
		return Scope{}, 0, fmt.Errorf("verify token: %w", ErrTokenInvalid)
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(payload[1:9])), 0)
	left := expires.Sub(s.now())
	if left <= 0 {
		return Scope{}, 0, fmt.Errorf("verify token: %w", ErrTokenExpired)
	}
	return scope, left, nil
}

func (s *Signer) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write(payload)
	return h.Sum(nil)
}
