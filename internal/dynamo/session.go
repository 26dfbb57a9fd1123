package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// sessionFilter keeps the sessions' items alone.
var sessionFilter = filter{
	expr:   "begins_with(" + attrTaskID + ", :session)",
	values: item{":session": str(spawner.SessionKeyPrefix)},
}

// PutSession writes the item of sess under sess.Key(), replacing what was
// there (the same session, now ended), with expiresAt 13 months after it
// ended for the table's time to live. Idempotent. A session that Sessions
// could not read back (no id, no owner, no start, an end before its
// start, an unknown capacity) is refused without calling DynamoDB.
func (t *Table) PutSession(ctx context.Context, sess spawner.Session) error {
	rec, err := sess.Record()
	return t.put(ctx, rec, err)
}

// Sessions reads the sessions that ran at some time in [from, to) (a
// month), in no set order: one consistent Scan that DynamoDB filters down
// to the sessions' items, the time filtered here, so that a malformed item
// is not dropped unseen but skipped and returned among problems, a
// *spawner.RecordError naming its key and what is wrong. A session past
// its time to live that DynamoDB has not deleted yet is one like any
// other. err is for the scan itself.
func (t *Table) Sessions(ctx context.Context, from, to time.Time) (sessions []spawner.Session, problems []error, err error) {
	err = t.scan(ctx, sessionFilter, func(item item) {
		rec := recordOf(item)
		key, _ := rec.Key() // the filter matched a string key
		sess, err := rec.Session(key)
		switch {
		case err != nil:
			problems = append(problems, err)
		case sess.Overlaps(from, to):
			sessions = append(sessions, sess)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return sessions, problems, nil
}

// PruneSessions deletes the sessions that ended before before (the caller
// passes spawner.SessionCutoff(now), at start and once a day) and returns
// how many it deleted. The table's time to live deletes them too; this is
// for a table without it (one made by hand, a local DynamoDB). A session
// still running is kept, and so is an item that cannot be read: Sessions
// reports it.
func (t *Table) PruneSessions(ctx context.Context, before time.Time) (int, error) {
	var old []string
	err := t.scan(ctx, sessionFilter, func(item item) {
		rec := recordOf(item)
		key, _ := rec.Key()
		if sess, err := rec.Session(key); err == nil && sess.Ended(before) {
			old = append(old, key)
		}
	})
	if err != nil {
		return 0, err
	}
	for i, key := range old {
		if err := t.delete(ctx, key, nil); err != nil {
			return i, fmt.Errorf("prune %w", err)
		}
	}
	return len(old), nil
}

// PutReport records that month's report was sent at sentAt, with expiresAt
// 13 months later. Idempotent. The zero month or a time Report could not
// read back (not after 1970) is refused without calling DynamoDB.
func (t *Table) PutReport(ctx context.Context, month spawner.Month, sentAt time.Time) error {
	rec, err := spawner.ReportRecord(month, sentAt)
	return t.put(ctx, rec, err)
}

// Report tells when month's report was sent, and whether it was, by one
// consistent GetItem. An item that cannot be read is an error (a
// *spawner.RecordError), as is a failed call.
func (t *Table) Report(ctx context.Context, month spawner.Month) (sentAt time.Time, sent bool, err error) {
	key, err := spawner.ReportKey(month)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read %w", err)
	}
	var out getItemOutput
	err = t.api.JSON(ctx, "GetItem", getItemInput{TableName: t.name, Key: item{attrTaskID: str(key)}, ConsistentRead: true}, &out)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read %s: %w", spawner.DescribeKey(key), err)
	}
	if len(out.Item) == 0 {
		return time.Time{}, false, nil
	}
	_, sentAt, err = recordOf(out.Item).Report(key)
	return sentAt, err == nil, err
}

// DeleteReport removes the item of month's report: a report whose posting
// failed after it was recorded is then due again. A month with none is not
// an error.
func (t *Table) DeleteReport(ctx context.Context, month spawner.Month) error {
	key, err := spawner.ReportKey(month)
	return t.delete(ctx, key, err)
}

// enableTTL turns on the table's time to live on spawner.TimeToLiveAttr. A
// DynamoDB that does not know the call (an emulator) is left without it.
func (t *Table) enableTTL(ctx context.Context) error {
	err := t.api.JSON(ctx, "UpdateTimeToLive", updateTimeToLiveInput{
		TableName:               t.name,
		TimeToLiveSpecification: timeToLiveSpecification{AttributeName: spawner.TimeToLiveAttr, Enabled: true},
	}, nil)
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "UnknownOperationException" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("turn on the time to live of table %s on %s: %w", t.name, spawner.TimeToLiveAttr, err)
	}
	return nil
}
