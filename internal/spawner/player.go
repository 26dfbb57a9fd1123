package spawner

import (
	"errors"
	"fmt"
)

// ErrPlayerName is the cause of every error ValidPlayerName returns.
var ErrPlayerName = errors.New("not a valid player name")

// ValidPlayerName returns nil when name is a name Minecraft accepts: 3 to
// 16 characters, each an ASCII letter, digit or underscore. Anything else
// (spaces, newlines, ';', '/', any other character) is refused with an
// error wrapping ErrPlayerName, so a name put into an RCON command such as
// "op <name>" can never carry a second command or argument.
func ValidPlayerName(name string) error {
	if n := len(name); n < 3 || n > 16 {
		return fmt.Errorf("%w: it must be 3 to 16 characters long", ErrPlayerName)
	}
	if !playerChars(name) {
		return fmt.Errorf("%w: only letters, digits and _ are allowed", ErrPlayerName)
	}
	return nil
}

// LoginName reports whether name is one a Minecraft client may log in
// with: 1 to 16 ASCII letters, digits and _ (older accounts and servers
// that check no account have names shorter than ValidPlayerName's).
// Such a name is safe to show anywhere: no markup, no mention, no line
// break.
func LoginName(name string) bool {
	return len(name) >= 1 && len(name) <= 16 && playerChars(name)
}

// playerChars reports whether every byte of name is an ASCII letter, a
// digit or _.
func playerChars(name string) bool {
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
		default:
			return false
		}
	}
	return true
}
