package main

import (
	"fmt"
	"os"
	"strings"

	mcnet "github.com/Tnze/go-mc/net"
)

// serveRCON answers Minecraft RCON on addr for password, as a vanilla
// server would: "op <name>" replies "Made <name> a server operator", and
// each command run is said on stdout ("rcon: op Steve"). It returns once
// listening; the listener lives as long as the process.
func serveRCON(addr, password string) error {
	ln, err := mcnet.ListenRCON(addr)
	if err != nil {
		return fmt.Errorf("rcon: %w", err)
	}
	fmt.Println("mcresponder: RCON on", ln.Addr())
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				fmt.Fprintln(os.Stderr, "mcresponder: rcon accept:", err)
				return
			}
			go func() {
				defer conn.Close()
				if err := conn.AcceptLogin(password); err != nil {
					fmt.Println("rcon: login refused")
					return
				}
				for {
					cmd, err := conn.AcceptCmd()
					if err != nil {
						return
					}
					fmt.Println("rcon:", cmd)
					reply := "Unknown or incomplete command"
					if name, ok := strings.CutPrefix(cmd, "op "); ok {
						reply = "Made " + name + " a server operator"
					}
					if err := conn.RespCmd(reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return nil
}
