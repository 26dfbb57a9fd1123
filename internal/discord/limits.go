package discord

import (
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// Discord's limits on what a bot sends. Discord refuses a message or an
// answer over any of them with 400 Invalid Form Body, and a member whose
// interaction got no valid answer sees "The application did not respond".
const (
	maxContent     = 2000 // characters of a message's content
	maxChoices     = 25   // autocomplete choices
	maxChoiceName  = 100  // characters of a choice's name
	maxChoiceValue = 100  // characters of a string choice's value
	// maxEcho bounds what the bot repeats of what a member typed (an
	// unknown game or variant): longer than any real name, short enough to
	// leave room for the sentence around it.
	maxEcho = 100
)

// ellipsis ends a cut text.
const ellipsis = "…"

// cut returns s when it has at most n characters, else its first n-1
// characters (never splitting one) followed by an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + ellipsis
}

// fitChoices keeps what Discord accepts of autocomplete choices: at most 25,
// names cut to 100 characters, and no choice whose value is too long to be
// sent (cutting it would make it another value).
func fitChoices(in []*discordgo.ApplicationCommandOptionChoice) []*discordgo.ApplicationCommandOptionChoice {
	out := make([]*discordgo.ApplicationCommandOptionChoice, 0, min(len(in), maxChoices))
	for _, c := range in {
		if len(out) == maxChoices {
			break
		}
		v, isString := c.Value.(string)
		if isString && (v == "" || utf8.RuneCountInString(v) > maxChoiceValue) {
			continue
		}
		name := c.Name
		if name == "" {
			name = v
		}
		if name == "" {
			continue
		}
		out = append(out, &discordgo.ApplicationCommandOptionChoice{Name: cut(name, maxChoiceName), Value: c.Value, NameLocalizations: c.NameLocalizations})
	}
	return out
}
