package spawner

import (
	"errors"
	"fmt"
	"time"
)

// WorldKeyPrefix starts the table key of a world: "world/<id>".
const WorldKeyPrefix = "world/"

// WorldState is where a world is between its servers.
type WorldState string

// The states of a world.
const (
	WorldRunning WorldState = "running" // a server of the world runs
	WorldAsleep  WorldState = "asleep"  // no server; the world keeps its port until WORLD_SLEEP_MAX
	WorldStored  WorldState = "stored"  // no server and no port: only its content and backups remain
)

// Known reports whether s is one of the states above.
func (s WorldState) Known() bool {
	switch s {
	case WorldRunning, WorldAsleep, WorldStored:
		return true
	}
	return false
}

// World is what a game server writes under its template's world path, kept
// from one server of the world to the next: one per member, game and name.
type World struct {
	ID    string // see ValidWorldID; names its volume, its folder and its backups
	Owner string // id of the member whose world it is
	Game  string
	Name  string // see ValidWorldName; unique per owner and game
	State WorldState
	// Size is the content's size in bytes, as of its newest backup.
	Size       int64
	LastPlayed time.Time // when its last server ended; zero while it never ran
	// Port is the host port the world keeps while it is running or asleep
	// (Docker runtime), so its address does not change between sessions;
	// 0 when it holds none.
	Port int
	// Host is the host name or IP players reached its last server at, so
	// that the address of an asleep world (Host and Port) can be shown;
	// empty when unknown.
	Host string
	// StatusVersion, StatusProtocol and StatusMax are the version name,
	// protocol number and maximum of players its game last answered a
	// status ping with, so an asleep world can answer pings as its game
	// would; StatusMax is 0 when not known.
	StatusVersion  string
	StatusProtocol int
	StatusMax      int
	CreatedAt      time.Time
	// Storage is the runtime's handle of the world's content (a Docker
	// volume), as NewWorldStorage or RestoreWorld returned it; empty under
	// a runtime whose worlds live in their backups between servers (ECS).
	Storage string
	// Server is the creation id of the server that plays the world while
	// its State is running; empty otherwise.
	Server string
}

// WorldSpec is what a game keeps from one server to the next: the
// template's world key.
type WorldSpec struct {
	// Path is the absolute path in the container where the game keeps
	// what must outlive the server.
	Path string
	// SaveCommands are sent over RCON before a backup of a running server
	// (for Minecraft "save-off", "save-all flush"), ResumeCommands after
	// it, also when it failed ("save-on").
	SaveCommands   []string
	ResumeCommands []string
}

// Key is the table key of the world: WorldKeyPrefix followed by its id.
func (w World) Key() string { return WorldKeyPrefix + w.ID }

// BackupReason says why a backup was taken.
type BackupReason string

// The reasons for a backup, each with when it is taken.
const (
	BackupStop          BackupReason = "stop"           // the end of a server of the world
	BackupManual        BackupReason = "manual"         // /world backup
	BackupBeforeRestore BackupReason = "before-restore" // the content a restore replaced
	// BackupRestored is the copy of a restored backup made the newest,
	// where a world's content between servers is its newest backup (ECS).
	BackupRestored BackupReason = "restored"
)

// Known reports whether r is one of the reasons above.
func (r BackupReason) Known() bool {
	switch r {
	case BackupStop, BackupManual, BackupBeforeRestore, BackupRestored:
		return true
	}
	return false
}

// Backup describes one archive of a world's content: a tar.gz whose entries
// are the content of the world's path, relative to it.
type Backup struct {
	ID      string // see ValidBackupID; sorts by time
	WorldID string
	Time    time.Time // when it was begun
	Size    int64     // bytes of the archive
	// SHA256 is the hex SHA-256 of the archive's bytes; a restore refuses
	// an archive that does not match it.
	SHA256 string
	// ContentSize is the sum of the sizes of the regular files in the
	// archive: the world's size, and the most a restore of it writes.
	ContentSize int64
	Reason      BackupReason
}

// ErrWorldName is the cause of every error ValidWorldName returns.
var ErrWorldName = errors.New("not a valid world name")

// ValidWorldName returns nil when name is 1 to 32 characters, each a
// lowercase ASCII letter, a digit or '-'; anything else is refused with an
// error wrapping ErrWorldName that says why.
func ValidWorldName(name string) error {
	if n := len(name); n < 1 || n > 32 {
		return fmt.Errorf("%w: it must be 1 to 32 characters long", ErrWorldName)
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		default:
			return fmt.Errorf("%w: only a-z, 0-9 and - are allowed", ErrWorldName)
		}
	}
	return nil
}

// ErrWorldID is the cause of every error ValidWorldID and ValidBackupID
// return.
var ErrWorldID = errors.New("not a valid world or backup id")

// ValidWorldID returns nil when id can name a world's folder, volume and
// objects as it is: 1 to 64 ASCII letters, digits, '-' or '_', the first a
// letter or a digit. Anything else (a '/', a '.', "..") is refused with an
// error wrapping ErrWorldID, so an id can never name a path outside the
// world's own.
func ValidWorldID(id string) error { return validID("world", id) }

// ValidBackupID is ValidWorldID for the id of a backup.
func ValidBackupID(id string) error { return validID("backup", id) }

func validID(what, id string) error {
	if n := len(id); n < 1 || n > 64 {
		return fmt.Errorf("%w: %s id must be 1 to 64 characters long", ErrWorldID, what)
	}
	for i, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return fmt.Errorf("%w: %s id %q: only letters, digits, - and _ are allowed, starting with a letter or digit", ErrWorldID, what, id)
		}
	}
	return nil
}
