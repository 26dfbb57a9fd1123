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
// two apart, and a record moves from one to the other unchanged: both
// translate their format to a spawner.Record, whose rules say what a record
// holds and when it is malformed. Servers live in the bucket "servers"
// under Server.Key(), game templates in the bucket "games" under their
// name, the members' creation cooldowns in the bucket "cooldowns" under
// the member id (made by the first PutCooldown: a file without it, an
// older bot's, has no cooldown running), the worlds in the bucket
// "worlds" under their id, the servers' sessions in the bucket "sessions"
// under their id and the monthly reports sent in the bucket "reports"
// under their month (each made by its first write too).
package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	worldsBucket    = []byte("worlds")
	sessionsBucket  = []byte("sessions")
	reportsBucket   = []byte("reports")
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

// buckets are where the records are, each with the prefix that makes a
// key in it the record's key (spawner.Snapshot.Add tells them apart by it).
var buckets = []struct {
	name   []byte
	prefix string
}{
	{serversBucket, ""},
	{gamesBucket, spawner.GameKeyPrefix},
	{cooldownsBucket, spawner.CooldownKeyPrefix},
	{worldsBucket, spawner.WorldKeyPrefix},
	{sessionsBucket, spawner.SessionKeyPrefix},
	{reportsBucket, spawner.ReportKeyPrefix},
}

// LoadAll reads every stored record in one read transaction: the servers,
// the game templates, the cooldowns and the worlds, not the sessions nor
// the reports
// (read on demand: Sessions, Report). A record that cannot be read (not
// a JSON object, a missing or wrong-typed taskId, userId, channelId or
// creationDate, an unknown state, a template that is not JSON, ...; the
// rules are spawner.Record's) is left in the file, skipped and returned
// among the snapshot's problems, a *spawner.RecordError naming its key and
// what is wrong (never a value: the token is a secret). A record under a
// game's, a cooldown's or a world's key in the servers bucket is none of
// ours (Put refuses such keys) and is skipped. err is for reading the file.
func (s *Store) LoadAll(ctx context.Context) (spawner.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return spawner.Snapshot{}, fmt.Errorf("load %s: %w", s.Path(), err)
	}
	var snap spawner.Snapshot
	err := s.db.View(func(tx *bbolt.Tx) error {
		for _, b := range buckets {
			bucket := tx.Bucket(b.name)
			if bucket == nil || !spawner.InSnapshot(b.prefix) {
				continue // cooldowns, worlds: none was ever put; sessions: not at start
			}
			err := bucket.ForEach(func(k, v []byte) error {
				key := b.prefix + string(k)
				if b.prefix == "" && !spawner.IsServerKey(key) {
					return nil
				}
				if rec, err := recordOf(v); err != nil {
					snap.Skip(key, err)
				} else {
					snap.Add(key, rec)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return spawner.Snapshot{}, fmt.Errorf("load %s: %w", s.Path(), err)
	}
	return snap, nil
}

// Put writes the whole record of srv under srv.Key(), replacing what was
// there, and returns once it is on disk. Idempotent. When the record moves
// from the creation key to the task ARN, the caller deletes the old key
// once the new one is written.
//
// Times are stored in Unix milliseconds, so they load back truncated to
// the millisecond, in UTC; Players is capped at spawner.MaxPlayers. A
// server that LoadAll could not read back (no task ARN nor creation id, no
// owner, no channel, no creation time, a key of a game) is refused without
// writing.
func (s *Store) Put(ctx context.Context, srv spawner.Server) error {
	rec, err := srv.Record()
	return s.put(ctx, rec, err)
}

// Delete removes the record under key (a Server.Key()). A key that is not
// stored is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.delete(ctx, key, nil)
}

// PutGame stores the template doc under name, replacing the one stored
// under that name, if any, and returns once it is on disk. Idempotent. An
// empty name or a doc that is not JSON is refused without writing.
func (s *Store) PutGame(ctx context.Context, name string, doc []byte) error {
	rec, err := spawner.GameRecord(name, doc, s.now())
	return s.put(ctx, rec, err)
}

// DeleteGame removes the template stored under name. A name with no
// template is not an error.
func (s *Store) DeleteGame(ctx context.Context, name string) error {
	key, err := spawner.GameKey(name)
	return s.delete(ctx, key, err)
}

// PutCooldown records that member's creation cooldown started at since,
// replacing the one stored for them, if any, and returns once it is on
// disk. Idempotent. An empty member or a time LoadAll could not read back
// (not after 1970) is refused without writing. since loads back truncated
// to the millisecond.
func (s *Store) PutCooldown(ctx context.Context, member string, since time.Time) error {
	rec, err := spawner.CooldownRecord(member, since)
	return s.put(ctx, rec, err)
}

// DeleteCooldown removes member's creation cooldown. A member with none
// is not an error.
func (s *Store) DeleteCooldown(ctx context.Context, member string) error {
	key, err := spawner.CooldownKey(member)
	return s.delete(ctx, key, err)
}

// PutWorld writes the whole record of w under w.Key(), replacing what was
// there, and returns once it is on disk. Idempotent. A world that LoadAll
// could not read back (an id that could name a path, no owner, no game,
// an invalid name, an unknown state, ...; spawner.World.Storable) is
// refused without writing.
func (s *Store) PutWorld(ctx context.Context, w spawner.World) error {
	rec, err := w.Record()
	return s.put(ctx, rec, err)
}

// DeleteWorld removes the record of the world id. An id with no record
// is not an error; an invalid id (spawner.ValidWorldID) is refused
// without writing.
func (s *Store) DeleteWorld(ctx context.Context, id string) error {
	key, err := spawner.WorldKey(id)
	return s.delete(ctx, key, err)
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

// put writes rec, made by spawner (Server.Record, GameRecord,
// CooldownRecord, World.Record, ...), where its key says (locate), in a
// bucket made when it does not exist yet (the cooldowns' is made by the
// first PutCooldown, the worlds' by the first PutWorld),
// and returns once it is on disk. refused, when not nil, is why spawner
// would not make the record: it is returned, and nothing is written.
func (s *Store) put(ctx context.Context, rec spawner.Record, refused error) error {
	if refused != nil {
		return fmt.Errorf("put %w", refused)
	}
	key, _ := rec.Key() // spawner's records all have one
	bucket, name := locate(key)
	v, err := jsonOf(rec)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = s.health.wrote(s.db.Update(func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return fmt.Errorf("create bucket %s: %w", bucket, err)
			}
			return b.Put([]byte(name), v)
		}))
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", spawner.DescribeKey(key), err)
	}
	return nil
}

// delete removes the record of key and returns once it is gone from the
// disk; one that is not there (nor its bucket) is not an error. refused,
// when not nil, is why spawner would not make the key (GameKey,
// CooldownKey, WorldKey): it is returned, and nothing is written.
func (s *Store) delete(ctx context.Context, key string, refused error) error {
	if refused != nil {
		return fmt.Errorf("delete %w", refused)
	}
	bucket, name := locate(key)
	err := ctx.Err()
	if err == nil {
		err = s.health.wrote(s.db.Update(func(tx *bbolt.Tx) error {
			if b := tx.Bucket(bucket); b != nil {
				return b.Delete([]byte(name))
			}
			return nil
		}))
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", spawner.DescribeKey(key), err)
	}
	return nil
}

// locate is where the record of key is kept: the bucket of its kind,
// under the key less the kind's prefix (the buckets' list).
func locate(key string) (bucket []byte, name string) {
	for _, b := range buckets {
		if name, ok := strings.CutPrefix(key, b.prefix); ok && b.prefix != "" {
			return b.name, name
		}
	}
	return serversBucket, key
}
