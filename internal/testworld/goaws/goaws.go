// Package goaws runs an SQS for tests: github.com/Admiral-Piett/goaws
// (v0.5.4, which speaks the JSON protocol of the current aws-sdk-go-v2 sqs
// client) in this process, on a 127.0.0.1:0 port, with its periodic tasks
// (visibility-timeout expiry) running. It is an SNS as well, on the same
// endpoint (sns.go).
//
// goaws keeps its queues and its configuration in package-level variables,
// so only one SQS can run at a time in a test binary: Start takes a package
// lock that it releases when the test ends, and tests that call it must not
// call t.Parallel (they would only wait for each other). Each Start begins
// with no queue but DefaultQueue.
package goaws

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/Admiral-Piett/goaws/app/gosqs"
	"github.com/Admiral-Piett/goaws/app/models"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sirupsen/logrus"
)

// Defaults of an SQS.
const (
	Region       = "eu-west-3"
	Account      = "123456789012"
	DefaultQueue = "spawner-events"
	// VisibilityTimeout is how long a received message stays hidden before
	// it is delivered again, in seconds.
	VisibilityTimeout = 30
)

// global is held from Start until the test's cleanup: goaws's state is
// package-level.
var global sync.Mutex

// SQS is a running goaws. Its methods are safe for concurrent use.
type SQS struct {
	tb     testing.TB
	addr   string // 127.0.0.1:port, kept across Down and Up
	client *sqs.Client

	mu       sync.Mutex
	srv      *http.Server
	inflight sync.WaitGroup // requests being served
	quit     chan bool      // stops gosqs.PeriodicTasks
}

// Start runs goaws on 127.0.0.1:0 with DefaultQueue created, after any SQS
// of another test has stopped; it stops when tb ends.
func Start(tb testing.TB) *SQS {
	tb.Helper()
	global.Lock()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		global.Unlock()
		tb.Fatalf("goaws: listen: %v", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	// Nothing of goaws runs between tests, so its globals can be reset here.
	logrus.SetOutput(io.Discard)
	models.CurrentEnvironment = models.Environment{
		Host:      "127.0.0.1",
		Port:      port,
		AccountID: Account,
		// Region stays empty: goaws would put it in front of the host
		// in queue URLs ("http://region.127.0.0.1:port/...").
		QueueAttributeDefaults: models.EnvQueueAttributes{
			VisibilityTimeout:  VisibilityTimeout,
			MaximumMessageSize: 262144,
		},
	}
	models.SyncQueues.Lock()
	models.SyncQueues.Queues = make(map[string]*models.Queue)
	models.SyncQueues.Unlock()
	models.SyncTopics.Lock()
	models.SyncTopics.Topics = make(map[string]*models.Topic)
	models.SyncTopics.Unlock()

	q := &SQS{tb: tb, addr: ln.Addr().String(), quit: make(chan bool)}
	q.client = sqs.NewFromConfig(q.AWSConfig())
	go gosqs.PeriodicTasks(100*time.Millisecond, q.quit)
	q.serve(ln)
	tb.Cleanup(func() {
		q.Down()
		q.quit <- true // unbuffered: PeriodicTasks has returned from its last pass
		global.Unlock()
	})
	q.CreateQueue(tb, DefaultQueue)
	return q
}

func (q *SQS) serve(ln net.Listener) {
	h := router.New()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q.inflight.Add(1)
		defer q.inflight.Done()
		if getTopicAttributes(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})}
	q.mu.Lock()
	q.srv = srv
	q.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			q.tb.Errorf("goaws: serve: %v", err)
		}
	}()
}

// Endpoint is the SDK's BaseEndpoint for this SQS (AWS_ENDPOINT_URL_SQS).
func (q *SQS) Endpoint() string { return "http://" + q.addr }

// AWSConfig is an SDK configuration for this SQS: Region, static test
// credentials (goaws checks none) and BaseEndpoint set to Endpoint.
func (q *SQS) AWSConfig() aws.Config {
	return aws.Config{
		Region: Region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDGOAWSTEST", SecretAccessKey: "goaws-test-secret", Source: "goaws"}, nil
		}),
		BaseEndpoint: aws.String(q.Endpoint()),
	}
}

// Client is a real SDK client of this SQS.
func (q *SQS) Client() *sqs.Client { return q.client }

// QueueURL is the URL of the queue named name, as goaws writes it.
func (q *SQS) QueueURL(name string) string {
	return "http://" + q.addr + "/" + Account + "/" + name
}

// CreateQueue creates the queue named name through the SDK (idempotent) and
// returns its URL.
func (q *SQS) CreateQueue(tb testing.TB, name string) string {
	tb.Helper()
	out, err := q.client.CreateQueue(context.Background(), &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{"VisibilityTimeout": strconv.Itoa(VisibilityTimeout)},
	})
	if err != nil {
		tb.Fatalf("goaws: create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// Send sends body to DefaultQueue through the SDK.
func (q *SQS) Send(tb testing.TB, body string) {
	tb.Helper()
	q.SendTo(tb, DefaultQueue, body)
}

// SendTo sends body to the queue named name through the SDK.
func (q *SQS) SendTo(tb testing.TB, name, body string) {
	tb.Helper()
	_, err := q.client.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.QueueURL(name)),
		MessageBody: aws.String(body),
	})
	if err != nil {
		tb.Fatalf("goaws: send to %s: %v", name, err)
	}
}

// Depth is the number of messages in DefaultQueue, received or not: a
// message leaves only when it is deleted.
func (q *SQS) Depth() int { return q.DepthOf(DefaultQueue) }

// DepthOf is Depth of the queue named name; -1 when there is no such queue.
func (q *SQS) DepthOf(name string) int {
	models.SyncQueues.RLock()
	defer models.SyncQueues.RUnlock()
	queue, ok := models.SyncQueues.Queues[name]
	if !ok {
		return -1
	}
	return len(queue.Messages)
}

// Down closes the listener and every connection, as a queue that cannot be
// reached: clients get connection errors until Up. Queues keep their
// messages. It returns once no request is being served. Down of a down SQS
// does nothing.
func (q *SQS) Down() {
	q.mu.Lock()
	srv := q.srv
	q.srv = nil
	q.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	q.inflight.Wait()
}

// Up listens again on the same address after Down. Up of a running SQS does
// nothing.
func (q *SQS) Up(tb testing.TB) {
	tb.Helper()
	q.mu.Lock()
	up := q.srv != nil
	q.mu.Unlock()
	if up {
		return
	}
	ln, err := net.Listen("tcp", q.addr)
	if err != nil {
		tb.Fatalf("goaws: listen again on %s: %v", q.addr, err)
	}
	q.serve(ln)
}
