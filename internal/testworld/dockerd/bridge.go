package dockerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"
	"golang.org/x/sys/unix"
)

// bridgeName is the interface of the engine's default bridge network.
const bridgeName = "docker0"

// removeBridge deletes the docker0 interface, so that every engine starts
// from the state of a host just booted, which has none. That state is the
// one that matters: an engine that creates docker0 itself (Debian 12's
// 20.10) does not list the bridge's gateway in `docker network inspect
// bridge`, while one that finds docker0 from an earlier engine does (see
// internal/docker/private.go). It runs under the machine-wide lock, after
// cleanStale, so no test engine uses the interface.
//
// An engine that is not a test engine (the host's own, run by systemd) also
// uses docker0: the interface is then left in place, since deleting it
// would cut that engine's containers off.
func removeBridge() error {
	if _, err := net.InterfaceByName(bridgeName); err != nil {
		return nil // none: the state of a host just booted
	}
	if pid := hostEngine(); pid != 0 {
		return nil
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("remove %s: socket: %w", bridgeName, err)
	}
	defer unix.Close(fd)
	// A bridge is deleted only once it is down.
	ifr, err := unix.NewIfreq(bridgeName)
	if err != nil {
		return fmt.Errorf("remove %s: %w", bridgeName, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("remove %s: read its flags: %w", bridgeName, err)
	}
	ifr.SetUint16(ifr.Uint16() &^ unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("remove %s: set it down: %w", bridgeName, err)
	}
	if err := unix.IoctlSetString(fd, unix.SIOCBRDELBR, bridgeName); err != nil && !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("remove %s: %w", bridgeName, err)
	}
	return nil
}

// hostEngine is the pid of a running dockerd that is not a test engine
// (whose command line names a folder of prefix), or 0.
func hostEngine() int {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if filepath.Base(args[0]) == "dockerd" && !strings.Contains(string(cmdline), prefix) {
			return pid
		}
	}
	return 0
}

// BridgeAddress is the IPv4 address of the engine's default bridge
// interface (docker0, as the bridge's options name it), read from this
// host's interfaces: what the engine gave the interface, to compare with
// what an adapter learns from the engine's answers alone.
func (e *Engine) BridgeAddress(tb testing.TB) string {
	tb.Helper()
	bridge, err := e.Client(tb).NetworkInspect(context.Background(), "bridge", network.InspectOptions{})
	if err != nil {
		tb.Fatalf("dockerd: inspect the default bridge: %v", err)
	}
	name := bridge.Options["com.docker.network.bridge.name"]
	iface, err := net.InterfaceByName(name)
	if err != nil {
		tb.Fatalf("dockerd: the default bridge's interface %q: %v (options %v)", name, err, bridge.Options)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		tb.Fatalf("dockerd: addresses of %s: %v", name, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	tb.Fatalf("dockerd: interface %s has no IPv4 address: %v", name, addrs)
	return ""
}
