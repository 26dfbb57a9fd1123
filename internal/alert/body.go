package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// BodyVersion is the version of the JSON body; it changes only when a
// field changes meaning or goes away (fields may be added).
const BodyVersion = 1

// Body is the JSON every sink receives for an alert: the webhook as its
// POST's body, SNS subscribers that read JSON (SQS, Lambda, HTTP(S),
// Firehose) as the message. docs/alerts.md documents it; a game image
// build (.github/workflows) sends the same shape.
//
// It is read three ways: a plain JSON consumer reads the fields; a
// Slack-compatible incoming webhook shows Text; a Discord webhook shows
// Content, with every mention turned off.
type Body struct {
	Version  int    `json:"version"`
	ID       string `json:"id"` // unique per alert: a receiver may drop a retried POST it already has
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
	Detail   string `json:"detail"`
	// Text and Content are Title and Detail with the game and deployment
	// on one line, for people: Text for Slack and its kin (with &, < and >
	// escaped as Slack asks), Content for Discord (at most 2000
	// characters).
	Text            string            `json:"text"`
	Content         string            `json:"content"`
	AllowedMentions allowedMentions   `json:"allowed_mentions"`
	Time            string            `json:"time"` // RFC 3339, UTC
	Deployment      string            `json:"deployment,omitempty"`
	Server          string            `json:"server,omitempty"`
	Game            string            `json:"game,omitempty"`
	Member          string            `json:"member,omitempty"`
	Fields          map[string]string `json:"fields,omitempty"`
	// Repeats is how many more times the same failure happened since
	// Since, not told one by one; 0 in an alert that is not a summary.
	Repeats int    `json:"repeats"`
	Since   string `json:"since,omitempty"`
}

// allowedMentions is Discord's: none, so an alert never pings anyone.
type allowedMentions struct {
	Parse []string `json:"parse"`
}

// message is an alert rendered once for every sink.
type message struct {
	id, kind, severity string
	subject            string // SNS's Subject: the title, one line, under 100 characters
	line               string // one line for people (SNS's default, email's first line)
	plain              string // several lines for people (SNS's email)
	json               []byte // Body
}

// maxContent is Discord's limit on a message's content, in characters.
const maxContent = 2000

// message renders a, a summary of repeats since since when repeats > 0,
// with every secret taken out.
func (n *Notifier) message(a spawner.Alert, repeats int, since time.Time) *message {
	r := n.redact
	b := Body{
		Version:         BodyVersion,
		ID:              newID(),
		Kind:            string(a.Kind),
		Severity:        string(a.Severity),
		Title:           r(a.Title),
		Detail:          r(a.Text),
		AllowedMentions: allowedMentions{Parse: []string{}},
		Time:            a.Time.UTC().Format(time.RFC3339),
		Deployment:      r(n.cfg.Deployment),
		Server:          r(a.Server),
		Game:            r(a.Game),
		Member:          r(a.Member),
		Repeats:         repeats,
	}
	if b.Title == "" {
		b.Title = b.Kind
	}
	if len(a.Fields) > 0 {
		b.Fields = make(map[string]string, len(a.Fields))
		for k, v := range a.Fields {
			b.Fields[r(k)] = r(v)
		}
	}
	if repeats > 0 {
		b.Since = since.UTC().Format(time.RFC3339)
	}
	line := oneLine(b, since, a.Time)
	b.Text = slackEscape(line)
	b.Content = truncate(line, maxContent)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(b) // strings and a map of strings: never fails
	return &message{
		id: b.ID, kind: b.Kind, severity: b.Severity,
		subject: subject(b.Title),
		line:    line,
		plain:   plainText(b),
		json:    bytes.TrimSuffix(buf.Bytes(), []byte("\n")),
	}
}

// redact replaces every secret in s.
func (n *Notifier) redact(s string) string {
	for _, secret := range n.cfg.Secrets {
		if len(secret) >= 8 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// icons mark an alert's severity at the start of its line.
var icons = map[string]string{
	string(spawner.SeverityError):   "❌",
	string(spawner.SeverityWarning): "⚠️",
	string(spawner.SeverityInfo):    "✅",
}

// oneLine is "❌ Title: detail · game · deployment", and for a summary
// " (+12 · 10:02–10:12 UTC)": no words, so no language.
func oneLine(b Body, since, last time.Time) string {
	var s strings.Builder
	if icon, ok := icons[b.Severity]; ok {
		s.WriteString(icon + " ")
	}
	s.WriteString(b.Title)
	if d := strings.Join(strings.Fields(b.Detail), " "); d != "" {
		s.WriteString(": " + truncate(d, 1500))
	}
	for _, v := range []string{b.Game, b.Deployment} {
		if v != "" {
			s.WriteString(" · " + v)
		}
	}
	if b.Repeats > 0 {
		fmt.Fprintf(&s, " (+%d · %s–%s UTC)", b.Repeats, since.UTC().Format("15:04"), last.UTC().Format("15:04"))
	}
	return s.String()
}

// plainText is the alert for an email: the line, the detail in full, then
// every fact.
func plainText(b Body) string {
	var s strings.Builder
	s.WriteString(b.Title + "\n\n")
	if b.Detail != "" {
		s.WriteString(b.Detail + "\n\n")
	}
	facts := [][2]string{{"kind", b.Kind}, {"severity", b.Severity}, {"time", b.Time}, {"deployment", b.Deployment},
		{"game", b.Game}, {"server", b.Server}, {"member", b.Member}}
	for _, k := range slices.Sorted(maps.Keys(b.Fields)) {
		facts = append(facts, [2]string{k, b.Fields[k]})
	}
	if b.Repeats > 0 {
		facts = append(facts, [2]string{"repeats", fmt.Sprint(b.Repeats)}, [2]string{"since", b.Since})
	}
	for _, f := range facts {
		if f[1] != "" {
			s.WriteString(f[0] + ": " + f[1] + "\n")
		}
	}
	return s.String()
}

// subject is title as SNS accepts a Subject: one line, printable, under
// 100 characters.
func subject(title string) string {
	s := strings.Join(strings.FieldsFunc(title, func(r rune) bool { return r < ' ' || r == 0x7f }), " ")
	return truncate("spawner: "+s, 99)
}

// slackEscape escapes what Slack's text reads as markup: &, < and >.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n characters, an ellipsis last when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
