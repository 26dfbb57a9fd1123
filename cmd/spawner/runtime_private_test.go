package main

import "testing"

// RCON is published on 127.0.0.1 when the bot shares the engine's host
// network (a local socket, or a TCP port on loopback as docker-compose.yaml
// publishes the socket proxy), and on the bridge gateway (learned by the
// adapter) when it reaches the engine by a name, as a bot in a container
// on a bridge network does.
func TestPrivateHostIP(t *testing.T) {
	for host, want := range map[string]string{
		"":                               "127.0.0.1",
		"unix:///var/run/docker.sock":    "127.0.0.1",
		"npipe:////./pipe/docker_engine": "127.0.0.1",
		"tcp://127.0.0.1:2375":           "127.0.0.1",
		"tcp://[::1]:2375":               "127.0.0.1",
		"tcp://docker-proxy:2375":        "",
		"tcp://localhost:2375":           "",
		"tcp://10.0.0.5:2375":            "",
		"ssh://admin@vps":                "",
	} {
		if got := privateHostIP(host); got != want {
			t.Errorf("privateHostIP(%q) = %q, want %q", host, got, want)
		}
	}
}
