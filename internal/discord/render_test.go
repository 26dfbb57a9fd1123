package discord

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestRender: the domain's references are Discord's mentions, channel
// links and timestamps; the rest is left as it is.
func TestRender(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 15, 30, 0, time.UTC)
	got := render("⏰ " + spawner.UserRef("1300000000000000001") + " stops " + spawner.TimeRef(at, spawner.TimeRelative) +
		" (" + spawner.TimeRef(at, spawner.TimeOfDay) + ", " + spawner.TimeRef(at, spawner.TimeDateTime) + ") · " +
		spawner.ChannelRef("1300000000000000099") + " · `/op {token}` · " + spawner.LinkRef("https://pages.example.org/?token=t"))
	want := "⏰ <@1300000000000000001> stops <t:1796674530:R> (<t:1796674530:t>, <t:1796674530:f>) · <#1300000000000000099> · `/op {token}` · <https://pages.example.org/?token=t>"
	if got != want {
		t.Errorf("render = %q\nwant      %q", got, want)
	}
}

// TestFooterOnlyWhenItFits: a message's footer is its last line while the
// whole fits in one Discord message; past that it is left out, never cut,
// and the content is never cut for it.
func TestFooterOnlyWhenItFits(t *testing.T) {
	footer := "🌐 Follow it live: <https://pages.example.org/servers/3f9a1c?token=t>"
	for _, tc := range []struct {
		name    string
		content string
		want    string
	}{
		{"room for it", "✅ ready " + spawner.UserRef("1"), "✅ ready <@1>\n" + footer},
		{"exactly the limit", strings.Repeat("x", maxContent-1-utf8.RuneCountInString(footer)), strings.Repeat("x", maxContent-1-utf8.RuneCountInString(footer)) + "\n" + footer},
		{"one character over", strings.Repeat("x", maxContent-utf8.RuneCountInString(footer)), strings.Repeat("x", maxContent-utf8.RuneCountInString(footer))},
		// The limit counts what Discord shows, not how references are written.
		{"fits once rendered", strings.Repeat("x", maxContent-1-44-utf8.RuneCountInString(footer)) + spawner.UserRef("1300000000000000001") + spawner.UserRef("1300000000000000002"),
			strings.Repeat("x", maxContent-1-44-utf8.RuneCountInString(footer)) + "<@1300000000000000001><@1300000000000000002>\n" + footer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := messageContent(spawner.Message{Content: tc.content, Footer: footer})
			if got != tc.want || utf8.RuneCountInString(got) > maxContent {
				t.Errorf("messageContent = %d characters ending %q, want %d ending %q", utf8.RuneCountInString(got), tail(got), utf8.RuneCountInString(tc.want), tail(tc.want))
			}
		})
	}
}

func tail(s string) string {
	r := []rune(s)
	return string(r[max(len(r)-40, 0):])
}
