package main

import "testing"

// RCON is published on 127.0.0.1 when the bot runs on the engine's host,
// and on the bridge gateway (learned by the adapter) when it reaches the
// engine over the network, as docker-compose.yaml does.
func TestPrivateHostIP(t *testing.T) {
	for host, want := range map[string]string{
		"":                               "127.0.0.1",
		"unix:///var/run/docker.sock":    "127.0.0.1",
		"npipe:////./pipe/docker_engine": "127.0.0.1",
		"tcp://docker-proxy:2375":        "",
		"ssh://admin@vps":                "",
	} {
		if got := privateHostIP(host); got != want {
			t.Errorf("privateHostIP(%q) = %q, want %q", host, got, want)
		}
	}
}
