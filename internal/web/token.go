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
	"strconv"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// ScopeKind says what a token lets its holder see.
type ScopeKind string

const (
	ScopeServer ScopeKind = "server" // one server, by its public id
	ScopeMember ScopeKind = "member" // every server a Discord member owns
	ScopeFleet  ScopeKind = "fleet"  // every server: the admin's view
	// ScopeBackup is one backup of one world, to download: it covers no
	// server, page or feed.
	ScopeBackup ScopeKind = "backup"
)

// Scope names what a token covers: one server, a member's servers, the
// whole fleet, or one backup to download. Its text form is "server:<id>",
// "member:<user id>", "fleet" or "backup:<world id>/<backup id>".
type Scope struct {
	Kind ScopeKind
	// ID is the server id, the Discord user id, "<world id>/<backup id>",
	// or empty for the fleet.
	ID string
	// Holder is the Discord user id of the member the link was made for
	// (see For): the feed counts the connections of every link made for
	// one member together. It is not part of the text form and widens
	// nothing: what the link shows is Kind and ID alone.
	Holder string
}

// For returns the scope of a link made for the Discord member userID: the
// owner of the server of a ticket's link, the admin of a fleet link.
func (s Scope) For(userID string) Scope {
	s.Holder = userID
	return s
}

// holder names the member whose connections a link counts among: its
// Holder, else the member of a member scope, else the scope itself (a link
// that names no member, as those signed before links named one).
func (s Scope) holder() string {
	switch {
	case s.Holder != "":
		return "member:" + s.Holder
	case s.Kind == ScopeMember:
		return "member:" + s.ID
	}
	return s.String()
}

// ServerScope covers the one server with this public id.
func ServerScope(id string) Scope { return Scope{Kind: ScopeServer, ID: id} }

// MemberScope covers every server whose Owner is this Discord user id.
func MemberScope(userID string) Scope { return Scope{Kind: ScopeMember, ID: userID} }

// FleetScope covers every server.
func FleetScope() Scope { return Scope{Kind: ScopeFleet} }

// BackupScope covers the download of one backup of one world, by their
// ids (spawner.ValidWorldID, spawner.ValidBackupID): nothing else.
func BackupScope(worldID, backupID string) Scope {
	return Scope{Kind: ScopeBackup, ID: worldID + "/" + backupID}
}

// String returns the scope's text form, as ParseScope reads it.
func (s Scope) String() string {
	if s.Kind == ScopeFleet {
		return string(ScopeFleet)
	}
	return string(s.Kind) + ":" + s.ID
}

// ParseScope reads "server:<id>", "member:<id>", "fleet" or
// "backup:<world id>/<backup id>" (both valid ids).
func ParseScope(text string) (Scope, error) {
	if text == string(ScopeFleet) {
		return FleetScope(), nil
	}
	kind, id, ok := strings.Cut(text, ":")
	if kind == string(ScopeBackup) {
		world, backup, _ := strings.Cut(id, "/")
		if err := errors.Join(spawner.ValidWorldID(world), spawner.ValidBackupID(backup)); err != nil {
			return Scope{}, fmt.Errorf("parse scope %q: want backup:<world id>/<backup id>: %w", text, err)
		}
		return BackupScope(world, backup), nil
	}
	if !ok || id == "" || (kind != string(ScopeServer) && kind != string(ScopeMember)) {
		return Scope{}, fmt.Errorf("parse scope %q: want server:<id>, member:<id>, fleet or backup:<world id>/<backup id>", text)
	}
	return Scope{Kind: ScopeKind(kind), ID: id}, nil
}

// Covers reports whether the scope lets its holder see the server with this
// id and owner. A backup's scope covers none.
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

// Versions of a token's payload: 1 names no holder, 2 names one.
const (
	tokenVersion       = 1
	tokenVersionHolder = 2
)

// Signer makes and checks the tokens of web links. A token is
// base64url(payload) "." base64url(HMAC-SHA256(secret, payload)), with no
// padding and nothing else: Verify refuses any other spelling. The payload
// is a version byte, the expiry in Unix seconds (8 bytes, big endian),
// for version 2 the holder's length (1 byte) and the holder, and the
// scope's text. It is safe for concurrent use.
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

// Sign returns a URL-safe token for scope that expires ttl from now. The
// scope's Holder, a Discord user id, is signed with it; one longer than
// 255 bytes is a programming error and panics.
func (s *Signer) Sign(scope Scope, ttl time.Duration) string {
	token, _ := s.sign(scope, ttl)
	return token
}

// sign is Sign that also returns when the token expires, to the second
// the token keeps.
func (s *Signer) sign(scope Scope, ttl time.Duration) (string, time.Time) {
	expires := s.now().Add(ttl).Unix()
	payload := make([]byte, 9, 10+len(scope.Holder)+len(scope.String()))
	payload[0] = tokenVersion
	binary.BigEndian.PutUint64(payload[1:9], uint64(expires))
	if scope.Holder != "" {
		if len(scope.Holder) > 255 {
			panic("web: a link's holder is a Discord user id, not " + strconv.Itoa(len(scope.Holder)) + " bytes")
		}
		payload[0] = tokenVersionHolder
		payload = append(payload, byte(len(scope.Holder)))
		payload = append(payload, scope.Holder...)
	}
	payload = append(payload, scope.String()...)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(payload)), time.Unix(expires, 0)
}

// Verify returns the scope a token names, with its Holder when the token
// names one. It returns an error wrapping ErrTokenInvalid when the token is
// malformed, spelled otherwise than Sign spells it (line breaks, padding,
// stray bits) or not signed with this Signer's secret, and ErrTokenExpired
// when it is genuine but past its expiry. The MAC is compared in constant
// time before anything else is read.
func (s *Signer) Verify(token string) (Scope, error) {
	c, err := s.verify(token)
	return c.scope, err
}

// claims is what a genuine token says.
type claims struct {
	scope Scope
	left  time.Duration // until it expires, by the Signer's clock
	// link is the token's identity: its MAC, which names its payload under
	// the secret. Two spellings of one link would share it; Verify admits
	// one spelling only, and the feed counts by this anyway.
	link string
}

// verify is Verify that also returns how long the token has left and its
// identity.
func (s *Signer) verify(token string) (claims, error) {
	invalid := fmt.Errorf("verify token: %w", ErrTokenInvalid)
	enc := base64.RawURLEncoding
	p, m, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 {
		return claims{}, invalid
	}
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil {
		return claims{}, invalid
	}
	if !hmac.Equal(mac, s.mac(payload)) {
		return claims{}, invalid
	}
	// The decoder skips line breaks and ignores the last character's
	// spare bits: only the one spelling Sign makes is a link.
	if enc.EncodeToString(payload) != p || enc.EncodeToString(mac) != m {
		return claims{}, invalid
	}
	if len(payload) < 9 {
		return claims{}, invalid
	}
	var holder string
	text := payload[9:]
	switch payload[0] {
	case tokenVersion:
	case tokenVersionHolder:
		if len(text) < 1 || text[0] == 0 || len(text) < 1+int(text[0]) {
			return claims{}, invalid
		}
		holder, text = string(text[1:1+int(text[0])]), text[1+int(text[0]):]
	default:
		return claims{}, invalid
	}
	scope, err := ParseScope(string(text))
	if err != nil {
		return claims{}, invalid
	}
	scope.Holder = holder
	expires := time.Unix(int64(binary.BigEndian.Uint64(payload[1:9])), 0)
	left := expires.Sub(s.now())
	if left <= 0 {
		return claims{}, fmt.Errorf("verify token: %w", ErrTokenExpired)
	}
	return claims{scope: scope, left: left, link: string(mac)}, nil
}

func (s *Signer) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write(payload)
	return h.Sum(nil)
}
