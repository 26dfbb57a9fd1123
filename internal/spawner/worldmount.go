package spawner

import "errors"

// WorldMount is where a server's world lives while the server runs: what
// the game writes under Path is kept in Storage, from one server of the
// world to the next. ContainerSpec.World carries it to the runtime.
type WorldMount struct {
	// ID is the world's id: a runtime whose worlds live in their backups
	// between servers (ECS) fills Path from the world's newest backup
	// before the game starts and backs it up when the task stops.
	ID string
	// Storage is the runtime's handle of the world's content, as the
	// runtime's NewWorldStorage or RestoreWorld returned it; the world's
	// record keeps it. It must exist: a runtime never makes an empty one
	// in its place, so a lost world is never silently replaced by a new one.
	Storage string
	// Path is the absolute path in the container where the game keeps what
	// must outlive the server: the template's world path.
	Path string
}

// ErrWorldStorageInUse is returned (wrapped) by a runtime asked to delete
// a world's storage that a server, a backup or a restore still uses.
var ErrWorldStorageInUse = errors.New("world storage in use")
