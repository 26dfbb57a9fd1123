package spawner_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// withRCON is the valid template with RCON on a port of its own.
var withRCON = strings.TrimSuffix(valid, "\n}") + `,
  "rcon": {"port": 27015, "passwordEnv": "RCON_PASSWORD"}
}`

// extend adds extra's keys to the template base.
func extend(base, extra string) []byte {
	return []byte(strings.TrimSuffix(base, "\n}") + ",\n" + extra + "\n}")
}

// A template's world key gives its game a world: the path, and the RCON
// commands around a backup of a running server.
func TestParseTemplateWorld(t *testing.T) {
	for _, c := range []struct {
		name, base, world string
		want              *spawner.WorldSpec
	}{
		{"path alone", valid, `{"path": "/data"}`, &spawner.WorldSpec{Path: "/data"}},
		{"a deep path", valid, `{"path": "/home/steam/.config/unity3d/IronGate/Valheim"}`, &spawner.WorldSpec{Path: "/home/steam/.config/unity3d/IronGate/Valheim"}},
		{"empty lists need no rcon", valid, `{"path": "/config", "saveCommands": [], "resumeCommands": []}`, &spawner.WorldSpec{Path: "/config"}},
		{"commands with rcon", withRCON, `{"path": "/data", "saveCommands": ["save-off", "save-all flush"], "resumeCommands": ["save-on"]}`,
			&spawner.WorldSpec{Path: "/data", SaveCommands: []string{"save-off", "save-all flush"}, ResumeCommands: []string{"save-on"}}},
		{"the bounds", withRCON, `{"path": "/` + strings.Repeat("p", 255) + `", "saveCommands": ["` + strings.Repeat("c", 200) + `","2","3","4","5","6","7","8"]}`,
			&spawner.WorldSpec{Path: "/" + strings.Repeat("p", 255), SaveCommands: []string{strings.Repeat("c", 200), "2", "3", "4", "5", "6", "7", "8"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := spawner.ParseTemplate(extend(c.base, `"world": `+c.world), variables)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !reflect.DeepEqual(g.World, c.want) {
				t.Errorf("world = %+v, want %+v", g.World, c.want)
			}
		})
	}
	if g, err := spawner.ParseTemplate([]byte(valid), variables); err != nil || g.World != nil {
		t.Errorf("a template without world: world %+v, %v; want none", g.World, err)
	}
}

// A world key that is not what a runtime can keep is refused, naming the
// key at fault and saying what is wanted.
func TestParseTemplateWorldProblems(t *testing.T) {
	long := "/" + strings.Repeat("p", 256)
	nine := `["1","2","3","4","5","6","7","8","9"]`
	for _, c := range []struct {
		name, base, world, want string
	}{
		{"not an object", valid, `"/data"`, "world: must be an object"},
		{"no path", valid, `{}`, "world.path: required"},
		{"path not a string", valid, `{"path": 1}`, "world.path: must be a string"},
		{"relative path", valid, `{"path": "data"}`, `world.path: "data" must be an absolute path, like /data`},
		{"empty path", valid, `{"path": ""}`, `world.path: "" must be an absolute path, like /data`},
		{"the root", valid, `{"path": "/"}`, "world.path: must be a folder of the container, not / itself"},
		{"going up", valid, `{"path": "/data/../etc"}`, `world.path: "/data/../etc" must not go up with ..`},
		{"going up at the end", valid, `{"path": "/.."}`, `world.path: "/.." must not go up with ..`},
		{"not clean", valid, `{"path": "/data/"}`, `world.path: "/data/" is not a clean path: write "/data"`},
		{"double slash", valid, `{"path": "//data"}`, `world.path: "//data" is not a clean path: write "/data"`},
		{"a dot", valid, `{"path": "/data/./world"}`, `world.path: "/data/./world" is not a clean path: write "/data/world"`},
		{"too long", valid, `{"path": "` + long + `"}`, "world.path: is 257 bytes, more than the 256 allowed"},
		{"a new line", valid, `{"path": "/da\nta"}`, "world.path: must be one line without control characters"},
		{"unknown key", valid, `{"path": "/data", "backupCommand": "tar"}`, "world.backupCommand: unknown key"},
		{"commands without rcon", valid, `{"path": "/data", "saveCommands": ["save-off"], "resumeCommands": ["save-on"]}`,
			"world.saveCommands: needs rcon: the commands are sent over RCON\nworld.resumeCommands: needs rcon: the commands are sent over RCON"},
		{"commands not a list", withRCON, `{"path": "/data", "saveCommands": "save-off"}`, "world.saveCommands: must be a list"},
		{"a command not a string", withRCON, `{"path": "/data", "resumeCommands": ["save-on", 1]}`, "world.resumeCommands[1]: must be a string"},
		{"a blank command", withRCON, `{"path": "/data", "saveCommands": [" "]}`, "world.saveCommands[0]: must not be blank"},
		{"an empty command", withRCON, `{"path": "/data", "saveCommands": [""]}`, "world.saveCommands[0]: must not be blank"},
		{"a long command", withRCON, `{"path": "/data", "saveCommands": ["` + strings.Repeat("c", 201) + `"]}`, "world.saveCommands[0]: is 201 bytes, more than the 200 allowed"},
		{"two commands in one", withRCON, `{"path": "/data", "saveCommands": ["save-off\nstop"]}`, "world.saveCommands[0]: must be one line without control characters"},
		{"too many commands", withRCON, `{"path": "/data", "resumeCommands": ` + nine + `}`, "world.resumeCommands: 9 commands listed, more than the 8 allowed"},
		{"given twice", valid, `{"path": "/data", "path": "/config"}`, "world.path: given twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := spawner.ParseTemplate(extend(c.base, `"world": `+c.world), variables)
			if err == nil || err.Error() != c.want {
				t.Errorf("parse = %v, want exactly %q", err, c.want)
			}
		})
	}
}
