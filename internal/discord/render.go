package discord

import (
	"strconv"
	"unicode/utf8"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// timeStyles are Discord's timestamp styles for the domain's: relative
// ("in 5 minutes"), short time ("20:15"), short date and time.
var timeStyles = map[spawner.TimeStyle]string{
	spawner.TimeRelative: "R",
	spawner.TimeOfDay:    "t",
	spawner.TimeDateTime: "f",
}

// render is content as Discord shows it: each reference to a member, a
// channel, a moment or a page (spawner.UserRef, ChannelRef, TimeRef,
// LinkRef) in Discord's markup, which every reader sees as a mention, a
// link, a time in their own time zone and a link without a preview. Everything a member reads of package text goes through
// it once, before it is cut to Discord's limit.
func render(content string) string {
	return spawner.RenderRefs(content, func(r spawner.Ref) string {
		switch r.Kind {
		case spawner.RefUser:
			return "<@" + r.ID + ">"
		case spawner.RefChannel:
			return "<#" + r.ID + ">"
		case spawner.RefLink:
			return "<" + r.ID + ">" // the brackets keep Discord from unfurling the page
		}
		return "<t:" + strconv.FormatInt(r.Time.Unix(), 10) + ":" + timeStyles[r.Style] + ">"
	})
}

// messageContent is m as Discord shows it: rendered, with its footer on a
// last line when the whole stays within Discord's limit on a message
// (left out otherwise, never cut), and cut to that limit.
func messageContent(m spawner.Message) string {
	content := render(m.Content)
	if m.Footer != "" {
		line := "\n" + render(m.Footer)
		if utf8.RuneCountInString(content)+utf8.RuneCountInString(line) <= maxContent {
			content += line
		}
	}
	return cut(content, maxContent)
}
