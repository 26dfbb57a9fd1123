package spawner

// ContainerSpec is what a runtime that runs images needs to run a game:
// the image, the ports to publish and the size. It is embedded in
// TaskSpec; a runtime of task definitions takes only the size from it.
type ContainerSpec struct {
	Image string
	// Ports are every port the game listens on, each published on a host
	// port of the runtime's choosing (its Address tells which).
	Ports []PortSpec
	// HostPort, when set, is the host port the game port (the first of
	// Ports) must be published on: a world's kept port, so its address
	// does not change from one server to the next. Held by another
	// container or program, the run fails with an error wrapping
	// ErrPortTaken. 0: the runtime's choice. A runtime that chooses no
	// host ports (task definitions with their own networking) ignores it.
	HostPort int
	// PrivatePorts are the ports of Ports (by number) that only the bot
	// may reach, never players: the RCON port. The runtime publishes them
	// on a private address (see its PrivateAddress), not the public one.
	PrivatePorts []int
	// CPU in vCPU units of 1024 and Memory in MiB; 0 means the runtime's
	// default.
	CPU    int
	Memory int
	// World, when set, is the world the server keeps, mounted at its path.
	World *WorldMount
}
