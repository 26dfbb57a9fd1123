package spawner_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// variables is the game built from the variables, whose rules a template
// inherits when it leaves them out.
var variables = spawner.Game{
	Name: "minecraft", Title: "Minecraft", TaskDefinition: "spawner", Container: "minecraft",
	Port: 25565, TokenEnv: "OPREDEEM_TOKEN",
	MinPlayers: 2, WarningCount: 3, CheckInterval: 5 * time.Minute, MaxDuration: 4 * time.Hour,
	MaxDurationWarning: 10 * time.Minute, ReadyTimeout: 10 * time.Minute, ExtendDuration: 30 * time.Minute,
}

const valid = `{
  "name": "factorio",
  "title": "Factorio",
  "taskDefinition": "spawner-factorio",
  "container": "game",
  "port": 34197,
  "protocol": "tcp"
}`

func TestParseTemplateValid(t *testing.T) {
	data := []byte(`{
	  "name": "valheim", "title": "Valheim", "version": "0.218",
	  "taskDefinition": "spawner-valheim", "container": "game", "image": "lloesche/valheim-server",
	  "port": 2456, "protocol": "a2s", "queryPort": 2457,
	  "ports": [{"port": 2457, "proto": "udp"}, {"port": 2456, "proto": "udp"}],
	  "cpu": 2048, "memory": 4096, "capacityProvider": "FARGATE_SPOT",
	  "env": {"SERVER_NAME": "x"},
	  "variants": [{"name": "normal"}, {"name": "hard", "env": {"SERVER_ARGS": "-preset hard"}}],
	  "defaultVariant": "hard",
	  "tokenEnv": "SERVER_PASS", "adminCommand": "password {token}",
	  "rcon": {"port": 25575, "passwordEnv": "RCON_PASSWORD"},
	  "minPlayers": 0, "warnings": 1, "checkInterval": "1m", "maxDuration": "3h",
	  "maxDurationWarning": "5m", "readyTimeout": "20m", "extendDuration": "45m"
	}`)
	g, err := spawner.ParseTemplate(data, variables)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := spawner.Game{
		Name: "valheim", Title: "Valheim", Version: "0.218",
		TaskDefinition: "spawner-valheim", Container: "game", Image: "lloesche/valheim-server",
		Port: 2456, Protocol: spawner.ProtocolA2S, QueryPort: 2457,
		Ports: []spawner.PortSpec{{Port: 2456, Proto: "udp"}, {Port: 2457, Proto: "udp"}},
		CPU:   2048, Memory: 4096, CapacityProvider: "FARGATE_SPOT",
		Env:            map[string]string{"SERVER_NAME": "x"},
		Variants:       []spawner.Variant{{Name: "normal"}, {Name: "hard", Env: map[string]string{"SERVER_ARGS": "-preset hard"}}},
		DefaultVariant: "hard", TokenEnv: "SERVER_PASS", AdminCommand: "password {token}",
		RCON:       &spawner.RCON{Port: 25575, PasswordEnv: "RCON_PASSWORD"},
		MinPlayers: 0, WarningCount: 1, CheckInterval: time.Minute, MaxDuration: 3 * time.Hour,
		MaxDurationWarning: 5 * time.Minute, ReadyTimeout: 20 * time.Minute, ExtendDuration: 45 * time.Minute,
		Template: data,
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("parse =\n%+v\nwant\n%+v", g, want)
	}
}

func TestParseTemplateTakesTheVariablesRules(t *testing.T) {
	g, err := spawner.ParseTemplate([]byte(valid), variables)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if g.MinPlayers != 2 || g.WarningCount != 3 || g.CheckInterval != 5*time.Minute || g.MaxDuration != 4*time.Hour ||
		g.MaxDurationWarning != 10*time.Minute || g.ReadyTimeout != 10*time.Minute || g.ExtendDuration != 30*time.Minute {
		t.Errorf("rules = %+v, want the variables' rules", g)
	}
	// Nothing else is the default game's.
	if g.TokenEnv != "" || g.Variants != nil || g.Env != nil || g.Version != "" {
		t.Errorf("a template without tokenEnv, variants, env, version got %+v", g)
	}
	if string(g.Template) != valid {
		t.Errorf("Template = %q, want the bytes parsed", g.Template)
	}
}

func TestParseTemplateImageWithoutTaskDefinition(t *testing.T) {
	g, err := spawner.ParseTemplate([]byte(`{"name":"x","title":"X","image":"nginx:1","port":80,"protocol":"tcp"}`), variables)
	if err != nil {
		t.Fatalf("parse of an image-only template: %v", err)
	}
	if g.Image != "nginx:1" || g.TaskDefinition != "" {
		t.Errorf("game = %+v", g)
	}
}

func TestParseTemplateFirstVariantIsTheDefault(t *testing.T) {
	g, err := spawner.ParseTemplate([]byte(`{"name":"x","title":"X","image":"i","port":80,"protocol":"tcp","variants":[{"name":"b"},{"name":"a"}]}`), variables)
	if err != nil {
		t.Fatal(err)
	}
	if g.DefaultVariant != "b" {
		t.Errorf("default variant = %q, want the first, b", g.DefaultVariant)
	}
}

// TestParseTemplateProblems gives one template per kind of problem and
// checks the answer names exactly the keys at fault.
func TestParseTemplateProblems(t *testing.T) {
	with := func(extra string) string { return strings.TrimSuffix(valid, "\n}") + ",\n" + extra + "\n}" }
	cases := []struct {
		name string
		data string
		want map[string]string // key → a word of the problem
	}{
		{"not JSON", `{"name": "x",`, map[string]string{"": "JSON"}},
		{"trailing garbage", valid + "}", map[string]string{"": "JSON"}},
		{"not an object", `["name"]`, map[string]string{"": "object"}},
		{"empty", ``, map[string]string{"": "JSON"}},
		{"too large", `{"name":"` + strings.Repeat("x", spawner.MaxTemplateSize) + `"}`, map[string]string{"": "bytes"}},
		{"unknown key", with(`"players": 3`), map[string]string{"players": "unknown"}},
		{"unknown keys nested", with(`"variants":[{"name":"a","envs":{}}],"rcon":{"port":1,"passwordEnv":"P","password":"x"},"ports":[{"port":34197,"protocol":"udp"}]`),
			map[string]string{"variants[0].envs": "unknown", "rcon.password": "unknown", "ports[0].protocol": "unknown"}},
		{"duplicate key", with(`"port": 1`), map[string]string{"port": "twice"}},
		{"missing required", `{}`, map[string]string{"name": "required", "title": "required", "taskDefinition": "required", "container": "required", "port": "required", "protocol": "required"}},
		{"bad name", strings.Replace(valid, `"factorio"`, `"Factorio Server"`, 1), map[string]string{"name": "lowercase"}},
		{"name too long", strings.Replace(valid, `"factorio"`, `"`+strings.Repeat("a", 33)+`"`, 1), map[string]string{"name": "32"}},
		{"reserved name", strings.Replace(valid, `"factorio"`, `"minecraft"`, 1), map[string]string{"name": "variables"}},
		{"blank title", strings.Replace(valid, `"Factorio"`, `"  "`, 1), map[string]string{"title": "blank"}},
		{"title on two lines", strings.Replace(valid, `"Factorio"`, `"Fac\ntorio"`, 1), map[string]string{"title": "line"}},
		{"wrong types", `{"name":1,"title":true,"taskDefinition":[],"container":{},"port":"25565","protocol":null}`,
			map[string]string{"name": "string", "title": "string", "taskDefinition": "string", "container": "string", "port": "number", "protocol": "string"}},
		{"bad task definition", strings.Replace(valid, `"spawner-factorio"`, `"arn:aws:ecs:x"`, 1), map[string]string{"taskDefinition": "letters"}},
		{"bad durations", with(`"checkInterval":"5","maxDuration":"-1h","readyTimeout":"0s","extendDuration":300,"minPlayers":-1,"warnings":0`),
			map[string]string{"checkInterval": "duration", "maxDuration": "below the minimum of 1m", "readyTimeout": "below the minimum of 30s", "extendDuration": "string", "minPlayers": "below the minimum of 0", "warnings": "below the minimum of 1"}},
		{"warning after the end", with(`"maxDuration":"1h","maxDurationWarning":"2h"`), map[string]string{"maxDurationWarning": "shorter"}},
		{"ports out of range", strings.Replace(with(`"queryPort":0,"rcon":{"port":70000,"passwordEnv":"P"},"ports":[{"port":-1},{"port":34197,"proto":"sctp"}]`), `34197,`, `65536,`, 1),
			map[string]string{"port": "1 to 65535", "queryPort": "1 to 65535", "rcon.port": "1 to 65535", "ports[0].port": "1 to 65535", "ports[1].proto": "tcp or udp"}},
		{"fractional port", strings.Replace(valid, `34197`, `34197.5`, 1), map[string]string{"port": "whole"}},
		{"unknown protocol", strings.Replace(valid, `"tcp"`, `"http"`, 1), map[string]string{"protocol": "minecraft, a2s, tcp"}},
		{"default variant missing", with(`"variants":[{"name":"a"}],"defaultVariant":"b"`), map[string]string{"defaultVariant": "no variant"}},
		{"default variant without variants", with(`"defaultVariant":"a"`), map[string]string{"defaultVariant": "no variant"}},
		{"duplicate variants", with(`"variants":[{"name":"a"},{"name":"A"},{"env":{}}]`), map[string]string{"variants[1].name": "another", "variants[2].name": "required"}},
		{"bad variant name", with(`"variants":[{"name":"a b"}]`), map[string]string{"variants[0].name": "letters"}},
		{"bad env names", with(`"env":{"1BAD":"x","GOOD":"y","BAD-NAME":"z","NUM":3},"variants":[{"name":"a","env":{"a b":"x"}}],"tokenEnv":"TOKEN=","rcon":{"port":25575,"passwordEnv":""}`),
			map[string]string{"env.1BAD": "environment", "env.BAD-NAME": "environment", "env.NUM": "string", "variants[0].env.a b": "environment", "tokenEnv": "environment", "rcon.passwordEnv": "environment"}},
		{"rcon missing keys", with(`"rcon":{}`), map[string]string{"rcon.port": "required", "rcon.passwordEnv": "required"}},
		{"negative sizes", with(`"cpu":-1,"memory":-512`), map[string]string{"cpu": "below the minimum of 128", "memory": "below the minimum of 128"}},
		{"bad capacity provider", with(`"capacityProvider":"EC2"`), map[string]string{"capacityProvider": "FARGATE"}},
		{"ports without the game port", with(`"ports":[{"port":1234}]`), map[string]string{"ports": "game port"}},
		{"a2s ports without the query port", strings.Replace(with(`"ports":[{"port":34197,"proto":"udp"}]`), `"tcp"`, `"a2s"`, 1), map[string]string{"ports": "query port 34198"}},
		{"port listed twice", with(`"ports":[{"port":34197},{"port":34197,"proto":"tcp"}]`), map[string]string{"ports[1]": "twice"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := spawner.ParseTemplate([]byte(c.data), variables)
			var errs spawner.TemplateErrors
			if !errors.As(err, &errs) {
				t.Fatalf("parse = %v, want TemplateErrors", err)
			}
			got := map[string]string{}
			for _, e := range errs {
				if _, dup := got[e.Key]; dup {
					t.Errorf("key %q reported twice: %v", e.Key, err)
				}
				got[e.Key] = e.Problem
			}
			for key, word := range c.want {
				problem, ok := got[key]
				if !ok {
					t.Errorf("no problem named %q; got:\n%v", key, err)
				} else if !strings.Contains(problem, word) {
					t.Errorf("problem for %q = %q, want it to say %q", key, problem, word)
				}
			}
			for key := range got {
				if _, ok := c.want[key]; !ok {
					t.Errorf("unexpected problem %q: %s", key, got[key])
				}
			}
			if len(err.Error()) > 4000 {
				t.Errorf("the answer is %d characters, too long for one Discord message", len(err.Error()))
			}
		})
	}
}

func TestTemplateErrorsReadOneALine(t *testing.T) {
	_, err := spawner.ParseTemplate([]byte(`{"name":"X","title":"t","image":"i","port":0,"protocol":"tcp","zzz":1}`), variables)
	want := "name: \"X\" must be 1 to 32 lowercase letters, digits or hyphens\nport: 0 is not a port (1 to 65535)\nzzz: unknown key"
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

// TestShippedGames parses every template in deploy/games.
func TestShippedGames(t *testing.T) {
	files, err := filepath.Glob("../../deploy/games/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		g, err := spawner.ParseTemplate(data, variables)
		if err != nil {
			t.Errorf("%s:\n%v", f, err)
			continue
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".json"); g.Name != want {
			t.Errorf("%s names its game %q, want %q as the file", f, g.Name, want)
		}
		if g.TaskDefinition != "spawner-"+g.Name || g.Container != "game" {
			t.Errorf("%s: task definition %q container %q, want spawner-%s and game as Terraform names them", f, g.TaskDefinition, g.Container, g.Name)
		}
		if want := shippedWorlds[g.Name]; !reflect.DeepEqual(g.World, want) {
			t.Errorf("%s: world %+v, want %+v", f, g.World, want)
		}
		names = append(names, g.Name)
	}
	for _, want := range []string{"minecraft-paper", "mineralcontest", "valheim"} {
		if !slices.Contains(names, want) {
			t.Errorf("deploy/games has no %s.json (found %v)", want, names)
		}
	}
}

// shippedWorlds are the worlds of the shipped games: where each image
// keeps what its server writes (itzg/minecraft-server: /data, its world
// among the server's files; lloesche/valheim-server: /config, its worlds
// under /config/worlds_local), and Paper's world saved and held over RCON
// during a backup, as itzg/docker-mc-backup does. The Mineral Contest
// mini-game forgets everything at every stop, as it should.
var shippedWorlds = map[string]*spawner.WorldSpec{
	"minecraft-paper": {Path: "/data", SaveCommands: []string{"save-off", "save-all flush"}, ResumeCommands: []string{"save-on"}},
	"valheim":         {Path: "/config"},
}

// TestParseTemplateBounds: every duration and count a template sets has a
// floor and a ceiling, and the answer names the key, the value and the bound.
func TestParseTemplateBounds(t *testing.T) {
	with := func(extra string) []byte { return []byte(strings.TrimSuffix(valid, "\n}") + ",\n" + extra + "\n}") }
	manyPorts := `{"port":34197}`
	for p := 1; p <= 16; p++ {
		manyPorts += fmt.Sprintf(`,{"port":%d}`, 40000+p)
	}
	for _, c := range []struct {
		name, extra, want string
	}{
		{"check interval of a millisecond", `"checkInterval": "1ms"`, "checkInterval: 1ms is below the minimum of 10s"},
		{"check interval of a week", `"checkInterval": "168h"`, "checkInterval: 168h is above the maximum of 24h"},
		{"max duration of a second", `"maxDuration": "1s"`, "maxDuration: 1s is below the minimum of 1m"},
		{"max duration of a year", `"maxDuration": "8760h"`, "maxDuration: 8760h is above the maximum of 720h"},
		{"max duration 0", `"maxDuration": "0s"`, "maxDuration: 0s is below the minimum of 1m"},
		{"warning of a millisecond", `"maxDurationWarning": "1ms"`, "maxDurationWarning: 1ms is below the minimum of 10s"},
		{"warning of two days", `"maxDuration": "720h", "maxDurationWarning": "48h"`, "maxDurationWarning: 48h is above the maximum of 24h"},
		{"ready timeout of a millisecond", `"readyTimeout": "1ms"`, "readyTimeout: 1ms is below the minimum of 30s"},
		{"ready timeout of a day", `"readyTimeout": "24h"`, "readyTimeout: 24h is above the maximum of 2h"},
		{"extension of a second", `"extendDuration": "1s"`, "extendDuration: 1s is below the minimum of 1m"},
		{"extension of a week", `"extendDuration": "168h"`, "extendDuration: 168h is above the maximum of 24h"},
		{"negative players", `"minPlayers": -1`, "minPlayers: -1 is below the minimum of 0"},
		{"a million players", `"minPlayers": 1000000`, "minPlayers: 1000000 is above the maximum of 1000"},
		{"no warning", `"warnings": 0`, "warnings: 0 is below the minimum of 1"},
		{"a thousand warnings", `"warnings": 1000`, "warnings: 1000 is above the maximum of 100"},
		{"tiny cpu", `"cpu": 1`, "cpu: 1 is below the minimum of 128"},
		{"huge cpu", `"cpu": 1000000`, "cpu: 1000000 is above the maximum of 16384"},
		{"tiny memory", `"memory": 1`, "memory: 1 is below the minimum of 128"},
		{"huge memory", `"memory": 100000000`, "memory: 100000000 is above the maximum of 122880"},
		{"too many ports", `"ports": [` + manyPorts + `]`, "ports: 17 ports listed, more than the 16 allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := spawner.ParseTemplate(with(c.extra), variables)
			if err == nil || err.Error() != c.want {
				t.Errorf("parse = %v, want exactly %q", err, c.want)
			}
		})
	}
	// The bounds themselves are accepted.
	g, err := spawner.ParseTemplate(with(`"checkInterval": "10s", "maxDuration": "720h", "maxDurationWarning": "24h", "readyTimeout": "2h", "extendDuration": "1m", "minPlayers": 1000, "warnings": 100, "cpu": 16384, "memory": 128`), variables)
	if err != nil {
		t.Fatalf("parse at the bounds: %v", err)
	}
	if g.CheckInterval != 10*time.Second || g.MaxDuration != 720*time.Hour || g.MinPlayers != 1000 {
		t.Errorf("game at the bounds = %+v", g)
	}
}

// TestParseTemplateWithinLimits: the caller's limits apply instead of the
// defaults (the tests' world lowers the floors, never the binary).
func TestParseTemplateWithinLimits(t *testing.T) {
	data := []byte(strings.TrimSuffix(valid, "\n}") + `, "checkInterval": "300ms"}`)
	if _, err := spawner.ParseTemplate(data, variables); err == nil {
		t.Fatalf("300ms accepted under the default limits")
	}
	lim := spawner.DefaultLimits()
	lim.CheckInterval.Min = 100 * time.Millisecond
	g, err := spawner.ParseTemplateWithin(data, variables, lim)
	if err != nil || g.CheckInterval != 300*time.Millisecond {
		t.Errorf("parse within a 100ms floor = %+v, %v", g.CheckInterval, err)
	}
	data = []byte(strings.TrimSuffix(valid, "\n}") + `, "checkInterval": "1ms"}`)
	if _, err := spawner.ParseTemplateWithin(data, variables, lim); err == nil || err.Error() != "checkInterval: 1ms is below the minimum of 100ms" {
		t.Errorf("parse of 1ms within a 100ms floor = %v", err)
	}
}

// TestParseTemplateRCONOnAPlayersPort: RCON on a port players reach would
// publish it to them; the template is refused, naming rcon.port and the
// key it shares its port with.
func TestParseTemplateRCONOnAPlayersPort(t *testing.T) {
	a2s := strings.Replace(valid, `"tcp"`, `"a2s"`, 1)
	with := func(base, extra string) []byte {
		return []byte(strings.TrimSuffix(base, "\n}") + ",\n" + extra + "\n}")
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"the game port", with(valid, `"rcon": {"port": 34197, "passwordEnv": "RCON_PASSWORD"}`), "rcon.port: 34197 is the game's port (port): players reach it, so RCON would be public; give RCON a port of its own"},
		{"the query port", with(a2s, `"queryPort": 27015, "rcon": {"port": 27015, "passwordEnv": "RCON_PASSWORD"}`), "rcon.port: 27015 is the game's port (queryPort): players reach it, so RCON would be public; give RCON a port of its own"},
		{"the default a2s query port", with(a2s, `"rcon": {"port": 34198, "passwordEnv": "RCON_PASSWORD"}`), "rcon.port: 34198 is the game's port (queryPort, port+1 by default): players reach it, so RCON would be public; give RCON a port of its own"},
		{"a published port", with(valid, `"ports": [{"port": 27020, "proto": "udp"}, {"port": 34197}], "rcon": {"port": 27020, "passwordEnv": "RCON_PASSWORD"}`), "rcon.port: 27020 is the game's port (ports[0]): players reach it, so RCON would be public; give RCON a port of its own"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := spawner.ParseTemplate(c.data, variables)
			if err == nil || err.Error() != c.want {
				t.Errorf("parse = %v, want exactly %q", err, c.want)
			}
		})
	}
	// A port of its own is fine, and a tcp game's port+1 is no query port.
	if _, err := spawner.ParseTemplate(with(valid, `"rcon": {"port": 34198, "passwordEnv": "RCON_PASSWORD"}`), variables); err != nil {
		t.Errorf("rcon on a port of its own: %v", err)
	}
}

// TestParseTemplateByteOrderMark: a template saved by Windows Notepad
// starts with a UTF-8 byte order mark; it is read as if it had none.
func TestParseTemplateByteOrderMark(t *testing.T) {
	g, err := spawner.ParseTemplate(append([]byte("\uFEFF"), valid...), variables)
	if err != nil {
		t.Fatalf("parse of a template with a byte order mark: %v", err)
	}
	if g.Name != "factorio" || string(g.Template) != valid {
		t.Errorf("game %q, template %q; want factorio and the template without its mark", g.Name, g.Template)
	}
	// Only one mark, at the start, is dropped.
	for _, data := range []string{"\uFEFF\uFEFF" + valid, strings.Replace(valid, `"Factorio"`, "\uFEFF"+`"Factorio"`, 1)} {
		if _, err := spawner.ParseTemplate([]byte(data), variables); err == nil {
			t.Errorf("parse of %q accepted", data[:12])
		}
	}
}
