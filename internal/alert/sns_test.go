package alert_test

// The SNS sink, through the real SDK client against goaws: a topic with a
// queue subscribed, read through the real SQS client. goaws keeps its state
// in globals: these tests do not run in parallel.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/mineral-contest/spawner/internal/alert"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/goaws"
)

// TestSNSPublish: alerts reach a queue subscribed to the topic, as the
// JSON body, with a subject and the kind and severity as attributes; the
// same failure once; no secret.
func TestSNSPublish(t *testing.T) {
	q := goaws.Start(t)
	topic := q.CreateTopic(t, "spawner-alerts")
	q.Subscribe(t, topic, "alerts-sub")
	const secret = "aws-secret-access-key-of-the-bot"
	c := &counts{}
	n := alert.New(alert.Config{
		TopicARN: topic, SNS: q.SNSClient(), Deployment: "spawner-servers", Secrets: []string{secret},
		Count: c.count, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	n.Start()
	defer n.Close()
	n.Alert(creationFailed("c0ffee01", "RESOURCE:MEMORY "+secret))
	n.Alert(creationFailed("c0ffee02", "RESOURCE:MEMORY "+secret))
	n.Alert(creationFailed("c0ffee03", "RESOURCE:CPU"))
	waitFor(t, "two alerts published", func() bool { return c.get(alert.SinkSNS, alert.OutcomeSent) == 2 }, c.String)

	got := q.Notifications(t, "alerts-sub")
	if len(got) != 2 {
		t.Fatalf("the queue got %d notifications, want 2 (the second memory failure deduplicated): %+v", len(got), got)
	}
	for i, want := range []string{"c0ffee01", "c0ffee03"} {
		m := got[i]
		var b alert.Body
		if err := json.Unmarshal([]byte(m.Message), &b); err != nil {
			t.Fatalf("notification %d is not the JSON body: %v\n%s", i, err, m.Message)
		}
		if b.Kind != "creation-failed" || b.Server != want || b.Game != "minecraft" || b.Deployment != "spawner-servers" || !strings.HasPrefix(b.Detail, "it could not be started (RESOURCE:") {
			t.Errorf("notification %d: %+v", i, b)
		}
		if m.Subject != "spawner: Creation failed" || m.Attributes["kind"] != "creation-failed" || m.Attributes["severity"] != "error" {
			t.Errorf("notification %d: subject %q, attributes %v", i, m.Subject, m.Attributes)
		}
		if strings.Contains(m.Message, secret) || strings.Contains(m.Subject, secret) {
			t.Errorf("notification %d carries the secret: %s", i, m.Message)
		}
	}
	if err := n.Check(context.Background()); err != nil {
		t.Errorf("Check of the topic = %v", err)
	}
}

// TestSNSTopicMissing: publishing to a topic that does not exist is given
// up at once; check says so, naming ALERT_SNS_TOPIC_ARN.
func TestSNSTopicMissing(t *testing.T) {
	q := goaws.Start(t)
	c := &counts{}
	n := alert.New(alert.Config{
		TopicARN: goaws.TopicARN("none"), SNS: q.SNSClient(), Count: c.count,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err := n.Deliver(ctx, creationFailed("c0ffee01", "RESOURCE:MEMORY"))
	if err == nil || c.get(alert.SinkSNS, alert.OutcomeFailed) != 1 {
		t.Errorf("Deliver to no topic = %v, counts %v; want a failure given up at once", err, c)
	}
	err = n.Check(ctx)
	var p *spawner.Problem
	if !errors.As(err, &p) || p.Var != "ALERT_SNS_TOPIC_ARN" || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Check = %v, want ALERT_SNS_TOPIC_ARN: … does not exist", err)
	}
}

// fakeSNS records what is published.
type fakeSNS struct {
	mu  sync.Mutex
	ins []*sns.PublishInput
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ins = append(f.ins, in)
	return &sns.PublishOutput{MessageId: aws.String("m")}, nil
}

func (f *fakeSNS) GetTopicAttributes(context.Context, *sns.GetTopicAttributesInput, ...func(*sns.Options)) (*sns.GetTopicAttributesOutput, error) {
	return &sns.GetTopicAttributesOutput{}, nil
}

func (f *fakeSNS) published() []*sns.PublishInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*sns.PublishInput(nil), f.ins...)
}

// TestSNSMessagePerProtocol: people get text (email the facts, one line
// elsewhere), programs the JSON body; a FIFO topic gets a group and a
// deduplication id.
func TestSNSMessagePerProtocol(t *testing.T) {
	f := &fakeSNS{}
	topic := "arn:aws:sns:eu-west-3:123456789012:alerts.fifo"
	n := alert.New(alert.Config{TopicARN: topic, SNS: f, Deployment: "spawner-servers", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := n.Deliver(context.Background(), creationFailed("c0ffee01", "RESOURCE:MEMORY")); err != nil {
		t.Fatal(err)
	}
	in := f.published()[0]
	var per map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &per); err != nil || aws.ToString(in.MessageStructure) != "json" {
		t.Fatalf("message is not a MessageStructure json: %v\n%s", err, aws.ToString(in.Message))
	}
	line := "❌ Creation failed: it could not be started (RESOURCE:MEMORY) · minecraft · spawner-servers"
	if per["default"] != line {
		t.Errorf("default = %q, want %q", per["default"], line)
	}
	for _, want := range []string{"Creation failed\n\nit could not be started (RESOURCE:MEMORY)\n\n", "kind: creation-failed\n", "server: c0ffee01\n", "task: c0ffee01\n"} {
		if !strings.Contains(per["email"], want) {
			t.Errorf("email does not say %q:\n%s", want, per["email"])
		}
	}
	for _, p := range []string{"sqs", "lambda", "http", "https", "firehose", "email-json"} {
		var b alert.Body
		if err := json.Unmarshal([]byte(per[p]), &b); err != nil || b.Server != "c0ffee01" {
			t.Errorf("%s gets %q, want the JSON body", p, per[p])
		}
	}
	if aws.ToString(in.MessageGroupId) == "" || aws.ToString(in.MessageDeduplicationId) == "" {
		t.Errorf("a FIFO topic's message has no group or deduplication id")
	}
}

// TestSNSSubjectIsOneShortLine: SNS refuses a subject with a line break or
// of 100 characters or more.
func TestSNSSubjectIsOneShortLine(t *testing.T) {
	f := &fakeSNS{}
	n := alert.New(alert.Config{TopicARN: "arn:aws:sns:eu-west-3:123456789012:alerts", SNS: f, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	a := creationFailed("c0ffee01", "RESOURCE:MEMORY")
	a.Title = "Échec\nd'une création " + strings.Repeat("très ", 40)
	if err := n.Deliver(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	s := aws.ToString(f.published()[0].Subject)
	if strings.ContainsAny(s, "\r\n") || len([]rune(s)) >= 100 || !strings.HasPrefix(s, "spawner: Échec d'une création très") {
		t.Errorf("subject = %q (%d characters)", s, len([]rune(s)))
	}
}
