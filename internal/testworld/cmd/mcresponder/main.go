// Command mcresponder is the game server of the test containers: it answers
// Minecraft Server List Pings on MC_ADDR (":25565" by default), reporting
// MC_PLAYERS players online of MC_MAX_PLAYERS (mcserver.DefaultMaxPlayers
// when unset), until SIGTERM or SIGINT, on which it says so
// on stdout and exits with code 0, as a game that saves its world does.
// An unhandled SIGTERM would leave PID 1 running until the engine's SIGKILL
// (exit code 137), so a stopped container's exit code tells a graceful stop.
// With RCON_PASSWORD set, it also answers Minecraft RCON on RCON_ADDR
// (":25575" by default) for that password. With MC_WORLD set to a folder,
// it counts its starts in a file of it and shows the count (see
// countStart): the test game of worlds.
//
// It is built static (CGO_ENABLED=0) into the images of package dockerd.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/mineral-contest/spawner/internal/testworld/mcserver"
)

func main() {
	addr := os.Getenv("MC_ADDR")
	if addr == "" {
		addr = ":25565"
	}
	motd := ""
	if dir := os.Getenv("MC_WORLD"); dir != "" {
		n, err := countStart(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mcresponder: world:", err)
			os.Exit(1)
		}
		motd = fmt.Sprintf("spawner test server, start %d", n)
		fmt.Println("mcresponder: start", n, "of the world in", dir)
	}
	srv, err := mcserver.Start(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcresponder:", err)
		os.Exit(1)
	}
	online, maximum := 0, mcserver.DefaultMaxPlayers
	if n, err := strconv.Atoi(os.Getenv("MC_PLAYERS")); err == nil {
		online = n
	}
	if n, err := strconv.Atoi(os.Getenv("MC_MAX_PLAYERS")); err == nil {
		maximum = n
	}
	srv.SetPlayers(online, maximum)
	if motd != "" {
		srv.SetMOTD(motd)
	}
	fmt.Println("mcresponder: listening on", srv.Addr())
	if password := os.Getenv("RCON_PASSWORD"); password != "" {
		rconAddr := os.Getenv("RCON_ADDR")
		if rconAddr == "" {
			rconAddr = ":25575"
		}
		if err := serveRCON(rconAddr, password); err != nil {
			fmt.Fprintln(os.Stderr, "mcresponder:", err)
			os.Exit(1)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	fmt.Println("mcresponder: got", s, "- saving the world and exiting")
	srv.Close()
	os.Exit(0)
}
