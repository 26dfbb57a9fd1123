package fakeaws

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Event is one EventBridge "ECS Task State Change" envelope the fake
// published (or dropped), in the order it went out.
type Event struct {
	TaskARN    string
	Version    int64 // detail.version
	LastStatus string
	Dropped    bool   // by DropNextEvents: never sent
	Err        error  // SendMessage failed: lost, as when the queue is down
	Body       string // the envelope as sent
}

// publisher sends a fake's task changes to an SQS queue. It lives beside
// the Server in publishers rather than in it, so the fake's own state is
// untouched when no test asks for events.
type publisher struct {
	tb     testing.TB
	queue  string
	client *sqs.Client
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // one pending signal: the outbox has grown

	mu        sync.Mutex
	published map[string]int64 // task ARN → last version put in the outbox
	outbox    []Event
	sent      []Event
	dup       int     // next events to send twice
	drop      int     // next events to drop
	reorder   int     // next events to hold, then send in reverse order
	held      []Event // held by reorder
	eventSeq  int
}

// publishers maps a *Server to its *publisher.
var publishers sync.Map

// PublishEventsTo makes the fake publish, from now on, an EventBridge "ECS
// Task State Change" envelope shaped as AWS sends it to the SQS queue at
// queueURL (served at sqsEndpoint) at every change of one of its tasks:
// created (PROVISIONING), PENDING, RUNNING, stop asked (STOPPING, desired
// STOPPED) and STOPPED, each with a detail.version one higher at least than
// the task's previous event. Events are sent in order by one goroutine with
// the real SDK client, stopped when the test ends. Calling it again changes
// nothing.
func (s *Server) PublishEventsTo(queueURL, sqsEndpoint string) {
	s.tb.Helper()
	cfg := s.AWSConfig()
	cfg.BaseEndpoint = aws.String(sqsEndpoint)
	cfg.RetryMaxAttempts = 1
	ctx, cancel := context.WithCancel(context.Background())
	p := &publisher{
		tb:        s.tb,
		queue:     queueURL,
		client:    sqs.NewFromConfig(cfg),
		cancel:    cancel,
		done:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
		published: make(map[string]int64),
	}
	if _, loaded := publishers.LoadOrStore(s, p); loaded {
		cancel()
		return
	}
	go p.run(ctx)
	s.tb.Cleanup(func() {
		p.cancel()
		<-p.done
		publishers.Delete(s)
	})
}

// DuplicateNextEvents makes each of the next n events be sent twice.
func (s *Server) DuplicateNextEvents(n int) {
	s.withPublisher("DuplicateNextEvents", func(p *publisher) { p.dup += n })
}

// DropNextEvents makes the next n events be lost (recorded with Dropped).
func (s *Server) DropNextEvents(n int) {
	s.withPublisher("DropNextEvents", func(p *publisher) { p.drop += n })
}

// ReorderNextEvents holds the next n events and sends them in reverse
// order once the n-th happens.
func (s *Server) ReorderNextEvents(n int) {
	s.withPublisher("ReorderNextEvents", func(p *publisher) { p.reorder += n })
}

// Events lists the events published so far (sent, lost or dropped), in the
// order they went out; events still in the outbox or held are not listed.
func (s *Server) Events() []Event {
	var out []Event
	s.withPublisher("Events", func(p *publisher) { out = slices.Clone(p.sent) })
	return out
}

// SpotInterrupt stops the task as Fargate Spot does when it reclaims the
// capacity: stopCode SpotInterruption, on its way to STOPPED. Interrupting
// a stopped task is a test error.
func (s *Server) SpotInterrupt(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTaskLocked(arn, "SpotInterrupt")
	if t == nil {
		return
	}
	if t.DesiredStatus == "STOPPED" {
		s.tb.Errorf("fakeaws: SpotInterrupt: task %s is already stopping", arn)
		return
	}
	s.beginStopLocked(t, "SpotInterruption", "Your Spot Task was interrupted.")
}

func (s *Server) withPublisher(caller string, f func(*publisher)) {
	v, ok := publishers.Load(s)
	if !ok {
		s.tb.Errorf("fakeaws: %s: PublishEventsTo was not called", caller)
		return
	}
	p := v.(*publisher)
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// publishLocked is the hook where a task may have changed: it puts the
// task's event in the outbox when its version is new. s.mu is held.
func (s *Server) publishLocked(t *task) {
	v, ok := publishers.Load(s)
	if !ok {
		return
	}
	p := v.(*publisher)
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.version <= p.published[t.ARN] {
		return
	}
	p.published[t.ARN] = t.version
	p.eventSeq++
	ev := Event{TaskARN: t.ARN, Version: t.version, LastStatus: t.LastStatus, Body: s.envelope(t, p.eventSeq)}
	if p.drop > 0 {
		p.drop--
		ev.Dropped = true
		p.sent = append(p.sent, ev)
		return
	}
	evs := []Event{ev}
	if p.dup > 0 {
		p.dup--
		evs = append(evs, ev)
	}
	if p.reorder > 0 {
		p.reorder--
		p.held = append(p.held, evs...)
		if p.reorder > 0 {
			return
		}
		evs = p.held
		p.held = nil
		slices.Reverse(evs)
	}
	p.outbox = append(p.outbox, evs...)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// envelope renders t's current state as EventBridge delivers an ECS task
// state change: the task as DescribeTasks shows it, with ISO 8601 times,
// an "eni" attachment, updatedAt, and no tags.
func (s *Server) envelope(t *task, seq int) string {
	raw, err := json.Marshal(s.wire(t, false))
	if err != nil {
		panic(err)
	}
	var detail map[string]any
	if err := json.Unmarshal(raw, &detail); err != nil {
		panic(err)
	}
	iso := func(tm time.Time) string { return tm.UTC().Format("2006-01-02T15:04:05.000Z") }
	for k, v := range detail {
		if f, ok := v.(float64); ok && k != "version" && k != "cpu" && k != "memory" {
			sec, frac := math.Modf(f)
			detail[k] = iso(time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)))
		}
	}
	delete(detail, "tags")
	if atts, ok := detail["attachments"].([]any); ok {
		for _, a := range atts {
			if m, ok := a.(map[string]any); ok && m["type"] == "ElasticNetworkInterface" {
				m["type"] = "eni"
			}
		}
	}
	now := s.opts.Now()
	detail["updatedAt"] = iso(now)
	env := map[string]any{
		"version":     "0",
		"id":          fmt.Sprintf("%08x-0000-4000-8000-%012x", t.n, seq),
		"detail-type": "ECS Task State Change",
		"source":      "aws.ecs",
		"account":     s.opts.Account,
		"time":        now.UTC().Format(time.RFC3339),
		"region":      s.opts.Region,
		"resources":   []string{t.ARN},
		"detail":      detail,
	}
	body, err := json.Marshal(env)
	if err != nil {
		panic(err)
	}
	return string(body)
}

// run sends the outbox in order until ctx ends.
func (p *publisher) run(ctx context.Context) {
	defer close(p.done)
	for {
		p.mu.Lock()
		if len(p.outbox) == 0 {
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			}
			continue
		}
		ev := p.outbox[0]
		p.outbox = p.outbox[1:]
		p.mu.Unlock()
		_, err := p.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(p.queue), MessageBody: aws.String(ev.Body)})
		if ctx.Err() != nil {
			return
		}
		ev.Err = err
		p.mu.Lock()
		p.sent = append(p.sent, ev)
		p.mu.Unlock()
	}
}
