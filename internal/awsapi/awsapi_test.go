package awsapi_test

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mineral-contest/spawner/internal/awsapi"
)

var jsonService = awsapi.Service{
	ID: "Thing", SigningName: "thing", EndpointPrefix: "thing",
	JSONVersion: "1.0", TargetPrefix: "Thing_2024", CRC32: true,
}

// answer is one canned HTTP answer.
type answer struct {
	status int
	header map[string]string
	body   string
}

// server answers requests with answers in turn (the last one again when
// they run out) and records each request.
type server struct {
	mu       sync.Mutex
	answers  []answer
	requests []*http.Request
	bodies   []string
}

func newServer(t *testing.T, answers ...answer) (*server, string) {
	s := &server{answers: answers}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, r)
		s.bodies = append(s.bodies, string(body))
		a := s.answers[min(len(s.requests), len(s.answers))-1]
		s.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func (s *server) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// config is a configuration with test credentials and quick retries, as
// fakeaws.AWSConfig's.
func config() aws.Config {
	return aws.Config{
		Region: "eu-west-3",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestJSONRequestIsSignedAndTargeted(t *testing.T) {
	s, url := newServer(t, answer{status: 200, body: `{"Answer": "yes"}`})
	c := awsapi.New(config(), jsonService, &url)
	var out struct{ Answer string }
	if err := c.JSON(ctxFor(t), "DoIt", map[string]int{"N": 1}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Answer != "yes" {
		t.Errorf("answer %+v", out)
	}
	r := s.requests[0]
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "Thing_2024.DoIt" || r.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("request %s, target %q, content type %q", r.Method, r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"))
	}
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(a, "/eu-west-3/thing/aws4_request") {
		t.Errorf("Authorization %q, want SigV4 for thing in eu-west-3", a)
	}
	if s.bodies[0] != `{"N":1}` {
		t.Errorf("body %q", s.bodies[0])
	}
}

func TestJSONErrorsAreTheSDKs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   answer
		code     string
		message  string
		attempts int
	}{
		{"type in the body, with its namespace", answer{status: 400, body: `{"__type": "com.amazonaws.thing#ResourceNotFoundException", "message": "Requested resource not found"}`},
			"ResourceNotFoundException", "Requested resource not found", 1},
		{"type in the header wins", answer{status: 400, header: map[string]string{"X-Amzn-Errortype": "AccessDeniedException:http://internal.amazon.com/"},
			body: `{"__type": "Other", "Message": "not allowed"}`}, "AccessDeniedException", "not allowed", 1},
		{"throttling is retried", answer{status: 400, body: `{"__type": "ThrottlingException", "message": "slow down"}`}, "ThrottlingException", "slow down", 3},
		{"5xx is retried", answer{status: 500, body: `{"__type": "InternalServerError", "message": "oops"}`}, "InternalServerError", "oops", 3},
		{"no body", answer{status: 403}, "UnknownError", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.answer.header = withRequestID(tc.answer.header)
			s, url := newServer(t, tc.answer)
			c := awsapi.New(config(), jsonService, &url)
			var told []string
			c.Errors = func(service, op string) { told = append(told, service+" "+op) }
			err := c.JSON(ctxFor(t), "DoIt", struct{}{}, nil)
			var op *smithy.OperationError
			if !errors.As(err, &op) || op.Service() != "Thing" || op.Operation() != "DoIt" {
				t.Fatalf("err = %v, want a *smithy.OperationError of Thing DoIt", err)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code || api.ErrorMessage() != tc.message {
				t.Errorf("err = %v, want API error %s %q", err, tc.code, tc.message)
			}
			var resp *awshttp.ResponseError
			if !errors.As(err, &resp) || resp.HTTPStatusCode() != tc.answer.status || resp.ServiceRequestID() != "req-1" {
				t.Errorf("err = %v, want an *awshttp.ResponseError with status %d and request id req-1", err, tc.answer.status)
			}
			if n := s.calls(); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if len(told) != 1 || told[0] != "Thing DoIt" {
				t.Errorf("Errors told %v, want Thing DoIt once", told)
			}
		})
	}
}

func withRequestID(h map[string]string) map[string]string {
	out := map[string]string{"X-Amzn-Requestid": "req-1"}
	for k, v := range h {
		out[k] = v
	}
	return out
}

func TestJSONRetriesThenSucceeds(t *testing.T) {
	s, url := newServer(t,
		answer{status: 400, body: `{"__type": "ProvisionedThroughputExceededException"}`},
		answer{status: 503, body: `{}`},
		answer{status: 200, body: `{}`})
	c := awsapi.New(config(), jsonService, &url)
	c.Errors = func(service, op string) { t.Errorf("Errors told %s %s for a call that succeeded", service, op) }
	if err := c.JSON(ctxFor(t), "DoIt", struct{}{}, nil); err != nil {
		t.Fatalf("after two transient errors: %v", err)
	}
	if n := s.calls(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestCRC32MismatchIsRetried(t *testing.T) {
	body := `{"Items": []}`
	good := strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10)
	s, url := newServer(t,
		answer{status: 200, header: map[string]string{"X-Amz-Crc32": "12345"}, body: body},
		answer{status: 200, header: map[string]string{"X-Amz-Crc32": good}, body: body})
	c := awsapi.New(config(), jsonService, &url)
	if err := c.JSON(ctxFor(t), "Scan", struct{}{}, nil); err != nil {
		t.Fatalf("a damaged answer then a good one: %v", err)
	}
	if n := s.calls(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
	if ae := s.requests[0].Header.Get("Accept-Encoding"); ae != "identity" {
		t.Errorf("Accept-Encoding %q, want identity: the checksum is of the bytes sent", ae)
	}
}

func TestUnansweredIsARequestSendError(t *testing.T) {
	// A closed port: connection refused, three times.
	closed := "http://127.0.0.1:1"
	c := awsapi.New(config(), jsonService, &closed)
	err := c.JSON(ctxFor(t), "DoIt", struct{}{}, nil)
	var send *smithyhttp.RequestSendError
	var api smithy.APIError
	if !errors.As(err, &send) || errors.As(err, &api) {
		t.Errorf("err = %v, want a request send error and no API error", err)
	}
}

func TestUndecodableAnswer(t *testing.T) {
	_, url := newServer(t, answer{status: 200, body: `{"Answer": 12`})
	c := awsapi.New(config(), jsonService, &url)
	var out struct{ Answer string }
	err := c.JSON(ctxFor(t), "DoIt", struct{}{}, &out)
	var de *smithy.DeserializationError
	if !errors.As(err, &de) {
		t.Errorf("err = %v, want a *smithy.DeserializationError", err)
	}
}

func TestQueryErrorsAreTheSDKs(t *testing.T) {
	svc := awsapi.Service{ID: "EC2", SigningName: "ec2", EndpointPrefix: "ec2", QueryVersion: "2016-11-15"}
	s, url := newServer(t, answer{status: 400, body: `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidNetworkInterfaceID.NotFound</Code><Message>The networkInterface ID 'eni-1' does not exist</Message></Error></Errors><RequestID>r-9</RequestID></Response>`})
	c := awsapi.New(config(), svc, &url)
	var out struct{}
	err := c.Query(ctxFor(t), "DescribeNetworkInterfaces", map[string][]string{"NetworkInterfaceId.1": {"eni-1"}}, &out)
	want := "operation error EC2: DescribeNetworkInterfaces, https response error StatusCode: 400, RequestID: r-9, api error InvalidNetworkInterfaceID.NotFound: The networkInterface ID 'eni-1' does not exist"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	if s.bodies[0] != "Action=DescribeNetworkInterfaces&NetworkInterfaceId.1=eni-1&Version=2016-11-15" {
		t.Errorf("form %q", s.bodies[0])
	}
}

func TestEndpoint(t *testing.T) {
	override := "http://localhost:4566"
	base := "http://base:1"
	for _, tc := range []struct {
		region   string
		base     *string
		endpoint *string
		want     string
	}{
		{"eu-west-3", nil, nil, "https://thing.eu-west-3.amazonaws.com"},
		{"cn-north-1", nil, nil, "https://thing.cn-north-1.amazonaws.com.cn"},
		{"eu-west-3", &base, nil, base},
		{"eu-west-3", &base, &override, override},
	} {
		cfg := config()
		cfg.Region, cfg.BaseEndpoint = tc.region, tc.base
		if got := awsapi.New(cfg, jsonService, tc.endpoint).Endpoint(); got != tc.want {
			t.Errorf("%s %v %v: endpoint %s, want %s", tc.region, tc.base, tc.endpoint, got, tc.want)
		}
	}
}

func TestRetryMaxAttemptsOfTheConfiguration(t *testing.T) {
	s, url := newServer(t, answer{status: 500, body: `{}`})
	cfg := config()
	cfg.RetryMaxAttempts = 5
	c := awsapi.New(cfg, jsonService, &url)
	if err := c.JSON(ctxFor(t), "DoIt", struct{}{}, nil); err == nil {
		t.Fatal("5xx for ever succeeded")
	}
	if n := s.calls(); n != 5 {
		t.Errorf("%d attempts, want AWS_MAX_ATTEMPTS's 5", n)
	}
}
