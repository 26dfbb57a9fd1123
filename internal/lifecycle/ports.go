package lifecycle

import (
	"github.com/mineral-contest/spawner/internal/spawner"
)

// containerSpec is what a container runtime needs of game beyond ECS's
// task definition: its image, every port it listens on (the game port over
// TCP when the game lists none) and its limits. ECS ignores it.
func containerSpec(game spawner.Game) spawner.ContainerSpec {
	ports := game.Ports
	if len(ports) == 0 && game.Port != 0 {
		ports = []spawner.PortSpec{{Port: game.Port, Proto: "tcp"}}
	}
	return spawner.ContainerSpec{Image: game.Image, Ports: ports, CPU: game.CPU, Memory: game.Memory}
}

// publicPort is the port players connect to for the game port port of
// task t: the host port the runtime published it on (Docker), or port
// itself when the task is reached on its own address (ECS).
func publicPort(t spawner.Task, port int) int {
	if hp, ok := t.Ports[port]; ok && hp > 0 {
		return hp
	}
	return port
}
