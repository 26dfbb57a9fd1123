package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Private ports.
//
// A game's RCON console must be reachable by the bot and never by players:
// its password is the only thing guarding it (on ECS, the security group
// opens it only to the bot). So the ports of TaskSpec.PrivatePorts are
// published on a private host address, never on all addresses nor the
// public one:
//
//   - the bot on the engine's host (DOCKER_HOST the local socket): on
//     127.0.0.1, which only this machine reaches (Config.PrivateHostIP);
//   - the bot in a container (docker-compose.yaml, the engine behind the
//     socket proxy): on the host's address on the default bridge, its
//     gateway (172.17.0.1 as a rule; see bridgeAddress). It is an address
//     of the host itself, so a container on any of the host's bridge
//     networks reaches a port published on it through the host, the same
//     way the bot pings the game ports on the public address; the Internet
//     has no route to it.
//
// Not publishing RCON and having the bot join a network shared with the
// games was weighed and set aside: a bot on the host would have to dial
// container addresses, which Docker Desktop and rootless engines do not
// route; the compose bot would need a network created and joined outside
// the adapter; and a game would then reach the bot. Publishing keeps one
// path, host address and host port, in both setups.

// bridgeNetwork is the engine's default bridge network; the option
// bridgeNameOption of its description names its host interface (docker0).
const (
	bridgeNetwork    = "bridge"
	bridgeNameOption = "com.docker.network.bridge.name"
)

// privateHostIP is the host address private ports are published on:
// Config.PrivateHostIP, else the host's address on the default bridge,
// asked of the engine once (see bridgeAddress).
func (r *Runtime) privateHostIP(ctx context.Context) (string, error) {
	if r.cfg.PrivateHostIP != "" {
		return r.cfg.PrivateHostIP, nil
	}
	r.mu.Lock()
	ip := r.bridgeGateway
	r.mu.Unlock()
	if ip != "" {
		return ip, nil
	}
	n, err := r.cli.NetworkInspect(ctx, bridgeNetwork, network.InspectOptions{})
	if err != nil {
		// Nothing was created yet: the creation fails cleanly, saying why.
		return "", &spawner.RunFailure{
			Reason: "no private address to publish RCON on",
			Detail: fmt.Sprintf("inspect the engine's default bridge (does the socket proxy allow NETWORKS?): %v", err),
		}
	}
	if ip, err = bridgeAddress(n); err != nil {
		return "", &spawner.RunFailure{Reason: "no private address to publish RCON on", Detail: err.Error()}
	}
	r.mu.Lock()
	r.bridgeGateway = ip
	r.mu.Unlock()
	return ip, nil
}

// bridgeAddress is the host's own address on the default bridge, read
// from the engine's description of that network alone: the bot may reach
// the engine through the socket proxy, from a container that sees none of
// the host's interfaces.
//
// It is the gateway the bridge's IPAM lists, else the first address of the
// bridge's subnet. An engine lists the gateway when it found its interface
// already there or was given one (--bip); Debian 12's engine (20.10) lists
// none when it created the interface itself, as after every boot, and then
// gives the interface the subnet's first address, as every engine does for
// a bridge it numbers. Only a private IPv4 address is taken: RCON is never
// published where the Internet could reach it.
func bridgeAddress(n network.Inspect) (string, error) {
	var seen []string
	for _, c := range n.IPAM.Config {
		if c.Gateway != "" {
			seen = append(seen, "gateway "+c.Gateway)
			if gw, err := netip.ParseAddr(c.Gateway); err == nil && gw.Is4() && gw.IsPrivate() {
				return gw.String(), nil
			}
			continue // the listed gateway is the interface's: no guess beside it
		}
		if c.Subnet == "" {
			continue
		}
		seen = append(seen, "subnet "+c.Subnet)
		subnet, err := netip.ParsePrefix(c.Subnet)
		if err != nil || !subnet.Addr().Is4() || subnet.Bits() > 30 {
			continue
		}
		if first := subnet.Masked().Addr().Next(); first.IsPrivate() {
			return first.String(), nil
		}
	}
	iface := n.Options[bridgeNameOption]
	if iface == "" {
		iface = "no interface named"
	}
	if len(seen) == 0 {
		seen = []string{"no address"}
	}
	return "", fmt.Errorf("the engine's default bridge (%s) has no private IPv4 address (%s); the RCON port is never published on a public address",
		iface, strings.Join(seen, ", "))
}

// PrivateAddress is the address ("host:port") where the bot reaches the
// TCP game port port of task t: the host address and host port the
// container publishes it on. A private port (RCON) is on the private
// address; a container that published it on every address (created before
// private ports were) is reached at Config.PublicHost, as players would.
func (r *Runtime) PrivateAddress(ctx context.Context, t spawner.Task, port int) (string, error) {
	c, err := r.cli.ContainerInspect(ctx, t.ID)
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("private address: container %s is gone", shortID(t.ID))
	}
	if err != nil {
		return "", fmt.Errorf("private address: %w", err)
	}
	if !r.ours(c.Config) {
		return "", fmt.Errorf("private address: %s is not this deployment's", shortID(t.ID))
	}
	var bs []nat.PortBinding
	if c.HostConfig != nil {
		bs = c.HostConfig.PortBindings[nat.Port(strconv.Itoa(port)+"/tcp")]
	}
	if len(bs) == 0 || bs[0].HostPort == "" {
		return "", fmt.Errorf("private address: container %s does not publish port %d/tcp", shortID(t.ID), port)
	}
	host := bs[0].HostIP
	if ip := net.ParseIP(host); host == "" || ip.IsUnspecified() {
		if r.cfg.PublicHost == "" {
			return "", fmt.Errorf("private address: %w (DOCKER_PUBLIC_HOST is empty)", spawner.ErrNoPublicIP)
		}
		host = r.cfg.PublicHost
	}
	return net.JoinHostPort(host, bs[0].HostPort), nil
}
