package docker

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// allocator is a Runtime with only what assign reads: the range, the
// ports of RunTasks under way and those the engine failed to bind.
func allocator(lo, hi int) *Runtime {
	return &Runtime{
		cfg:      Config{PortLo: lo, PortHi: hi, Now: time.Now},
		reserved: map[int]string{},
		badPorts: map[int]time.Time{},
	}
}

func set(ports ...int) map[int]bool {
	m := map[int]bool{}
	for _, p := range ports {
		m[p] = true
	}
	return m
}

// hosts is the host port of each binding, in order.
func hosts(bs []binding) []int {
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = b.host
	}
	return out
}

var (
	gameTCP = spawner.PortSpec{Port: 25565, Proto: "tcp"}
	gameUDP = spawner.PortSpec{Port: 25565, Proto: "udp"}
	query   = spawner.PortSpec{Port: 25566, Proto: "udp"}
	rcon    = spawner.PortSpec{Port: 25575, Proto: "tcp"}
)

// The game port goes on the host port a spec asks for (a world's kept
// port), wherever it is, with its TCP and UDP; the game's other ports on
// free ports of the range that no asleep world keeps, which are never
// handed to a server that does not ask for them.
func TestAssign(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name        string
		spec        spawner.ContainerSpec
		used, kept  map[int]bool
		inFlight    map[int]string // host port → creation of a RunTask under way
		bad         []int          // host ports the engine just failed to bind
		want        []int
		taken, full bool // refused: the asked port is taken; the range has no free port
	}{
		{name: "runtime's choice", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP}}, want: []int{100}},
		{name: "kept ports passed over", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP}},
			kept: set(100, 101), used: set(102), want: []int{103}},
		{name: "kept and used fill the range", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP}},
			kept: set(100, 102, 104), used: set(101, 103), full: true},
		{name: "a world's kept port", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP, gameUDP, query}, HostPort: 102},
			kept: set(102), want: []int{102, 102, 100}},
		{name: "kept port outside the range", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP, rcon}, HostPort: 30000, PrivatePorts: []int{25575}},
			want: []int{30000, 100}},
		{name: "kept port the engine failed to bind lately", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP}, HostPort: 101},
			bad: []int{101}, want: []int{101}},
		{name: "kept port published by a container", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP}, HostPort: 101},
			used: set(101), taken: true},
		{name: "kept port handed to a creation under way", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP}, HostPort: 101},
			inFlight: map[int]string{101: "other"}, taken: true},
		{name: "kept port the same creation holds (a retry)", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP}, HostPort: 101},
			inFlight: map[int]string{101: "mine"}, want: []int{101}},
		{name: "kept port, the range full for the others", spec: spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP, query}, HostPort: 30000},
			used: set(100, 101, 102, 103, 104), full: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := allocator(100, 104)
			for p, c := range tc.inFlight {
				r.reserved[p] = c
			}
			for _, p := range tc.bad {
				r.badPorts[p] = now
			}
			got, err := r.assign("mine", tc.spec, tc.used, tc.kept, now)
			var rf *spawner.RunFailure
			switch {
			case tc.taken:
				if !errors.Is(err, spawner.ErrPortTaken) || !errors.As(err, &rf) || !strings.Contains(rf.Reason, "port 101") {
					t.Fatalf("assign = %v, %v; want a RunFailure naming port 101 that is ErrPortTaken", hosts(got), err)
				}
			case tc.full:
				if !errors.As(err, &rf) || errors.Is(err, spawner.ErrPortTaken) || !strings.Contains(rf.Reason, "no free port in DOCKER_PORT_RANGE") {
					t.Fatalf("assign = %v, %v; want the range's RunFailure", hosts(got), err)
				}
			case err != nil:
				t.Fatalf("assign: %v", err)
			case !slices.Equal(hosts(got), tc.want):
				t.Errorf("host ports %v, want %v", hosts(got), tc.want)
			}
			if err != nil {
				for p, c := range r.reserved {
					if c == "mine" && tc.inFlight[p] != "mine" {
						t.Errorf("port %d stays reserved after the refusal", p)
					}
				}
				return
			}
			for _, b := range got {
				if r.reserved[b.host] != "mine" {
					t.Errorf("port %d not reserved for the creation", b.host)
				}
				if b.fixed != (b.host == tc.spec.HostPort) {
					t.Errorf("binding %+v: fixed %v", b, b.fixed)
				}
				if b.private != slices.Contains(tc.spec.PrivatePorts, b.container) {
					t.Errorf("binding %+v: private %v", b, b.private)
				}
			}
		})
	}
}

// A bad host port asked for is refused, naming it, before the engine is
// asked anything.
func TestAssignBadHostPort(t *testing.T) {
	for _, p := range []int{-1, 65536} {
		_, err := allocator(100, 104).assign("mine", spawner.ContainerSpec{Ports: []spawner.PortSpec{gameTCP}, HostPort: p}, nil, nil, time.Now())
		var rf *spawner.RunFailure
		if !errors.As(err, &rf) || !strings.Contains(rf.Reason, "bad host port") || errors.Is(err, spawner.ErrPortTaken) {
			t.Errorf("HostPort %d: %v, want a RunFailure naming a bad host port", p, err)
		}
	}
}

// The ports worlds keep are read from ReservePorts' function at each
// allocation, so a world that fell asleep or was deleted since counts at
// once.
func TestKeptPortsReadAtEachAllocation(t *testing.T) {
	r := allocator(100, 104)
	if kept := r.keptPorts(); len(kept) != 0 {
		t.Errorf("kept without ReservePorts = %v", kept)
	}
	ports := []int{100}
	r.ReservePorts(func() []int { return ports })
	if kept := r.keptPorts(); !kept[100] || len(kept) != 1 {
		t.Errorf("kept = %v, want 100", kept)
	}
	ports = []int{101, 103}
	if kept := r.keptPorts(); kept[100] || !kept[101] || !kept[103] {
		t.Errorf("kept = %v, want 101 and 103", kept)
	}
}

// Which of a container's host ports the engine's refusal names.
func TestPortsNamed(t *testing.T) {
	bs := []binding{{container: 25565, host: 25570, proto: "tcp"}, {container: 25565, host: 25570, proto: "udp"}, {container: 25575, host: 25571, proto: "tcp"}}
	for _, tc := range []struct {
		msg  string
		want []int
	}{
		{"driver failed programming external connectivity: Bind for 0.0.0.0:25570 failed: port is already allocated", []int{25570}},
		{"listen tcp4 127.0.0.1:25571: bind: address already in use", []int{25571}},
		{"Error starting userland proxy: address already in use", nil},
		{"listen tcp4 127.0.0.1:255710: bind: address already in use", nil},
	} {
		if got := portsNamed(bs, errors.New(tc.msg)); !slices.Equal(got, tc.want) {
			t.Errorf("portsNamed(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}
