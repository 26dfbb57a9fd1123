package goaws_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/testworld/goaws"
)

func TestSendReceiveDelete(t *testing.T) {
	q := goaws.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q.Send(t, "one")
	q.Send(t, "two")
	if got := q.Depth(); got != 2 {
		t.Fatalf("depth after two sends = %d, want 2", got)
	}
	url := q.QueueURL(goaws.DefaultQueue)
	out, err := q.Client().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if len(out.Messages) != 2 || aws.ToString(out.Messages[0].Body) != "one" || aws.ToString(out.Messages[1].Body) != "two" {
		t.Fatalf("received %+v, want one then two", out.Messages)
	}
	if got := q.Depth(); got != 2 {
		t.Errorf("depth after receive = %d, want 2 (in flight until deleted)", got)
	}
	for _, m := range out.Messages {
		if _, err := q.Client().DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	if got := q.Depth(); got != 0 {
		t.Errorf("depth after delete = %d, want 0", got)
	}
}

func TestStateIsFreshAtEachStart(t *testing.T) {
	for i := range 2 {
		t.Run("start", func(t *testing.T) {
			q := goaws.Start(t)
			if got := q.Depth(); got != 0 {
				t.Fatalf("start %d: depth = %d, want an empty queue", i, got)
			}
			if got := q.DepthOf("other"); got != -1 {
				t.Fatalf("start %d: queue other exists (depth %d), created by the previous start", i, got)
			}
			q.CreateQueue(t, "other")
			q.Send(t, "left behind")
		})
	}
}

func TestDownThenUp(t *testing.T) {
	q := goaws.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	attrs := func() error {
		_, err := q.Client().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.QueueURL(goaws.DefaultQueue))},
			func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
		return err
	}
	q.Send(t, "kept")
	q.Down()
	if err := attrs(); err == nil {
		t.Fatal("GetQueueAttributes answered while down")
	}
	q.Up(t)
	if err := attrs(); err != nil {
		t.Fatalf("GetQueueAttributes after Up: %v", err)
	}
	if got := q.Depth(); got != 1 {
		t.Errorf("depth after Down and Up = %d, want the 1 message kept", got)
	}
}

// TestSNSToSubscribedQueue: a message published to a topic through the
// SDK reaches the queue subscribed to it, in SNS's envelope, with the
// protocol's own message of a MessageStructure json; GetTopicAttributes
// answers for the topic and NotFound for another.
func TestSNSToSubscribedQueue(t *testing.T) {
	q := goaws.Start(t)
	ctx := context.Background()
	arn := q.CreateTopic(t, "alerts")
	if arn != goaws.TopicARN("alerts") {
		t.Fatalf("topic ARN = %q, want %q", arn, goaws.TopicARN("alerts"))
	}
	q.Subscribe(t, arn, "alerts-sub")
	_, err := q.SNSClient().Publish(ctx, &sns.PublishInput{
		TopicArn:         aws.String(arn),
		Subject:          aws.String("a subject"),
		MessageStructure: aws.String("json"),
		Message:          aws.String(`{"default":"for everyone","sqs":"for queues"}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("test")},
		},
	})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	got := q.Notifications(t, "alerts-sub")
	if len(got) != 1 || got[0].Message != "for queues" || got[0].Subject != "a subject" || got[0].TopicArn != arn || got[0].Attributes["kind"] != "test" {
		t.Fatalf("notifications = %+v, want the queues' message once", got)
	}
	if again := q.Notifications(t, "alerts-sub"); len(again) != 0 {
		t.Errorf("notifications read twice: %+v", again)
	}
	if _, err := q.SNSClient().GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)}); err != nil {
		t.Errorf("GetTopicAttributes of the topic: %v", err)
	}
	var api smithy.APIError
	_, err = q.SNSClient().GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(goaws.TopicARN("none"))})
	if !errors.As(err, &api) || api.ErrorCode() != "NotFound" {
		t.Errorf("GetTopicAttributes of no topic = %v, want NotFound", err)
	}
}
