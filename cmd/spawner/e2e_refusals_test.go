package main

// End-to-end tests of what the bot refuses (interface.md, "Lifecycle a user
// sees", step 1, and the stop and list rules), of the autocompletes, and of
// the guilds and commands the bot keeps on the gateway.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// refusalCounts is what a refused /server create must leave unchanged.
type refusalCounts struct {
	channels int // every channel ever created under the category
	posts    int // channel creations asked of Discord
	tasks    int // every task ever started
	runTasks int // RunTask calls
	records  int // items in the table
}

func refusalSnapshot(tb testing.TB, w *world) refusalCounts {
	tb.Helper()
	return refusalCounts{
		channels: len(w.discord.ChannelsUnder(categoryID)),
		posts:    w.discord.Count("POST /guilds/{guild}/channels"),
		tasks:    len(w.aws.Tasks()),
		runTasks: len(w.aws.Calls("RunTask")),
		records:  len(w.table(tb)),
	}
}

// refusalExpect waits for the bot's answer to ix and checks it is a direct
// (not deferred) ephemeral message saying exactly want, in time.
func refusalExpect(tb testing.TB, ix *fakediscord.Interaction, want string) {
	tb.Helper()
	resp := ix.WaitResponse(tb, waitLong)
	if resp.Type != fakediscord.ResponseChannelMessage || !resp.Ephemeral() || resp.Late {
		tb.Errorf("refusal must be a direct ephemeral answer within the deadline: type %d ephemeral %v late %v", resp.Type, resp.Ephemeral(), resp.Late)
	}
	if resp.Text() != want {
		tb.Errorf("answer = %q\nwant     %q", resp.Text(), want)
	}
	if len(ix.Edits()) != 0 {
		tb.Errorf("a refusal was edited afterwards: %+v", ix.Edits())
	}
}

// refusalNothingStarted checks nothing was created since before; call it
// after a later creation went through, so a wrongly started creation has
// had the time to leave its traces.
func refusalNothingStarted(tb testing.TB, w *world, before refusalCounts, created int) {
	tb.Helper()
	after := refusalSnapshot(tb, w)
	want := refusalCounts{
		channels: before.channels + created, posts: before.posts + created,
		tasks: before.tasks + created, runTasks: before.runTasks + created, records: before.records + created,
	}
	if after != want {
		tb.Errorf("after refusals and %d creation(s): %+v, want %+v\n%s", created, after, want, w.discord.Dump())
	}
}

func noRole(n int) fakediscord.User {
	return fakediscord.User{ID: fmt.Sprintf("15000000000000%05d", n), Roles: []string{"1100000000000000777"}}
}

func TestRefusalCreateNotAllowed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	before := refusalSnapshot(t, w)
	create := []string{"server", "create"}

	cases := []struct {
		name string
		ix   func() *fakediscord.Interaction
		want string
	}{
		{"no role", func() *fakediscord.Interaction {
			return w.discord.Command(noRole(1), "en-US", create, nil)
		}, "You don't have a role that allows this."},
		{"no role fr", func() *fakediscord.Interaction {
			return w.discord.Command(noRole(2), "fr", create, map[string]any{"variant": "official"})
		}, "Tu n'as pas de rôle qui permet cela."},
		{"DM", func() *fakediscord.Interaction {
			return w.discord.Interact(t, fakediscord.InteractionSpec{User: member(1), Locale: "en-US", DM: true, Path: create})
		}, "This command only works in the community's server."},
		{"DM fr", func() *fakediscord.Interaction {
			return w.discord.Interact(t, fakediscord.InteractionSpec{User: admin(1), Locale: "fr", DM: true, Path: create})
		}, "Cette commande ne marche que sur le serveur de la communauté."},
		{"other guild", func() *fakediscord.Interaction {
			return w.discord.Interact(t, fakediscord.InteractionSpec{User: member(1), Locale: "en-GB", GuildID: "1100000000000000666", Path: create})
		}, "This command only works in the community's server."},
		{"unknown game", func() *fakediscord.Interaction {
			return w.discord.Command(member(1), "en-US", create, map[string]any{"game": "terraria"})
		}, `There is no game called "terraria".`},
		{"unknown game fr", func() *fakediscord.Interaction {
			return w.discord.Command(admin(1), "fr", create, map[string]any{"game": " fortnite ", "variant": "official"})
		}, `Il n'y a pas de jeu nommé "fortnite".`},
		{"unknown variant", func() *fakediscord.Interaction {
			return w.discord.Command(member(1), "en-US", create, map[string]any{"game": "minecraft", "variant": "modded"})
		}, `There is no variant called "modded" for this game.`},
		{"unknown variant fr, shown name instead of value", func() *fakediscord.Interaction {
			return w.discord.Command(member(1), "fr", create, map[string]any{"variant": "officiel"})
		}, `Il n'y a pas de variante nommée "officiel" pour ce jeu.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { refusalExpect(t, c.ix(), c.want) })
	}

	// A refused member has no server to stop, list or pick.
	ac := w.discord.Autocomplete(noRole(1), "en-US", []string{"server", "stop"}, nil, "server").WaitResponse(t, waitLong)
	if ac.Type != fakediscord.ResponseAutocomplete || len(ac.Choices) != 0 {
		t.Errorf("autocomplete for a member without the role = %+v", ac)
	}
	refusalExpect(t, w.discord.Command(noRole(1), "en-US", []string{"server", "list"}, nil), "You don't have a role that allows this.")

	// The member refused above creates for real: only that one exists.
	createReady(t, w, d, member(1), nil)
	refusalNothingStarted(t, w, before, 1)
	w.waitFor(t, "the log channel to say the server is ready", func() bool { return w.said(logChannel, "est prêt") }, d)
	if got := w.messagesIn(logChannel); len(got) != 2 { // requested, ready
		t.Errorf("log channel = %q, want only the one creation", got)
	}
}

func TestRefusalCreateBusy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	create := []string{"server", "create"}

	// A member with a ready server.
	m1 := member(1)
	createReady(t, w, d, m1, nil)
	before := refusalSnapshot(t, w)
	refusalExpect(t, w.discord.Command(m1, "en-US", create, nil),
		"You already have a server running or being created. Stop it first with `/server stop`.")
	refusalExpect(t, w.discord.Command(m1, "fr", create, map[string]any{"variant": "non_official"}),
		"Tu as déjà un serveur lancé ou en cours de création. Arrête-le d'abord avec `/serveur arrêter`.")

	// A member whose creation is still in progress: its task held in PROVISIONING.
	m2 := member(2)
	w.aws.HoldNext(1, "PROVISIONING")
	first := w.discord.Command(m2, "en-US", create, nil)
	first.WaitResponse(t, waitLong)
	w.waitFor(t, "member 2's record in state provisioning", func() bool {
		for _, r := range w.table(t) {
			if r.Owner == m2.ID && r.State == spawner.StateProvisioning && r.TaskID != "" {
				return true
			}
		}
		return false
	}, d)
	before.channels, before.posts, before.tasks, before.runTasks, before.records = before.channels+1, before.posts+1, before.tasks+1, before.runTasks+1, before.records+1
	refusalExpect(t, w.discord.Command(m2, "en-US", create, nil),
		"You already have a server running or being created. Stop it first with `/server stop`.")
	if got := w.aws.Tasks()[1]; got.LastStatus != "PROVISIONING" {
		t.Fatalf("member 2's task should still be held in PROVISIONING: %s", got.LastStatus)
	}

	// Admins are exempt: one admin creates two, the second while the first still boots.
	a := admin(1)
	w.aws.HoldNext(1, "PENDING")
	w.discord.Command(a, "en-US", create, nil).WaitResponse(t, waitLong)
	w.waitFor(t, "the admin's first task, held in PENDING", func() bool {
		ts := w.aws.Tasks()
		return len(ts) == 3 && ts[2].LastStatus == "PENDING"
	}, d)
	createReady(t, w, d, a, map[string]any{"variant": "non_official"})
	refusalNothingStarted(t, w, before, 2)
	list := w.discord.Command(a, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong).Text()
	if !strings.HasPrefix(list, "**4 server(s):**") || strings.Count(list, "<@"+a.ID+">") != 2 {
		t.Errorf("admin's list = %q, want 4 servers, 2 of them the admin's", list)
	}
	// Member 2's creation is still held, and goes on once released.
	w.aws.Release(w.aws.Tasks()[1].ARN)
	edit := first.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	w.waitFor(t, "member 2's server to be ready once released", func() bool {
		return w.said(between(edit.Text(), "<#", ">"), "your server is ready")
	}, d)
}

func TestRefusalCreateCap(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"GAMESERVER_MAX_SERVERS": "2"}})
	d := w.start(t)
	create := []string{"server", "create"}

	createReady(t, w, d, member(1), nil)
	_, arn := createReady(t, w, d, member(2), nil)
	before := refusalSnapshot(t, w)
	refusalExpect(t, w.discord.Command(member(3), "en-US", create, nil), "All 2 server slots are taken. Try again when one is free.")
	refusalExpect(t, w.discord.Command(member(4), "fr", create, nil), "Les 2 places de serveurs sont prises. Réessaie quand une se libère.")
	// The cap counts admins' servers too, and admins are held to it.
	refusalExpect(t, w.discord.Command(admin(1), "en-US", create, nil), "All 2 server slots are taken. Try again when one is free.")

	// A slot freed is a slot taken.
	stop := w.discord.Command(member(2), "en-US", []string{"server", "stop"}, map[string]any{"server": arn[strings.LastIndex(arn, "/")+1:]})
	stop.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "stopped") })
	before.records-- // member 2's, removed by the stop
	createReady(t, w, d, member(3), nil)
	refusalNothingStarted(t, w, before, 1)
}

func TestRefusalStop(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	d := w.start(t)
	stop := []string{"server", "stop"}
	owner, other, adm := member(1), member(2), admin(1)
	channelID, arn := createReady(t, w, d, owner, nil)
	task, _ := w.aws.Task(arn)

	// stopAnswer runs /server stop and returns the text of its final answer.
	stopAnswer := func(u fakediscord.User, locale, value string, want string) {
		t.Helper()
		ix := w.discord.Command(u, locale, stop, map[string]any{"server": value})
		if r := ix.WaitResponse(t, waitLong); !r.Ephemeral() || r.Late {
			t.Errorf("stop answer not ephemeral or late: %+v", r)
		}
		got := ix.WaitEdit(t, waitLong, nil).Text()
		if got != want {
			t.Errorf("stop %q by %s = %q\nwant %q", value, u.ID, got, want)
		}
	}
	stillRunning := func(why string) {
		t.Helper()
		if got, _ := w.aws.Task(arn); got.DesiredStatus != "RUNNING" || got.LastStatus != "RUNNING" {
			t.Errorf("%s: task is %s/%s", why, got.LastStatus, got.DesiredStatus)
		}
		if len(w.table(t)) != 1 || len(w.tickets()) != 1 {
			t.Errorf("%s: records %d, tickets %d", why, len(w.table(t)), len(w.tickets()))
		}
	}

	// Forged values: not a server, an ARN, someone's channel id.
	for _, v := range []string{"not-a-server", arn, channelID, "0123456789abcdef0123456789abcdef"} {
		stopAnswer(owner, "en-US", v, "That server doesn't exist (any more). Pick one from the list.")
	}
	stillRunning("forged values")

	// Another member's server.
	stopAnswer(other, "en-US", task.ID, "That server isn't yours.")
	stopAnswer(other, "fr", task.ID, "Ce serveur n'est pas à toi.")
	stillRunning("stop by another member")
	if ac := w.discord.Autocomplete(other, "en-US", stop, nil, "server").WaitResponse(t, waitLong); len(ac.Choices) != 0 {
		t.Errorf("another member's autocomplete shows %+v", ac.Choices)
	}

	// An admin stops it; the log channel says who.
	stopAnswer(adm, "fr", task.ID, "Serveur "+task.PublicIP+":"+w.env["GAMESERVER_PORT"]+" (officiel) arrêté.")
	if got, _ := w.aws.Task(arn); got.DesiredStatus != "STOPPED" {
		t.Errorf("task desired status = %s after the admin's stop", got.DesiredStatus)
	}
	if recs := w.table(t); len(recs) != 0 {
		t.Errorf("records left: %+v", recs)
	}
	if !w.said(logChannel, "⏹️ Serveur de <@"+owner.ID+"> arrêté par <@"+adm.ID+">", task.ID) {
		t.Errorf("log channel does not say the admin stopped it: %q", w.messagesIn(logChannel))
	}
	if !w.said(channelID, "Server stopped by <@"+adm.ID+">") {
		t.Errorf("ticket channel does not say who stopped it: %q", w.messagesIn(channelID))
	}
	w.waitFor(t, "the ticket channel to be deleted", func() bool { c, _ := w.discord.Channel(channelID); return c.Deleted }, d)

	// The same value again is stale, for its owner and the admin.
	stopAnswer(owner, "fr", task.ID, "Ce serveur n'existe pas (ou plus). Choisis-en un dans la liste.")
	stopAnswer(adm, "en-US", task.ID, "That server doesn't exist (any more). Pick one from the list.")
	if n := len(w.aws.Calls("StopTask")); n != 1 {
		t.Errorf("StopTask calls = %d, want 1", n)
	}
}

func TestRefusalListAndAutocomplete(t *testing.T) {
	t.Parallel()
	const many = 30
	w := newWorld(t, worldOptions{env: map[string]string{
		"GAMESERVER_MAX_SERVERS": "40",
		// No watchdog sweep during the test: it only adds load.
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "1h",
	}})
	d := w.start(t)
	stop := []string{"server", "stop"}
	adm, m1, m2 := admin(1), member(1), member(2)

	// Member 1 has one non-official server; the admin many official ones.
	ch1, arn1 := createReady(t, w, d, m1, map[string]any{"variant": "non_official"})
	var ixs []*fakediscord.Interaction
	for range many {
		ixs = append(ixs, w.discord.Command(adm, "en-US", []string{"server", "create"}, nil))
	}
	for i, ix := range ixs {
		if r := ix.WaitResponse(t, waitLong); r.Type != fakediscord.ResponseDeferredChannelMessage || r.Late {
			t.Fatalf("admin's creation %d answered %+v", i, r)
		}
	}
	w.waitFor(t, fmt.Sprintf("%d servers ready", many+1), func() bool {
		n := 0
		for _, s := range w.table(t) {
			if s.State == spawner.StateReady {
				n++
			}
		}
		return n == many+1
	}, d)
	task1, _ := w.aws.Task(arn1)

	// /server list: the admin sees every server, a member their own.
	list := w.discord.Command(adm, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !list.Ephemeral() || !strings.HasPrefix(list.Text(), fmt.Sprintf("**%d server(s):**", many+1)) || !strings.Contains(list.Text(), "<#"+ch1+">") {
		t.Errorf("admin's list = %q", list.Text())
	}
	if len(list.Text()) > 2000 {
		t.Errorf("admin's list is %d characters, over Discord's 2000", len(list.Text()))
	}
	mine := w.discord.Command(m1, "fr", []string{"server", "list"}, nil).WaitResponse(t, waitLong).Text()
	if !strings.HasPrefix(mine, "**1 serveur(s) :**") || !strings.Contains(mine, task1.PublicIP) || strings.Contains(mine, "<@"+adm.ID+">") {
		t.Errorf("member's list = %q, want their one server only", mine)
	}
	none := w.discord.Command(m2, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong).Text()
	if none != "You have no server running. Start one with `/server create`." {
		t.Errorf("list of a member without servers = %q", none)
	}

	// The stop autocomplete: at most 25, the caller's view, filtered by what was typed.
	choices := func(u fakediscord.User, typed string) []fakediscord.Choice {
		t.Helper()
		r := w.discord.Autocomplete(u, "en-US", stop, map[string]any{"server": typed}, "server").WaitResponse(t, waitLong)
		if r.Type != fakediscord.ResponseAutocomplete || r.Late {
			t.Fatalf("autocomplete answered %+v", r)
		}
		return r.Choices
	}
	if got := choices(adm, ""); len(got) != 25 {
		t.Errorf("admin's autocomplete has %d choices, want Discord's maximum 25", len(got))
	}
	ids := map[string]bool{}
	for _, task := range w.aws.Tasks() {
		ids[task.ID] = true
	}
	for _, c := range choices(adm, "") {
		if v, _ := c.Value.(string); !ids[v] || len(c.Name) > 100 || c.Name == "" {
			t.Errorf("choice %+v: value is not a task id or name is not 1..100 characters", c)
		}
	}
	if got := choices(adm, "NON-off"); len(got) != 1 || got[0].Value != task1.ID {
		t.Errorf("admin typing the variant: %+v, want member 1's server %s", got, task1.ID)
	}
	if got := choices(adm, "user"+m1.ID[:6]); len(got) != 1 || got[0].Value != task1.ID {
		t.Errorf("admin typing member 1's name: %+v, want member 1's server %s", got, task1.ID)
	}
	other := w.aws.Tasks()[many]
	if got := choices(adm, other.ID); len(got) != 1 || got[0].Value != other.ID {
		t.Errorf("admin typing a task id: %+v, want %s", got, other.ID)
	}
	if got := choices(adm, "nothing like this"); len(got) != 0 {
		t.Errorf("admin typing nonsense: %+v", got)
	}
	if got := choices(m1, ""); len(got) != 1 || got[0].Value != task1.ID || !strings.Contains(got[0].Name, task1.PublicIP) {
		t.Errorf("member 1's autocomplete = %+v, want their one server", got)
	}
	if got := choices(m1, other.ID); len(got) != 0 {
		t.Errorf("member 1 typing the admin's task id: %+v", got)
	}
	if got := choices(m2, ""); len(got) != 0 {
		t.Errorf("member 2's autocomplete = %+v, want none", got)
	}
}

func TestRefusalAutocompleteGameVariant(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.start(t)
	create := []string{"server", "create"}
	ask := func(locale string, opts map[string]any, focused string) []fakediscord.Choice {
		t.Helper()
		r := w.discord.Autocomplete(member(1), locale, create, opts, focused).WaitResponse(t, waitLong)
		if r.Type != fakediscord.ResponseAutocomplete || r.Late {
			t.Fatalf("autocomplete answered %+v", r)
		}
		return r.Choices
	}
	type pair struct{ name, value string }
	flat := func(cs []fakediscord.Choice) []pair {
		var out []pair
		for _, c := range cs {
			v, _ := c.Value.(string)
			out = append(out, pair{c.Name, v})
		}
		return out
	}
	cases := []struct {
		name    string
		locale  string
		opts    map[string]any
		focused string
		want    []pair
	}{
		{"games", "en-US", nil, "game", []pair{{"Minecraft", "minecraft"}}},
		{"games typed", "fr", map[string]any{"game": "MINE"}, "game", []pair{{"Minecraft", "minecraft"}}},
		{"games typed no match", "en-US", map[string]any{"game": "terr"}, "game", nil},
		{"variants of the default game", "en-US", nil, "variant", []pair{{"official", "official"}, {"non-official", "non_official"}}},
		{"variants of the chosen game, fr", "fr", map[string]any{"game": "minecraft"}, "variant", []pair{{"officiel", "official"}, {"non officiel", "non_official"}}},
		{"variants typed, fr", "fr", map[string]any{"game": "minecraft", "variant": "non"}, "variant", []pair{{"non officiel", "non_official"}}},
		{"variants of an unknown game", "en-US", map[string]any{"game": "terraria"}, "variant", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := flat(ask(c.locale, c.opts, c.focused)); !slices.Equal(got, c.want) {
				t.Errorf("choices = %v, want %v", got, c.want)
			}
		})
	}
	if n := len(w.aws.Calls("RunTask")) + len(w.discord.ChannelsUnder(categoryID)); n != 0 {
		t.Errorf("autocomplete started something")
	}
}

// The bot serves one guild: it leaves any other it is in at READY or
// added to later, and never its own.
func TestRefusalOtherGuildsLeft(t *testing.T) {
	t.Parallel()
	const atReady, later = "1100000000000000901", "1100000000000000902"
	w := newWorld(t, worldOptions{discord: fakediscord.Options{ExtraGuildIDs: []string{atReady}}})
	d := w.start(t)
	w.waitFor(t, "the bot to leave the guild it was in at READY", func() bool { return slices.Contains(w.discord.LeftGuilds(), atReady) }, d)
	w.discord.AddGuild(later)
	w.waitFor(t, "the bot to leave the guild it was added to", func() bool { return slices.Contains(w.discord.LeftGuilds(), later) }, d)
	if got := w.discord.LeftGuilds(); !slices.Equal(got, []string{atReady, later}) {
		t.Errorf("left guilds = %v, want %v", got, []string{atReady, later})
	}
	if got := w.discord.Guilds(); !slices.Equal(got, []string{guildID}) {
		t.Errorf("guilds = %v, want only %s", got, guildID)
	}
	// Still serving its own.
	createReady(t, w, d, member(1), nil)
	if got := w.discord.LeftGuilds(); slices.Contains(got, guildID) {
		t.Errorf("the bot left its own guild: %v", got)
	}
}

// The commands: one bulk overwrite in the guild, English names with French
// localizations, not usable in DMs.
func TestRefusalCommandsGuildOnly(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.start(t)
	if n := w.discord.Count("PUT /applications/{app}/guilds/{guild}/commands"); n != 1 {
		t.Errorf("guild bulk overwrites = %d, want 1", n)
	}
	if got := w.discord.CommandsIn(""); len(got) != 0 {
		t.Errorf("global commands registered: %+v", got)
	}
	cmds := w.discord.CommandsIn(guildID)
	if len(cmds) != 2 || cmds[1].Name != "game" {
		t.Fatalf("guild commands = %+v, want /server and /game (e2e_games_test.go checks /game)", cmds)
	}
	c := cmds[0]
	if c.Name != "server" || c.NameLocalizations["fr"] != "serveur" {
		t.Errorf("command %q localized %v", c.Name, c.NameLocalizations)
	}
	if c.DMPermission == nil || *c.DMPermission {
		t.Errorf("dm_permission = %v, want false", c.DMPermission)
	}
	if !slices.Equal(c.Contexts, []int{0}) {
		t.Errorf("contexts = %v, want guild only [0]", c.Contexts)
	}
	for _, o := range []struct {
		path []string
		fr   string
	}{
		{[]string{"create"}, "créer"},
		{[]string{"stop"}, "arrêter"},
		{[]string{"list"}, "liste"},
		{[]string{"create", "game"}, "jeu"},
		{[]string{"create", "variant"}, "variante"},
		{[]string{"stop", "server"}, "serveur"},
	} {
		opt, ok := c.Option(o.path...)
		if !ok {
			t.Errorf("no option %v", o.path)
			continue
		}
		if got := opt.NameLocalizations["fr"]; got != o.fr {
			t.Errorf("option %v: French name %q, want %q", o.path, got, o.fr)
		}
		if opt.Description == "" || opt.DescriptionLocalizations["fr"] == "" {
			t.Errorf("option %v: description %q, French %q", o.path, opt.Description, opt.DescriptionLocalizations["fr"])
		}
	}
	for _, p := range [][]string{{"create", "game"}, {"create", "variant"}, {"stop", "server"}} {
		if opt, _ := c.Option(p...); !opt.Autocomplete || opt.Type != fakediscord.OptionString || len(opt.Choices) != 0 {
			t.Errorf("option %v: type %d autocomplete %v choices %v", p, opt.Type, opt.Autocomplete, opt.Choices)
		}
	}
	if opt, _ := c.Option("stop", "server"); !opt.Required {
		t.Errorf("/server stop's server option is not required")
	}
	if opt, _ := c.Option("create", "game"); opt.Required {
		t.Errorf("/server create's game option is required")
	}
}
