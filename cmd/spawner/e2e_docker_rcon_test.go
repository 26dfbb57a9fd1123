package main

// End-to-end test of /server op under SPAWNER_RUNTIME=docker: the game's
// RCON port is published for the bot only, and the bot reaches it there.

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/docker/go-connections/nat"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dockerd"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// responderRCONPort is where the test game answers RCON in its container
// when given RCON_PASSWORD (internal/testworld/cmd/mcresponder).
const responderRCONPort = 25575

// putDockerRCONGame stores in the world's embedded store, before the
// daemon starts, a game "paper" of the test image with RCON, as /game add
// would have.
func putDockerRCONGame(tb testing.TB, w *dockerWorld) {
	tb.Helper()
	putDockerGame(tb, w, map[string]any{
		"name": "paper", "title": "Minecraft Paper", "image": w.engine.ResponderImage(tb),
		"port": dockerd.ResponderPort, "protocol": "minecraft",
		"rcon": map[string]any{"port": responderRCONPort, "passwordEnv": "RCON_PASSWORD"},
	})
}

// putDockerGame stores the template tpl in the world's embedded store,
// before the daemon starts, as /game add would have: refused as /game add
// would refuse it, the test fails.
func putDockerGame(tb testing.TB, w *dockerWorld, tpl map[string]any) {
	tb.Helper()
	cfg, err := config.LoadWithin(w.getenv, os.ReadFile, limits)
	if err != nil {
		tb.Fatalf("configuration: %v", err)
	}
	doc, err := json.Marshal(tpl)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := spawner.ParseTemplateWithin(doc, cfg.Catalog()[0], limits); err != nil {
		tb.Fatalf("the test's template is refused: %v", err)
	}
	s, err := bolt.Open(w.dataDir)
	if err != nil {
		tb.Fatalf("open the embedded store: %v", err)
	}
	defer s.Close()
	if err := s.PutGame(context.Background(), tpl["name"].(string), doc); err != nil {
		tb.Fatalf("store the template: %v", err)
	}
}

// With DOCKER_PUBLIC_HOST a name (not a loopback address), the game port
// is published on every address for players, and the RCON port only on
// 127.0.0.1 since the bot runs on the engine's host; /server op reaches it
// there, with the generated password, and answers with the game's reply.
func TestDockerOpThroughPrivateRCON(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 4, map[string]string{"DOCKER_PUBLIC_HOST": "localhost"})
	dkOpThroughRCON(t, w, "127.0.0.1")
}

// As docker-compose.yaml runs it, the bot shares the host's network and
// reaches the engine over TCP on loopback (the socket proxy published on
// 127.0.0.1): the RCON port is published on 127.0.0.1, which is the host's
// own loopback for the bot, out of reach of every container. `spawner
// check` finds nothing to fix, and /server op reaches the game there.
func TestDockerOpThroughLoopbackTCPRCON(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 4, map[string]string{"DOCKER_PUBLIC_HOST": "localhost"})
	w.env["DOCKER_HOST"] = w.engine.TCPHost(t)
	checkAllGood(t, w)
	dkOpThroughRCON(t, w, "127.0.0.1")
}

// A bot in a container on a bridge network reaches the engine by a name
// (a compose file from before sleep and wake: tcp://docker-proxy:2375) and
// cannot publish RCON on 127.0.0.1, which is its container's own: the RCON
// port is published on the host's address on the default bridge, learned
// from the engine, also on an engine that created docker0 itself as after
// every boot (every test engine starts so) and does not list the bridge's
// gateway. The test reaches its engine by the name localhost, which the
// bot does not resolve to tell. `spawner check` finds nothing to fix, and
// /server op reaches the game there.
func TestDockerOpThroughBridgeRCON(t *testing.T) {
	t.Parallel()
	w := newDockerWorld(t, 4, map[string]string{"DOCKER_PUBLIC_HOST": "localhost"})
	w.env["DOCKER_HOST"] = strings.Replace(w.engine.TCPHost(t), "tcp://127.0.0.1:", "tcp://localhost:", 1)
	checkAllGood(t, w)
	dkOpThroughRCON(t, w, w.engine.BridgeAddress(t))
}

// checkAllGood runs `spawner check` in w and fails unless it found nothing.
func checkAllGood(t *testing.T, w *dockerWorld) {
	t.Helper()
	var out syncBuffer
	if err := run(context.Background(), []string{"check"}, w.getenv, &out, &out); err != nil || !strings.Contains(out.String(), "all good") {
		t.Fatalf("check through the engine's TCP address %s: %v\n%s", w.env["DOCKER_HOST"], err, out.String())
	}
}

// dkOpThroughRCON creates a server of the RCON game "paper" and checks
// that its RCON port is published on rconHost alone and its game port on
// every address, then makes a player operator through /server op.
func dkOpThroughRCON(t *testing.T, w *dockerWorld, rconHost string) {
	t.Helper()
	putDockerRCONGame(t, w)
	d := w.start(t)
	u := member(1)

	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, map[string]any{"game": "paper"})
	ix.WaitResponse(t, waitLong)
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID := between(edit.Text(), "<#", ">")
	ready := wdWait(t, w.world, d, channelID, "your server is ready")
	if addr := between(ready.Text(), "**Address:** `", "`"); !strings.HasPrefix(addr, "localhost:") {
		t.Errorf("ready message address %q, want localhost:<port>", addr)
	}

	c := w.containerOf(t, channelID)
	insp, err := w.cli.ContainerInspect(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	ports := insp.NetworkSettings.Ports
	rcon := ports[nat.Port("25575/tcp")]
	if len(rcon) == 0 {
		t.Fatalf("RCON port not published: %+v", ports)
	}
	for _, b := range rcon {
		if b.HostIP != rconHost {
			t.Errorf("RCON published on %q, want %s only (bindings %+v)", b.HostIP, rconHost, rcon)
		}
	}
	game := ports[nat.Port("25565/tcp")]
	if len(game) == 0 || (game[0].HostIP != "" && !net.ParseIP(game[0].HostIP).IsUnspecified()) {
		t.Errorf("game port published on %+v, want every address", game)
	}

	done := command(t, w.world, u, "op", map[string]any{"server": c.ID, "player": "Steve"})
	mustSay(t, "op", done, "Made Steve a server operator")
}
