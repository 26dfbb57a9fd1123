package main

// End-to-end tests of asleep worlds under SPAWNER_RUNTIME=docker: the real
// daemon, a real Docker engine, and a real Minecraft protocol client
// (github.com/Tnze/go-mc) on the world's address. The player watchdog ends
// each server of the world (the test game has no players), so the world
// sleeps on its port after every session; the test game counts its starts
// in its world ("start N"), so a status ping tells which content a server
// started on.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Tnze/go-mc/bot"
	mcnet "github.com/Tnze/go-mc/net"
	pk "github.com/Tnze/go-mc/net/packet"
	ctypes "github.com/docker/docker/api/types/container"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/text"
)

// slProtocol is the protocol of the Minecraft client of these tests, and
// of the test game (1.20.2).
const slProtocol = 764

// newSleepWorld is a Docker world with the game "keeper", whose servers
// the player watchdog ends a few seconds after they are ready, and whose
// tickets stay open so that their Wake buttons can be clicked.
func newSleepWorld(t *testing.T, env map[string]string) *dockerWorld {
	t.Helper()
	all := map[string]string{
		"GAMESERVER_MIN_REQUIRED_PLAYERS":                  "1",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT":    "3",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "1s",
		"DISCORD_TICKET_CLOSE_DELAY":                       "1h",
	}
	for k, v := range env {
		all[k] = v
	}
	return newWorldsWorld(t, all)
}

// slGuild is the guild's language: what players read on a world's port.
func slGuild(w *dockerWorld) text.Lang {
	return text.For(w.discord.Options().GuildPreferredLocale)
}

// slAsleep is the first line of an asleep world's description.
func slAsleep(w *dockerWorld) string {
	line1, _ := slGuild(w).SleepAsleep()
	return line1
}

// slFind waits for a message in channelID that holds every part of one of
// the languages' alternatives (a ticket of a wake by login speaks the
// guild's language, one of a click its member's), and returns it.
func slFind(t *testing.T, w *dockerWorld, d *daemonHandle, channelID string, alternatives ...[]string) fakediscord.Message {
	t.Helper()
	var found fakediscord.Message
	w.waitFor(t, fmt.Sprintf("a message with one of %q in channel %s", alternatives, channelID), func() bool {
		for _, parts := range alternatives {
			if ms := wdFind(w.world, channelID, parts...); len(ms) > 0 {
				found = ms[0]
				return true
			}
		}
		return false
	}, d)
	return found
}

// slAddress is the address a ready message gives, in either language.
func slAddress(m fakediscord.Message) string {
	if a := between(m.Text(), "**Address:** `", "`"); a != "" {
		return a
	}
	return between(m.Text(), "**Adresse :** `", "`")
}

// mcStatus is what a Minecraft client's server list shows of an address.
type mcStatus struct {
	Version struct {
		Name     string `json:"name"`
		Protocol int    `json:"protocol"`
	} `json:"version"`
	Players struct {
		Max    int `json:"max"`
		Online int `json:"online"`
	} `json:"players"`
	Description chatText `json:"description"`
}

// slPing is the status at addr, as go-mc's client pings it.
func slPing(addr string) (mcStatus, error) {
	raw, _, err := bot.PingAndListTimeout(addr, 3*time.Second)
	if err != nil {
		return mcStatus{}, err
	}
	var st mcStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return mcStatus{}, fmt.Errorf("status %s: %w", raw, err)
	}
	return st, nil
}

// slWaitAsleep waits until addr answers as an asleep world, and returns
// that status.
func slWaitAsleep(t *testing.T, w *dockerWorld, d *daemonHandle, addr string) mcStatus {
	t.Helper()
	var st mcStatus
	var err error
	deadline := time.Now().Add(waitLong)
	for {
		st, err = slPing(addr)
		if err == nil && strings.Contains(st.Description.String(), slAsleep(w)) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for the world asleep on %s: last ping %+v, %v\n--- discord:\n%s\n--- daemon logs:\n%s",
				waitLong, addr, st, err, w.discord.Dump(), d.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slLogin joins addr as player with go-mc's protocol layer: a handshake
// and a Login Start as a 1.20.2 client sends them; it returns the reason
// of the login Disconnect the server answers with.
func slLogin(addr, player string) (string, error) {
	reason, _, err := slLoginAt(addr, player)
	return reason, err
}

// slLoginAt is slLogin, which also returns when the Login Start was sent.
func slLoginAt(addr, player string) (reason string, sent time.Time, err error) {
	conn, err := mcnet.DialMCTimeout(addr, 3*time.Second)
	if err != nil {
		return "", time.Time{}, err
	}
	defer conn.Close()
	if err := conn.Socket.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return "", time.Time{}, err
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", time.Time{}, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("port of %s: %w", addr, err)
	}
	err = conn.WritePacket(pk.Marshal(0x00, pk.VarInt(slProtocol), pk.String(host), pk.UnsignedShort(port), pk.VarInt(2)))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("handshake: %w", err)
	}
	sent = time.Now()
	if err := conn.WritePacket(pk.Marshal(0x00, pk.String(player), pk.UUID{0x5e, 0x7e})); err != nil {
		return "", sent, fmt.Errorf("login start: %w", err)
	}
	var p pk.Packet
	if err := conn.ReadPacket(&p); err != nil {
		return "", sent, fmt.Errorf("read the answer to the login: %w", err)
	}
	var raw pk.String
	if p.ID != 0x00 || p.Scan(&raw) != nil {
		return "", sent, fmt.Errorf("the answer to the login is packet 0x%02x, not a Disconnect", p.ID)
	}
	var c chatText
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return "", sent, fmt.Errorf("disconnect reason %q: %w", raw, err)
	}
	return c.String(), sent, nil
}

// slMustLogin joins addr as player and returns the Disconnect's reason.
func slMustLogin(t *testing.T, addr, player string) string {
	t.Helper()
	reason, err := slLogin(addr, player)
	if err != nil {
		t.Fatalf("%s joins %s: %v", player, addr, err)
	}
	return reason
}

// slTickets are the ids of the ticket channels ever opened, in order.
func slTickets(w *dockerWorld) []string {
	var ids []string
	for _, c := range w.discord.ChannelsUnder(categoryID) {
		ids = append(ids, c.ID)
	}
	return ids
}

// slNewTicket waits for a ticket channel that is not one of before, and
// returns it.
func slNewTicket(t *testing.T, w *dockerWorld, d *daemonHandle, before []string) string {
	t.Helper()
	var id string
	w.waitFor(t, "a new ticket channel", func() bool {
		for _, c := range slTickets(w) {
			if !slices.Contains(before, c) {
				id = c
				return true
			}
		}
		return false
	}, d)
	return id
}

// slRunning lists the world's containers that are running.
func slRunning(t *testing.T, w *dockerWorld) []ctypes.Summary {
	t.Helper()
	var out []ctypes.Summary
	for _, c := range w.ours(t) {
		if c.State == "running" {
			out = append(out, c)
		}
	}
	return out
}

// slFirstSleep creates the member's world "home", checks its first server
// on addr, and waits for the player watchdog to end it and the world to
// sleep on the same address. It returns the ticket and the address.
func slFirstSleep(t *testing.T, w *dockerWorld, d *daemonHandle, u fakediscord.User) (channelID, addr string) {
	t.Helper()
	channelID, addr = wlReady(t, w, d, u, "home")
	if n := wlStarts(t, addr); n != 1 {
		t.Fatalf("a new world's first server shows start %d, want 1", n)
	}
	slEnded(t, w, d, channelID)
	st := slWaitAsleep(t, w, d, addr)
	if st.Players.Online != 0 || st.Players.Max != worldGameMax || st.Version.Name != "1.20.2" || st.Version.Protocol != slProtocol {
		t.Errorf("the asleep world's status: %d/%d online, version %q protocol %d; want 0/%d and its game's 1.20.2, %d",
			st.Players.Online, st.Players.Max, st.Version.Name, st.Version.Protocol, worldGameMax, slProtocol)
	}
	if _, line2 := slGuild(w).SleepAsleep(); !strings.Contains(st.Description.String(), line2) {
		t.Errorf("the asleep world's description %q does not say joining wakes it", st.Description.String())
	}
	return channelID, addr
}

// slEnded waits for the player watchdog to end the server of channelID,
// and its container to be gone.
func slEnded(t *testing.T, w *dockerWorld, d *daemonHandle, channelID string) {
	t.Helper()
	slFind(t, w, d, channelID, []string{"Server stopped: too few players after the last warning."},
		[]string{"Serveur arrêté : trop peu de joueurs après le dernier avertissement."})
	w.waitFor(t, "the container to be removed", func() bool { return len(slRunning(t, w)) == 0 }, d)
}

// slWoken waits for the ready message of the world's server in a ticket
// opened after before, and checks that it is its owner's, on the world's
// address, naming who woke it (by), and that the server started on the
// world's content (start n). It returns the new ticket.
func slWoken(t *testing.T, w *dockerWorld, d *daemonHandle, u fakediscord.User, before []string, addr string, by func(text.Lang) string, n int) string {
	t.Helper()
	channelID := slNewTicket(t, w, d, before)
	ready := slFind(t, w, d, channelID, []string{"your server is ready"}, []string{"ton serveur est prêt"})
	if !ready.Mentioned(u.ID) {
		t.Errorf("the woken server's ready message does not mention its owner %s: %q", u.ID, ready.Text())
	}
	if !strings.Contains(ready.Text(), by(text.En)) && !strings.Contains(ready.Text(), by(text.Fr)) {
		t.Errorf("the woken server's ready message does not say %q:\n%s", by(text.En), ready.Text())
	}
	if got := slAddress(ready); got != addr {
		t.Errorf("the woken server is at %q, want the world's address %s", got, addr)
	}
	if got := wlStarts(t, addr); got != n {
		t.Errorf("the woken server shows start %d, want %d: not the world's content", got, n)
	}
	return channelID
}

// A world ended by the player watchdog sleeps on its port: a Minecraft
// client lists it as asleep (0 online of its game's maximum, the world's
// version); joining
// reads that the server starts and wakes the world: a new ticket for the
// owner whose ready message names the player, the server on the same
// port with the world's content. A second login during the wake starts
// nothing. The owner without the role, or the cap reached, refuse the
// wake with the reason, starting nothing.
func TestDockerWorldSleepsAndWakesOnLogin(t *testing.T) {
	t.Parallel()
	w := newSleepWorld(t, map[string]string{"GAMESERVER_MAX_SERVERS": "1"})
	d := w.start(t)
	u := member(1)
	_, addr := slFirstSleep(t, w, d, u)

	lang := slGuild(w)
	before := slTickets(w)
	if reason := slMustLogin(t, addr, "Steve"); reason != lang.SleepStarting() {
		t.Errorf("Steve's login reads %q, want %q", reason, lang.SleepStarting())
	}
	// A second login while the world wakes: the listener answers that it
	// starts, or has already let the port go to the server; either way,
	// nothing more starts.
	if reason, err := slLogin(addr, "Alex"); err == nil && reason != lang.SleepStarting() {
		t.Errorf("a login during the wake reads %q, want %q", reason, lang.SleepStarting())
	}
	channelID := slWoken(t, w, d, u, before, addr, func(l text.Lang) string { return l.WokenByPlayer("Steve") }, 2)
	if got := len(slTickets(w)) - len(before); got != 1 {
		t.Errorf("%d tickets opened by the wake, want 1", got)
	}
	if got := slRunning(t, w); len(got) != 1 {
		t.Errorf("%d containers run after the wake, want 1: %+v", len(got), got)
	}
	slEnded(t, w, d, channelID)
	slWaitAsleep(t, w, d, addr)

	// The owner lost the role: the wake is refused with why.
	w.discord.AddMember(fakediscord.User{ID: u.ID})
	before = slTickets(w)
	want := lang.SleepRefused(lang.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedNoRole}))
	if reason := slMustLogin(t, addr, "Steve"); reason != want {
		t.Errorf("a login while the owner lacks the role reads %q, want %q", reason, want)
	}
	slNothingStarted(t, w, d, addr, before)
	w.discord.AddMember(u)

	// The cap (1) reached by another member's server: refused with why.
	other := dkCreate(t, w.world, member(2))
	before = slTickets(w)
	want = lang.SleepRefused(lang.WakeRefusal(&spawner.Refusal{Code: spawner.RefusedCap, Limit: 1}))
	if reason := slMustLogin(t, addr, "Steve"); reason != want {
		t.Errorf("a login while the cap is reached reads %q, want %q", reason, want)
	}
	slNothingStarted(t, w, d, addr, before)
	wdWait(t, w.world, d, other, "your server is ready")
}

// slNothingStarted checks that a refused wake left the world asleep on
// addr: no ticket opened since before, no container of the world.
func slNothingStarted(t *testing.T, w *dockerWorld, d *daemonHandle, addr string, before []string) {
	t.Helper()
	st := slWaitAsleep(t, w, d, addr)
	if waking, _ := slGuild(w).SleepWaking(); strings.Contains(st.Description.String(), waking) {
		t.Errorf("after a refused wake the world shows %q", st.Description.String())
	}
	if got := slTickets(w); len(got) != len(before) {
		t.Errorf("a refused wake opened a ticket: %v, before %v", got, before)
	}
	for _, c := range w.ours(t) {
		if c.Labels[docker.LabelGame] == "keeper" && c.State == "running" {
			t.Errorf("a refused wake started a container: %+v", c)
		}
	}
}

// The message that tells the owner their world was saved carries a Wake
// button, which wakes it on its port as a login does, naming the member;
// a restart of the daemon keeps the asleep world answering on its port;
// and a port another program took while the daemon was down is told by
// `spawner check`, naming the world and the port.
func TestDockerWorldWakeButtonAndRestart(t *testing.T) {
	t.Parallel()
	w := newSleepWorld(t, nil)
	d := w.start(t)
	u := member(1)
	channelID, addr := slFirstSleep(t, w, d, u)

	var wake fakediscord.Message
	w.waitFor(t, "a message with a Wake button in the ticket", func() bool {
		for _, m := range w.discord.Messages(channelID) {
			for _, b := range m.Buttons() {
				if strings.HasPrefix(b.CustomID, "wake:") {
					wake = m
					return true
				}
			}
		}
		return false
	}, d)
	before := slTickets(w)
	var custom string
	for _, b := range wake.Buttons() {
		if strings.HasPrefix(b.CustomID, "wake:") {
			custom = b.CustomID
		}
	}
	click := w.discord.Click(u, "en-US", channelID, wake.ID, custom)
	click.WaitResponse(t, waitLong)
	click.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return m.Text() == text.En.WakeStarted() })
	// The Discord adapter renders the mention the sentence holds.
	by := func(l text.Lang) string {
		return strings.ReplaceAll(l.WokenByMember(u.ID), text.Mention(u.ID), "<@"+u.ID+">")
	}
	channelID = slWoken(t, w, d, u, before, addr, by, 2)
	slEnded(t, w, d, channelID)
	slWaitAsleep(t, w, d, addr)

	// A restart: the listener goes with the daemon, and comes back with it.
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	if _, err := slPing(addr); err == nil {
		t.Errorf("%s still answers once the daemon stopped", addr)
	}
	d = w.start(t)
	slWaitAsleep(t, w, d, addr)

	// A program takes the port while the daemon is down: check tells it.
	if err := d.stop(t); err != nil {
		t.Fatalf("daemon: %v", err)
	}
	taken, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("take %s: %v", addr, err)
	}
	defer taken.Close()
	var out syncBuffer
	err = run(context.Background(), []string{"check"}, w.getenv, &out, &out)
	_, port, _ := net.SplitHostPort(addr)
	if err == nil || !strings.Contains(out.String(), "PROBLEM  world ") || !strings.Contains(out.String(), "asleep on port "+port+", which another process holds") {
		t.Errorf("check with the asleep world's port taken: %v\n%s", err, out.String())
	}
}
