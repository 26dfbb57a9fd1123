package text

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestWakeTexts: the Wake button and its answers exist in both languages;
// the ready message names who woke the world, a Minecraft name shown as
// typed (its underscores are no Discord italics), a member as a mention.
func TestWakeTexts(t *testing.T) {
	for _, l := range []Lang{En, Fr} {
		for _, s := range []string{l.WakeButton(), l.WakeStarted(), l.WakeFailed(), l.WakeOff()} {
			if s == "" {
				t.Errorf("%v: an empty wake text", l)
			}
		}
		if n := len([]rune(l.WakeButton())); n > 80 {
			t.Errorf("%v: button label of %d characters, Discord takes 80", l, n)
		}
		if got := l.WokenByPlayer("Alex_2"); !strings.Contains(got, "`Alex_2`") {
			t.Errorf("%v: WokenByPlayer = %q, want the name in a code span", l, got)
		}
		if got := l.WokenByPlayer("a`b\nc"); strings.Contains(got, "\n") || strings.Count(got, "`") != 2 {
			t.Errorf("%v: WokenByPlayer of a name with a backtick and a line break = %q", l, got)
		}
		if got := l.WokenByMember("42"); !strings.Contains(got, spawner.UserRef("42")) {
			t.Errorf("%v: WokenByMember = %q, want a mention", l, got)
		}
	}
	if En.WakeButton() == Fr.WakeButton() || En.WokenByMember("42") == Fr.WokenByMember("42") {
		t.Error("the wake texts are not translated")
	}
}

// TestWakeRefusal: a wake the owner's rules refused says why on the
// player's disconnect screen, in plain text, about the owner; a refusal
// the player has nothing to learn from falls back to "try again later".
func TestWakeRefusal(t *testing.T) {
	told := []spawner.RefusalCode{
		spawner.RefusedNoRole, spawner.RefusedBusy, spawner.RefusedCap, spawner.RefusedWorldBusy,
		spawner.RefusedWorldRunning, spawner.RefusedShuttingDown, spawner.RefusedCategoryFull, spawner.RefusedNoWorld,
		spawner.RefusedNotMember,
	}
	for _, l := range []Lang{En, Fr} {
		seen := map[string]bool{}
		for _, c := range told {
			why := l.WakeRefusal(&spawner.Refusal{Code: c, Limit: 7})
			if why == "" || strings.ContainsAny(why, "`*<>\n") || seen[why] {
				t.Errorf("%v: refusal %d = %q: empty, with markup or a line break, or said for another code", l, c, why)
			}
			seen[why] = true
			if got := l.SleepRefused(why); !strings.HasSuffix(got, why) {
				t.Errorf("%v: SleepRefused(%q) = %q", l, why, got)
			}
		}
		if got := l.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedCap, Limit: 7}); !strings.Contains(got, "7") {
			t.Errorf("%v: cap refusal %q does not name the cap", l, got)
		}
		if got := l.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedUnknownGame}); got != "" {
			t.Errorf("%v: refusal of an unknown game = %q, want none to tell", l, got)
		}
	}
	if !strings.Contains(En.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedBusy}), "owner") {
		t.Error("the one-server refusal does not say it is about the owner")
	}
}
