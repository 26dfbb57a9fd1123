package dockerd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// BridgeName is the interface of the engine's default bridge network.
const BridgeName = "docker0"

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
	if _, err := net.InterfaceByName(BridgeName); err != nil {
		return nil // none: the state of a host just booted
	}
	if pid := hostEngine(); pid != 0 {
		return nil
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("remove %s: socket: %w", BridgeName, err)
	}
	defer unix.Close(fd)
	// A bridge is deleted only once it is down.
	ifr, err := unix.NewIfreq(BridgeName)
	if err != nil {
		return fmt.Errorf("remove %s: %w", BridgeName, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("remove %s: read its flags: %w", BridgeName, err)
	}
	ifr.SetUint16(ifr.Uint16() &^ unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("remove %s: set it down: %w", BridgeName, err)
	}
	if err := unix.IoctlSetString(fd, unix.SIOCBRDELBR, BridgeName); err != nil && !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("remove %s: %w", BridgeName, err)
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
