package spawner_test

import (
	"errors"
	"path"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// FuzzParseTemplate feeds arbitrary bytes to the template parser, as an
// admin's upload could be: it must never panic, every failure is a
// non-empty TemplateErrors, and a game it accepts is sane and parses again
// to the same game. The seed corpus in testdata/fuzz/FuzzParseTemplate
// runs with every go test.
func FuzzParseTemplate(f *testing.F) {
	f.Add([]byte(valid))
	nameRE := regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := spawner.ParseTemplate(data, variables)
		if err != nil {
			var errs spawner.TemplateErrors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty TemplateErrors", err, err)
			}
			return
		}
		if !nameRE.MatchString(g.Name) || g.Name == spawner.DefaultGameName || g.Title == "" {
			t.Errorf("accepted name %q title %q", g.Name, g.Title)
		}
		if g.Port < 1 || g.Port > 65535 || g.QueryPort < 0 || g.QueryPort > 65535 {
			t.Errorf("accepted port %d query port %d", g.Port, g.QueryPort)
		}
		if g.Image == "" && (g.TaskDefinition == "" || g.Container == "") {
			t.Errorf("accepted a game with neither image nor task definition and container: %+v", g)
		}
		lim := spawner.DefaultLimits()
		if lim.Warnings.Check(g.WarningCount, "") != "" || lim.MinPlayers.Check(g.MinPlayers, "") != "" ||
			lim.CheckInterval.Check(g.CheckInterval, "") != "" || lim.MaxDuration.Check(g.MaxDuration, "") != "" ||
			lim.ReadyTimeout.Check(g.ReadyTimeout, "") != "" || lim.ExtendDuration.Check(g.ExtendDuration, "") != "" {
			t.Errorf("accepted rules out of the limits %+v", g)
		}
		if r := g.RCON; r != nil && (r.Port == g.Port || r.Port == g.QueryPort || slices.ContainsFunc(g.Ports, func(s spawner.PortSpec) bool { return s.Port == r.Port })) {
			t.Errorf("accepted RCON on a players' port: %+v", g)
		}
		if w := g.World; w != nil {
			if !path.IsAbs(w.Path) || path.Clean(w.Path) != w.Path || w.Path == "/" || len(w.Path) > 256 {
				t.Errorf("accepted world path %q", w.Path)
			}
			for _, cmds := range [][]string{w.SaveCommands, w.ResumeCommands} {
				if len(cmds) > 0 && g.RCON == nil || len(cmds) > 8 || slices.ContainsFunc(cmds, func(c string) bool { return len(c) < 1 || len(c) > 200 }) {
					t.Errorf("accepted world commands %q (rcon %+v)", cmds, g.RCON)
				}
			}
		}
		if _, ok := g.Variant(""); len(g.Variants) > 0 && !ok {
			t.Errorf("default variant %q is not one of %+v", g.DefaultVariant, g.Variants)
		}
		again, err := spawner.ParseTemplate(g.Template, variables)
		if err != nil {
			t.Fatalf("the accepted template does not parse again: %v", err)
		}
		if !reflect.DeepEqual(again, g) {
			t.Errorf("parsed again:\n%+v\nfirst:\n%+v", again, g)
		}
	})
}
