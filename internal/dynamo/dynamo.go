// Package dynamo keeps the server records in the DynamoDB table, the truth
// the daemon rebuilds its mirror from at start.
//
// The table is the original JavaScript bot's: partition key taskId (S), and
// its attributes taskId, publicIpAddress, token, creationDate (N, Unix ms),
// channelId, typeServer and userId are read and written exactly as it did,
// so a table it wrote is adopted. Our own attributes are optional on read:
// absent means zero.
//
// Game templates live in the same table, under the key
// spawner.GameKeyPrefix+name ("game/<name>"), with the template's JSON in
// the attribute template (S) and the time it was stored in updatedAt (N,
// Unix ms). Load never returns them as servers; LoadGames returns only them.
//
// A member's creation cooldown lives there too, under the key
// spawner.CooldownKeyPrefix+member id ("cooldown/<member id>"), with the
// time it started in startedAt (N, Unix ms). Load skips those items too;
// LoadCooldowns returns only them. A table without any (an older bot's) has
// no cooldown running.
package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// DynamoAPI is the part of the DynamoDB API the table uses, with the SDK's
// signatures: *dynamodb.Client satisfies it, and a test may fake it.
type DynamoAPI interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

var _ DynamoAPI = (*dynamodb.Client)(nil)

// Attribute names. The first group is the original bot's and must not change.
const (
	attrTaskID          = "taskId"          // S, partition key: task ARN, or spawner.PendingKeyPrefix+creation id
	attrPublicIP        = "publicIpAddress" // S
	attrToken           = "token"           // S
	attrCreationDate    = "creationDate"    // N, Unix ms
	attrChannelID       = "channelId"       // S
	attrTypeServer      = "typeServer"      // S, the variant
	attrUserID          = "userId"          // S
	attrCreationID      = "creationId"      // S
	attrGame            = "game"            // S
	attrStatusMessageID = "statusMessageId" // S
	attrPort            = "port"            // N
	attrLocale          = "locale"          // S
	attrState           = "state"           // S, spawner.State
	attrRunningDate     = "runningDate"     // N, Unix ms
	attrReadyDate       = "readyDate"       // N, Unix ms
	attrWarnings        = "warnings"        // N, player-count warnings since the last good check
	attrRuntimeWarned   = "runtimeWarned"   // BOOL, the maximum-duration warning was posted
	attrStopAt          = "stopAt"          // N, Unix ms: when the runtime watchdog stops the server
	attrExtensions      = "extensions"      // N, /server extend calls so far
	attrRCONPassword    = "rconPassword"    // S, secret
	attrGameTemplate    = "gameTemplate"    // S, JSON text of the game's template at creation
	attrPlayers         = "players"         // N, players the last probe saw; -1: the game does not count them; absent: unknown (0)

	// A game template's item: taskId is spawner.GameKeyPrefix+name.
	attrTemplate  = "template"  // S, the template's JSON
	attrUpdatedAt = "updatedAt" // N, Unix ms

	// A creation cooldown's item: taskId is spawner.CooldownKeyPrefix+member id.
	attrStartedAt = "startedAt" // N, Unix ms
)

// Table is the server table. Its methods are safe for concurrent use.
type Table struct {
	api  DynamoAPI
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
func New(api DynamoAPI, table string) *Table {
	return &Table{api: api, name: table, now: time.Now}
}

// Name is the table's name.
func (t *Table) Name() string { return t.name }

// ItemError is an item of the table that could not be turned into a
// server: the item is left in the table and skipped.
type ItemError struct {
	Key string // the item's taskId, or "" when it has none usable
	Err error  // what is wrong, naming the attribute
}

func (e *ItemError) Error() string {
	key := strconv.Quote(e.Key)
	if e.Key == "" {
		key = "without a usable taskId"
	}
	return fmt.Sprintf("item %s: %v", key, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

// Load reads the whole table (a consistent Scan, every page) and returns
// its servers. Items that cannot be turned into a Server (missing or
// wrong-typed taskId, userId or channelId, creationDate not a number, an
// unknown state, ...) are skipped and returned as problems, one *ItemError
// each naming the item's key and what is wrong; err is for the scan itself,
// and then servers is nil. Game templates and cooldowns (keys starting
// with spawner.GameKeyPrefix or spawner.CooldownKeyPrefix) are not
// servers: Load skips them silently.
//
// A server read from an item of the original bot has Port 0 (the caller
// fills in its game's port) and an empty State (the caller treats it as
// ready).
func (t *Table) Load(ctx context.Context) (servers []spawner.Server, problems []error, err error) {
	err = t.scan(ctx, func(item map[string]types.AttributeValue) {
		if isGame(item) || isCooldown(item) {
			return
		}
		s, err := decode(item)
		if err != nil {
			problems = append(problems, err)
			return
		}
		servers = append(servers, s)
	})
	if err != nil {
		return nil, nil, err
	}
	return servers, problems, nil
}

// LoadGames reads the whole table (a consistent Scan, every page) and
// returns the stored game templates by name, each the JSON document as it
// was put. A game item without a usable template (missing, not a string,
// not JSON) is skipped and returned as a problem, an *ItemError naming its
// key; err is for the scan itself, and then games is nil. Servers are
// skipped. The templates' content is the caller's to validate.
func (t *Table) LoadGames(ctx context.Context) (games map[string][]byte, problems []error, err error) {
	games = make(map[string][]byte)
	err = t.scan(ctx, func(item map[string]types.AttributeValue) {
		if !isGame(item) {
			return
		}
		name, doc, err := decodeGame(item)
		if err != nil {
			problems = append(problems, err)
			return
		}
		games[name] = doc
	})
	if err != nil {
		return nil, nil, err
	}
	return games, problems, nil
}

// PutGame stores the template doc under the name name, replacing the one
// stored under that name, if any. Idempotent. doc must be JSON; an empty
// name or a doc that is not JSON is refused without calling DynamoDB.
func (t *Table) PutGame(ctx context.Context, name string, doc []byte) error {
	if err := checkGame(name, doc); err != nil {
		return err
	}
	_, err := t.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item: map[string]types.AttributeValue{
			attrTaskID:    &types.AttributeValueMemberS{Value: spawner.GameKeyPrefix + name},
			attrTemplate:  &types.AttributeValueMemberS{Value: string(doc)},
			attrUpdatedAt: millis(t.now()),
		},
	})
	if err != nil {
		return fmt.Errorf("put game %s: %w", name, err)
	}
	return nil
}

// DeleteGame removes the template stored under name. A name with no
// template is not an error.
func (t *Table) DeleteGame(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("delete game: empty name")
	}
	if err := t.Delete(ctx, spawner.GameKeyPrefix+name); err != nil {
		return fmt.Errorf("delete game %s: %w", name, err)
	}
	return nil
}

// checkGame refuses what LoadGames could not read back.
func checkGame(name string, doc []byte) error {
	switch {
	case name == "":
		return errors.New("put game: empty name")
	case !json.Valid(doc):
		return fmt.Errorf("put game %s: the template is not JSON", name)
	}
	return nil
}

// scan calls each for every item of the table, page after page.
func (t *Table) scan(ctx context.Context, each func(map[string]types.AttributeValue)) error {
	pages := dynamodb.NewScanPaginator(t.api, &dynamodb.ScanInput{
		TableName:      aws.String(t.name),
		ConsistentRead: aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan table %s: %w", t.name, err)
		}
		for _, item := range page.Items {
			each(item)
		}
	}
	return nil
}

// isGame reports whether item is a game template's.
func isGame(item map[string]types.AttributeValue) bool {
	return keyHasPrefix(item, spawner.GameKeyPrefix)
}

// isCooldown reports whether item is a creation cooldown's.
func isCooldown(item map[string]types.AttributeValue) bool {
	return keyHasPrefix(item, spawner.CooldownKeyPrefix)
}

func keyHasPrefix(item map[string]types.AttributeValue, prefix string) bool {
	key, ok := item[attrTaskID].(*types.AttributeValueMemberS)
	return ok && strings.HasPrefix(key.Value, prefix)
}

// decodeGame reads a game template's item.
func decodeGame(item map[string]types.AttributeValue) (string, []byte, error) {
	d := decoder{item: item}
	key := d.str(attrTaskID, true)
	name := strings.TrimPrefix(key, spawner.GameKeyPrefix)
	doc := d.str(attrTemplate, true)
	d.millis(attrUpdatedAt, false)
	switch {
	case d.err != nil:
	case name == "":
		d.fail(errors.New("the game has no name"))
	case !json.Valid([]byte(doc)):
		d.fail(fmt.Errorf("%s is not JSON", attrTemplate))
	}
	if d.err != nil {
		return "", nil, &ItemError{Key: key, Err: d.err}
	}
	return name, []byte(doc), nil
}

// LoadCooldowns reads the whole table (a consistent Scan, every page) and
// returns when each member's creation cooldown started, by member id. A
// cooldown item without a usable startedAt, or with no member in its key,
// is skipped and returned as a problem, an *ItemError naming its key; err
// is for the scan itself, and then since is nil. Other items are skipped.
func (t *Table) LoadCooldowns(ctx context.Context) (since map[string]time.Time, problems []error, err error) {
	since = make(map[string]time.Time)
	err = t.scan(ctx, func(item map[string]types.AttributeValue) {
		if !isCooldown(item) {
			return
		}
		member, at, err := decodeCooldown(item)
		if err != nil {
			problems = append(problems, err)
			return
		}
		since[member] = at
	})
	if err != nil {
		return nil, nil, err
	}
	return since, problems, nil
}

// PutCooldown records that member's creation cooldown started at since,
// replacing the one stored for them, if any. Idempotent. An empty member
// or a time LoadCooldowns could not read back (not after 1970) is refused
// without calling DynamoDB. since loads back truncated to the millisecond.
func (t *Table) PutCooldown(ctx context.Context, member string, since time.Time) error {
	switch {
	case member == "":
		return errors.New("put cooldown: empty member")
	case since.UnixMilli() <= 0:
		return fmt.Errorf("put cooldown %s: no start time", member)
	}
	_, err := t.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item: map[string]types.AttributeValue{
			attrTaskID:    &types.AttributeValueMemberS{Value: spawner.CooldownKeyPrefix + member},
			attrStartedAt: millis(since),
		},
	})
	if err != nil {
		return fmt.Errorf("put cooldown %s: %w", member, err)
	}
	return nil
}

// DeleteCooldown removes member's creation cooldown. A member with none
// is not an error.
func (t *Table) DeleteCooldown(ctx context.Context, member string) error {
	if member == "" {
		return errors.New("delete cooldown: empty member")
	}
	if err := t.Delete(ctx, spawner.CooldownKeyPrefix+member); err != nil {
		return fmt.Errorf("delete cooldown %s: %w", member, err)
	}
	return nil
}

// decodeCooldown reads a creation cooldown's item.
func decodeCooldown(item map[string]types.AttributeValue) (string, time.Time, error) {
	d := decoder{item: item}
	key := d.str(attrTaskID, true)
	member := strings.TrimPrefix(key, spawner.CooldownKeyPrefix)
	since := d.millis(attrStartedAt, true)
	if d.err == nil && member == "" {
		d.fail(errors.New("the cooldown names no member"))
	}
	if d.err != nil {
		return "", time.Time{}, &ItemError{Key: key, Err: d.err}
	}
	return member, since, nil
}

// Put writes the whole record of s under s.Key(), replacing what was there.
// Idempotent. When the record moves from the creation key to the task ARN,
// the caller deletes the old key once the new one is written.
//
// Times are stored in Unix milliseconds, so they load back truncated to the
// millisecond, in UTC. A server that Load could not read back (no task ARN
// nor creation id, no owner, no channel, no creation time) is refused
// without calling DynamoDB.
func (t *Table) Put(ctx context.Context, s spawner.Server) error {
	if err := s.Storable(); err != nil {
		return fmt.Errorf("put %w", err)
	}
	_, err := t.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item:      encode(s),
	})
	if err != nil {
		return fmt.Errorf("put server %s: %w", s.Key(), err)
	}
	return nil
}

// Delete removes the record under key (a Server.Key()). A key that is not
// in the table is not an error.
func (t *Table) Delete(ctx context.Context, key string) error {
	_, err := t.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(t.name),
		Key:       map[string]types.AttributeValue{attrTaskID: &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		return fmt.Errorf("delete server %s: %w", key, err)
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
	if err == nil && desc.TableStatus != types.TableStatusActive {
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
// of type S) when it does not exist, and waits until it is ACTIVE, within
// ctx. An existing table with the right key is left as it is; one with
// another key schema is an error naming the table. Idempotent, and safe
// against another process creating the table at the same time.
func (t *Table) EnsureTable(ctx context.Context) error {
	desc, err := t.describe(ctx)
	if errors.Is(err, spawner.ErrNotFound) {
		desc, err = t.create(ctx)
	}
	if err != nil {
		return err
	}
	if err := t.checkSchema(desc); err != nil {
		return err
	}
	delay := firstWaitDelay
	for desc.TableStatus != types.TableStatusActive {
		if desc.TableStatus != types.TableStatusCreating && desc.TableStatus != types.TableStatusUpdating {
			return fmt.Errorf("table %s is %s", t.name, desc.TableStatus)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for table %s to become ACTIVE (still %s): %w", t.name, desc.TableStatus, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, maxWaitDelay)
		if desc, err = t.describe(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) create(ctx context.Context) (*types.TableDescription, error) {
	out, err := t.api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(t.name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{
			AttributeName: aws.String(attrTaskID),
			AttributeType: types.ScalarAttributeTypeS,
		}},
		KeySchema: []types.KeySchemaElement{{
			AttributeName: aws.String(attrTaskID),
			KeyType:       types.KeyTypeHash,
		}},
	})
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		// Someone else created it meanwhile: theirs is checked like any.
		return t.describe(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("create table %s: %w", t.name, err)
	}
	if out.TableDescription == nil {
		return t.describe(ctx)
	}
	return out.TableDescription, nil
}

// describe returns the table's description, or an error wrapping
// spawner.ErrNotFound when the table does not exist.
func (t *Table) describe(ctx context.Context) (*types.TableDescription, error) {
	out, err := t.api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)})
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
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
func (t *Table) checkSchema(desc *types.TableDescription) error {
	var keys []string
	for _, k := range desc.KeySchema {
		keys = append(keys, fmt.Sprintf("%s (%s)", aws.ToString(k.AttributeName), k.KeyType))
	}
	wrong := func(why string) error {
		return fmt.Errorf("table %s has key schema [%s]: %s; want only the partition key %s of type S", t.name, strings.Join(keys, ", "), why, attrTaskID)
	}
	if len(desc.KeySchema) != 1 {
		return wrong(fmt.Sprintf("%d key attributes", len(desc.KeySchema)))
	}
	k := desc.KeySchema[0]
	if aws.ToString(k.AttributeName) != attrTaskID || k.KeyType != types.KeyTypeHash {
		return wrong("wrong partition key")
	}
	for _, def := range desc.AttributeDefinitions {
		if aws.ToString(def.AttributeName) == attrTaskID && def.AttributeType != types.ScalarAttributeTypeS {
			return wrong(fmt.Sprintf("%s is of type %s", attrTaskID, def.AttributeType))
		}
	}
	return nil
}

// encode is the item for s. Empty strings and zero times are left out,
// as the original bot left out what it did not know.
func encode(s spawner.Server) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrTaskID:       &types.AttributeValueMemberS{Value: s.Key()},
		attrCreationDate: millis(s.CreatedAt),
	}
	str := func(name, v string) {
		if v != "" {
			item[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	str(attrPublicIP, s.Address)
	str(attrToken, s.Token)
	str(attrChannelID, s.ChannelID)
	str(attrTypeServer, s.Variant)
	str(attrUserID, s.Owner)
	str(attrCreationID, s.CreationID)
	str(attrGame, s.Game)
	str(attrStatusMessageID, s.StatusMessageID)
	str(attrLocale, s.Locale)
	str(attrState, string(s.State))
	if s.Port != 0 {
		item[attrPort] = &types.AttributeValueMemberN{Value: strconv.Itoa(s.Port)}
	}
	if !s.RunningAt.IsZero() {
		item[attrRunningDate] = millis(s.RunningAt)
	}
	if !s.ReadyAt.IsZero() {
		item[attrReadyDate] = millis(s.ReadyAt)
	}
	if s.Warnings > 0 {
		item[attrWarnings] = &types.AttributeValueMemberN{Value: strconv.Itoa(s.Warnings)}
	}
	if s.RuntimeWarned {
		item[attrRuntimeWarned] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if !s.StopsAt.IsZero() {
		item[attrStopAt] = millis(s.StopsAt)
	}
	if s.Extensions > 0 {
		item[attrExtensions] = &types.AttributeValueMemberN{Value: strconv.Itoa(s.Extensions)}
	}
	str(attrRCONPassword, s.RCONPassword)
	str(attrGameTemplate, string(s.GameTemplate))
	if s.Players != 0 {
		item[attrPlayers] = &types.AttributeValueMemberN{Value: strconv.Itoa(min(s.Players, spawner.MaxPlayers))}
	}
	return item
}

func millis(t time.Time) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

// decode turns an item into a server, or says (as an *ItemError) what in
// it is wrong. Attribute values never appear in the error: token is a secret.
func decode(item map[string]types.AttributeValue) (spawner.Server, error) {
	d := decoder{item: item}
	key := d.str(attrTaskID, true)
	if d.err != nil {
		return spawner.Server{}, &ItemError{Err: d.err}
	}
	if key == "" {
		return spawner.Server{}, &ItemError{Err: fmt.Errorf("%s is empty", attrTaskID)}
	}

	var s spawner.Server
	if id, ok := strings.CutPrefix(key, spawner.PendingKeyPrefix); ok {
		s.CreationID = id
	} else {
		s.TaskID = key
	}
	s.Owner = d.str(attrUserID, true)
	s.ChannelID = d.str(attrChannelID, true)
	s.CreatedAt = d.millis(attrCreationDate, true)
	s.Address = d.str(attrPublicIP, false)
	s.Token = d.str(attrToken, false)
	s.Variant = d.str(attrTypeServer, false)
	if id := d.str(attrCreationID, false); id != "" {
		if s.CreationID != "" && id != s.CreationID {
			d.fail(fmt.Errorf("%s does not match the key's creation id", attrCreationID))
		}
		s.CreationID = id
	}
	s.Game = d.str(attrGame, false)
	s.StatusMessageID = d.str(attrStatusMessageID, false)
	s.Locale = d.str(attrLocale, false)
	s.State = spawner.State(d.str(attrState, false))
	if s.State != "" && !s.State.Known() {
		d.fail(fmt.Errorf("%s is not a known state", attrState))
	}
	s.Port = d.port()
	s.RunningAt = d.millis(attrRunningDate, false)
	s.ReadyAt = d.millis(attrReadyDate, false)
	if n, ok := d.number(attrWarnings, false); ok {
		if n < 0 || n > 1000 {
			d.fail(fmt.Errorf("%s is not a small whole number", attrWarnings))
		}
		s.Warnings = int(n)
	}
	s.RuntimeWarned = d.boolean(attrRuntimeWarned)
	s.StopsAt = d.millis(attrStopAt, false)
	if n, ok := d.number(attrExtensions, false); ok {
		if n < 0 || n > 1000 {
			d.fail(fmt.Errorf("%s is not a small whole number", attrExtensions))
		}
		s.Extensions = int(n)
	}
	s.RCONPassword = d.str(attrRCONPassword, false)
	if tpl := d.str(attrGameTemplate, false); tpl != "" {
		s.GameTemplate = []byte(tpl)
	}
	if n, ok := d.number(attrPlayers, false); ok {
		if n < -1 || n > spawner.MaxPlayers {
			d.fail(fmt.Errorf("%s is not a player count", attrPlayers))
		}
		s.Players = int(n)
	}

	if s.Owner == "" && d.err == nil {
		d.fail(fmt.Errorf("%s is empty", attrUserID))
	}
	if s.ChannelID == "" && d.err == nil {
		d.fail(fmt.Errorf("%s is empty", attrChannelID))
	}
	if d.err != nil {
		return spawner.Server{}, &ItemError{Key: key, Err: d.err}
	}
	return s, nil
}

// decoder reads typed attributes of one item, keeping the first problem.
type decoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) str(name string, required bool) string {
	av, ok := d.item[name]
	if !ok {
		if required {
			d.fail(fmt.Errorf("%s is missing", name))
		}
		return ""
	}
	v, ok := av.(*types.AttributeValueMemberS)
	if !ok {
		d.fail(fmt.Errorf("%s is %s, want a string (S)", name, typeName(av)))
		return ""
	}
	return v.Value
}

// boolean reads an optional BOOL attribute.
func (d *decoder) boolean(name string) bool {
	av, ok := d.item[name]
	if !ok {
		return false
	}
	v, ok := av.(*types.AttributeValueMemberBOOL)
	if !ok {
		d.fail(fmt.Errorf("%s is %s, want a boolean (BOOL)", name, typeName(av)))
		return false
	}
	return v.Value
}

// number reads an N attribute as an int64. DynamoDB numbers are decimal
// strings; a JavaScript writer may have stored a float like "1.7e12".
func (d *decoder) number(name string, required bool) (int64, bool) {
	av, ok := d.item[name]
	if !ok {
		if required {
			d.fail(fmt.Errorf("%s is missing", name))
		}
		return 0, false
	}
	v, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		d.fail(fmt.Errorf("%s is %s, want a number (N)", name, typeName(av)))
		return 0, false
	}
	if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(v.Value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		d.fail(fmt.Errorf("%s is not a whole number", name))
		return 0, false
	}
	return int64(f), true
}

func (d *decoder) millis(name string, required bool) time.Time {
	n, ok := d.number(name, required)
	if !ok {
		return time.Time{}
	}
	if n <= 0 {
		d.fail(fmt.Errorf("%s is not a time after 1970", name))
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

func (d *decoder) port() int {
	n, ok := d.number(attrPort, false)
	if !ok {
		return 0
	}
	if n < 1 || n > 65535 {
		d.fail(fmt.Errorf("%s is not a TCP port", attrPort))
		return 0
	}
	return int(n)
}

// typeName is the DynamoDB type letter of av, for error messages.
func typeName(av types.AttributeValue) string {
	switch av.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberB:
		return "B"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	case *types.AttributeValueMemberBS:
		return "BS"
	}
	return fmt.Sprintf("%T", av)
}
