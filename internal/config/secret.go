package config

import (
	"fmt"
	"log/slog"
	"strconv"
)

const redacted = "[redacted]"

// Secret holds a secret value (a token, a key) so that it cannot be printed
// by accident: String, every fmt verb (%v %+v %#v %s %q %x ...), slog
// (LogValue) and JSON or text marshalling all give "[redacted]", or "" when
// the secret is empty. Only Value returns the content. The zero Secret is
// empty.
type Secret struct{ value string }

// NewSecret returns a Secret holding value, for callers (tests mostly) that
// build a Config without Load.
func NewSecret(value string) Secret { return Secret{value: value} }

// Value returns the secret's content. Hand it only to the client that needs
// it, never to a logger or an error.
func (s Secret) Value() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString is what %#v prints: the redacted form, never the content.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format makes every fmt verb print the redacted form; %q quotes it.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprint(f, strconv.Quote(s.String()))
	default:
		fmt.Fprint(f, s.String())
	}
}

// LogValue makes slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText makes encoding/json and friends write the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

var (
	_ fmt.Stringer   = Secret{}
	_ fmt.GoStringer = Secret{}
	_ fmt.Formatter  = Secret{}
	_ slog.LogValuer = Secret{}
)
