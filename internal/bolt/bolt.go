// Package bolt keeps the server records and the game templates in one file
// on the local disk, for a deployment without DynamoDB: the embedded
// store, with the same methods and the same semantics as the dynamo table.
//
// It is built on go.etcd.io/bbolt rather than SQLite because:
//   - it is pure Go, with no cgo, so the static distroless build of the
//     daemon keeps working (modernc.org/sqlite is pure Go too, but a
//     translated C library many times bbolt's size for two key-value maps);
//   - everything is one file, spawner.db, easy to back up (a copy taken
//     while spawner is stopped: a copy of a file being written may be
//     inconsistent, and Open refuses it) and to move;
//   - it allows one writer at a time, which is what one daemon is;
//   - every write transaction is fsynced before Commit returns (the
//     default, kept: NoSync is never set), so a Put that returned survives a
//     SIGKILL or a power cut, and a crash never leaves a file that will not
//     open (bbolt's copy-on-write pages and double meta page);
//   - it holds an exclusive file lock on the file while open, so a second
//     daemon on the same folder is refused instead of corrupting it.
//
// Each record is stored as a JSON object whose keys are exactly the dynamo
// table's attribute names (taskId, publicIpAddress, token, creationDate in
// Unix ms, channelId, typeServer, userId, creationId, game, ...), absent
// when empty as in the table, so the code above the store cannot tell the
// two apart, and a record moves from one to the other unchanged. Servers
// live in the bucket "servers" under Server.Key(), game templates in the
// bucket "games" under their name, the members' creation cooldowns in the
// bucket "cooldowns" under the member id (made by the first PutCooldown: a
// file without it, an older bot's, has no cooldown running).
package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// FileName is the store's file inside its folder (SPAWNER_DATA_DIR).
const FileName = "spawner.db"

// LockTimeout is how long Open waits for the file lock before deciding
// another process holds it.
const LockTimeout = time.Second

// ErrInUse is wrapped by Open's error when another process (another
// spawner) holds the store's file lock.
var ErrInUse = errors.New("in use by another spawner")

var (
	serversBucket   = []byte("servers")
	gamesBucket     = []byte("games")
	cooldownsBucket = []byte("cooldowns")
)

// Store is the embedded store in one folder. Its methods are safe for
// concurrent use; writes are serialised, each durable when it returns.
type Store struct {
	db     *bbolt.DB
	dir    string
	now    func() time.Time // stamps a game's updatedAt
	health writes           // what Check tells of the writes
}

// Open opens the store in dir, creating dir (mode 0700) and the file
// dir/spawner.db (mode 0600) when they do not exist. It waits at most
// LockTimeout for the file lock: when another process holds it, the error
// wraps ErrInUse and says "SPAWNER_DATA_DIR <dir> is in use by another
// spawner (file lock on spawner.db)". The caller closes the Store.
//
// An existing file is checked whole first, reading only: a damaged one
// (cut short, overwritten, not a store) is refused with a
// *spawner.Problem naming SPAWNER_DATA_DIR that wraps ErrDamaged and says
// what to do, and is left exactly as it was.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("SPAWNER_DATA_DIR %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	if err := verify(path); err != nil {
		return nil, openFailed(dir, path, err)
	}
	db, err := openDB(path, bbolt.Options{Timeout: LockTimeout})
	if err != nil {
		return nil, openFailed(dir, path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{serversBucket, gamesBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", filepath.Join(dir, FileName), err)
	}
	return &Store{db: db, dir: dir, now: time.Now}, nil
}

// Close closes the file and releases its lock, waiting for transactions
// under way. The Store must not be used afterwards.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.Path(), err)
	}
	return nil
}

// Path is the store's file.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

// ItemError is a stored record that could not be turned into a server or a
// game: it is left in the file and skipped.
type ItemError struct {
	Key string // the record's key in its bucket
	Err error  // what is wrong, naming the attribute
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("item %s: %v", strconv.Quote(e.Key), e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

// Load returns every stored server. A record that cannot be turned into a
// Server (not JSON, a missing or wrong-typed taskId, userId, channelId or
// creationDate, an unknown state, ...) is skipped and returned as a
// problem, one *ItemError each naming the key and what is wrong (never an
// attribute's value: the token is a secret); err is for reading the file,
// and then servers is nil. Game templates and cooldowns are never
// returned as servers.
func (s *Store) Load(ctx context.Context) (servers []spawner.Server, problems []error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("load servers: %w", err)
	}
	err = s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(serversBucket).ForEach(func(k, v []byte) error {
			key := string(k)
			if strings.HasPrefix(key, spawner.GameKeyPrefix) || strings.HasPrefix(key, spawner.CooldownKeyPrefix) {
				return nil
			}
			srv, err := decode(key, v)
			if err != nil {
				problems = append(problems, err)
				return nil
			}
			servers = append(servers, srv)
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load servers: %w", err)
	}
	return servers, problems, nil
}

// Put writes the whole record of srv under srv.Key(), replacing what was
// there, and returns once it is on disk. Idempotent. When the record moves
// from the creation key to the task ARN, the caller deletes the old key
// once the new one is written.
//
// Times are stored in Unix milliseconds, so they load back truncated to
// the millisecond, in UTC; Players is capped at spawner.MaxPlayers. A
// server that Load could not read back (no task ARN nor creation id, no
// owner, no channel, no creation time, a key of a game) is refused without
// writing.
func (s *Store) Put(ctx context.Context, srv spawner.Server) error {
	if err := srv.Storable(); err != nil {
		return fmt.Errorf("put %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put server %s: %w", srv.Key(), err)
	}
	v, err := json.Marshal(encode(srv))
	if err != nil {
		return fmt.Errorf("put server %s: %w", srv.Key(), err)
	}
	if err := s.put(serversBucket, srv.Key(), v); err != nil {
		return fmt.Errorf("put server %s: %w", srv.Key(), err)
	}
	return nil
}

// Delete removes the record under key (a Server.Key()). A key that is not
// stored is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete server %s: %w", key, err)
	}
	if err := s.delete(serversBucket, key); err != nil {
		return fmt.Errorf("delete server %s: %w", key, err)
	}
	return nil
}

// LoadGames returns the stored game templates by name, each the JSON
// document as it was put. A record without a usable template (not JSON,
// template missing or not a string, or not JSON itself) is skipped and
// returned as a problem, an *ItemError naming its key; err is for reading
// the file, and then games is nil. The templates' content is the caller's
// to validate.
func (s *Store) LoadGames(ctx context.Context) (games map[string][]byte, problems []error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("load games: %w", err)
	}
	games = make(map[string][]byte)
	err = s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(gamesBucket).ForEach(func(k, v []byte) error {
			doc, err := decodeGame(string(k), v)
			if err != nil {
				problems = append(problems, err)
				return nil
			}
			games[string(k)] = doc
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load games: %w", err)
	}
	return games, problems, nil
}

// PutGame stores the template doc under name, replacing the one stored
// under that name, if any, and returns once it is on disk. Idempotent. An
// empty name or a doc that is not JSON is refused without writing.
func (s *Store) PutGame(ctx context.Context, name string, doc []byte) error {
	switch {
	case name == "":
		return errors.New("put game: empty name")
	case !json.Valid(doc):
		return fmt.Errorf("put game %s: the template is not JSON", name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put game %s: %w", name, err)
	}
	v, err := json.Marshal(gameRecord{
		TaskID:    spawner.GameKeyPrefix + name,
		Template:  string(doc),
		UpdatedAt: s.now().UnixMilli(),
	})
	if err != nil {
		return fmt.Errorf("put game %s: %w", name, err)
	}
	if err := s.put(gamesBucket, name, v); err != nil {
		return fmt.Errorf("put game %s: %w", name, err)
	}
	return nil
}

// DeleteGame removes the template stored under name. A name with no
// template is not an error.
func (s *Store) DeleteGame(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("delete game: empty name")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete game %s: %w", name, err)
	}
	if err := s.delete(gamesBucket, name); err != nil {
		return fmt.Errorf("delete game %s: %w", name, err)
	}
	return nil
}

// LoadCooldowns returns when each member's creation cooldown started, by
// member id. A record without a usable startedAt (not JSON, missing, not a
// time after 1970) is skipped and returned as a problem, an *ItemError
// naming its key; err is for reading the file, and then since is nil.
func (s *Store) LoadCooldowns(ctx context.Context) (since map[string]time.Time, problems []error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("load cooldowns: %w", err)
	}
	since = make(map[string]time.Time)
	err = s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(cooldownsBucket)
		if b == nil {
			return nil // no cooldown was ever put
		}
		return b.ForEach(func(k, v []byte) error {
			at, err := decodeCooldown(string(k), v)
			if err != nil {
				problems = append(problems, err)
				return nil
			}
			since[string(k)] = at
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load cooldowns: %w", err)
	}
	return since, problems, nil
}

// PutCooldown records that member's creation cooldown started at since,
// replacing the one stored for them, if any, and returns once it is on
// disk. Idempotent. An empty member or a time LoadCooldowns could not read
// back (not after 1970) is refused without writing. since loads back
// truncated to the millisecond.
func (s *Store) PutCooldown(ctx context.Context, member string, since time.Time) error {
	switch {
	case member == "":
		return errors.New("put cooldown: empty member")
	case since.UnixMilli() <= 0:
		return fmt.Errorf("put cooldown %s: no start time", member)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put cooldown %s: %w", member, err)
	}
	v, err := json.Marshal(cooldownRecord{TaskID: spawner.CooldownKeyPrefix + member, StartedAt: since.UnixMilli()})
	if err != nil {
		return fmt.Errorf("put cooldown %s: %w", member, err)
	}
	err = s.health.wrote(s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(cooldownsBucket)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", cooldownsBucket, err)
		}
		return b.Put([]byte(member), v)
	}))
	if err != nil {
		return fmt.Errorf("put cooldown %s: %w", member, err)
	}
	return nil
}

// DeleteCooldown removes member's creation cooldown. A member with none
// is not an error.
func (s *Store) DeleteCooldown(ctx context.Context, member string) error {
	if member == "" {
		return errors.New("delete cooldown: empty member")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete cooldown %s: %w", member, err)
	}
	err := s.health.wrote(s.db.Update(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(cooldownsBucket); b != nil {
			return b.Delete([]byte(member))
		}
		return nil
	}))
	if err != nil {
		return fmt.Errorf("delete cooldown %s: %w", member, err)
	}
	return nil
}

// Check tells, changing nothing and without reading the file's pages,
// whether the store is open with both buckets and its last write went
// through: cheap, and safe to call as often as a readiness probe does
// while writes go on. (bbolt's page check is not safe beside writes: Open
// runs it once, before any.) It returns nil when all holds; otherwise a
// *spawner.Problem naming SPAWNER_DATA_DIR.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("check %s: %w", s.Path(), err)
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{serversBucket, gamesBucket} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("bucket %s is missing", b)
			}
		}
		return nil
	})
	if err == nil {
		err = s.health.failure()
	}
	if err != nil {
		return &spawner.Problem{Var: "SPAWNER_DATA_DIR", Err: fmt.Errorf("check %s: %w", s.Path(), err)}
	}
	return nil
}

func (s *Store) put(bucket []byte, key string, v []byte) error {
	return s.health.wrote(s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).Put([]byte(key), v)
	}))
}

func (s *Store) delete(bucket []byte, key string) error {
	return s.health.wrote(s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).Delete([]byte(key))
	}))
}
