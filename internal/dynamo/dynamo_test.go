package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

const tableName = "spawner-servers"

// newTable starts a dynalite with the server table created by EnsureTable.
func newTable(tb testing.TB) (*dynamo.Table, *dynamodb.Client) {
	tb.Helper()
	endpoint := dynalite.Start(tb).Endpoint()
	table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig(endpoint), nil), tableName)
	if err := table.EnsureTable(wait.Context(tb)); err != nil {
		tb.Fatalf("ensure table: %v", err)
	}
	return table, dynalite.NewClient(tb, endpoint)
}

func putRaw(tb testing.TB, db *dynamodb.Client, item map[string]types.AttributeValue) {
	tb.Helper()
	_, err := db.PutItem(wait.Context(tb), &dynamodb.PutItemInput{TableName: aws.String(tableName), Item: item})
	if err != nil {
		tb.Fatalf("put raw item: %v", err)
	}
}

func getRaw(tb testing.TB, db *dynamodb.Client, key string) map[string]types.AttributeValue {
	tb.Helper()
	out, err := db.GetItem(wait.Context(tb), &dynamodb.GetItemInput{
		TableName:      aws.String(tableName),
		Key:            map[string]types.AttributeValue{"taskId": s(key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		tb.Fatalf("get raw item %s: %v", key, err)
	}
	return out.Item
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// loadAll reads the whole table.
func loadAll(tb testing.TB, table *dynamo.Table) spawner.Snapshot {
	tb.Helper()
	snap, err := table.LoadAll(wait.Context(tb))
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	sort.Slice(snap.Servers, func(i, j int) bool { return snap.Servers[i].Key() < snap.Servers[j].Key() })
	return snap
}

// load reads the table's servers, sorted by key, and the problems of the
// records that are not game templates.
func load(tb testing.TB, table *dynamo.Table) ([]spawner.Server, []error) {
	tb.Helper()
	snap := loadAll(tb, table)
	return snap.Servers, snap.Problems
}

func TestPutLoadRoundTripsEveryField(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	ready := records.Full()
	pending := records.Pending()
	for _, srv := range []spawner.Server{ready, pending} {
		if err := table.Put(wait.Context(t), srv); err != nil {
			t.Fatalf("put %s: %v", srv.Key(), err)
		}
	}

	servers, problems := load(t, table)
	if len(problems) != 0 {
		t.Fatalf("problems loading what Put wrote: %v", problems)
	}
	want := []spawner.Server{ready, pending}
	sort.Slice(want, func(i, j int) bool { return want[i].Key() < want[j].Key() })
	if !reflect.DeepEqual(servers, want) {
		t.Errorf("loaded\n%+v\nwant\n%+v", servers, want)
	}

	// The original bot's attributes, with its names and types.
	item := getRaw(t, db, records.TaskARN)
	wantRaw := map[string]types.AttributeValue{
		"taskId":          s(records.TaskARN),
		"publicIpAddress": s("203.0.113.7"),
		"token":           s("s3cr3t-admin-token"),
		"creationDate":    n("1714595415123"),
		"channelId":       s("222222222222222222"),
		"typeServer":      s("non_official"),
		"userId":          s("111111111111111111"),
	}
	// Ours: the stop time, the extensions, RCON and the game's template.
	wantRaw["stopAt"] = n("1714606215128")
	wantRaw["extensions"] = n("2")
	wantRaw["rconPassword"] = s("rcon-pa55")
	wantRaw["gameTemplate"] = s(`{"name":"valheim","title":"Valheim","port":2456}`)
	for name, want := range wantRaw {
		if got := item[name]; !reflect.DeepEqual(got, want) {
			t.Errorf("stored %s = %#v, want %#v", name, got, want)
		}
	}
	if _, ok := item["players"]; ok {
		t.Errorf("the player count was stored: %v", item["players"])
	}
	if item := getRaw(t, db, "creation/c-43"); item == nil {
		t.Errorf("pending server not stored under creation/c-43")
	}
}

func TestPutReplacesWholeItem(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	srv := records.Full()
	if err := table.Put(wait.Context(t), srv); err != nil {
		t.Fatalf("put: %v", err)
	}
	srv.Token = ""
	srv.State = spawner.StateStopping
	for range 2 { // idempotent
		if err := table.Put(wait.Context(t), srv); err != nil {
			t.Fatalf("put again: %v", err)
		}
	}
	if _, ok := getRaw(t, db, records.TaskARN)["token"]; ok {
		t.Errorf("token still stored after a Put without it")
	}
	servers, _ := load(t, table)
	if len(servers) != 1 || servers[0].State != spawner.StateStopping {
		t.Errorf("loaded %+v, want one server stopping", servers)
	}
}

func TestPutRefusesUnloadableServer(t *testing.T) {
	t.Parallel()
	table, _ := newTable(t)
	base := records.Full()
	cases := map[string]func(*spawner.Server){
		"no key":          func(s *spawner.Server) { s.TaskID, s.CreationID = "", "" },
		"no owner":        func(s *spawner.Server) { s.Owner = "" },
		"no channel":      func(s *spawner.Server) { s.ChannelID = "" },
		"no created time": func(s *spawner.Server) { s.CreatedAt = time.Time{} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			srv := base
			mutate(&srv)
			if err := table.Put(wait.Context(t), srv); err == nil {
				t.Errorf("Put accepted a server Load could not read back: %+v", srv)
			}
		})
	}
	if servers, problems := load(t, table); len(servers)+len(problems) != 0 {
		t.Errorf("table holds %v %v after refused puts", servers, problems)
	}
}

// TestLoadAdoptsOriginalItem writes an item exactly as the original
// JavaScript bot did and expects a server from it.
func TestLoadAdoptsOriginalItem(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	putRaw(t, db, map[string]types.AttributeValue{
		"taskId":          s(records.TaskARN),
		"publicIpAddress": s("198.51.100.20"),
		"token":           s("d41d8cd98f00b204"),
		"creationDate":    n("1700000000123"),
		"channelId":       s("987654321098765432"),
		"typeServer":      s("official"),
		"userId":          s("123456789012345678"),
	})

	servers, problems := load(t, table)
	if len(problems) != 0 {
		t.Fatalf("problems with an original item: %v", problems)
	}
	want := []spawner.Server{{
		TaskID:    records.TaskARN,
		Address:   "198.51.100.20",
		Token:     "d41d8cd98f00b204",
		CreatedAt: time.UnixMilli(1700000000123).UTC(),
		ChannelID: "987654321098765432",
		Variant:   "official",
		Owner:     "123456789012345678",
		// Port 0 and State "": the caller fills the game's port and treats it as ready.
	}}
	if !reflect.DeepEqual(servers, want) {
		t.Errorf("loaded %+v\nwant %+v", servers, want)
	}
}

// The rules of a malformed item are the contract's (bolt's
// TestContractMalformedRecords, run on both stores); here, the DynamoDB
// types only a table can hold are named in the problem.
func TestLoadNamesTheDynamoTypes(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	good := func(key string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"taskId": s(key), "creationDate": n("1700000000000"), "channelId": s("9"), "userId": s("8")}
	}
	bad := map[string]struct {
		attr string
		av   types.AttributeValue
		says string
	}{
		"null":   {"port", &types.AttributeValueMemberNULL{Value: true}, "port is null, want a number"},
		"binary": {"token", &types.AttributeValueMemberB{Value: []byte("secret")}, "token is binary, want a string"},
		"set":    {"channelId", &types.AttributeValueMemberSS{Value: []string{"1", "2"}}, "channelId is a set, want a string"},
		"map":    {"runtimeWarned", &types.AttributeValueMemberM{}, "runtimeWarned is a map, want a boolean"},
	}
	for key, b := range bad {
		item := good(key)
		item[b.attr] = b.av
		putRaw(t, db, item)
	}
	putRaw(t, db, good("good"))
	servers, problems := load(t, table)
	if len(servers) != 1 || servers[0].Key() != "good" {
		t.Errorf("loaded %+v, want the good one", servers)
	}
	got := map[string]string{}
	for _, p := range problems {
		var re *spawner.RecordError
		if !errors.As(p, &re) {
			t.Errorf("problem %v is not a *spawner.RecordError", p)
			continue
		}
		got[re.Key] = p.Error()
	}
	for key, b := range bad {
		if want := fmt.Sprintf("item %q: %s", key, b.says); got[key] != want {
			t.Errorf("problem for %s = %q, want %q", key, got[key], want)
		}
	}
	if len(problems) != len(bad) {
		t.Errorf("problems = %v, want one per bad item", problems)
	}
}

// scanStub answers Scan with a fixed page, as DynamoDB's JSON; the key
// cases cannot be stored in a table whose key is taskId (S), but another
// writer's table might hold them.
type scanStub struct{ page string }

func (f scanStub) JSON(_ context.Context, op string, _, out any) error {
	if op != "Scan" {
		return errors.New("scanStub: " + op)
	}
	return json.Unmarshal([]byte(f.page), out)
}

func TestLoadReportsItemsWithoutUsableKey(t *testing.T) {
	t.Parallel()
	const rest = `"creationDate": {"N": "1700000000000"}, "channelId": {"S": "1"}, "userId": {"S": "2"}`
	table := dynamo.New(scanStub{page: `{"Items": [
		{` + rest + `},
		{"taskId": {"N": "12"}, ` + rest + `},
		{"taskId": {"S": ""}, ` + rest + `}
	]}`}, tableName)
	servers, problems := load(t, table)
	if len(servers) != 0 || len(problems) != 3 {
		t.Fatalf("loaded %v with problems %v, want 3 problems", servers, problems)
	}
	want := []string{
		"item without a usable taskId: taskId is missing",
		"item without a usable taskId: taskId is a number, want a string",
		"item without a usable taskId: taskId is empty",
	}
	for i, p := range problems {
		if p.Error() != want[i] {
			t.Errorf("problem %d = %q, want %q", i, p, want[i])
		}
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	t.Parallel()
	table, _ := newTable(t)
	srv := records.Full()
	if err := table.Put(wait.Context(t), srv); err != nil {
		t.Fatalf("put: %v", err)
	}
	for i := range 2 {
		if err := table.Delete(wait.Context(t), srv.Key()); err != nil {
			t.Fatalf("delete #%d: %v", i+1, err)
		}
	}
	if err := table.Delete(wait.Context(t), "creation/never-written"); err != nil {
		t.Errorf("delete of a key never written: %v", err)
	}
	if servers, problems := load(t, table); len(servers)+len(problems) != 0 {
		t.Errorf("after delete the table holds %v %v", servers, problems)
	}
}

func TestEnsureTableCreatesThenIsANoOp(t *testing.T) {
	t.Parallel()
	endpoint := dynalite.Start(t).Endpoint()
	db := dynalite.NewClient(t, endpoint)
	table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig(endpoint), nil), tableName)

	err := table.Check(wait.Context(t))
	if !errors.Is(err, spawner.ErrNotFound) || !strings.Contains(err.Error(), tableName) {
		t.Fatalf("Check on a missing table = %v, want not found naming %s", err, tableName)
	}
	if err := table.EnsureTable(wait.Context(t)); err != nil {
		t.Fatalf("ensure table: %v", err)
	}
	if err := table.Check(wait.Context(t)); err != nil {
		t.Fatalf("Check after EnsureTable: %v", err)
	}
	out, err := db.DescribeTable(wait.Context(t), &dynamodb.DescribeTableInput{TableName: aws.String(tableName)})
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	if bm := out.Table.BillingModeSummary; bm == nil || bm.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v, want on-demand", bm)
	}

	if err := table.Put(wait.Context(t), records.Full()); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := table.EnsureTable(wait.Context(t)); err != nil {
		t.Fatalf("ensure table again: %v", err)
	}
	if servers, _ := load(t, table); len(servers) != 1 {
		t.Errorf("after a second EnsureTable the table holds %d servers, want the 1 written before", len(servers))
	}
}

func TestCheckAndEnsureRefuseAnotherKeySchema(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		attrs []types.AttributeDefinition
		keys  []types.KeySchemaElement
	}{
		{
			name:  "other partition key",
			attrs: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			keys:  []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		},
		{
			name:  "taskId a number",
			attrs: []types.AttributeDefinition{{AttributeName: aws.String("taskId"), AttributeType: types.ScalarAttributeTypeN}},
			keys:  []types.KeySchemaElement{{AttributeName: aws.String("taskId"), KeyType: types.KeyTypeHash}},
		},
		{
			name: "with a sort key",
			attrs: []types.AttributeDefinition{
				{AttributeName: aws.String("taskId"), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String("at"), AttributeType: types.ScalarAttributeTypeN},
			},
			keys: []types.KeySchemaElement{
				{AttributeName: aws.String("taskId"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("at"), KeyType: types.KeyTypeRange},
			},
		},
	}
	endpoint := dynalite.Start(t).Endpoint()
	db := dynalite.NewClient(t, endpoint)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := tableName + "-" + string(rune('a'+i))
			_, err := db.CreateTable(wait.Context(t), &dynamodb.CreateTableInput{
				TableName:            aws.String(name),
				BillingMode:          types.BillingModePayPerRequest,
				AttributeDefinitions: c.attrs,
				KeySchema:            c.keys,
			})
			if err != nil {
				t.Fatalf("create table: %v", err)
			}
			table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig(endpoint), nil), name)
			for op, f := range map[string]func(context.Context) error{"Check": table.Check, "EnsureTable": table.EnsureTable} {
				err := f(wait.Context(t))
				if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "key schema") {
					t.Errorf("%s = %v, want a key schema error naming %s", op, err, name)
				}
				var p *spawner.Problem
				if op == "Check" && (!errors.As(err, &p) || p.Var != "AWS_DYNAMODB_TABLE_NAME" || errors.Is(err, spawner.ErrUnreachable)) {
					t.Errorf("Check = %#v, want a *spawner.Problem naming AWS_DYNAMODB_TABLE_NAME", err)
				}
			}
		})
	}
}

// countingAPI counts the Scan calls, to see LoadAll follow LastEvaluatedKey
// and read the table once.
type countingAPI struct {
	dynamo.API
	scans atomic.Int32
}

func (c *countingAPI) JSON(ctx context.Context, op string, in, out any) error {
	if op == "Scan" {
		c.scans.Add(1)
	}
	return c.API.JSON(ctx, op, in, out)
}

func TestLoadReadsEveryPage(t *testing.T) {
	t.Parallel()
	endpoint := dynalite.Start(t).Endpoint()
	api := &countingAPI{API: dynamo.NewClient(dynalite.AWSConfig(endpoint), nil)}
	if err := dynamo.New(api, tableName).EnsureTable(wait.Context(t)); err != nil {
		t.Fatalf("ensure table: %v", err)
	}
	table := dynamo.New(api, tableName)

	// A Scan page holds at most 1 MB: eight items of ~300 KB need several.
	const count = 8
	big := strings.Repeat("x", 300<<10)
	srv := records.Full()
	for i := range count {
		srv.TaskID = records.TaskARN + string(rune('a'+i))
		srv.Token = big
		if err := table.Put(wait.Context(t), srv); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	servers, problems := load(t, table)
	if len(servers) != count || len(problems) != 0 {
		t.Errorf("loaded %d servers (problems %v), want %d", len(servers), problems, count)
	}
	if got := api.scans.Load(); got < 2 {
		t.Errorf("LoadAll made %d Scan call(s); the test did not force paging", got)
	}
}

// At start the daemon reads the table once: one Scan gives the servers,
// the game templates and the cooldowns.
func TestLoadAllScansOnce(t *testing.T) {
	t.Parallel()
	endpoint := dynalite.Start(t).Endpoint()
	api := &countingAPI{API: dynamo.NewClient(dynalite.AWSConfig(endpoint), nil)}
	table := dynamo.New(api, tableName)
	ctx := wait.Context(t)
	if err := table.EnsureTable(ctx); err != nil {
		t.Fatalf("ensure table: %v", err)
	}
	if err := table.Put(ctx, records.Full()); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := table.PutGame(ctx, "paper", []byte(`{"name":"paper"}`)); err != nil {
		t.Fatalf("put game: %v", err)
	}
	if err := table.PutCooldown(ctx, "111", time.UnixMilli(1700000000000)); err != nil {
		t.Fatalf("put cooldown: %v", err)
	}
	snap := loadAll(t, table)
	if len(snap.Servers) != 1 || len(snap.Games) != 1 || len(snap.Cooldowns) != 1 || len(snap.Problems)+len(snap.GameProblems) != 0 {
		t.Errorf("LoadAll = %+v, want a server, a game and a cooldown", snap)
	}
	if got := api.scans.Load(); got != 1 {
		t.Errorf("LoadAll made %d Scan calls, want 1", got)
	}
}

func TestOutageFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	inst := dynalite.Start(t)
	proxy := inst.Proxy(t)
	table := dynamo.New(dynamo.NewClient(dynalite.AWSConfig(proxy.Endpoint()), nil), tableName)
	if err := table.EnsureTable(wait.Context(t)); err != nil {
		t.Fatalf("ensure table: %v", err)
	}
	before := records.Full()
	if err := table.Put(wait.Context(t), before); err != nil {
		t.Fatalf("put: %v", err)
	}

	proxy.Down()
	ops := map[string]func(context.Context) error{
		"Put":         func(ctx context.Context) error { return table.Put(ctx, before) },
		"Delete":      func(ctx context.Context) error { return table.Delete(ctx, before.Key()) },
		"LoadAll":     func(ctx context.Context) error { _, err := table.LoadAll(ctx); return err },
		"Check":       table.Check,
		"PutGame":     func(ctx context.Context) error { return table.PutGame(ctx, "valheim", []byte(`{}`)) },
		"PutCooldown": func(ctx context.Context) error { return table.PutCooldown(ctx, "111", time.Now()) },
	}
	for name, op := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		err := op(ctx)
		cancel()
		if err == nil {
			t.Errorf("%s while DynamoDB is down succeeded", name)
		} else if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s while down hung %v until its deadline: %v", name, time.Since(start), err)
		}
		if name == "Check" {
			var p *spawner.Problem
			if !errors.As(err, &p) || p.Var != "" || !errors.Is(err, spawner.ErrUnreachable) {
				t.Errorf("Check while down = %#v, want a *spawner.Problem with no variable wrapping spawner.ErrUnreachable", err)
			}
		}
	}

	proxy.Up()
	servers, problems := load(t, table)
	if len(servers) != 1 || len(problems) != 0 || servers[0].Key() != before.Key() {
		t.Fatalf("after the outage loaded %+v (problems %v), want the server written before", servers, problems)
	}
	if err := table.Delete(wait.Context(t), before.Key()); err != nil {
		t.Errorf("delete after the outage: %v", err)
	}
}
