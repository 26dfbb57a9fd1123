package bolt

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// PutSession writes the record of sess under sess.Key(), replacing what
// was there (the same session, now ended), and returns once it is on
// disk. Idempotent. A session that Sessions could not read back (no id,
// no owner, no start, an end before its start, an unknown capacity) is
// refused without writing.
func (s *Store) PutSession(ctx context.Context, sess spawner.Session) error {
	rec, err := sess.Record()
	return s.put(ctx, rec, err)
}

// Sessions reads the sessions that ran at some time in [from, to) (a
// month), in one read transaction, in no set order. A record that cannot
// be read is left in the file, skipped and returned among problems, a
// *spawner.RecordError naming its key and what is wrong; err is for
// reading the file. Sessions are never read by LoadAll: there may be
// thousands.
func (s *Store) Sessions(ctx context.Context, from, to time.Time) (sessions []spawner.Session, problems []error, err error) {
	err = s.eachSession(ctx, func(key string, v []byte) {
		sess, err := sessionOf(key, v)
		switch {
		case err != nil:
			problems = append(problems, err)
		case sess.Overlaps(from, to):
			sessions = append(sessions, sess)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read sessions in %s: %w", s.Path(), err)
	}
	return sessions, problems, nil
}

// PruneSessions removes the sessions that ended before before (the caller
// passes spawner.SessionCutoff(now), at start and once a day), in one
// write transaction, and returns how many it removed. A session still
// running is kept, and so is a record that cannot be read: Sessions
// reports it.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("prune sessions in %s: %w", s.Path(), err)
	}
	pruned := 0
	err := s.health.wrote(s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		if b == nil {
			return nil
		}
		var old [][]byte
		_ = b.ForEach(func(k, v []byte) error {
			if sess, err := sessionOf(spawner.SessionKeyPrefix+string(k), v); err == nil && sess.Ended(before) {
				old = append(old, k) // deleting while iterating would skip records
			}
			return nil
		})
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		pruned = len(old)
		return nil
	}))
	if err != nil {
		return 0, fmt.Errorf("prune sessions in %s: %w", s.Path(), err)
	}
	return pruned, nil
}

// PutReport records that month's report was sent at sentAt, and returns
// once it is on disk. Idempotent. The zero month or a time Report could
// not read back (not after 1970) is refused without writing.
func (s *Store) PutReport(ctx context.Context, month spawner.Month, sentAt time.Time) error {
	rec, err := spawner.ReportRecord(month, sentAt)
	return s.put(ctx, rec, err)
}

// Report tells when month's report was sent, and whether it was. A record
// that cannot be read is an error (a *spawner.RecordError), as is a
// failure to read the file.
func (s *Store) Report(ctx context.Context, month spawner.Month) (sentAt time.Time, sent bool, err error) {
	key, err := spawner.ReportKey(month)
	if err == nil {
		err = ctx.Err()
	}
	var v []byte
	if err == nil {
		err = s.db.View(func(tx *bbolt.Tx) error {
			if b := tx.Bucket(reportsBucket); b != nil {
				v = b.Get([]byte(month.String()))
				v = append([]byte(nil), v...) // valid only in the transaction
			}
			return nil
		})
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read %s: %w", spawner.DescribeKey(key), err)
	}
	if len(v) == 0 {
		return time.Time{}, false, nil
	}
	rec, err := recordOf(v)
	if err == nil {
		_, sentAt, err = rec.Report(key)
	} else {
		err = &spawner.RecordError{Key: key, Err: err}
	}
	return sentAt, err == nil, err
}

// DeleteReport removes the record of month's report: a report whose
// posting failed after it was recorded is then due again. A month with
// none is not an error.
func (s *Store) DeleteReport(ctx context.Context, month spawner.Month) error {
	key, err := spawner.ReportKey(month)
	return s.delete(ctx, key, err)
}

// eachSession calls each with the key and value of every stored session,
// in one read transaction.
func (s *Store) eachSession(ctx context.Context, each func(key string, v []byte)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		if b == nil {
			return nil // no session was ever put
		}
		return b.ForEach(func(k, v []byte) error {
			each(spawner.SessionKeyPrefix+string(k), v)
			return nil
		})
	})
}

// sessionOf reads the stored value v of the session under key.
func sessionOf(key string, v []byte) (spawner.Session, error) {
	rec, err := recordOf(v)
	if err != nil {
		return spawner.Session{}, &spawner.RecordError{Key: key, Err: err}
	}
	return rec.Session(key)
}
