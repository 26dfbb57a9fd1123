package main

// End-to-end tests of /server extend and /server op: through the real
// daemon, the fake Discord and ECS, and an RCON responder that checks the
// password the bot generated.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/rconserver"
)

// putRCONTemplate stores in the world's table, before the daemon starts,
// the template /game add would have stored for the world's Minecraft game
// with RCON: the password in RCON_PASSWORD, the console on rconPort. The
// daemon offers it as the game "paper".
func putRCONTemplate(tb testing.TB, w *world, rconPort int) {
	tb.Helper()
	cfg, err := config.LoadWithin(w.getenv, os.ReadFile, limits)
	if err != nil {
		tb.Fatalf("configuration: %v", err)
	}
	g := cfg.Catalog()[0]
	if g.RCON != nil {
		tb.Fatalf("the game built from the variables claims RCON: %+v", g.RCON)
	}
	variants := make([]map[string]any, 0, len(g.Variants))
	for _, v := range g.Variants {
		variants = append(variants, map[string]any{"name": v.Name, "env": v.Env})
	}
	doc, err := json.Marshal(map[string]any{
		"name": "paper", "title": "Minecraft Paper",
		"taskDefinition": g.TaskDefinition, "container": g.Container,
		"port": g.Port, "protocol": "minecraft", "version": g.Version,
		"variants": variants, "defaultVariant": g.DefaultVariant,
		"rcon": map[string]any{"port": rconPort, "passwordEnv": "RCON_PASSWORD"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := spawner.ParseTemplateWithin(doc, g, limits); err != nil {
		tb.Fatalf("the test's template is refused: %v", err)
	}
	ctx := context.Background()
	table := w.serverTable(tb)
	if err := table.EnsureTable(ctx); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	if err := table.PutGame(ctx, "paper", doc); err != nil {
		tb.Fatalf("store the template: %v", err)
	}
}

// command runs a /server subcommand for u and returns the text of its
// private answer, once deferred and edited.
func command(tb testing.TB, w *world, u fakediscord.User, sub string, opts map[string]any) string {
	tb.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", sub}, opts)
	r := ix.WaitResponse(tb, waitLong)
	if !r.Ephemeral() || r.Late {
		tb.Fatalf("/server %s answer %+v: want a private one within the deadline", sub, r)
	}
	return ix.WaitEdit(tb, waitLong, func(m fakediscord.Message) bool { return m.Text() != "" }).Text()
}

func mustSay(tb testing.TB, what, got string, parts ...string) {
	tb.Helper()
	for _, p := range parts {
		if !strings.Contains(got, p) {
			tb.Errorf("%s = %q, want it to contain %q", what, got, p)
		}
	}
}

func TestExtendUpToTheLimitE2E(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: map[string]string{"GAMESERVER_MAX_EXTENSIONS": "2", "GAMESERVER_EXTEND_DURATION": "30m"}})
	d := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d, u, nil)
	id := spawner.ShortTaskID(arn)
	end := w.table(t)[0].CreatedAt.Add(time.Hour)

	// The autocomplete offers the member's own server, and nobody else's.
	ac := w.discord.Autocomplete(u, "en-US", []string{"server", "extend"}, nil, "server").WaitResponse(t, waitLong)
	if len(ac.Choices) != 1 || ac.Choices[0].Value != id {
		t.Errorf("extend autocomplete for the owner = %+v, want their server %s", ac.Choices, id)
	}
	ac = w.discord.Autocomplete(member(2), "en-US", []string{"server", "extend"}, nil, "server").WaitResponse(t, waitLong)
	if len(ac.Choices) != 0 {
		t.Errorf("extend autocomplete for another member = %+v, want none", ac.Choices)
	}
	mustSay(t, "another member's extension", command(t, w, member(2), "extend", map[string]any{"server": id}), "That server isn't yours.")

	for i, left := range []string{"Extensions left: 1.", "That was its last extension."} {
		end = end.Add(30 * time.Minute)
		stamp := fmt.Sprintf("<t:%d:", end.Unix())
		mustSay(t, fmt.Sprintf("extension %d", i+1), command(t, w, u, "extend", map[string]any{"server": id}), "extended", stamp, left)
		wdWait(t, w, d, channelID, "<@"+u.ID+"> extended the server", stamp)
		w.waitFor(t, "the log channel told of the extension", func() bool { return w.said(logChannel, "⏰", "<@"+u.ID+">", stamp, id) }, d)
		rec := w.table(t)[0]
		if !rec.StopsAt.Equal(end) || rec.Extensions != i+1 {
			t.Errorf("record after extension %d: stops %v, count %d; want %v, %d", i+1, rec.StopsAt, rec.Extensions, end, i+1)
		}
	}
	status := w.discord.Messages(channelID)[0].Text()
	mustSay(t, "status message", status, fmt.Sprintf("Stops <t:%d:t>", end.Unix()))

	refused := command(t, w, u, "extend", map[string]any{"server": id})
	mustSay(t, "third extension", refused, "already extended this server 2 times")
	if rec := w.table(t)[0]; !rec.StopsAt.Equal(end) || rec.Extensions != 2 {
		t.Errorf("a refused extension changed the record: stops %v, count %d", rec.StopsAt, rec.Extensions)
	}

	end = end.Add(30 * time.Minute)
	mustSay(t, "admin's extension", command(t, w, admin(1), "extend", map[string]any{"server": id}),
		fmt.Sprintf("<t:%d:", end.Unix()), "Admins may extend it again without limit.")
	if rec := w.table(t)[0]; !rec.StopsAt.Equal(end) {
		t.Errorf("record after the admin's extension stops %v, want %v", rec.StopsAt, end)
	}
	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	mustSay(t, "list", list.Text(), fmt.Sprintf("<t:%d:R>", end.Unix()))
}

// The extension survives a restart: the new daemon shows the same stop time
// and stops the server then, not at the old end.
func TestExtensionKeptAcrossRestartE2E(t *testing.T) {
	t.Parallel()
	const maxDuration, extend = 8 * time.Second, 4 * time.Second
	w := newWorld(t, worldOptions{env: map[string]string{
		"GAMESERVER_MAX_DURATION":         maxDuration.String(),
		"GAMESERVER_MAX_DURATION_WARNING": "1s",
		"GAMESERVER_EXTEND_DURATION":      extend.String(),
	}})
	d1 := w.start(t)
	u := member(1)
	channelID, arn := createReady(t, w, d1, u, nil)
	created := w.table(t)[0].CreatedAt
	oldEnd, newEnd := created.Add(maxDuration), created.Add(maxDuration+extend)
	mustSay(t, "extension", command(t, w, u, "extend", map[string]any{"server": spawner.ShortTaskID(arn)}), fmt.Sprintf("<t:%d:", newEnd.Unix()))
	if err := d1.stop(t); err != nil {
		t.Fatalf("first daemon: %v", err)
	}

	d2 := w.start(t)
	if rec := w.table(t)[0]; !rec.StopsAt.Equal(newEnd) || rec.Extensions != 1 {
		t.Errorf("record after the restart: stops %v, count %d; want %v, 1", rec.StopsAt, rec.Extensions, newEnd)
	}
	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	mustSay(t, "list after the restart", list.Text(), fmt.Sprintf("<t:%d:R>", newEnd.Unix()))

	w.waitFor(t, "the old end to pass", func() bool { return time.Now().After(oldEnd.Add(500 * time.Millisecond)) }, d2)
	if got := wdTask(t, w, arn); got.DesiredStatus != "RUNNING" || wdFind(w, channelID, "Server stopped") != nil {
		t.Fatalf("the server stopped at its old end: task %s", got.DesiredStatus)
	}
	stop := wdWait(t, w, d2, channelID, "Server stopped: it reached its maximum duration.")
	if stop.CreatedAt.Before(newEnd) {
		t.Errorf("stopped at %s, before the extended end %s", stop.CreatedAt, newEnd)
	}
}

func TestOpThroughRCONE2E(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	rconPort := reservePort(t)
	putRCONTemplate(t, w, rconPort)
	d := w.start(t)
	u := member(1)

	// The default game has no RCON: no op there, and no password made.
	_, defaultARN := createReady(t, w, d, admin(2), nil)
	mustSay(t, "op on the default game", command(t, w, admin(2), "op", map[string]any{"server": spawner.ShortTaskID(defaultARN), "player": "Steve"}), "has no RCON")

	channelID, arn := createReady(t, w, d, u, map[string]any{"game": "paper"})
	id := spawner.ShortTaskID(arn)
	task := wdTask(t, w, arn)
	password := task.Environment(container)["RCON_PASSWORD"]
	if len(password) != 48 {
		t.Fatalf("RCON_PASSWORD = %q, want a 24-byte hex password", password)
	}
	if _, ok := wdTask(t, w, defaultARN).Environment(container)["RCON_PASSWORD"]; ok {
		t.Errorf("a server of the default game got an RCON password")
	}
	rs := rconserver.Listen(t, net.JoinHostPort(task.PublicIP, strconv.Itoa(rconPort)), password)

	// The op autocomplete offers the server with RCON only.
	ac := w.discord.Autocomplete(admin(2), "en-US", []string{"server", "op"}, map[string]any{"player": "Steve"}, "server").WaitResponse(t, waitLong)
	if len(ac.Choices) != 1 || ac.Choices[0].Value != id {
		t.Errorf("op autocomplete = %+v, want only the server with RCON (%s)", ac.Choices, id)
	}

	// A name that would smuggle a second command: refused, nothing sent.
	bad := command(t, w, u, "op", map[string]any{"server": id, "player": "Steve;op Alex"})
	mustSay(t, "op of a bad name", bad, "is not a Minecraft player name", "not allowed")
	// Someone else: refused.
	mustSay(t, "another member's op", command(t, w, member(2), "op", map[string]any{"server": id, "player": "Steve"}), "That server isn't yours.")
	if rs.Logins()+rs.FailedLogins() != 0 || len(rs.Commands()) != 0 {
		t.Fatalf("RCON used for refused requests: %d logins, %d refused, commands %q", rs.Logins(), rs.FailedLogins(), rs.Commands())
	}

	done := command(t, w, u, "op", map[string]any{"server": id, "player": "Steve"})
	mustSay(t, "op", done, "Made Steve a server operator")
	if got := rs.Commands(); !slices.Equal(got, []string{"op Steve"}) || rs.Logins() != 1 || rs.FailedLogins() != 0 {
		t.Errorf("RCON ran %q with %d logins (%d refused), want [op Steve] after one good login", got, rs.Logins(), rs.FailedLogins())
	}

	// The password is never shown: not in Discord, not in the logs.
	if strings.Contains(w.discord.Dump(), password) {
		t.Errorf("the RCON password shows in Discord")
	}
	if ch, _ := w.discord.Channel(channelID); strings.Contains(ch.Topic, password) {
		t.Errorf("the RCON password is in the ticket topic")
	}
	if strings.Contains(d.logs.String(), password) {
		t.Errorf("the RCON password shows in the daemon's logs")
	}
}
