package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TopicVar is the variable that names the topic, for check's findings.
const TopicVar = "ALERT_SNS_TOPIC_ARN"

// SNSAPI is what the alerts need of SNS, with the SDK's own signatures:
// *sns.Client satisfies it.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	GetTopicAttributes(ctx context.Context, in *sns.GetTopicAttributesInput, optFns ...func(*sns.Options)) (*sns.GetTopicAttributesOutput, error)
}

var _ SNSAPI = (*sns.Client)(nil)

// jsonProtocols are the subscriptions that get the JSON body; email gets
// the text, and every other (SMS, mobile push) the one line.
var jsonProtocols = []string{"sqs", "lambda", "http", "https", "firehose", "email-json"}

// publish makes one try of m on the topic: a message per protocol
// (MessageStructure json), with the kind and the severity as message
// attributes, for subscription filter policies.
func (n *Notifier) publish(ctx context.Context, m *message) error {
	perProtocol := map[string]string{"default": m.line, "email": m.plain}
	for _, p := range jsonProtocols {
		perProtocol[p] = string(m.json)
	}
	msg, err := json.Marshal(perProtocol)
	if err != nil {
		return permanent{err}
	}
	in := &sns.PublishInput{
		TopicArn:         aws.String(n.cfg.TopicARN),
		Message:          aws.String(string(msg)),
		MessageStructure: aws.String("json"),
		Subject:          aws.String(m.subject),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"kind":     {DataType: aws.String("String"), StringValue: aws.String(m.kind)},
			"severity": {DataType: aws.String("String"), StringValue: aws.String(m.severity)},
		},
	}
	if strings.HasSuffix(n.cfg.TopicARN, ".fifo") {
		in.MessageGroupId = aws.String("spawner")
		in.MessageDeduplicationId = aws.String(m.id)
	}
	_, err = n.cfg.SNS.Publish(ctx, in)
	if err != nil && refusedForGood(err) {
		return permanent{fmt.Errorf("publish to %s: %w", n.cfg.TopicARN, err)}
	}
	if err != nil {
		return fmt.Errorf("publish to %s: %w", n.cfg.TopicARN, err)
	}
	return nil
}

// refusedForGood reports whether SNS refused a call for a reason a retry
// cannot fix: an answer in 4xx (no such topic, no permission, a bad
// parameter), or a client fault, other than throttling.
func refusedForGood(err error) bool {
	var api smithy.APIError
	isAPI := errors.As(err, &api)
	if isAPI {
		switch api.ErrorCode() {
		case "Throttled", "Throttling", "ThrottlingException", "RequestLimitExceeded", "KMSThrottling":
			return false
		}
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		code := resp.HTTPStatusCode()
		return code >= 400 && code < 500 && code != 408 && code != 429
	}
	return isAPI && api.ErrorFault() == smithy.FaultClient
}

// Check reads the topic (GetTopicAttributes), publishing nothing; it is
// nil without a topic. A finding names ALERT_SNS_TOPIC_ARN and says what
// to do; one AWS did not answer keeps the SDK's error, so the caller can
// name the endpoint instead.
func (n *Notifier) Check(ctx context.Context) error {
	if n.cfg.TopicARN == "" {
		return nil
	}
	_, err := n.cfg.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(n.cfg.TopicARN)})
	var api smithy.APIError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &api):
		return &spawner.Problem{Var: TopicVar, Err: err}
	case api.ErrorCode() == "NotFound":
		return &spawner.Problem{Var: TopicVar, Err: fmt.Errorf("topic %s does not exist: create it (deploy/terraform does when asked), or correct the ARN", n.cfg.TopicARN)}
	case api.ErrorCode() == "AuthorizationError" || api.ErrorCode() == "AccessDenied" || api.ErrorCode() == "InvalidClientTokenId":
		return &spawner.Problem{Var: TopicVar, Err: fmt.Errorf("the bot's AWS credentials may not read topic %s (%s): grant sns:GetTopicAttributes on it, beside sns:Publish, so that check can see it", n.cfg.TopicARN, api.ErrorCode())}
	}
	return &spawner.Problem{Var: TopicVar, Err: fmt.Errorf("topic %s: %w", n.cfg.TopicARN, err)}
}
