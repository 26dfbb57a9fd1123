package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/a2sserver"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// gmWorld is a world whose ECS also knows the valheim task definition.
func gmWorld(tb testing.TB) *world {
	tb.Helper()
	return newWorld(tb, worldOptions{aws: fakeaws.Options{TaskDefinitionFamilies: map[string][]string{
		family:    {container},
		"valheim": {"valheim", "sidecar"},
	}}})
}

// gmValheim is an a2s game template with its own rules.
func gmValheim(title string, minPlayers, warnings int, queryPort int) []byte {
	return fmt.Appendf(nil, `{
  "name": "valheim", "title": %q, "taskDefinition": "valheim", "container": "valheim",
  "port": 2456, "protocol": "a2s", "queryPort": %d, "cpu": 2048, "memory": 4096, "capacityProvider": "FARGATE",
  "env": {"SERVER_NAME": "spawner"},
  "variants": [{"name": "vanilla"}, {"name": "hardcore", "env": {"PRESET": "hardcore"}}],
  "minPlayers": %d, "warnings": %d, "checkInterval": "300ms", "maxDuration": "1h", "readyTimeout": "10s"
}`, title, queryPort, minPlayers, warnings)
}

// gmAdd uploads doc with /game add as u and returns the text of the answer
// the member finally reads, failing unless it is ephemeral.
func gmAdd(t *testing.T, w *world, u fakediscord.User, locale string, doc []byte) string {
	t.Helper()
	ix := w.discord.CommandWithAttachment(u, locale, []string{"game", "add"}, "file",
		fakediscord.Attachment{Filename: "game.json", ContentType: "application/json", Content: doc}, nil)
	return gmAnswer(t, ix)
}

// gmAnswer waits for the answer of ix, following a deferred answer to its edit.
func gmAnswer(t *testing.T, ix *fakediscord.Interaction) string {
	t.Helper()
	resp := ix.WaitResponse(t, waitLong)
	if !resp.Ephemeral() {
		t.Errorf("answer is not ephemeral: %+v", resp)
	}
	if resp.Type != fakediscord.ResponseDeferredChannelMessage {
		return resp.Text()
	}
	return ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return m.Text() != "" }).Text()
}

// gmStored reads the templates in the table through the real adapter.
func gmStored(t *testing.T, w *world) map[string][]byte {
	t.Helper()
	stored, err := w.serverTable(t).LoadAll(context.Background())
	if err != nil || len(stored.GameProblems) > 0 {
		t.Fatalf("load games: %v %v", err, stored.GameProblems)
	}
	return stored.Games
}

func gmChoices(t *testing.T, w *world, u fakediscord.User, path []string, opts map[string]any, focused string) []string {
	t.Helper()
	resp := w.discord.Autocomplete(u, "en-US", path, opts, focused).WaitResponse(t, waitLong)
	var values []string
	for _, c := range resp.Choices {
		values = append(values, fmt.Sprint(c.Value))
	}
	return values
}

func TestGamesTemplatesRefusedStoreNothing(t *testing.T) {
	t.Parallel()
	w := gmWorld(t)
	w.start(t)
	boss := admin(1)

	var game *fakediscord.Command
	for _, c := range w.discord.CommandsIn(guildID) {
		if c.Name == "game" {
			game = &c
		}
	}
	if n := w.discord.Count("PUT /applications/{app}/guilds/{guild}/commands"); n != 1 || game == nil {
		t.Fatalf("/game is not registered in the one bulk overwrite (%d): %+v", n, w.discord.CommandsIn(guildID))
	}
	if game.NameLocalizations["fr"] != "jeu" || game.DMPermission == nil || *game.DMPermission {
		t.Errorf("/game localized %v, dm_permission %v", game.NameLocalizations, game.DMPermission)
	}
	for _, o := range []struct {
		path []string
		fr   string
	}{
		{[]string{"add"}, "ajouter"}, {[]string{"list"}, "liste"}, {[]string{"show"}, "voir"}, {[]string{"remove"}, "retirer"},
		{[]string{"add", "file"}, "fichier"}, {[]string{"show", "game"}, "jeu"}, {[]string{"remove", "game"}, "jeu"},
	} {
		opt, ok := game.Option(o.path...)
		if !ok || opt.NameLocalizations["fr"] != o.fr || opt.DescriptionLocalizations["fr"] == "" {
			t.Errorf("/game option %v = %+v, want French %q", o.path, opt, o.fr)
		}
	}
	if opt, _ := game.Option("add", "file"); opt.Type != fakediscord.OptionAttachment || !opt.Required {
		t.Errorf("/game add file: type %d required %v, want a required attachment", opt.Type, opt.Required)
	}
	good := string(gmValheim("Valheim", 1, 1, 2457))
	if got := gmAdd(t, w, member(1), "en-US", []byte(good)); got != "Only admins can manage games." {
		t.Errorf("/game add by a member = %q", got)
	}
	if got := gmAdd(t, w, member(1), "fr", []byte(good)); got != "Seuls les admins peuvent gérer les jeux." {
		t.Errorf("/jeu ajouter by a member = %q", got)
	}
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown key", strings.Replace(good, `"env"`, `"colour": "red", "env"`, 1), []string{"`colour`: unknown key"}},
		{"bad name", strings.Replace(good, `"name": "valheim"`, `"name": "Val Heim!"`, 1), []string{"`name`:", "lowercase"}},
		{"bad duration", strings.Replace(good, `"maxDuration": "1h"`, `"maxDuration": "forever"`, 1), []string{"`maxDuration`:", "not a duration"}},
		{"port out of range", strings.Replace(good, `"port": 2456`, `"port": 70000`, 1), []string{"`port`:", "70000 is not a port"}},
		{"unknown protocol", strings.Replace(good, `"protocol": "a2s"`, `"protocol": "quake"`, 1), []string{"`protocol`:", "not one of minecraft, a2s, tcp"}},
		{"unknown task definition", strings.Replace(good, `"taskDefinition": "valheim"`, `"taskDefinition": "rust"`, 1), []string{"`taskDefinition`:", "rust"}},
		{"container not in it", strings.Replace(good, `"container": "valheim"`, `"container": "server"`, 1), []string{"`container`:", `no container named "server"`}},
		{"several at once", strings.NewReplacer(`"port": 2456`, `"port": 0`, `"taskDefinition": "valheim"`, `"taskDefinition": "rust"`, `"cpu"`, `"extra": 1, "cpu"`).Replace(good),
			[]string{"3 problem(s)", "`port`:", "`taskDefinition`:", "`extra`: unknown key"}},
		{"not JSON", `{"name": "valheim",`, []string{"`template`:", "not valid JSON"}},
		{"over 64 KiB", good + strings.Repeat(" ", 64<<10), []string{"larger than 64 KiB"}},
	} {
		got := gmAdd(t, w, boss, "en-US", []byte(tc.doc))
		for _, part := range tc.want {
			if !strings.Contains(got, part) {
				t.Errorf("%s: answer %q does not contain %q", tc.name, got, part)
			}
		}
		if !strings.Contains(got, "nothing was stored") {
			t.Errorf("%s: answer %q does not say nothing was stored", tc.name, got)
		}
	}
	if got := gmStored(t, w); len(got) != 0 {
		t.Errorf("templates stored after refusals: %v", slices.Collect(func(yield func(string) bool) {
			for k := range got {
				yield(k)
			}
		}))
	}
	if got := gmChoices(t, w, boss, []string{"server", "create"}, nil, "game"); !slices.Equal(got, []string{"minecraft"}) {
		t.Errorf("games offered after refusals = %v, want minecraft only", got)
	}
}

// An uploaded a2s game: stored, replaced, listed, shown, offered with its
// variants; a server of it boots to ready with its players counted through
// A2S on its query port, and its watchdog warns and stops with its own numbers.
func TestGamesA2SGameEndToEnd(t *testing.T) {
	t.Parallel()
	w := gmWorld(t)
	d := w.start(t)
	boss := admin(1)
	queryPort := reservePort(t)

	if got := gmAdd(t, w, boss, "en-US", gmValheim("Valheim draft", 3, 1, queryPort)); !strings.Contains(got, "Game **Valheim draft** (`valheim`) added") {
		t.Fatalf("first /game add = %q", got)
	}
	if got := gmAdd(t, w, boss, "fr", gmValheim("Valheim", 3, 1, queryPort)); !strings.Contains(got, "Jeu **Valheim** (`valheim`) remplacé") {
		t.Fatalf("second /jeu ajouter = %q", got)
	}
	if stored := gmStored(t, w); !strings.Contains(string(stored["valheim"]), `"title": "Valheim"`) || len(stored) != 1 {
		t.Errorf("stored templates = %q, want the replacement under valheim", stored)
	}
	list := gmAnswer(t, w.discord.Command(boss, "en-US", []string{"game", "list"}, nil))
	if !strings.Contains(list, "**2 game(s):**") || !strings.Contains(list, "**Valheim** (`valheim`)") || strings.Index(list, "`minecraft`") > strings.Index(list, "`valheim`") {
		t.Errorf("/game list = %q, want minecraft then valheim", list)
	}
	show := gmAnswer(t, w.discord.Command(boss, "en-US", []string{"game", "show"}, map[string]any{"game": "valheim"}))
	if !strings.Contains(show, "```json\n{") || !strings.Contains(show, `"queryPort": `+strconv.Itoa(queryPort)) {
		t.Errorf("/game show = %q, want the template in a code block", show)
	}
	if got := gmAnswer(t, w.discord.Command(member(1), "en-US", []string{"game", "list"}, nil)); got != "Only admins can manage games." {
		t.Errorf("/game list by a member = %q", got)
	}
	if got := gmChoices(t, w, member(1), []string{"server", "create"}, nil, "game"); !slices.Equal(got, []string{"minecraft", "valheim"}) {
		t.Errorf("game choices = %v", got)
	}
	if got := gmChoices(t, w, member(1), []string{"server", "create"}, map[string]any{"game": "valheim"}, "variant"); !slices.Equal(got, []string{"vanilla", "hardcore"}) {
		t.Errorf("variant choices of valheim = %v", got)
	}
	if got := gmChoices(t, w, boss, []string{"game", "remove"}, nil, "game"); !slices.Equal(got, []string{"valheim"}) {
		t.Errorf("/game remove choices = %v, want the stored game only", got)
	}

	// The first task of the world gets 127.2.0.1; its game answers A2S there.
	steam := a2sserver.Listen(t, net.JoinHostPort("127.2.0.1", strconv.Itoa(queryPort)))
	steam.SetPlayers(4, 10)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, map[string]any{"game": "valheim", "variant": "hardcore"})
	ready := wdFind(w, channelID, "your server is ready")
	if len(ready) != 1 || !strings.Contains(ready[0].Text(), "**Players online:** 4") || !strings.Contains(ready[0].Text(), "**Minimum players:** 3") {
		t.Fatalf("ready message = %+v, want 4 players seen and valheim's minimum of 3", ready)
	}
	task := wdTask(t, w, arn)
	if task.Family != "valheim" || task.CapacityProvider != "FARGATE" || task.Input.Overrides == nil ||
		task.Input.Overrides.CPU != "2048" || task.Input.Overrides.Memory != "4096" {
		t.Errorf("task = family %s provider %s overrides %+v, want valheim's", task.Family, task.CapacityProvider, task.Input.Overrides)
	}
	env := map[string]string{}
	for _, o := range task.Input.Overrides.ContainerOverrides {
		if o.Name == "valheim" {
			for _, kv := range o.Environment {
				env[kv.Name] = kv.Value
			}
		}
	}
	if env["SERVER_NAME"] != "spawner" || env["PRESET"] != "hardcore" {
		t.Errorf("container environment = %v, want the game's and the variant's", env)
	}
	listed := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong).Text()
	if !strings.Contains(listed, "4 player(s)") {
		t.Errorf("/server list = %q, want the players seen", listed)
	}
	if got := gmChoices(t, w, u, []string{"server", "stop"}, nil, "server"); len(got) != 1 {
		t.Errorf("stop choices = %v", got)
	}

	// Too few for valheim's own minimum of 3, one warning then the stop.
	steam.SetPlayers(2, 10)
	warn := wdWait(t, w, d, channelID, "warning **1/1**")
	if !strings.Contains(warn.Text(), "2 player(s) online, 3 needed") {
		t.Errorf("warning = %q, want valheim's numbers", warn.Text())
	}
	wdWait(t, w, d, channelID, "Server stopped: too few players after the last warning")
	wdAssertGone(t, w, d, arn, channelID)

	if got := gmAnswer(t, w.discord.Command(boss, "en-US", []string{"game", "remove"}, map[string]any{"game": "valheim"})); !strings.Contains(got, "Game **Valheim** (`valheim`) removed") {
		t.Errorf("/game remove = %q", got)
	}
	if got := gmStored(t, w); len(got) != 0 {
		t.Errorf("templates after /game remove = %q", got)
	}
	if got := gmChoices(t, w, u, []string{"server", "create"}, nil, "game"); !slices.Equal(got, []string{"minecraft"}) {
		t.Errorf("game choices after removal = %v", got)
	}
}

// The templates survive a SIGKILL; a running server keeps its rules after
// its template was replaced, then removed, across that restart.
func TestGamesTemplateSurvivesSIGKILLAndServerKeepsItsRules(t *testing.T) {
	t.Parallel()
	w := gmWorld(t)
	bin := rsSpawnerBinary(t)
	p1 := rsStartBinary(t, w, bin)
	d1 := p1.handle(w)
	boss := admin(1)
	queryPort := reservePort(t)
	if got := gmAdd(t, w, boss, "en-US", gmValheim("Valheim", 3, 1, queryPort)); !strings.Contains(got, "added") {
		t.Fatalf("/game add = %q", got)
	}
	steam := a2sserver.Listen(t, net.JoinHostPort("127.2.0.1", strconv.Itoa(queryPort)))
	steam.SetPlayers(4, 10)
	u := member(1)
	channelID, arn := createReady(t, w, d1, u, map[string]any{"game": "valheim"})
	// Stricter rules for new servers, stored before the kill.
	if got := gmAdd(t, w, boss, "en-US", gmValheim("Valheim strict", 8, 3, queryPort)); !strings.Contains(got, "replaced") {
		t.Fatalf("/game add again = %q", got)
	}
	p1.kill(t)

	d2 := w.start(t)
	if got := gmChoices(t, w, u, []string{"server", "create"}, nil, "game"); !slices.Equal(got, []string{"minecraft", "valheim"}) {
		t.Errorf("games offered after the SIGKILL = %v", got)
	}
	// The template in the table is not mistaken for a server.
	if list := w.discord.Command(boss, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong).Text(); !strings.Contains(list, "**1 server(s):**") {
		t.Errorf("/server list after the restart = %q, want the one server", list)
	}
	show := gmAnswer(t, w.discord.Command(boss, "en-US", []string{"game", "show"}, map[string]any{"game": "valheim"}))
	if !strings.Contains(show, "Valheim strict") {
		t.Errorf("/game show after the restart = %q, want the replacement", show)
	}
	if got := gmAnswer(t, w.discord.Command(boss, "en-US", []string{"game", "remove"}, map[string]any{"game": "valheim"})); !strings.Contains(got, "removed") {
		t.Fatalf("/game remove = %q", got)
	}
	// 4 players: enough for its own minimum of 3, not for the strict 8.
	// Then 2: its own single warning, then the stop.
	steam.SetPlayers(2, 10)
	warn := wdWait(t, w, d2, channelID, "warning **")
	if !strings.Contains(warn.Text(), "warning **1/1**") || !strings.Contains(warn.Text(), "2 player(s) online, 3 needed") {
		t.Errorf("warning after the restart = %q, want the rules it started with (3 players, 1 warning)", warn.Text())
	}
	wdWait(t, w, d2, channelID, "Server stopped: too few players after the last warning")
	wdAssertGone(t, w, d2, arn, channelID)
}

// /game add refuses a template whose durations are out of bounds or whose
// RCON is on a port players reach, naming the key; a template saved by
// Windows Notepad (a UTF-8 byte order mark first) is taken as any other.
func TestGamesTemplateBoundsRCONAndByteOrderMark(t *testing.T) {
	t.Parallel()
	w := gmWorld(t)
	w.start(t)
	boss := admin(1)
	good := string(gmValheim("Valheim", 1, 1, 2457))
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{"check every millisecond", strings.Replace(good, `"checkInterval": "300ms"`, `"checkInterval": "1ms"`, 1),
			[]string{"`checkInterval`: 1ms is below the minimum of 100ms"}},
		{"a server for a year", strings.Replace(good, `"maxDuration": "1h"`, `"maxDuration": "8760h"`, 1),
			[]string{"`maxDuration`: 8760h is above the maximum of 720h"}},
		{"rcon on the game port", strings.Replace(good, `"env"`, `"rcon": {"port": 2456, "passwordEnv": "RCON_PASSWORD"}, "env"`, 1),
			[]string{"`rcon.port`: 2456 is the game's port (port)", "RCON would be public"}},
		{"rcon on the query port", strings.Replace(good, `"env"`, `"rcon": {"port": 2457, "passwordEnv": "RCON_PASSWORD"}, "env"`, 1),
			[]string{"`rcon.port`: 2457 is the game's port (queryPort)"}},
	} {
		got := gmAdd(t, w, boss, "en-US", []byte(tc.doc))
		for _, part := range append(tc.want, "nothing was stored") {
			if !strings.Contains(got, part) {
				t.Errorf("%s: answer %q does not contain %q", tc.name, got, part)
			}
		}
	}
	if got := gmStored(t, w); len(got) != 0 {
		t.Fatalf("templates stored after refusals: %d", len(got))
	}

	if got := gmAdd(t, w, boss, "en-US", []byte("\uFEFF"+good)); !strings.Contains(got, "Game **Valheim** (`valheim`) added") {
		t.Fatalf("/game add of a template with a byte order mark = %q", got)
	}
	if stored := gmStored(t, w)["valheim"]; string(stored) != good {
		t.Errorf("stored %q, want the template without its byte order mark", stored)
	}
}

// A stored game with a checkInterval shorter than the variables' does not
// drive the fleet's ECS sweep after a restart: with the fleet's interval
// at an hour, a restarted daemon lists the tasks once at start, not at
// the game's pace.
func TestGamesCheckIntervalDoesNotDriveTheSweep(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{
		aws: fakeaws.Options{TaskDefinitionFamilies: map[string][]string{family: {container}, "valheim": {"valheim"}}},
		env: map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "1h"},
	})
	d := w.start(t)
	fast := strings.Replace(string(gmValheim("Valheim", 1, 1, 2457)), `"checkInterval": "300ms"`, `"checkInterval": "100ms"`, 1)
	if got := gmAdd(t, w, admin(1), "en-US", []byte(fast)); !strings.Contains(got, "added") {
		t.Fatalf("/game add = %q", got)
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	w.start(t)
	lists := len(w.aws.Calls("ListTasks"))
	time.Sleep(time.Second) // a window of time with nothing due: what runs in it is the sweep's pace
	if n := len(w.aws.Calls("ListTasks")) - lists; n > 1 {
		t.Errorf("%d ListTasks in the second after the restart, want at most the start's (the fleet sweeps hourly): valheim's 100ms drives the sweep", n)
	}
}
