package dynalite

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Region is the AWS region the test clients claim; dynalite ignores it but
// the SDK signs with it.
const Region = "eu-west-3"

// AWSConfig is the configuration of a client for tests talking to
// endpoint (an Instance's or a Proxy's): static test credentials, region
// eu-west-3, no shared config or environment read, and quick retries (3
// attempts, at most 20ms apart, no retry quota) so a test of an outage
// does not wait on the SDK's production backoff.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "test-secret", Source: "dynalite test"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 20 * time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// NewClient is the SDK's DynamoDB client of AWSConfig(endpoint), for tests
// that read and write items as another program would.
func NewClient(tb testing.TB, endpoint string) *dynamodb.Client {
	tb.Helper()
	return dynamodb.NewFromConfig(AWSConfig(endpoint))
}
