package spawner

import "errors"

// ErrPortTaken is the cause (wrapped) of a refusal to use a given host
// port because something else holds it: another container or another
// program. A runtime asked to publish a game on a world's kept port
// (ContainerSpec.HostPort) returns a *RunFailure that also wraps it, so
// the lifecycle knows the world lost its address rather than failed to
// start; an asleep world's listener returns it for a port it cannot bind.
var ErrPortTaken = errors.New("port taken by another process")
