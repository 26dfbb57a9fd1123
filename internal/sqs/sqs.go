// Package sqs reads the cluster's ECS task state changes from the SQS queue
// an EventBridge rule feeds, and hands each new change of one of the bot's
// tasks to the lifecycle. Events come at least once and in no guaranteed
// order: a change is handed on only when its detail.version is newer than
// the last one handed on for its task. The lifecycle's sweep stays the
// backstop for whatever a lost event missed.
package sqs

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/mineral-contest/spawner/internal/backoff"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// API is the part of the SQS client the consumer uses, with the SDK's
// own signatures so *sqs.Client satisfies it.
type API interface {
	ReceiveMessage(ctx context.Context, params *awssqs.ReceiveMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, params *awssqs.DeleteMessageBatchInput, optFns ...func(*awssqs.Options)) (*awssqs.DeleteMessageBatchOutput, error)
	GetQueueAttributes(ctx context.Context, params *awssqs.GetQueueAttributesInput, optFns ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error)
}

var _ API = (*awssqs.Client)(nil)

// QueueVar is the variable that names the queue, for Check's Problem.
const QueueVar = "AWS_SQS_EVENTS_QUEUE_URL"

// Outcome is what became of one received message, for metrics.
type Outcome string

// Outcomes; every received message is counted as OutcomeReceived and then
// exactly one of the others.
const (
	OutcomeReceived   Outcome = "received"
	OutcomeApplied    Outcome = "applied"    // handed to handle
	OutcomeDuplicate  Outcome = "duplicate"  // same version as the last applied
	OutcomeStale      Outcome = "stale"      // older version than the last applied
	OutcomeForeign    Outcome = "foreign"    // another cluster, another startedBy, or not a task change
	OutcomeUnparsable Outcome = "unparsable" // logged once and deleted
)

// Defaults of Consumer's fields.
const (
	DefaultWaitTime   = 20 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute
	DefaultForget     = time.Hour
	DefaultMaxTasks   = 10000
)

const (
	batchSize       = 10  // SQS's most messages per ReceiveMessage and DeleteMessageBatch
	maxUnparsableID = 256 // message ids remembered as already logged unparsable
	maxForeignARN   = 256 // cluster ARNs remembered as already logged foreign
	deleteTimeout   = 10 * time.Second
)

// Consumer long-polls the events queue. Set its exported fields before Run;
// Run and Check may then be called from any goroutine, Run at most once at a
// time.
type Consumer struct {
	api   API
	queue string
	log   *slog.Logger

	// WaitTime is the long poll's wait (WaitTimeSeconds); SQS allows at
	// most 20 s, and more is taken as 20 s.
	WaitTime time.Duration
	// MinBackoff and MaxBackoff bound the wait between two receives while
	// the queue cannot be reached; it doubles from one to the other.
	MinBackoff, MaxBackoff time.Duration
	// Forget is how long the version of a STOPPED task is kept; MaxTasks
	// bounds how many task versions are kept at all (the least recently
	// changed are forgotten first). A forgotten task's next event is
	// applied whatever its version.
	Forget   time.Duration
	MaxTasks int
	// Count, when set, is called for every outcome (metrics). It must not block.
	Count func(Outcome)
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu         sync.Mutex
	tasks      map[string]*seen // task ARN → last applied
	unparsable map[string]bool  // message ids already logged
	foreign    map[string]bool  // other clusters' ARNs already logged
	stats      Stats
}

// seen is the last applied change of one task.
type seen struct {
	version   int64
	changed   time.Time // when it was applied, by Now
	stoppedAt time.Time // by Now, when the applied change said STOPPED
}

// Stats counts the outcomes since New.
type Stats struct {
	Received, Applied, Duplicate, Stale, Foreign, Unparsable int
}

// New is a consumer of the queue at queueURL. Nothing is dialled.
func New(api API, queueURL string, log *slog.Logger) *Consumer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Consumer{
		api:        api,
		queue:      queueURL,
		log:        log,
		WaitTime:   DefaultWaitTime,
		MinBackoff: DefaultMinBackoff,
		MaxBackoff: DefaultMaxBackoff,
		Forget:     DefaultForget,
		MaxTasks:   DefaultMaxTasks,
		Now:        time.Now,
		tasks:      make(map[string]*seen),
		unparsable: make(map[string]bool),
		foreign:    make(map[string]bool),
	}
}

// Stats returns the counts so far.
func (c *Consumer) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Check asks the queue for its attributes: a *spawner.Problem naming
// AWS_SQS_EVENTS_QUEUE_URL when it does not answer.
func (c *Consumer) Check(ctx context.Context) error {
	_, err := c.api.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(c.queue),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		return &spawner.Problem{Var: QueueVar, Err: err}
	}
	return nil
}

// Run receives until ctx is done and calls handle, from Run's goroutine and
// in the order received, for each new change of one of the bot's tasks:
// started by it (startedBy spawner.StartedBy) in the cluster whose full
// ARN is clusterARN (as ECS gives it: ecs.Tasks.ClusterARN). An event's
// cluster must be that ARN exactly: a cluster of the same name in another
// account, region or partition is another cluster.
// handle should hand the change on and return quickly: the batch's messages
// are deleted once it returns, and the next receive waits for it. A queue
// that cannot be reached is retried with a capped backoff, logged once when
// it goes and once when it comes back. Run returns nil when ctx is done.
func (c *Consumer) Run(ctx context.Context, clusterARN string, handle func(TaskChange)) error {
	var (
		b         = backoff.Backoff{Min: c.MinBackoff, Max: c.MaxBackoff}
		downSince time.Time
	)
	for {
		out, err := c.api.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:            aws.String(c.queue),
			MaxNumberOfMessages: batchSize,
			WaitTimeSeconds:     int32(min(c.WaitTime, DefaultWaitTime) / time.Second), //nolint:gosec // G115: at most DefaultWaitTime, 20 s
		})
		if ctx.Err() != nil {
			return nil //nolint:nilerr // Run ends with nil when ctx is done, whatever the receive said
		}
		if err != nil {
			if downSince.IsZero() {
				downSince = c.Now()
				c.log.Warn("events queue unreachable; retrying with backoff, the sweep goes on meanwhile", "err", err)
			}
			if backoff.Sleep(ctx, b.Next()) != nil {
				return nil //nolint:nilerr // ctx is done: Run ends with nil
			}
			continue
		}
		if !downSince.IsZero() {
			c.log.Info("events queue reachable again", "down", c.Now().Sub(downSince).Round(time.Second))
			downSince = time.Time{}
			b.Reset()
		}
		if len(out.Messages) == 0 {
			continue
		}
		done := make([]sqstypes.DeleteMessageBatchRequestEntry, 0, len(out.Messages))
		for i, m := range out.Messages {
			if ch, ok := c.accept(m, clusterARN); ok {
				handle(ch)
			}
			done = append(done, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		// Handled messages are deleted even when ctx ends meanwhile, so a
		// restart does not see them again.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		c.delete(dctx, done)
		cancel()
	}
}

// accept decides what to do with one message of the queue of clusterARN's
// events and counts it; it returns the change to hand on, if any.
func (c *Consumer) accept(m sqstypes.Message, clusterARN string) (TaskChange, bool) {
	c.count(OutcomeReceived)
	ch, err := parse(aws.ToString(m.Body))
	switch {
	case errors.Is(err, errNotTaskChange):
		c.count(OutcomeForeign)
		return ch, false
	case err != nil:
		c.count(OutcomeUnparsable)
		c.logUnparsable(aws.ToString(m.MessageId), err)
		return ch, false
	case ch.ClusterARN != clusterARN:
		c.count(OutcomeForeign)
		c.logForeign(ch, clusterARN)
		return ch, false
	case ch.StartedBy != spawner.StartedBy:
		c.count(OutcomeForeign)
		return ch, false
	}
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.tasks[ch.TaskARN]; ok {
		switch {
		case ch.Version == s.version:
			c.countLocked(OutcomeDuplicate)
			return ch, false
		case ch.Version < s.version:
			c.countLocked(OutcomeStale)
			return ch, false
		}
	} else {
		c.makeRoomLocked(now)
	}
	s := &seen{version: ch.Version, changed: now}
	if ch.LastStatus == "STOPPED" {
		s.stoppedAt = now
	}
	c.tasks[ch.TaskARN] = s
	c.countLocked(OutcomeApplied)
	return ch, true
}

// makeRoomLocked forgets the tasks stopped longer than Forget ago, and then,
// while MaxTasks are still kept, the least recently changed one.
func (c *Consumer) makeRoomLocked(now time.Time) {
	if len(c.tasks) < c.MaxTasks {
		return
	}
	for arn, s := range c.tasks {
		if !s.stoppedAt.IsZero() && now.Sub(s.stoppedAt) >= c.Forget {
			delete(c.tasks, arn)
		}
	}
	for len(c.tasks) >= c.MaxTasks && len(c.tasks) > 0 {
		var oldest string
		for arn, s := range c.tasks {
			if oldest == "" || s.changed.Before(c.tasks[oldest].changed) {
				oldest = arn
			}
		}
		delete(c.tasks, oldest)
	}
}

// Tracked is the number of tasks whose last applied version is kept.
func (c *Consumer) Tracked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tasks)
}

// logUnparsable logs a message that cannot be parsed, once per message id
// even if its deletion fails and it comes back. The body is not logged: it
// is not trusted, and may be large.
func (c *Consumer) logUnparsable(id string, err error) {
	c.mu.Lock()
	logged := c.unparsable[id]
	if !logged {
		if len(c.unparsable) >= maxUnparsableID {
			clear(c.unparsable)
		}
		c.unparsable[id] = true
	}
	c.mu.Unlock()
	if !logged {
		c.log.Warn("events queue: message is not an event the bot can read; deleted", "message", id, "err", err)
	}
}

// logForeign logs a task change of another cluster, once per cluster ARN:
// the queue's rule sends only this cluster's, so one is either a mistake
// in the rule or a forgery, and never acted on.
func (c *Consumer) logForeign(ch TaskChange, clusterARN string) {
	c.mu.Lock()
	logged := c.foreign[ch.ClusterARN]
	if !logged {
		if len(c.foreign) >= maxForeignARN {
			clear(c.foreign)
		}
		c.foreign[ch.ClusterARN] = true
	}
	c.mu.Unlock()
	if !logged {
		c.log.Warn("events queue: a task change of another cluster; ignored (only this cluster's events should reach the queue: check the EventBridge rule and who may send to the queue)",
			"cluster", ch.ClusterARN, "want", clusterARN, "task", ch.TaskARN, "event", ch.EventID)
	}
}

// delete deletes handled messages; one that fails to go comes back and is
// then dropped as a duplicate.
func (c *Consumer) delete(ctx context.Context, entries []sqstypes.DeleteMessageBatchRequestEntry) {
	out, err := c.api.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.queue), Entries: entries})
	if err != nil {
		c.log.Warn("events queue: delete messages", "n", len(entries), "err", err)
		return
	}
	for _, f := range out.Failed {
		c.log.Warn("events queue: delete message", "code", aws.ToString(f.Code), "err", aws.ToString(f.Message))
	}
}

func (c *Consumer) count(o Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.countLocked(o)
}

func (c *Consumer) countLocked(o Outcome) {
	switch o {
	case OutcomeReceived:
		c.stats.Received++
	case OutcomeApplied:
		c.stats.Applied++
	case OutcomeDuplicate:
		c.stats.Duplicate++
	case OutcomeStale:
		c.stats.Stale++
	case OutcomeForeign:
		c.stats.Foreign++
	case OutcomeUnparsable:
		c.stats.Unparsable++
	}
	if c.Count != nil {
		c.Count(o)
	}
}
