package docker

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
)

// The host's address on the default bridge comes from the engine's answer
// to `docker network inspect bridge` alone, whichever engine gave it and
// whether or not it created docker0 itself.
func TestBridgeAddress(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string // the engine's JSON, trimmed to what matters
		want   string // "" when refused
		says   []string
	}{
		{
			// Debian 12's engine (20.10) after a boot: it created docker0,
			// gave it 172.17.0.1/16, and lists no gateway.
			name:   "20.10 that created docker0",
			answer: `{"Name":"bridge","IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"172.17.0.0/16"}]},"Options":{"com.docker.network.bridge.name":"docker0"}}`,
			want:   "172.17.0.1",
		},
		{
			name:   "20.10 that found docker0",
			answer: `{"Name":"bridge","IPAM":{"Config":[{"Subnet":"172.17.0.0/16","Gateway":"172.17.0.1"}]},"Options":{"com.docker.network.bridge.name":"docker0"}}`,
			want:   "172.17.0.1",
		},
		{
			name:   "newer engine, IPv6 too",
			answer: `{"Name":"bridge","EnableIPv6":true,"IPAM":{"Config":[{"Subnet":"fd00:dead::/64","Gateway":"fd00:dead::1"},{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]},"Options":{"com.docker.network.bridge.name":"docker0"}}`,
			want:   "172.18.0.1",
		},
		{
			// --bip 10.20.0.5/24: the gateway is the interface's address,
			// not the subnet's first.
			name:   "bip in the middle of its subnet",
			answer: `{"Name":"bridge","IPAM":{"Config":[{"Subnet":"10.20.0.0/24","Gateway":"10.20.0.5"}]},"Options":{"com.docker.network.bridge.name":"docker0"}}`,
			want:   "10.20.0.5",
		},
		{
			name:   "a subnet not written as its network",
			answer: `{"Name":"bridge","IPAM":{"Config":[{"Subnet":"192.168.77.9/24"}]},"Options":{"com.docker.network.bridge.name":"br-games"}}`,
			want:   "192.168.77.1",
		},
		{
			name:   "public subnet",
			answer: `{"Name":"bridge","IPAM":{"Config":[{"Subnet":"203.0.113.0/24"}]},"Options":{"com.docker.network.bridge.name":"docker0"}}`,
			says:   []string{"docker0", "no private IPv4 address", "subnet 203.0.113.0/24", "never published on a public address"},
		},
		{
			// A listed gateway is the interface's: a public one is not
			// replaced by a private guess from its subnet.
			name:   "public gateway",
			answer: `{"Name":"bridge","IPAM":{"Config":[{"Subnet":"203.0.113.0/24","Gateway":"203.0.113.1"}]},"Options":{"com.docker.network.bridge.name":"docker0"}}`,
			says:   []string{"docker0", "gateway 203.0.113.1"},
		},
		{
			name:   "IPv6 only",
			answer: `{"Name":"bridge","IPAM":{"Config":[{"Subnet":"fd00:dead::/64"}]},"Options":{"com.docker.network.bridge.name":"docker0"}}`,
			says:   []string{"docker0", "subnet fd00:dead::/64"},
		},
		{
			name:   "no address at all",
			answer: `{"Name":"bridge","IPAM":{"Config":[]}}`,
			says:   []string{"no interface named", "no address"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n network.Inspect
			if err := json.Unmarshal([]byte(tc.answer), &n); err != nil {
				t.Fatal(err)
			}
			got, err := bridgeAddress(n)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Fatalf("bridgeAddress = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("bridgeAddress = %q, want a refusal", got)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("refusal %q does not say %q", err, s)
				}
			}
		})
	}
}
