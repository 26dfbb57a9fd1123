package spawner

import "strconv"

// WorldInfo is a world as the commands show it: its record, how many
// backups it has, and where its server runs.
type WorldInfo struct {
	World
	Backups int // backups kept of it
	// Address is "ip:port" of its running server; "" while none runs or
	// its address is not known yet.
	Address string
}

// Refusal codes of /world and of the world option of /server create.
// They are numbered apart from the others, so codes added there never
// collide with these. Name carries what the member typed or the world's
// name, as each code says.
const (
	RefusedWorldName      RefusalCode = iota + 200 // Name is not a world name (see ValidWorldName)
	RefusedNoWorld                                 // no world of that id or name the member may act on (Name: as typed)
	RefusedWorldAmbiguous                          // the member has several worlds of that name, of different games (Name)
	RefusedNoBackup                                // no such backup of the world (Name: as typed); Name empty: the world has none yet
	RefusedWorldRunning                            // restore, delete: a server of the world runs (Name: the world's)
	RefusedWorldBusy                               // a backup, restore or delete of the world is under way (Name: the world's)
	RefusedNoWorldGame                             // /server create world: the game keeps no world (Name: the game's title)
	RefusedNoDownload                              // no download link can be made here (under Docker, PUBLIC_URL is not set)
	RefusedWorldsOff                               // /server create: the game keeps a world, but the bot keeps none (no world storage is wired; Name: the game's title)
	RefusedWorldLive                               // /world backup: the running server's content cannot be backed up here; it is saved when it stops (Name: the world's)
)

// worldError is Refusal.Error for the codes above.
func (r *Refusal) worldError() string {
	switch r.Code {
	case RefusedWorldName:
		return "refused: not a world name " + strconv.Quote(r.Name)
	case RefusedNoWorld:
		return "refused: no such world " + strconv.Quote(r.Name)
	case RefusedWorldAmbiguous:
		return "refused: several worlds named " + strconv.Quote(r.Name)
	case RefusedNoBackup:
		return "refused: no such backup " + strconv.Quote(r.Name)
	case RefusedWorldRunning:
		return "refused: a server of the world runs"
	case RefusedWorldBusy:
		return "refused: the world is busy"
	case RefusedNoWorldGame:
		return "refused: the game keeps no world"
	case RefusedNoDownload:
		return "refused: no download link can be made"
	case RefusedWorldsOff:
		return "refused: the game keeps a world, and no world storage is configured"
	case RefusedWorldLive:
		return "refused: the running world is saved when its server stops"
	default:
		return "refused"
	}
}
