package spawner

import (
	"strconv"
	"strings"
	"time"
)

// Message is something said in a channel. Its Content may refer to
// members, channels, moments and web pages (UserRef, ChannelRef, TimeRef,
// LinkRef): the chat adapter renders each reference in its own way (a
// mention, a link, a time every reader sees in their own time zone). Mentions lists the members
// who may actually be notified; a member referred to in Content and not
// listed is shown, not notified.
//
// Key names the message: the server it is about and what it is for
// ("<creation id>/ready", "<creation id>/warn-players-2-…"). Sends of the
// same Key in one channel within a few minutes are one message: the chat
// adapter has it posted at most once, so a send retried after an answer
// that was lost (the adapter's own retries, or the lifecycle's for a
// message that must be read) never shows it twice. Two different messages
// never share a Key; an empty Key gives no such guarantee.
type Message struct {
	Content string
	// Footer, when set, is a last line the chat adapter shows under
	// Content when the whole stays within its limit on a message's
	// length, and leaves out otherwise, never cut: something that helps
	// (a link to the server's page) but that the message can do without.
	Footer   string
	Mentions []string
	Key      string
	// Wake, when set, is the id of an asleep world: the chat adapter shows
	// with the message a "Wake" button that wakes the world for the member
	// who clicks it, if they may.
	Wake string
	// Locale is the locale Content is written in ("fr", "en-US"), for what
	// the chat adapter adds to it (the Wake button's label); empty: English.
	Locale string
}

// TimeStyle is how a moment referred to in a message is shown.
type TimeStyle string

// The ways a moment is shown.
const (
	TimeRelative TimeStyle = "relative" // from now: "in 5 minutes", "2 hours ago"
	TimeOfDay    TimeStyle = "time"     // the time of day: "20:15"
	TimeDateTime TimeStyle = "datetime" // the date and the time of day
)

// RefKind is what a reference in a message refers to.
type RefKind int

// The kinds of reference, each with what its Ref carries.
const (
	RefUser    RefKind = iota + 1 // a member, by id
	RefChannel                    // a channel, by id
	RefTime                       // a moment, in a TimeStyle
	RefLink                       // a web page, by its address
)

// Ref is a reference in a message's Content, as RenderRefs hands it to
// the chat adapter.
type Ref struct {
	Kind  RefKind
	ID    string    // RefUser, RefChannel; the address for RefLink
	Time  time.Time // RefTime, to the second
	Style TimeStyle // RefTime
}

// The spelling of the references in Content: "{user:<id>}",
// "{channel:<id>}", "{time:<unix seconds>:<style>}", "{link:<url>}". Only
// the functions of this file know it.
const (
	refUser    = "{user:"
	refChannel = "{channel:"
	refTime    = "{time:"
	refLink    = "{link:"
	refEnd     = '}'
)

// UserRef refers to the member id in a message's Content.
func UserRef(id string) string { return refUser + id + string(refEnd) }

// ChannelRef refers to the channel id in a message's Content.
func ChannelRef(id string) string { return refChannel + id + string(refEnd) }

// TimeRef refers to the moment t, shown in style, in a message's Content.
func TimeRef(t time.Time, style TimeStyle) string {
	return refTime + strconv.FormatInt(t.Unix(), 10) + ":" + string(style) + string(refEnd)
}

// LinkRef refers to the web page at url in a message's Content, to be
// shown as a plain link (the chat shows no preview of the page). Braces
// and spaces in url are escaped, as a URL allows.
func LinkRef(url string) string {
	return refLink + linkEscaper.Replace(url) + string(refEnd)
}

var linkEscaper = strings.NewReplacer("{", "%7B", "}", "%7D", " ", "%20")

// RenderRefs returns content with each reference replaced by what render
// makes of it. Anything else, including what looks like a reference but
// is not one UserRef, ChannelRef or TimeRef makes, is kept as it is.
func RenderRefs(content string, render func(Ref) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(content, '{')
		if i < 0 {
			break
		}
		b.WriteString(content[:i])
		content = content[i:]
		ref, n, ok := parseRef(content)
		if !ok {
			b.WriteByte('{')
			content = content[1:]
			continue
		}
		b.WriteString(render(ref))
		content = content[n:]
	}
	b.WriteString(content)
	return b.String()
}

// parseRef reads the reference s starts with: the reference and its
// length, or false when s does not start with one.
func parseRef(s string) (Ref, int, bool) {
	end := strings.IndexByte(s, refEnd)
	if end < 0 {
		return Ref{}, 0, false
	}
	body, n := s[:end], end+1
	switch {
	case strings.HasPrefix(body, refUser):
		id := body[len(refUser):]
		return Ref{Kind: RefUser, ID: id}, n, validRefID(id)
	case strings.HasPrefix(body, refChannel):
		id := body[len(refChannel):]
		return Ref{Kind: RefChannel, ID: id}, n, validRefID(id)
	case strings.HasPrefix(body, refLink):
		url := body[len(refLink):]
		return Ref{Kind: RefLink, ID: url}, n, url != "" && !strings.ContainsAny(url, "{ \t\n")
	case strings.HasPrefix(body, refTime):
		secs, style, ok := strings.Cut(body[len(refTime):], ":")
		unix, err := strconv.ParseInt(secs, 10, 64)
		switch st := TimeStyle(style); {
		case !ok || err != nil || strconv.FormatInt(unix, 10) != secs: // "007" is not how TimeRef writes 7
		case st == TimeRelative || st == TimeOfDay || st == TimeDateTime:
			return Ref{Kind: RefTime, Time: time.Unix(unix, 0), Style: st}, n, true
		}
	}
	return Ref{}, 0, false
}

// validRefID reports whether id can be referred to: letters, digits, '-'
// and '_', as the ids of members and channels are.
func validRefID(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
