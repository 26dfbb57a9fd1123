package dynamo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// ttlAPI is dynalite with a time to live API, which dynalite lacks: it
// records what UpdateTimeToLive was asked, and answers err.
type ttlAPI struct {
	dynamo.API
	err error

	mu    sync.Mutex
	calls []ttlCall
}

// ttlCall is an UpdateTimeToLive request, as DynamoDB reads it.
type ttlCall struct {
	TableName               string
	TimeToLiveSpecification *struct {
		AttributeName string
		Enabled       bool
	}
}

func (a *ttlAPI) JSON(ctx context.Context, op string, in, out any) error {
	if op != "UpdateTimeToLive" {
		return a.API.JSON(ctx, op, in, out)
	}
	doc, err := json.Marshal(in)
	if err != nil {
		return err
	}
	var call ttlCall
	if err := json.Unmarshal(doc, &call); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, call)
	return a.err
}

func (a *ttlAPI) recorded() []ttlCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ttlCall(nil), a.calls...)
}

// dynaliteAPI is the table's client of a new dynalite.
func dynaliteAPI(t *testing.T) dynamo.API {
	return dynamo.NewClient(dynalite.AWSConfig(dynalite.Start(t).Endpoint()), nil)
}

// A table EnsureTable makes gets its time to live on expiresAt, so
// DynamoDB deletes sessions and reports 13 months on; a table that was
// there already is left as its owner (the Terraform) made it.
func TestEnsureTableTurnsOnTimeToLive(t *testing.T) {
	t.Parallel()
	api := &ttlAPI{API: dynaliteAPI(t)}
	table := dynamo.New(api, tableName)
	for range 2 {
		if err := table.EnsureTable(wait.Context(t)); err != nil {
			t.Fatalf("ensure table: %v", err)
		}
	}
	calls := api.recorded()
	if len(calls) != 1 {
		t.Fatalf("UpdateTimeToLive called %d times, want once, for the table made", len(calls))
	}
	spec := calls[0].TimeToLiveSpecification
	if calls[0].TableName != tableName || spec == nil || spec.AttributeName != "expiresAt" || !spec.Enabled {
		t.Errorf("UpdateTimeToLive(%s, %+v), want expiresAt enabled on %s", calls[0].TableName, spec, tableName)
	}
}

func TestEnsureTableTimeToLiveRefused(t *testing.T) {
	t.Parallel()
	api := &ttlAPI{API: dynaliteAPI(t), err: errors.New("access denied")}
	err := dynamo.New(api, tableName).EnsureTable(wait.Context(t))
	if err == nil || !strings.Contains(err.Error(), "time to live of table "+tableName+" on expiresAt") {
		t.Errorf("EnsureTable = %v, want the refusal naming the table and expiresAt", err)
	}
}

// The session's item is the record's rules in DynamoDB's types, with its
// time to live in Unix seconds, 13 months after the session ended.
func TestSessionItem(t *testing.T) {
	t.Parallel()
	table, db := newTable(t)
	start := time.Date(2026, 11, 5, 20, 0, 0, 0, time.UTC)
	sess := spawner.Session{ID: "c-1", Owner: "8", Game: "minecraft", StartedAt: start, EndedAt: start.Add(time.Hour),
		CPU: 1024, Memory: 2048, Capacity: spawner.CapacityFargate, Region: "eu-west-3", PublicIP: true}
	if err := table.PutSession(wait.Context(t), sess); err != nil {
		t.Fatalf("put session: %v", err)
	}
	item := getRaw(t, db, "session/c-1")
	want := map[string]string{
		"userId": "S", "game": "S", "startedAt": "N", "endedAt": "N", "cpu": "N", "memory": "N",
		"capacity": "S", "region": "S", "publicIp": "BOOL", "expiresAt": "N", "taskId": "S",
	}
	for name, typ := range want {
		if got := typeOf(item[name]); got != typ {
			t.Errorf("%s is %s, want %s", name, got, typ)
		}
	}
	if len(item) != len(want) {
		t.Errorf("item has %d attributes, want %d", len(item), len(want))
	}
	// 13 months after 5 November 2026 21:00 UTC: 5 December 2027 21:00 UTC.
	wantTTL := strconv.FormatInt(time.Date(2027, 12, 5, 21, 0, 0, 0, time.UTC).Unix(), 10)
	if ttl, ok := item["expiresAt"].(*types.AttributeValueMemberN); !ok || ttl.Value != wantTTL {
		t.Errorf("expiresAt = %+v, want %s (Unix seconds)", item["expiresAt"], wantTTL)
	}
}

// typeOf is the DynamoDB type of av: "S", "N", "BOOL", ...
func typeOf(av types.AttributeValue) string {
	switch av.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case nil:
		return "absent"
	}
	return fmt.Sprintf("%T", av)
}

// scanCounter is an HTTP client that counts the items DynamoDB's Scan
// answers carried.
type scanCounter struct {
	next  aws.HTTPClient
	mu    sync.Mutex
	items int
}

func (c *scanCounter) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	if err != nil || !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".Scan") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var page struct{ Count int }
	if json.Unmarshal(body, &page) == nil {
		c.mu.Lock()
		c.items += page.Count
		c.mu.Unlock()
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// Sessions can be thousands: the start's Scan does not carry them at all,
// DynamoDB filters them away.
func TestLoadAllLeavesSessionsInTheTable(t *testing.T) {
	t.Parallel()
	cfg := dynalite.AWSConfig(dynalite.Start(t).Endpoint())
	api := &scanCounter{next: awshttp.NewBuildableClient()}
	cfg.HTTPClient = api
	table := dynamo.New(dynamo.NewClient(cfg, nil), tableName)
	ctx := wait.Context(t)
	if err := table.EnsureTable(ctx); err != nil {
		t.Fatalf("ensure table: %v", err)
	}
	start := time.Date(2026, 11, 5, 20, 0, 0, 0, time.UTC)
	for _, id := range []string{"a", "b", "c"} {
		sess := spawner.Session{ID: id, Owner: "8", StartedAt: start, Capacity: spawner.CapacityDocker}
		if err := table.PutSession(ctx, sess); err != nil {
			t.Fatalf("put session: %v", err)
		}
	}
	if err := table.PutReport(ctx, spawner.MonthOf(start), start); err != nil {
		t.Fatalf("put report: %v", err)
	}
	if err := table.PutCooldown(ctx, "8", start); err != nil {
		t.Fatalf("put cooldown: %v", err)
	}
	snap := loadAll(t, table)
	if len(snap.Cooldowns) != 1 || len(snap.Servers) != 0 {
		t.Errorf("LoadAll = %+v, want the cooldown alone", snap)
	}
	if api.items != 1 {
		t.Errorf("the start's Scan carried %d items, want 1: sessions and reports stay in the table", api.items)
	}
}
