package text

import (
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestStoppedNamesNoStep: the answer to /server stop for a server stopped
// during its creation names its game and variant, never the step it was at.
func TestStoppedNamesNoStep(t *testing.T) {
	for _, l := range []Lang{En, Fr} {
		s := spawner.Server{Game: "minecraft", Variant: "official", State: spawner.StateRequested}
		got := l.Stopped(s)
		if strings.Contains(got, l.State(spawner.StateRequested)) || !strings.Contains(got, "minecraft") {
			t.Errorf("Stopped of a requested server = %q, want it named by its game, not its step", got)
		}
		s.Address, s.Port = "203.0.113.7", 25565
		if got := l.Stopped(s); !strings.Contains(got, "203.0.113.7:25565") {
			t.Errorf("Stopped of a server with an address = %q, want its address", got)
		}
	}
}

func TestNewRefusals(t *testing.T) {
	until := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, l := range []Lang{En, Fr} {
		got := l.Refusal(&spawner.Refusal{Code: spawner.RefusedCooldown, Until: until})
		if want := spawner.TimeRef(until, spawner.TimeRelative); !strings.Contains(got, want) {
			t.Errorf("cooldown refusal = %q, want the retry time %s", got, want)
		}
		full := l.Refusal(&spawner.Refusal{Code: spawner.RefusedCategoryFull})
		if full == l.Refusal(&spawner.Refusal{}) {
			t.Errorf("category-full refusal has no text of its own")
		}
	}
	if got := En.Refusal(&spawner.Refusal{Code: spawner.RefusedCategoryFull}); !strings.Contains(got, "ticket category is full") {
		t.Errorf("category-full refusal = %q", got)
	}
	if got := En.FailNoPublicIP(); !strings.Contains(got, "ECS_ASSIGN_PUBLIC_IP") {
		t.Errorf("no-public-IP failure = %q, want what to check", got)
	}
}

// A member who left the guild is refused with a sentence of its own in
// both languages, about the owner, since whoever reads it (a player whose
// login would wake a world) may not be that member.
func TestNotMemberRefusal(t *testing.T) {
	r := &spawner.Refusal{Code: spawner.RefusedNotMember}
	for _, l := range []Lang{En, Fr} {
		got := l.Refusal(r)
		if got == l.Refusal(&spawner.Refusal{}) || got == l.Refusal(&spawner.Refusal{Code: spawner.RefusedElsewhere}) {
			t.Errorf("%v: not-member refusal %q has no text of its own", l, got)
		}
	}
	if got := En.Refusal(r); !strings.Contains(got, "no longer a member") {
		t.Errorf("not-member refusal = %q", got)
	}
	if got := Fr.Refusal(r); !strings.Contains(got, "n'est plus membre") {
		t.Errorf("French not-member refusal = %q", got)
	}
	if r.Error() == "refused" {
		t.Error("not-member refusal has no error text of its own")
	}
}
