package text

import (
	"strings"
	"testing"
	"time"
)

// TestSleepTexts: what a Minecraft client shows of an asleep world exists in
// both languages, is plain text (the game shows no Discord markdown), keeps
// a server-list entry to its two lines, and says when to come back.
func TestSleepTexts(t *testing.T) {
	for _, l := range []Lang{En, Fr} {
		a1, a2 := l.SleepAsleep()
		w1, w2 := l.SleepWaking()
		all := []string{a1, a2, w1, w2, l.SleepVersion(), l.SleepStarting(), l.SleepRefused(""), l.SleepRefused("why"),
			l.SleepRateLimited(time.Minute), l.SleepBadPlayer()}
		for _, s := range all {
			if s == "" || strings.ContainsAny(s, "`*<>") {
				t.Errorf("%v: %q is empty or carries markup", l, s)
			}
		}
		for _, s := range []string{a1, a2, w1, w2} {
			if strings.Contains(s, "\n") {
				t.Errorf("%v: list line %q has a line break", l, s)
			}
		}
		if !strings.HasSuffix(l.SleepRefused("Pas de place."), "\n\nPas de place.") {
			t.Errorf("%v: refusal %q does not end with the reason given", l, l.SleepRefused("Pas de place."))
		}
	}
	en, _ := En.SleepAsleep()
	fr, _ := Fr.SleepAsleep()
	if en == fr || En.SleepStarting() == Fr.SleepStarting() {
		t.Error("what a player reads is not translated")
	}
	for _, c := range []struct {
		wait time.Duration
		want string
	}{
		{10 * time.Second, "Join again in a minute."},
		{time.Minute, "Join again in a minute."},
		{61 * time.Second, "about 2 minutes"},
		{29*time.Minute + 59*time.Second, "about 30 minutes"},
	} {
		if got := En.SleepRateLimited(c.wait); !strings.Contains(got, c.want) {
			t.Errorf("SleepRateLimited(%s) = %q, want %q", c.wait, got, c.want)
		}
	}
	if got := Fr.SleepRateLimited(20 * time.Minute); !strings.Contains(got, "dans 20 minutes environ") {
		t.Errorf("Fr.SleepRateLimited = %q", got)
	}
}
