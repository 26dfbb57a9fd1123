package spawner

import (
	"fmt"
	"testing"
	"time"
)

// bracket renders a reference as a test can read it.
func bracket(r Ref) string {
	switch r.Kind {
	case RefUser:
		return "[user " + r.ID + "]"
	case RefChannel:
		return "[channel " + r.ID + "]"
	case RefLink:
		return "[link " + r.ID + "]"
	default:
		return fmt.Sprintf("[time %d %s]", r.Time.Unix(), r.Style)
	}
}

// same renders a reference as it was written.
func same(r Ref) string {
	switch r.Kind {
	case RefUser:
		return UserRef(r.ID)
	case RefChannel:
		return ChannelRef(r.ID)
	case RefLink:
		return LinkRef(r.ID)
	default:
		return TimeRef(r.Time, r.Style)
	}
}

func TestRenderRefs(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 15, 30, 0, time.UTC)
	for _, tc := range []struct {
		name, content, want string
	}{
		{"none", "🎮 **Minecraft** · official", "🎮 **Minecraft** · official"},
		{"each kind", UserRef("1001") + " in " + ChannelRef("1300") + " stops " + TimeRef(at, TimeRelative) + " (" + TimeRef(at, TimeOfDay) + ", " + TimeRef(at, TimeDateTime) + ")",
			fmt.Sprintf("[user 1001] in [channel 1300] stops [time %d relative] ([time %[1]d time], [time %[1]d datetime])", at.Unix())},
		{"a link", "🌐 " + LinkRef("https://pages.example.org/servers/3f9a?token=a.b-c_d"), "🌐 [link https://pages.example.org/servers/3f9a?token=a.b-c_d]"},
		{"a link with braces", LinkRef("https://x.example/{a} b"), "[link https://x.example/%7Ba%7D%20b]"},
		{"a link with a brace inside", "{link:https://x.example/{a}", "{link:https://x.example/{a}"},
		{"side by side", UserRef("a") + UserRef("b"), "[user a][user b]"},
		{"before 1970", TimeRef(time.Unix(-5, 0), TimeRelative), "[time -5 relative]"},
		{"braces of a command", "type `/op {token}` in {the game}", "type `/op {token}` in {the game}"},
		{"unclosed", "{user:1001", "{user:1001"},
		{"an empty id", "{user:}", "{user:}"},
		{"an id with a space", "{user:10 01}", "{user:10 01}"},
		{"a brace inside", "{{user:1001}}", "{[user 1001]}"},
		{"an unknown style", "{time:12:R}", "{time:12:R}"},
		{"not a number", "{time:soon:relative}", "{time:soon:relative}"},
		{"another word", "{role:1001}", "{role:1001}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RenderRefs(tc.content, bracket); got != tc.want {
				t.Errorf("RenderRefs(%q) = %q, want %q", tc.content, got, tc.want)
			}
		})
	}
}

// FuzzRenderRefs: rendering each reference as it was written gives the
// content back, whatever it holds.
func FuzzRenderRefs(f *testing.F) {
	f.Add("⚠️ " + UserRef("1001") + " warning **1/3**: next check " + TimeRef(time.Unix(1796659200, 0), TimeRelative) + ".")
	f.Add("{user:{channel:12}}{time:-1:time}{")
	f.Fuzz(func(t *testing.T, content string) {
		if got := RenderRefs(content, same); got != content {
			t.Errorf("RenderRefs(%q) with each reference as written = %q", content, got)
		}
	})
}
