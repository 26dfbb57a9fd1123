// Package dynamo keeps the records in the DynamoDB table, the truth the
// daemon rebuilds its state from at start.
//
// The table is the original JavaScript bot's: partition key taskId (S), and
// its attributes taskId, publicIpAddress, token, creationDate (N, Unix ms),
// channelId, typeServer and userId are read and written exactly as it did,
// so a table it wrote is adopted. What a record holds and when it is
// malformed is spawner.Record's to say; this package translates between a
// Record and an item: a string is S, a number N, a boolean BOOL.
//
// Game templates live in the same table, under the key
// spawner.GameKeyPrefix+name ("game/<name>"), with the template's JSON in
// the attribute template (S) and the time it was stored in updatedAt (N,
// Unix ms). A member's creation cooldown lives there too, under the key
// spawner.CooldownKeyPrefix+member id ("cooldown/<member id>"), with the
// time it started in startedAt (N, Unix ms). A table without any (an older
// bot's) has no cooldown running. The worlds live there too, under
// spawner.WorldKeyPrefix+id ("world/<id>"), with their owner in userId,
// game, name, state, and the rest spawner.World keeps. LoadAll reads all
// of them in one Scan.
//
// The servers' sessions live there as well, under
// spawner.SessionKeyPrefix+id ("session/<id>"), and the monthly reports
// sent under spawner.ReportKeyPrefix+month ("report/2026-11"), each with
// expiresAt (N, Unix seconds), the attribute of the table's time to live:
// DynamoDB deletes them 13 months on. LoadAll leaves them out (its Scan
// filters them away); Sessions and Report read them on demand.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// attrTaskID is the partition key: the record's key (spawner.KeyAttr).
const attrTaskID = spawner.KeyAttr

// Table is the server table. Its methods are safe for concurrent use.
type Table struct {
	api  API
	name string
	now  func() time.Time // stamps updatedAt
}

// Pauses between two DescribeTable calls while waiting for a new table to
// become ACTIVE: short first (a local DynamoDB is ready at once), longer
// later (AWS takes seconds).
const (
	firstWaitDelay = 50 * time.Millisecond
	maxWaitDelay   = 2 * time.Second
)

// New returns the table named table reached through api. It calls nothing.
func New(api API, table string) *Table {
	return &Table{api: api, name: table, now: time.Now}
}

// Name is the table's name.
func (t *Table) Name() string { return t.name }

// LoadAll reads the whole table in one consistent Scan (every page) and
// returns its servers, game templates, cooldowns and worlds; the sessions and
// reports are filtered away by DynamoDB. An item that cannot
// be read (a missing or wrong-typed taskId, userId, channelId or
// creationDate, an unknown state, a template that is not JSON, ...; the
// rules are spawner.Record's) is left in the table, skipped and returned
// among the snapshot's problems, a *spawner.RecordError naming its key and
// what is wrong. err is for the scan itself.
func (t *Table) LoadAll(ctx context.Context) (spawner.Snapshot, error) {
	var snap spawner.Snapshot
	err := t.scan(ctx, snapshotFilter, func(item item) {
		rec := recordOf(item)
		key, err := rec.Key()
		if err != nil {
			snap.Skip("", err)
			return
		}
		snap.Add(key, rec)
	})
	if err != nil {
		return spawner.Snapshot{}, err
	}
	return snap, nil
}

// Put writes the whole record of s under s.Key(), replacing what was there.
// Idempotent. When the record moves from the creation key to the task ARN,
// the caller deletes the old key once the new one is written.
//
// Times are stored in Unix milliseconds, so they load back truncated to the
// millisecond, in UTC. A server that LoadAll could not read back (no task
// ARN nor creation id, no owner, no channel, no creation time) is refused
// without calling DynamoDB.
func (t *Table) Put(ctx context.Context, s spawner.Server) error {
	rec, err := s.Record()
	return t.put(ctx, rec, err)
}

// Delete removes the record under key (a Server.Key()). A key that is not
// in the table is not an error.
func (t *Table) Delete(ctx context.Context, key string) error {
	return t.delete(ctx, key, nil)
}

// PutGame stores the template doc under the name name, replacing the one
// stored under that name, if any. Idempotent. doc must be JSON; an empty
// name or a doc that is not JSON is refused without calling DynamoDB.
func (t *Table) PutGame(ctx context.Context, name string, doc []byte) error {
	rec, err := spawner.GameRecord(name, doc, t.now())
	return t.put(ctx, rec, err)
}

// DeleteGame removes the template stored under name. A name with no
// template is not an error.
func (t *Table) DeleteGame(ctx context.Context, name string) error {
	key, err := spawner.GameKey(name)
	return t.delete(ctx, key, err)
}

// PutCooldown records that member's creation cooldown started at since,
// replacing the one stored for them, if any. Idempotent. An empty member
// or a time LoadAll could not read back (not after 1970) is refused
// without calling DynamoDB. since loads back truncated to the millisecond.
func (t *Table) PutCooldown(ctx context.Context, member string, since time.Time) error {
	rec, err := spawner.CooldownRecord(member, since)
	return t.put(ctx, rec, err)
}

// DeleteCooldown removes member's creation cooldown. A member with none
// is not an error.
func (t *Table) DeleteCooldown(ctx context.Context, member string) error {
	key, err := spawner.CooldownKey(member)
	return t.delete(ctx, key, err)
}

// PutWorld writes the whole record of w under w.Key(), replacing what was
// there. Idempotent. A world that LoadAll could not read back (an id that
// could name a path, no owner, no game, an invalid name, an unknown state,
// ...; spawner.World.Storable) is refused without calling DynamoDB.
func (t *Table) PutWorld(ctx context.Context, w spawner.World) error {
	rec, err := w.Record()
	return t.put(ctx, rec, err)
}

// DeleteWorld removes the record of the world id. An id with no record is
// not an error; an invalid id (spawner.ValidWorldID) is refused without
// calling DynamoDB.
func (t *Table) DeleteWorld(ctx context.Context, id string) error {
	key, err := spawner.WorldKey(id)
	return t.delete(ctx, key, err)
}

// filter is a Scan's filter expression on the key, with its values.
type filter struct {
	expr   string
	values item
}

// snapshotFilter keeps the items LoadAll reads: all but the sessions and
// the reports.
var snapshotFilter = filter{
	expr: "NOT begins_with(" + attrTaskID + ", :session) AND NOT begins_with(" + attrTaskID + ", :report)",
	values: item{
		":session": str(spawner.SessionKeyPrefix),
		":report":  str(spawner.ReportKeyPrefix),
	},
}

// scan calls each for every item of the table that f keeps, page after
// page.
func (t *Table) scan(ctx context.Context, f filter, each func(item)) error {
	in := scanInput{TableName: t.name, ConsistentRead: true, FilterExpression: f.expr, ExpressionAttributeValues: f.values}
	for {
		page := scanPage{each: each}
		if err := t.api.JSON(ctx, "Scan", in, &page); err != nil {
			return fmt.Errorf("scan table %s: %w", t.name, err)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// put writes rec, made by spawner (Server.Record, GameRecord,
// CooldownRecord, World.Record, ...), as an item, replacing the one under its key. refused,
// when not nil, is why spawner would not make the record: it is returned,
// and DynamoDB is not called.
func (t *Table) put(ctx context.Context, rec spawner.Record, refused error) error {
	if refused != nil {
		return fmt.Errorf("put %w", refused)
	}
	key, _ := rec.Key() // spawner's records all have one
	if err := t.api.JSON(ctx, "PutItem", putItemInput{TableName: t.name, Item: itemOf(rec)}, nil); err != nil {
		return fmt.Errorf("put %s: %w", spawner.DescribeKey(key), err)
	}
	return nil
}

// delete removes the item under key; one that is not there is not an
// error. refused, when not nil, is why spawner would not make the key
// (GameKey, CooldownKey, WorldKey): it is returned, and DynamoDB is not called.
func (t *Table) delete(ctx context.Context, key string, refused error) error {
	if refused != nil {
		return fmt.Errorf("delete %w", refused)
	}
	if err := t.api.JSON(ctx, "DeleteItem", deleteItemInput{TableName: t.name, Key: item{attrTaskID: str(key)}}, nil); err != nil {
		return fmt.Errorf("delete %s: %w", spawner.DescribeKey(key), err)
	}
	return nil
}

// Check reports whether the table exists, is ACTIVE, and has the key schema
// of the server table (partition key taskId, a string, and no sort key).
// It returns nil when all holds; otherwise a *spawner.Problem naming
// AWS_DYNAMODB_TABLE_NAME, whose error wraps spawner.ErrNotFound when the
// table does not exist. When DynamoDB gives no answer at all, the Problem
// has an empty Var and its error wraps spawner.ErrUnreachable: how DynamoDB
// is reached is what to fix. It changes nothing.
func (t *Table) Check(ctx context.Context) error {
	desc, err := t.describe(ctx)
	if err == nil {
		err = t.checkSchema(desc)
	}
	if err == nil && desc.TableStatus != statusActive {
		err = fmt.Errorf("table %s is %s, not ACTIVE", t.name, desc.TableStatus)
	}
	switch {
	case err == nil:
		return nil
	case unanswered(err):
		return &spawner.Problem{Err: spawner.Unreachable(err)}
	}
	return &spawner.Problem{Var: "AWS_DYNAMODB_TABLE_NAME", Err: err}
}

// unanswered reports whether an AWS call failed without an answer from AWS
// (connection refused, timeout, no credentials to sign with): the SDK's
// operation error with no API error inside.
func unanswered(err error) bool {
	var op *smithy.OperationError
	var api smithy.APIError
	return errors.As(err, &op) && !errors.As(err, &api)
}

// EnsureTable creates the table (on-demand billing, partition key taskId
// of type S) when it does not exist, waits until it is ACTIVE, within ctx,
// and turns on its time to live on expiresAt, so DynamoDB deletes the
// sessions and reports past their 13 months (a DynamoDB without the time
// to live API, such as the tests' dynalite, is left without: PruneSessions
// removes them). An existing table with the right key is left as it is;
// one with another key schema is an error naming the table. Idempotent,
// and safe against another process creating the table at the same time.
func (t *Table) EnsureTable(ctx context.Context) error {
	desc, err := t.describe(ctx)
	created := false
	if errors.Is(err, spawner.ErrNotFound) {
		desc, created, err = t.create(ctx)
	}
	if err != nil {
		return err
	}
	if err := t.checkSchema(desc); err != nil {
		return err
	}
	if err := t.waitActive(ctx, desc); err != nil {
		return err
	}
	if created {
		return t.enableTTL(ctx)
	}
	return nil
}

// waitActive waits until the table described by desc is ACTIVE, within ctx.
func (t *Table) waitActive(ctx context.Context, desc *tableDescription) error {
	delay := firstWaitDelay
	for desc.TableStatus != statusActive {
		if desc.TableStatus != "CREATING" && desc.TableStatus != "UPDATING" {
			return fmt.Errorf("table %s is %s", t.name, desc.TableStatus)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for table %s to become ACTIVE (still %s): %w", t.name, desc.TableStatus, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, maxWaitDelay)
		var err error
		if desc, err = t.describe(ctx); err != nil {
			return err
		}
	}
	return nil
}

// create creates the table and tells whether this call did: false when
// another process created it meanwhile.
func (t *Table) create(ctx context.Context) (*tableDescription, bool, error) {
	var out createTableOutput
	err := t.api.JSON(ctx, "CreateTable", createTableInput{
		TableName:            t.name,
		BillingMode:          "PAY_PER_REQUEST",
		AttributeDefinitions: []attributeDefinition{{AttributeName: attrTaskID, AttributeType: "S"}},
		KeySchema:            []keySchemaElement{{AttributeName: attrTaskID, KeyType: "HASH"}},
	}, &out)
	if isAPIError(err, "ResourceInUseException") {
		// Someone else created it meanwhile: theirs is checked like any.
		desc, err := t.describe(ctx)
		return desc, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("create table %s: %w", t.name, err)
	}
	if out.TableDescription == nil {
		desc, err := t.describe(ctx)
		return desc, true, err
	}
	return out.TableDescription, true, nil
}

// describe returns the table's description, or an error wrapping
// spawner.ErrNotFound when the table does not exist.
func (t *Table) describe(ctx context.Context) (*tableDescription, error) {
	var out describeTableOutput
	err := t.api.JSON(ctx, "DescribeTable", describeTableInput{TableName: t.name}, &out)
	if isAPIError(err, "ResourceNotFoundException") {
		return nil, fmt.Errorf("table %s does not exist: %w", t.name, spawner.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", t.name, err)
	}
	if out.Table == nil {
		return nil, fmt.Errorf("describe table %s: no description in the answer", t.name)
	}
	return out.Table, nil
}

// checkSchema wants exactly the hash key taskId of type S.
func (t *Table) checkSchema(desc *tableDescription) error {
	var keys []string
	for _, k := range desc.KeySchema {
		keys = append(keys, fmt.Sprintf("%s (%s)", k.AttributeName, k.KeyType))
	}
	wrong := func(why string) error {
		return fmt.Errorf("table %s has key schema [%s]: %s; want only the partition key %s of type S", t.name, strings.Join(keys, ", "), why, attrTaskID)
	}
	if len(desc.KeySchema) != 1 {
		return wrong(fmt.Sprintf("%d key attributes", len(desc.KeySchema)))
	}
	k := desc.KeySchema[0]
	if k.AttributeName != attrTaskID || k.KeyType != "HASH" {
		return wrong("wrong partition key")
	}
	for _, def := range desc.AttributeDefinitions {
		if def.AttributeName == attrTaskID && def.AttributeType != "S" {
			return wrong(fmt.Sprintf("%s is of type %s", attrTaskID, def.AttributeType))
		}
	}
	return nil
}

// itemOf is the item of rec: a string is S, a number N, a boolean BOOL.
func itemOf(rec spawner.Record) item {
	it := make(item, len(rec))
	for name, a := range rec {
		switch a.Kind {
		case spawner.AttrString:
			it[name] = str(a.Text)
		case spawner.AttrNumber:
			it[name] = value{kind: "N", text: a.Text}
		case spawner.AttrBool:
			it[name] = boolean(a.Bool)
		default:
			// A record is made of the three kinds above; the others are
			// only read back, to be named in a problem (spawner.AttrKind).
		}
	}
	return it
}

// recordOf is the record of it, each attribute of its DynamoDB type's
// kind; what the record's rules make of it is spawner.Record's business.
func recordOf(it item) spawner.Record {
	rec := make(spawner.Record, len(it))
	for name, v := range it {
		rec[name] = v.attr()
	}
	return rec
}

// isAPIError reports whether err is DynamoDB's refusal with code.
func isAPIError(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}
