package goaws_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

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
