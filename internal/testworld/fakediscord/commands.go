package fakediscord

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Application command option types.
const (
	OptionSubCommand      = 1
	OptionSubCommandGroup = 2
	OptionString          = 3
	OptionInteger         = 4
	OptionBoolean         = 5
	OptionNumber          = 10
)

var commandName = regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)

// discordLocales are the locales Discord accepts in *_localizations.
var discordLocales = []string{
	"id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
	"no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi",
	"th", "zh-CN", "ja", "zh-TW", "ko",
}

// commandsScope answers for the app and guild of a commands route: the key
// under which the commands are stored, or false after writing the error.
func (s *Server) commandsScopeLocked(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.PathValue("app") != s.opts.ApplicationID {
		writeError(w, http.StatusForbidden, CodeMissingAccess, "Missing Access")
		return "", false
	}
	guild := r.PathValue("guild")
	if guild != "" && s.guilds[guild] == nil {
		writeError(w, http.StatusForbidden, CodeMissingAccess, "Missing Access")
		return "", false
	}
	return guild, true
}

func (s *Server) putCommands(w http.ResponseWriter, r *http.Request, body []byte) {
	var cmds []Command
	if err := json.Unmarshal(body, &cmds); err != nil {
		formError(w, "_body", "could not decode: "+err.Error())
		return
	}
	if len(cmds) > 100 {
		formError(w, "_body", "Must be 100 or fewer in length.")
		return
	}
	seen := map[string]bool{}
	for i, c := range cmds {
		if c.Type == 0 {
			cmds[i].Type = 1
			c.Type = 1
		}
		key := fmt.Sprint(c.Type, c.Name)
		if seen[key] {
			formError(w, fmt.Sprintf("%d.name", i), "Application command names must be unique")
			return
		}
		seen[key] = true
		if field, msg := validateCommand(c); field != "" {
			formError(w, fmt.Sprintf("%d.%s", i, field), msg)
			return
		}
	}
	s.mu.Lock()
	scope, ok := s.commandsScopeLocked(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	old := s.commands[scope]
	for i := range cmds {
		c := &cmds[i]
		c.ID = s.ids.next()
		for _, o := range old {
			if o.Name == c.Name && o.Type == c.Type {
				c.ID = o.ID // Discord keeps the id of a command overwritten under the same name
			}
		}
		c.ApplicationID = s.opts.ApplicationID
		c.GuildID = scope
		c.Version = s.ids.next()
	}
	s.commands[scope] = cmds
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, cmds)
}

func (s *Server) getCommands(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	scope, ok := s.commandsScopeLocked(w, r)
	if !ok {
		return
	}
	out := s.commands[scope]
	if out == nil {
		out = []Command{}
	}
	writeJSON(w, http.StatusOK, out)
}

// Commands returns the commands registered in the main guild, in the order
// of the last bulk overwrite.
func (s *Server) Commands() []Command {
	return s.CommandsIn(s.opts.GuildID)
}

// CommandsIn returns the commands registered in a guild; "" gives the global
// ones.
func (s *Server) CommandsIn(guildID string) []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Command
	// A deep copy: what was just encoded decodes into the same type.
	b, _ := json.Marshal(s.commands[guildID])
	_ = json.Unmarshal(b, &out)
	return out
}

// validateCommand applies Discord's rules for chat input commands and
// returns the offending field with a message, or "".
func validateCommand(c Command) (string, string) {
	if c.Type != 1 {
		if c.Name == "" || utf8.RuneCountInString(c.Name) > 32 {
			return "name", "Must be between 1 and 32 in length."
		}
		return "", ""
	}
	if !commandName.MatchString(c.Name) || strings.ToLower(c.Name) != c.Name {
		return "name", "Command name is invalid"
	}
	if n := utf8.RuneCountInString(c.Description); n < 1 || n > 100 {
		return "description", "Must be between 1 and 100 in length."
	}
	if f, m := validateLocalizations(c.NameLocalizations, true); f != "" {
		return "name_localizations." + f, m
	}
	if f, m := validateLocalizations(c.DescriptionLocalizations, false); f != "" {
		return "description_localizations." + f, m
	}
	return validateOptions(c.Options, 0)
}

func validateLocalizations(l map[string]string, names bool) (string, string) {
	for loc, v := range l {
		if !slices.Contains(discordLocales, loc) {
			return loc, "Invalid Form Body: not a valid locale"
		}
		if names && (!commandName.MatchString(v) || strings.ToLower(v) != v) {
			return loc, "Command name is invalid"
		}
		if !names && (utf8.RuneCountInString(v) < 1 || utf8.RuneCountInString(v) > 100) {
			return loc, "Must be between 1 and 100 in length."
		}
	}
	return "", ""
}

// validateOptions checks one level of options; depth counts the
// subcommand/group levels above it.
func validateOptions(opts []CommandOption, depth int) (string, string) {
	if len(opts) > 25 {
		return "options", "Must be 25 or fewer in length."
	}
	subs := 0
	for _, o := range opts {
		if o.Type == OptionSubCommand || o.Type == OptionSubCommandGroup {
			subs++
		}
	}
	if subs > 0 && subs < len(opts) {
		return "options", "Sub-command and sub-command group option types are mutually exclusive to all other types"
	}
	names := map[string]bool{}
	optional := false
	for i, o := range opts {
		at := func(f string) string { return fmt.Sprintf("options.%d.%s", i, f) }
		if !commandName.MatchString(o.Name) || strings.ToLower(o.Name) != o.Name {
			return at("name"), "Command name is invalid"
		}
		if names[o.Name] {
			return at("name"), "Option names must be unique"
		}
		names[o.Name] = true
		if n := utf8.RuneCountInString(o.Description); n < 1 || n > 100 {
			return at("description"), "Must be between 1 and 100 in length."
		}
		if f, m := validateLocalizations(o.NameLocalizations, true); f != "" {
			return at("name_localizations." + f), m
		}
		if f, m := validateLocalizations(o.DescriptionLocalizations, false); f != "" {
			return at("description_localizations." + f), m
		}
		switch o.Type {
		case OptionSubCommand, OptionSubCommandGroup:
			if depth >= 2 || (depth == 1 && o.Type == OptionSubCommandGroup) {
				return at("type"), "Sub-command and sub-command group option types are mutually exclusive to all other types"
			}
			for j, sub := range o.Options {
				if o.Type == OptionSubCommandGroup && sub.Type != OptionSubCommand {
					return at(fmt.Sprintf("options.%d.type", j)), "A sub-command group may only contain sub-commands"
				}
				if o.Type == OptionSubCommand && (sub.Type == OptionSubCommand || sub.Type == OptionSubCommandGroup) {
					return at(fmt.Sprintf("options.%d.type", j)), "A sub-command may not contain sub-commands"
				}
			}
			if f, m := validateOptions(o.Options, depth+1); f != "" {
				return fmt.Sprintf("options.%d.%s", i, f), m
			}
			continue
		case OptionString, OptionInteger, OptionBoolean, 6, 7, 8, 9, OptionNumber, 11:
		default:
			return at("type"), "Value is not a valid option type"
		}
		if o.Required && optional {
			return at("required"), "Required options must be placed before non-required options"
		}
		if !o.Required {
			optional = true
		}
		if o.Autocomplete && len(o.Choices) > 0 {
			return at("autocomplete"), "Autocomplete cannot be set to true if choices are present"
		}
		if len(o.Choices) > 25 {
			return at("choices"), "Must be 25 or fewer in length."
		}
		for j, ch := range o.Choices {
			if n := utf8.RuneCountInString(ch.Name); n < 1 || n > 100 {
				return at(fmt.Sprintf("choices.%d.name", j)), "Must be between 1 and 100 in length."
			}
		}
	}
	return "", ""
}
