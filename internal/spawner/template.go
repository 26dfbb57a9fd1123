package spawner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxTemplateSize is the largest game template accepted, in bytes.
const MaxTemplateSize = 64 << 10

// DefaultGameName is the name of the game built from the variables; no
// template may take it.
const DefaultGameName = "minecraft"

// TemplateError is one problem in a game template, with the key it is
// about: "port", "variants[1].name", "rcon.passwordEnv", "env.1BAD"; empty
// for the template as a whole (not JSON, too large).
type TemplateError struct {
	Key     string
	Problem string
}

// Error returns "key: problem", or the problem alone for the whole template.
func (e *TemplateError) Error() string {
	if e.Key == "" {
		return e.Problem
	}
	return e.Key + ": " + e.Problem
}

// TemplateErrors is every problem ParseTemplate found in a template, in a
// stable order: the keys in the order of the template format, then unknown
// keys. It is never empty when returned as an error.
type TemplateErrors []*TemplateError

// Error returns one problem a line.
func (e TemplateErrors) Error() string { return ErrorLines(e) }

// The template format's keys, in the order problems are reported.
var templateKeys = []string{
	"name", "title", "version", "image", "taskDefinition", "container",
	"port", "protocol", "queryPort", "ports", "cpu", "memory", "capacityProvider",
	"env", "variants", "defaultVariant", "tokenEnv", "adminCommand", "rcon",
	"world", "minPlayers", "warnings", "checkInterval", "maxDuration", "maxDurationWarning",
	"readyTimeout", "extendDuration",
}

// maxTitle bounds a game's title, in characters: it is shown in the chat's
// choices (100 at most) next to other words.
const maxTitle = 80

// ParseTemplate reads a game template (the JSON format of interface.md,
// "Game template") within DefaultLimits and returns the game it describes.
// Rules the template leaves out (minPlayers, warnings, checkInterval,
// maxDuration, maxDurationWarning, readyTimeout, extendDuration) take
// defaults' values, the variables'; nothing else is taken from defaults.
// The returned Game keeps data in Template, without the UTF-8 byte order
// mark an editor may have put at its start.
//
// taskDefinition and container are required unless image is set: a
// runtime that runs images needs neither. world, when set, gives the game
// a WorldSpec: its path absolute and clean, its commands only with rcon.
//
// On any problem it returns TemplateErrors listing every one, each naming
// its key. It never panics, whatever data holds.
func ParseTemplate(data []byte, defaults Game) (Game, error) {
	return ParseTemplateWithin(data, defaults, DefaultLimits())
}

// ParseTemplateWithin is ParseTemplate with lim as the bounds of the
// template's durations and counts.
func ParseTemplateWithin(data []byte, defaults Game, lim Limits) (Game, error) {
	data = TrimBOM(data)
	p := &templateParser{lim: lim}
	g := p.parse(data, defaults)
	if len(p.errs) > 0 {
		return Game{}, p.errs
	}
	g.Template = bytes.Clone(data)
	return g, nil
}

// utf8BOM is the byte order mark Windows Notepad puts at the start of a
// file it saves as UTF-8.
var utf8BOM = []byte("\uFEFF")

// TrimBOM returns data without the UTF-8 byte order mark it may start
// with: JSON has none, but editors write one.
func TrimBOM(data []byte) []byte { return bytes.TrimPrefix(data, utf8BOM) }

type templateParser struct {
	lim  Limits
	errs TemplateErrors
	// portKeys names, by port, the item of ports that lists it first.
	portKeys map[int]string
}

func (p *templateParser) failf(key, format string, args ...any) {
	p.errs = append(p.errs, &TemplateError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

func (p *templateParser) parse(data []byte, defaults Game) Game {
	if len(data) > MaxTemplateSize {
		p.failf("", "the template is %d bytes, more than the %d allowed", len(data), MaxTemplateSize)
		return Game{}
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		p.failf("", "not valid JSON: %s", strings.TrimPrefix(fmt.Sprint(err), "json: "))
		return Game{}
	}
	top, ok := p.object("", data)
	if !ok {
		return Game{}
	}
	for _, key := range duplicateKeys(data) {
		p.failf(key, "given twice")
	}
	p.unknown("", top, templateKeys)

	g := Game{
		MinPlayers:         defaults.MinPlayers,
		WarningCount:       defaults.WarningCount,
		CheckInterval:      defaults.CheckInterval,
		MaxDuration:        defaults.MaxDuration,
		MaxDurationWarning: defaults.MaxDurationWarning,
		ReadyTimeout:       defaults.ReadyTimeout,
		ExtendDuration:     defaults.ExtendDuration,
	}
	p.identity(top, &g)
	p.network(top, &g)
	p.sizes(top, &g)
	p.environment(top, &g)
	if raw, ok := top["world"]; ok {
		_, hasRCON := top["rcon"]
		g.World = p.world(raw, hasRCON)
	}
	p.rules(top, &g)
	p.sort()
	return g
}

// identity reads what names the game and what runs it: name, title,
// version, image, taskDefinition and container.
func (p *templateParser) identity(top map[string]json.RawMessage, g *Game) {
	if raw, ok := p.required(top, "name"); ok {
		if s, ok := p.string("name", raw); ok {
			switch {
			case !isGameName(s):
				p.failf("name", "%s must be 1 to 32 lowercase letters, digits or hyphens", quote(s))
			case s == DefaultGameName:
				p.failf("name", "%q is the game built from the variables and cannot be added", DefaultGameName)
			default:
				g.Name = s
			}
		}
	}
	if raw, ok := p.required(top, "title"); ok {
		if s, ok := p.string("title", raw); ok {
			g.Title = p.text("title", s, maxTitle)
		}
	}
	if raw, ok := top["version"]; ok {
		if s, ok := p.string("version", raw); ok {
			g.Version = p.text("version", s, maxTitle)
		}
	}
	if raw, ok := top["image"]; ok {
		if s, ok := p.string("image", raw); ok {
			if s == "" || len(s) > 255 || strings.ContainsFunc(s, unicode.IsSpace) {
				p.failf("image", "%s is not a container image reference", quote(s))
			} else {
				g.Image = s
			}
		}
	}
	_, imageGiven := top["image"]
	for _, key := range []string{"taskDefinition", "container"} {
		raw, ok := top[key]
		if !ok {
			if !imageGiven {
				p.failf(key, "required (unless image is set, for the Docker runtime)")
			}
			continue
		}
		s, ok := p.string(key, raw)
		if !ok {
			continue
		}
		if !IsECSName(s) {
			p.failf(key, "%s must be up to 255 letters, digits, hyphens or underscores", quote(s))
			continue
		}
		if key == "taskDefinition" {
			g.TaskDefinition = s
		} else {
			g.Container = s
		}
	}
}

// network reads how the game is reached and probed: port, protocol,
// queryPort, ports and rcon, whose port must be none of the others.
func (p *templateParser) network(top map[string]json.RawMessage, g *Game) {
	if raw, ok := p.required(top, "port"); ok {
		g.Port = p.port("port", raw)
	}
	if raw, ok := p.required(top, "protocol"); ok {
		if s, ok := p.string("protocol", raw); ok {
			switch pr := Protocol(s); pr {
			case ProtocolMinecraft, ProtocolA2S, ProtocolTCP:
				g.Protocol = pr
			default:
				p.failf("protocol", "%s is not one of minecraft, a2s, tcp", quote(s))
			}
		}
	}
	if raw, ok := top["queryPort"]; ok {
		g.QueryPort = p.port("queryPort", raw)
	} else if g.Protocol == ProtocolA2S && g.Port == 65535 {
		p.failf("queryPort", "required when port is 65535 (it defaults to port+1)")
	}
	if raw, ok := top["ports"]; ok {
		g.Ports = p.ports(raw, *g)
	}
	if raw, ok := top["rcon"]; ok {
		g.RCON = p.rcon(raw)
		if g.RCON != nil && g.RCON.Port != 0 {
			p.rconPrivate(g.RCON.Port, *g)
		}
	}
}

// rconPrivate refuses an RCON port that players reach: the game port, the
// query port or a port of ports would publish RCON to them.
func (p *templateParser) rconPrivate(rcon int, g Game) {
	var key string
	switch {
	case rcon == g.Port:
		key = "port"
	case rcon == g.QueryPort:
		key = "queryPort"
	case g.Protocol == ProtocolA2S && g.QueryPort == 0 && g.Port != 0 && rcon == g.ProbePort():
		key = "queryPort, port+1 by default"
	default:
		key = p.portKeys[rcon]
	}
	if key != "" {
		p.failf("rcon.port", "%d is the game's port (%s): players reach it, so RCON would be public; give RCON a port of its own", rcon, key)
	}
}

// sizes reads the task's size and capacity: cpu, memory, capacityProvider.
func (p *templateParser) sizes(top map[string]json.RawMessage, g *Game) {
	if raw, ok := top["cpu"]; ok {
		g.CPU = p.count("cpu", raw, p.lim.CPU)
	}
	if raw, ok := top["memory"]; ok {
		g.Memory = p.count("memory", raw, p.lim.Memory)
	}
	if raw, ok := top["capacityProvider"]; ok {
		if s, ok := p.string("capacityProvider", raw); ok {
			if s != "FARGATE" && s != "FARGATE_SPOT" {
				p.failf("capacityProvider", "%s is not FARGATE or FARGATE_SPOT", quote(s))
			} else {
				g.CapacityProvider = s
			}
		}
	}
}

// environment reads what the container is given and what the owner is
// shown: env, variants, defaultVariant, tokenEnv and adminCommand.
func (p *templateParser) environment(top map[string]json.RawMessage, g *Game) {
	if raw, ok := top["env"]; ok {
		g.Env = p.env("env", raw)
	}
	if raw, ok := top["variants"]; ok {
		g.Variants = p.variants(raw)
	}
	if raw, ok := top["defaultVariant"]; ok {
		if s, ok := p.string("defaultVariant", raw); ok {
			if _, found := g.Variant(s); !found || s == "" {
				p.failf("defaultVariant", "%s names no variant in variants", quote(s))
			} else {
				g.DefaultVariant = s
			}
		}
	} else if len(g.Variants) > 0 {
		g.DefaultVariant = g.Variants[0].Name
	}
	if raw, ok := top["tokenEnv"]; ok {
		g.TokenEnv = p.envName("tokenEnv", raw)
	}
	if raw, ok := top["adminCommand"]; ok {
		if s, ok := p.string("adminCommand", raw); ok {
			g.AdminCommand = p.text("adminCommand", s, 200)
		}
	}
}

// rules reads the watchdogs' rules, each within its limits; those left
// out keep g's (the variables').
func (p *templateParser) rules(top map[string]json.RawMessage, g *Game) {
	if raw, ok := top["minPlayers"]; ok {
		g.MinPlayers = p.count("minPlayers", raw, p.lim.MinPlayers)
	}
	if raw, ok := top["warnings"]; ok {
		g.WarningCount = p.count("warnings", raw, p.lim.Warnings)
	}
	durations := []struct {
		key string
		to  *time.Duration
		in  Range[time.Duration]
	}{
		{"checkInterval", &g.CheckInterval, p.lim.CheckInterval},
		{"maxDuration", &g.MaxDuration, p.lim.MaxDuration},
		{"maxDurationWarning", &g.MaxDurationWarning, p.lim.MaxDurationWarning},
		{"readyTimeout", &g.ReadyTimeout, p.lim.ReadyTimeout},
		{"extendDuration", &g.ExtendDuration, p.lim.ExtendDuration},
	}
	valid := true
	for _, d := range durations {
		if raw, ok := top[d.key]; ok {
			v, ok := p.duration(d.key, raw, d.in)
			if ok {
				*d.to = v
			}
			valid = valid && ok
		}
	}
	_, warnGiven := top["maxDurationWarning"]
	_, maxGiven := top["maxDuration"]
	if valid && (warnGiven || maxGiven) && g.MaxDuration > 0 && g.MaxDurationWarning >= g.MaxDuration {
		p.failf("maxDurationWarning", "%v must be shorter than maxDuration (%v)", FormatDuration(g.MaxDurationWarning), FormatDuration(g.MaxDuration))
	}
}

// sort orders the problems by key in the template format's order, so the
// answer reads top to bottom; unknown keys come last. Problems about one
// key keep the order they were found in.
func (p *templateParser) sort() {
	rank := func(key string) int {
		if key == "" {
			return -1
		}
		root := key
		if i := strings.IndexAny(root, ".["); i >= 0 {
			root = root[:i]
		}
		if i := slices.Index(templateKeys, root); i >= 0 {
			return i
		}
		return len(templateKeys)
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return rank(p.errs[i].Key) < rank(p.errs[j].Key) })
}

// object reads raw as a JSON object.
func (p *templateParser) object(key string, raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if firstByte(raw) != '{' || json.Unmarshal(raw, &m) != nil {
		if key == "" {
			p.failf("", "the template must be a JSON object")
		} else {
			p.failf(key, "must be an object")
		}
		return nil, false
	}
	return m, true
}

// unknown reports every key of m not in known, in order.
func (p *templateParser) unknown(prefix string, m map[string]json.RawMessage, known []string) {
	var keys []string
	for k := range m {
		if !slices.Contains(known, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.failf(join(prefix, k), "unknown key")
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (p *templateParser) required(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := m[key]
	if !ok {
		p.failf(key, "required")
	}
	return raw, ok
}

func (p *templateParser) string(key string, raw json.RawMessage) (string, bool) {
	var s string
	if firstByte(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		p.failf(key, "must be a string")
		return "", false
	}
	return s, true
}

// text checks a string shown to people: one line, not blank, at most
// limit characters.
func (p *templateParser) text(key, s string, limit int) string {
	switch {
	case strings.TrimSpace(s) == "":
		p.failf(key, "must not be blank")
	case utf8.RuneCountInString(s) > limit:
		p.failf(key, "must be at most %d characters", limit)
	case strings.ContainsFunc(s, unicode.IsControl):
		p.failf(key, "must be one line without control characters")
	default:
		return s
	}
	return ""
}

// integer reads raw as a whole JSON number.
func (p *templateParser) integer(key string, raw json.RawMessage) (int, bool) {
	if c := firstByte(raw); c != '-' && (c < '0' || c > '9') {
		p.failf(key, "must be a number")
		return 0, false
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(raw)))
	if err != nil {
		p.failf(key, "%s is not a whole number in range", string(bytes.TrimSpace(raw)))
		return 0, false
	}
	return n, true
}

func (p *templateParser) port(key string, raw json.RawMessage) int {
	n, ok := p.integer(key, raw)
	if !ok {
		return 0
	}
	if n < 1 || n > 65535 {
		p.failf(key, "%d is not a port (1 to 65535)", n)
		return 0
	}
	return n
}

// count reads a whole number within in.
func (p *templateParser) count(key string, raw json.RawMessage, in Range[int]) int {
	n, ok := p.integer(key, raw)
	if !ok {
		return 0
	}
	if problem := in.Check(n, strconv.Itoa(n)); problem != "" {
		p.failf(key, "%s", problem)
		return 0
	}
	return n
}

// duration reads a Go duration within in.
func (p *templateParser) duration(key string, raw json.RawMessage, in Range[time.Duration]) (time.Duration, bool) {
	s, ok := p.string(key, raw)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.failf(key, "%s is not a duration (like 90s, 10m or 2h30m)", quote(s))
		return 0, false
	}
	if problem := in.Check(d, s); problem != "" {
		p.failf(key, "%s", problem)
		return 0, false
	}
	return d, true
}

func (p *templateParser) envName(key string, raw json.RawMessage) string {
	s, ok := p.string(key, raw)
	if !ok {
		return ""
	}
	if !isEnvName(s) {
		p.failf(key, "%s is not an environment variable name (letters, digits and _, not starting with a digit)", quote(s))
		return ""
	}
	return s
}

func (p *templateParser) env(key string, raw json.RawMessage) map[string]string {
	m, ok := p.object(key, raw)
	if !ok {
		return nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	env := make(map[string]string, len(m))
	for _, k := range names {
		ok := true
		if !isEnvName(k) {
			p.failf(key+"."+k, "not an environment variable name (letters, digits and _, not starting with a digit)")
			ok = false
		}
		v, isString := p.string(key+"."+k, m[k])
		if ok && isString {
			env[k] = v
		}
	}
	return env
}

// objects reads raw, at key, as a JSON array of objects and yields each
// object with its key ("ports[2]"), once its unknown keys are reported. An
// item that is not an object is reported and skipped; raw that is not an
// array is reported and yields nothing.
func (p *templateParser) objects(key string, raw json.RawMessage, known ...string) iter.Seq2[string, map[string]json.RawMessage] {
	return func(yield func(string, map[string]json.RawMessage) bool) {
		var items []json.RawMessage
		if firstByte(raw) != '[' || json.Unmarshal(raw, &items) != nil {
			p.failf(key, "must be a list")
			return
		}
		for i, item := range items {
			k := fmt.Sprintf("%s[%d]", key, i)
			m, ok := p.object(k, item)
			if !ok {
				continue
			}
			p.unknown(k, m, known)
			if !yield(k, m) {
				return
			}
		}
	}
}

func (p *templateParser) variants(raw json.RawMessage) []Variant {
	var variants []Variant
	for key, m := range p.objects("variants", raw, "name", "env") {
		var v Variant
		if raw, ok := m["name"]; !ok {
			p.failf(key+".name", "required")
		} else if s, ok := p.string(key+".name", raw); ok {
			if !isVariantName(s) {
				p.failf(key+".name", "%s must be 1 to 32 letters, digits, hyphens or underscores", quote(s))
			} else if _, dup := (Game{Variants: variants}).Variant(s); dup {
				p.failf(key+".name", "%s is already the name of another variant", quote(s))
			} else {
				v.Name = s
			}
		}
		if raw, ok := m["env"]; ok {
			v.Env = p.env(key+".env", raw)
		}
		if v.Name != "" {
			variants = append(variants, v)
		}
	}
	return variants
}

func (p *templateParser) rcon(raw json.RawMessage) *RCON {
	m, ok := p.object("rcon", raw)
	if !ok {
		return nil
	}
	p.unknown("rcon", m, []string{"port", "passwordEnv"})
	var r RCON
	if raw, ok := m["port"]; ok {
		r.Port = p.port("rcon.port", raw)
	} else {
		p.failf("rcon.port", "required")
	}
	if raw, ok := m["passwordEnv"]; ok {
		r.PasswordEnv = p.envName("rcon.passwordEnv", raw)
	} else {
		p.failf("rcon.passwordEnv", "required")
	}
	return &r
}

// Bounds of the template's world key: a path fits any container's file
// system, and the commands are a few short lines, each sent over RCON.
const (
	maxWorldPath     = 256
	maxWorldCommand  = 200 // bytes
	maxWorldCommands = 8   // of each list
)

// world reads the world key: an absolute, clean path other than /, and
// the RCON commands sent before and after a backup of a running server,
// which need rcon.
func (p *templateParser) world(raw json.RawMessage, hasRCON bool) *WorldSpec {
	m, ok := p.object("world", raw)
	if !ok {
		return nil
	}
	p.unknown("world", m, []string{"path", "saveCommands", "resumeCommands"})
	var w WorldSpec
	if raw, ok := m["path"]; !ok {
		p.failf("world.path", "required")
	} else if s, ok := p.string("world.path", raw); ok {
		w.Path = p.worldPath(s)
	}
	w.SaveCommands = p.commands(m, "saveCommands", hasRCON)
	w.ResumeCommands = p.commands(m, "resumeCommands", hasRCON)
	if w.Path == "" {
		return nil
	}
	return &w
}

// worldPath checks the folder of the container a world is kept in; "" when
// it is not one.
func (p *templateParser) worldPath(s string) string {
	const key = "world.path"
	switch {
	case len(s) > maxWorldPath:
		p.failf(key, "is %d bytes, more than the %d allowed", len(s), maxWorldPath)
	case strings.ContainsFunc(s, unicode.IsControl):
		p.failf(key, "must be one line without control characters")
	case !strings.HasPrefix(s, "/"):
		p.failf(key, "%s must be an absolute path, like /data", quote(s))
	case slices.Contains(strings.Split(s, "/"), ".."):
		p.failf(key, "%s must not go up with ..", quote(s))
	case s == "/":
		p.failf(key, "must be a folder of the container, not / itself")
	case path.Clean(s) != s:
		p.failf(key, "%s is not a clean path: write %s", quote(s), quote(path.Clean(s)))
	default:
		return s
	}
	return ""
}

// commands reads the list key of the world key: at most maxWorldCommands
// lines, each of 1 to maxWorldCommand bytes without control characters,
// sent over RCON, so only with rcon. An empty list is none.
func (p *templateParser) commands(m map[string]json.RawMessage, key string, hasRCON bool) []string {
	raw, ok := m[key]
	if !ok {
		return nil
	}
	key = "world." + key
	var items []json.RawMessage
	if firstByte(raw) != '[' || json.Unmarshal(raw, &items) != nil {
		p.failf(key, "must be a list")
		return nil
	}
	switch {
	case len(items) == 0:
		return nil
	case len(items) > maxWorldCommands:
		p.failf(key, "%d commands listed, more than the %d allowed", len(items), maxWorldCommands)
		return nil
	case !hasRCON:
		p.failf(key, "needs rcon: the commands are sent over RCON")
		return nil
	}
	commands := make([]string, 0, len(items))
	for i, item := range items {
		k := fmt.Sprintf("%s[%d]", key, i)
		s, ok := p.string(k, item)
		switch {
		case !ok:
		case strings.TrimSpace(s) == "":
			p.failf(k, "must not be blank")
		case len(s) > maxWorldCommand:
			p.failf(k, "is %d bytes, more than the %d allowed", len(s), maxWorldCommand)
		case strings.ContainsFunc(s, unicode.IsControl):
			p.failf(k, "must be one line without control characters")
		default:
			commands = append(commands, s)
		}
	}
	return commands
}

func (p *templateParser) ports(raw json.RawMessage, g Game) []PortSpec {
	var ports []PortSpec
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) == nil && len(items) > p.lim.MaxPorts {
		p.failf("ports", "%d ports listed, more than the %d allowed", len(items), p.lim.MaxPorts)
		return nil
	}
	for key, m := range p.objects("ports", raw, "port", "proto") {
		spec := PortSpec{Proto: "tcp"}
		if raw, ok := m["port"]; ok {
			spec.Port = p.port(key+".port", raw)
		} else {
			p.failf(key+".port", "required")
		}
		if raw, ok := m["proto"]; ok {
			if s, ok := p.string(key+".proto", raw); ok {
				if s != "tcp" && s != "udp" {
					p.failf(key+".proto", "%s is not tcp or udp", quote(s))
					spec.Port = 0
				} else {
					spec.Proto = s
				}
			}
		}
		if spec.Port == 0 {
			continue
		}
		if slices.Contains(ports, spec) {
			p.failf(key, "%d/%s is listed twice", spec.Port, spec.Proto)
			continue
		}
		ports = append(ports, spec)
		if _, listed := p.portKeys[spec.Port]; !listed {
			if p.portKeys == nil {
				p.portKeys = make(map[int]string)
			}
			p.portKeys[spec.Port] = key
		}
	}
	// The game port comes first, as Game.Ports promises.
	sort.SliceStable(ports, func(i, j int) bool { return ports[i].Port == g.Port && ports[j].Port != g.Port })
	if g.Port != 0 && len(ports) > 0 && !slices.ContainsFunc(ports, func(s PortSpec) bool { return s.Port == g.Port }) {
		p.failf("ports", "must list the game port %d", g.Port)
	}
	if g.Protocol == ProtocolA2S && g.Port != 0 && len(ports) > 0 {
		q := g.ProbePort()
		if !slices.Contains(ports, PortSpec{Port: q, Proto: "udp"}) {
			p.failf("ports", "must list the query port %d over udp", q)
		}
	}
	return ports
}

func firstByte(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// quote quotes s for a problem, cut to a length that fits a message.
func quote(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "…"
	}
	return strconv.Quote(s)
}

// duplicateKeys returns the key of every member given twice in an object
// of data (which must be valid JSON): encoding/json keeps the last silently.
func duplicateKeys(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	var dups []string
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := tok.(string)
				if seen[k] {
					dups = append(dups, join(path, k))
				}
				seen[k] = true
				if err := walk(join(path, k)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	_ = walk("") // data is valid JSON; an error only ends the walk early
	return dups
}
