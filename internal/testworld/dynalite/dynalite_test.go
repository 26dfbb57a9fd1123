package dynalite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
)

func createTable(tb testing.TB, db *dynamodb.Client, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("k"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("k"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		tb.Fatalf("create table %s: %v", name, err)
	}
}

func TestStartServesDynamoDB(t *testing.T) {
	inst := dynalite.Start(t)
	db := dynalite.NewClient(t, inst.Endpoint())
	createTable(t, db, "things")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("things")})
	if err != nil {
		t.Fatalf("describe table: %v", err)
	}
	// createTableMs is 0: the table is usable at once.
	if out.Table.TableStatus != types.TableStatusActive {
		t.Errorf("table status = %s, want ACTIVE right after creation", out.Table.TableStatus)
	}
}

func TestInstancesAreIsolated(t *testing.T) {
	a, b := dynalite.Start(t), dynalite.Start(t)
	if a.Endpoint() == b.Endpoint() {
		t.Fatalf("two instances share endpoint %s", a.Endpoint())
	}
	createTable(t, dynalite.NewClient(t, a.Endpoint()), "only-in-a")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := dynalite.NewClient(t, b.Endpoint()).ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("list tables on b: %v", err)
	}
	if len(out.TableNames) != 0 {
		t.Errorf("b sees tables %v created in a", out.TableNames)
	}
}

func TestProxyDownThenUpKeepsData(t *testing.T) {
	inst := dynalite.Start(t)
	proxy := inst.Proxy(t)
	db := dynalite.NewClient(t, proxy.Endpoint())
	createTable(t, db, "things")

	put := func(ctx context.Context, k string) error {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String("things"),
			Item:      map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: k}},
		})
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := put(ctx, "before"); err != nil {
		t.Fatalf("put through the proxy while up: %v", err)
	}

	proxy.Down()
	proxy.Down() // idempotent
	downCtx, downCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer downCancel()
	start := time.Now()
	err := put(downCtx, "during")
	if err == nil {
		t.Fatal("put while the proxy is down succeeded")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put while down hung until the deadline (%v) instead of failing: %v", time.Since(start), err)
	}

	proxy.Up()
	if err := put(ctx, "after"); err != nil {
		t.Fatalf("put after Up: %v", err)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("things"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	got := map[string]bool{}
	for _, it := range out.Items {
		got[it["k"].(*types.AttributeValueMemberS).Value] = true
	}
	if !got["before"] || !got["after"] || got["during"] || len(got) != 2 {
		t.Errorf("items after the outage = %v, want before and after only", got)
	}
}

func TestProxyDownCutsOpenConnections(t *testing.T) {
	inst := dynalite.Start(t)
	proxy := inst.Proxy(t)
	db := dynalite.NewClient(t, proxy.Endpoint())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A first call leaves a kept-alive connection in the client's pool.
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("list tables while up: %v", err)
	}
	proxy.Down()
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); err == nil {
		t.Fatal("list tables over a connection opened before Down succeeded")
	}
	proxy.Up()
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("list tables after Up: %v", err)
	}
}

// TestStartIsCheap starts several instances at once, as parallel packages
// do, and logs how long each took.
func TestStartIsCheap(t *testing.T) {
	const n = 4
	var mu sync.Mutex
	var took []time.Duration
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				dynalite.Start(t)
				mu.Lock()
				took = append(took, time.Since(start))
				mu.Unlock()
			})
		}
	})
	t.Logf("%d concurrent dynalite starts took %v", n, took)
}

// fatalTB records the first Fatalf and stops the goroutine, as testing does.
type fatalTB struct {
	testing.TB
	msg chan string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg <- fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartFailsLoudlyWithoutNodeModules(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)

	tb := &fatalTB{TB: t, msg: make(chan string, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dynalite.Start(tb)
	}()
	<-done
	select {
	case msg := <-tb.msg:
		if !strings.Contains(msg, "npm ci") || !strings.Contains(msg, "node_modules") {
			t.Errorf("failure message %q does not tell to run npm ci", msg)
		}
	default:
		t.Fatal("Start without node_modules returned instead of failing the test")
	}
}
