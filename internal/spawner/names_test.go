package spawner

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The name checks say what the regular expressions they replace said, on
// every string of a corpus built around each rule's alphabet and bounds.
func TestNamesAsTheirRegexps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		re    string
		check func(string) bool
	}{
		{"ECS name", `^[A-Za-z0-9_-]{1,255}$`, IsECSName},
		{"game name", `^[a-z0-9-]{1,32}$`, isGameName},
		{"variant name", `^[A-Za-z0-9_-]{1,32}$`, isVariantName},
		{"environment name", `^[A-Za-z_][A-Za-z0-9_]{0,127}$`, isEnvName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re := regexp.MustCompile(tc.re)
			for _, s := range nameCorpus(300) {
				if got, want := tc.check(s), re.MatchString(s); got != want {
					t.Errorf("%q: %t, the regexp %s says %t", s, got, tc.re, want)
				}
			}
		})
	}
}

// nameCorpus is strings of every length up to longest and around the rules'
// bounds, of letters, digits, the punctuation the rules name and a few
// they do not (a space, a line break, a multi-byte letter).
func nameCorpus(longest int) []string {
	const alphabet = "aZ09_-.:/ \né"
	r := rand.New(rand.NewPCG(1, 2))
	out := []string{""}
	for n := 1; n <= longest; n++ {
		for range 8 {
			var b strings.Builder
			for range n {
				b.WriteByte(alphabet[r.IntN(len(alphabet))])
			}
			out = append(out, b.String())
		}
		// Strings of one class only, the ones a rule's bounds decide.
		for _, c := range []string{"a", "Z", "0", "_", "-"} {
			out = append(out, strings.Repeat(c, n), "a"+strings.Repeat(c, n-1), "0"+strings.Repeat(c, n-1))
		}
	}
	return out
}
