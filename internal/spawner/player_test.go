package spawner_test

import (
	"errors"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

func TestValidPlayerName(t *testing.T) {
	for _, name := range []string{"Steve", "abc", "Notch_1234567890", "__x", "A1_"} {
		if err := spawner.ValidPlayerName(name); err != nil {
			t.Errorf("ValidPlayerName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{
		"", "ab", "Notch_12345678901", "Steve Alex", "Steve\nstop", "Steve;stop",
		"/op", "Stéve", "Steve\x00", "Steve\r", "@a[x=1]", "Ste-ve", "Ｓｔｅｖｅ",
	} {
		if err := spawner.ValidPlayerName(name); !errors.Is(err, spawner.ErrPlayerName) {
			t.Errorf("ValidPlayerName(%q) = %v, want ErrPlayerName", name, err)
		}
	}
}

// A login's name may be shorter than an operator's (older accounts,
// servers that check no account), never longer, and never anything but
// letters, digits and _.
func TestLoginName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "Steve_42": true, "abcdefghijklmnop": true,
		"": false, "abcdefghijklmnopq": false, "two words": false, "<@1>": false, "é": false, "a\nb": false,
	} {
		if got := spawner.LoginName(name); got != want {
			t.Errorf("LoginName(%q) = %v, want %v", name, got, want)
		}
	}
}
