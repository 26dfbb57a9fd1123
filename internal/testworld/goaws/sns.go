package goaws

// goaws speaks SNS too, on the same endpoint: topics whose subscribers are
// its own SQS queues. Tests create a topic, subscribe a queue to it and
// read what was published through the real SQS client.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Admiral-Piett/goaws/app/models"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SNSClient is a real SDK client of this SNS (AWS_ENDPOINT_URL_SNS is
// Endpoint too).
func (q *SQS) SNSClient() *sns.Client { return sns.NewFromConfig(q.AWSConfig()) }

// TopicARN is the ARN of the topic named name, in Region and Account.
func TopicARN(name string) string { return "arn:aws:sns:" + Region + ":" + Account + ":" + name }

// CreateTopic creates the topic named name through the SDK and returns its
// ARN. goaws would write the ARN with an empty region (it is left empty
// for its queue URLs): the topic is given TopicARN(name) instead, which
// goaws accepts as it finds topics by their last segment.
func (q *SQS) CreateTopic(tb testing.TB, name string) string {
	tb.Helper()
	if _, err := q.SNSClient().CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String(name)}); err != nil {
		tb.Fatalf("goaws: create topic %s: %v", name, err)
	}
	arn := TopicARN(name)
	models.SyncTopics.Lock()
	models.SyncTopics.Topics[name].Arn = arn
	models.SyncTopics.Unlock()
	return arn
}

// Subscribe subscribes the queue named queue (created when missing) to
// the topic topicARN through the SDK, without raw delivery: each message
// arrives in SNS's JSON envelope, as from AWS.
func (q *SQS) Subscribe(tb testing.TB, topicARN, queue string) {
	tb.Helper()
	q.CreateQueue(tb, queue)
	_, err := q.SNSClient().Subscribe(context.Background(), &sns.SubscribeInput{
		TopicArn: aws.String(topicARN),
		Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:" + Region + ":" + Account + ":" + queue),
	})
	if err != nil {
		tb.Fatalf("goaws: subscribe %s to %s: %v", queue, topicARN, err)
	}
}

// Notification is a message published to a topic, as a subscribed queue
// receives it (SNS's envelope, decoded).
type Notification struct {
	Type      string
	TopicArn  string
	Subject   string
	Message   string
	MessageID string `json:"MessageId"`
	// Attributes are the message attributes' string values, by name.
	Attributes map[string]string `json:"-"`
}

// Notifications receives every message now in the queue named queue
// through the SDK, deletes them, and returns them decoded, oldest first.
func (q *SQS) Notifications(tb testing.TB, queue string) []Notification {
	tb.Helper()
	ctx := context.Background()
	url := q.QueueURL(queue)
	var out []Notification
	for {
		res, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			tb.Fatalf("goaws: receive from %s: %v", queue, err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			var n struct {
				Notification
				MessageAttributes map[string]struct{ Type, Value, DataType, StringValue string }
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil {
				tb.Fatalf("goaws: a message of %s is no SNS notification: %v\n%s", queue, err, aws.ToString(m.Body))
			}
			n.Attributes = map[string]string{}
			for k, v := range n.MessageAttributes {
				n.Attributes[k] = v.Value + v.StringValue // AWS writes Value, goaws StringValue
			}
			out = append(out, n.Notification)
			if _, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				tb.Fatalf("goaws: delete from %s: %v", queue, err)
			}
		}
	}
}

// getTopicAttributes answers SNS's GetTopicAttributes, which goaws v0.5.4
// lacks, and reports whether r was one: the topic's ARN, or NotFound.
func getTopicAttributes(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.FormValue("Action") != "GetTopicAttributes" {
		return false
	}
	arn := r.FormValue("TopicArn")
	name := arn[strings.LastIndexByte(arn, ':')+1:]
	models.SyncTopics.RLock()
	topic, ok := models.SyncTopics.Topics[name]
	topicARN, subs := "", 0
	if ok {
		topicARN, subs = topic.Arn, len(topic.Subscriptions)
	}
	models.SyncTopics.RUnlock()
	w.Header().Set("Content-Type", "text/xml")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>goaws</RequestId></ErrorResponse>`)
		return true
	}
	var arnXML strings.Builder
	_ = xml.EscapeText(&arnXML, []byte(topicARN))
	fmt.Fprintf(w, `<GetTopicAttributesResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><GetTopicAttributesResult><Attributes>`+
		`<entry><key>TopicArn</key><value>%s</value></entry>`+
		`<entry><key>SubscriptionsConfirmed</key><value>%d</value></entry>`+
		`</Attributes></GetTopicAttributesResult><ResponseMetadata><RequestId>goaws</RequestId></ResponseMetadata></GetTopicAttributesResponse>`,
		arnXML.String(), subs)
	return true
}
