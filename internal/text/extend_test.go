package text

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Every name spawner.ValidPlayerName refuses is refused with its problem
// named, in both languages, on one line.
func TestPlayerNameRefusal(t *testing.T) {
	for _, tc := range []struct{ name, en, fr string }{
		{"", "too short", "trop court"},
		{"ab", "too short", "trop court"},
		{"abcdefghijklmnopq", "too long", "trop long"},
		{"Steve Jobs", "a space", "une espace"},
		{"Steve\nop Alex", "a line break", "saut de ligne"},
		{"Steve;stop", `";" is not allowed`, `";" est interdit`},
		{"/op", `"/" is not allowed`, `"/" est interdit`},
		{"Ste`ve", "not allowed", "interdit"},
		{"Stéve", `"é" is not allowed`, `"é" est interdit`},
	} {
		if spawner.ValidPlayerName(tc.name) == nil {
			t.Fatalf("%q is a valid name: the case tests nothing", tc.name)
		}
		r := &spawner.Refusal{Code: spawner.RefusedPlayerName, Name: tc.name}
		for lang, want := range map[Lang]string{En: tc.en, Fr: tc.fr} {
			got := lang.Refusal(r)
			if !strings.Contains(got, want) || strings.Contains(got, "\n") {
				t.Errorf("refusal of %q = %q, want one line naming %q", tc.name, got, want)
			}
		}
	}
}

func TestCleanReply(t *testing.T) {
	got := cleanReply("§aMade §lSteve§r a server operator ```@everyone```")
	if got != "Made Steve a server operator '''@everyone'''" {
		t.Errorf("cleanReply = %q", got)
	}
	if n := len([]rune(cleanReply(strings.Repeat("x", 5000)))); n != maxReply {
		t.Errorf("a long reply is %d characters, want %d", n, maxReply)
	}
}
