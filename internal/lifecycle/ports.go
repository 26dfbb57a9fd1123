package lifecycle

import (
	"github.com/mineral-contest/spawner/internal/spawner"
)

// publicPort is the port players connect to for the game port port of
// task t: the host port the runtime published it on (Docker), or port
// itself when the task is reached on its own address (ECS).
func publicPort(t spawner.Task, port int) int {
	if hp, ok := t.Ports[port]; ok && hp > 0 {
		return hp
	}
	return port
}
