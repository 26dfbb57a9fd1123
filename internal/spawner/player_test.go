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
