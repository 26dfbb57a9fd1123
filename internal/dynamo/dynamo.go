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

	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/spawner"
)

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
// and then servers is nil. Game templates (keys starting with
// spawner.GameKeyPrefix) are not servers: Load skips them silently.
//
// A server read from an item of the original bot has Port 0 (the caller
// fills in its game's port) and an empty State (the caller treats it as
// ready).
func (t *Table) Load(ctx context.Context) (servers []spawner.Server, problems []error, err error) {
	err = t.scan(ctx, func(item item) {
		if isGame(item) {
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
	err = t.scan(ctx, func(item item) {
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
	err := t.api.JSON(ctx, "PutItem", putItemInput{TableName: t.name, Item: item{
		attrTaskID:    str(spawner.GameKeyPrefix + name),
		attrTemplate:  str(string(doc)),
		attrUpdatedAt: millis(t.now()),
	}}, nil)
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
func (t *Table) scan(ctx context.Context, each func(item)) error {
	in := scanInput{TableName: t.name, ConsistentRead: true}
	for {
		var page scanOutput
		if err := t.api.JSON(ctx, "Scan", in, &page); err != nil {
			return fmt.Errorf("scan table %s: %w", t.name, err)
		}
		for _, it := range page.Items {
			each(it)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// isGame reports whether item is a game template's.
func isGame(it item) bool {
	key, ok := it[attrTaskID].string()
	return ok && strings.HasPrefix(key, spawner.GameKeyPrefix)
}

// decodeGame reads a game template's item.
func decodeGame(item item) (string, []byte, error) {
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
	err := t.api.JSON(ctx, "PutItem", putItemInput{TableName: t.name, Item: encode(s)}, nil)
	if err != nil {
		return fmt.Errorf("put server %s: %w", s.Key(), err)
	}
	return nil
}

// Delete removes the record under key (a Server.Key()). A key that is not
// in the table is not an error.
func (t *Table) Delete(ctx context.Context, key string) error {
	err := t.api.JSON(ctx, "DeleteItem", deleteItemInput{TableName: t.name, Key: item{attrTaskID: str(key)}}, nil)
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

// isAPIError reports whether err is DynamoDB's refusal with code.
func isAPIError(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
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
		if desc, err = t.describe(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) create(ctx context.Context) (*tableDescription, error) {
	var out createTableOutput
	err := t.api.JSON(ctx, "CreateTable", createTableInput{
		TableName:            t.name,
		BillingMode:          "PAY_PER_REQUEST",
		AttributeDefinitions: []attributeDefinition{{AttributeName: attrTaskID, AttributeType: "S"}},
		KeySchema:            []keySchemaElement{{AttributeName: attrTaskID, KeyType: "HASH"}},
	}, &out)
	if isAPIError(err, "ResourceInUseException") {
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

// encode is the item for s. Empty strings and zero times are left out,
// as the original bot left out what it did not know.
func encode(s spawner.Server) item {
	it := item{
		attrTaskID:       str(s.Key()),
		attrCreationDate: millis(s.CreatedAt),
	}
	put := func(name, v string) {
		if v != "" {
			it[name] = str(v)
		}
	}
	put(attrPublicIP, s.Address)
	put(attrToken, s.Token)
	put(attrChannelID, s.ChannelID)
	put(attrTypeServer, s.Variant)
	put(attrUserID, s.Owner)
	put(attrCreationID, s.CreationID)
	put(attrGame, s.Game)
	put(attrStatusMessageID, s.StatusMessageID)
	put(attrLocale, s.Locale)
	put(attrState, string(s.State))
	if s.Port != 0 {
		it[attrPort] = number(s.Port)
	}
	if !s.RunningAt.IsZero() {
		it[attrRunningDate] = millis(s.RunningAt)
	}
	if !s.ReadyAt.IsZero() {
		it[attrReadyDate] = millis(s.ReadyAt)
	}
	if s.Warnings > 0 {
		it[attrWarnings] = number(s.Warnings)
	}
	if s.RuntimeWarned {
		it[attrRuntimeWarned] = boolean(true)
	}
	if !s.StopsAt.IsZero() {
		it[attrStopAt] = millis(s.StopsAt)
	}
	if s.Extensions > 0 {
		it[attrExtensions] = number(s.Extensions)
	}
	put(attrRCONPassword, s.RCONPassword)
	put(attrGameTemplate, string(s.GameTemplate))
	if s.Players != 0 {
		it[attrPlayers] = number(min(s.Players, spawner.MaxPlayers))
	}
	return it
}

func millis(t time.Time) value {
	return value{"N": strconv.AppendQuote(nil, strconv.FormatInt(t.UnixMilli(), 10))}
}

// decode turns an item into a server, or says (as an *ItemError) what in
// it is wrong. Attribute values never appear in the error: token is a secret.
func decode(item item) (spawner.Server, error) {
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
		s.TaskARN = key
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
	item item
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
	v, ok := av.string()
	if !ok {
		d.fail(fmt.Errorf("%s is %s, want a string (S)", name, av.typeName()))
		return ""
	}
	return v
}

// boolean reads an optional BOOL attribute.
func (d *decoder) boolean(name string) bool {
	av, ok := d.item[name]
	if !ok {
		return false
	}
	v, ok := av.boolean()
	if !ok {
		d.fail(fmt.Errorf("%s is %s, want a boolean (BOOL)", name, av.typeName()))
		return false
	}
	return v
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
	v, ok := av.number()
	if !ok {
		d.fail(fmt.Errorf("%s is %s, want a number (N)", name, av.typeName()))
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(v, 64)
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
