// Package awsapi calls AWS services over their wire protocols, the AWS
// JSON protocol (ECS, DynamoDB) and EC2's Query protocol, with the SDK's
// core: the configuration's region, credentials, HTTP client and retry
// settings, Signature Version 4, and the SDK's error types.
//
// The bot makes a handful of calls to each service. The SDK's client of a
// service is its whole API: every operation's types, serializers and a
// schema of every shape built when the program starts, for each service
// linked in. Speaking the protocol for the few calls made costs a fraction
// of that in memory (see README, Performance).
//
// What a caller sees is what the SDK's clients give: an error is a
// *smithy.OperationError naming the service and the operation; AWS's own
// refusal inside it is a smithy.APIError (ErrorCode, ErrorMessage) inside
// an *awshttp.ResponseError (HTTP status, request id); a request that got
// no answer wraps *smithyhttp.RequestSendError. Throttling, 5xx and broken
// connections are retried as the configuration's retryer says (the SDK's
// standard one by default: 3 attempts, exponential backoff with jitter).
package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Service is what the protocol needs to know of an AWS service.
type Service struct {
	// ID is the SDK's service id, named in errors and metrics ("ECS").
	ID string
	// SigningName is the service's name in the signature's scope ("ecs").
	SigningName string
	// EndpointPrefix names the regional endpoint,
	// https://<prefix>.<region>.amazonaws.com.
	EndpointPrefix string
	// JSONVersion is the AWS JSON protocol's version ("1.0", "1.1") and
	// TargetPrefix the X-Amz-Target prefix of its operations, for a JSON
	// service; QueryVersion the API version of a Query service.
	JSONVersion  string
	TargetPrefix string
	QueryVersion string
	// CRC32 checks an answer's X-Amz-Crc32 header, as DynamoDB sends it; a
	// mismatch is retried.
	CRC32 bool
}

// maxAnswer bounds an answer read into memory.
const maxAnswer = 16 << 20

// Client calls one service. It is safe for concurrent use.
type Client struct {
	svc      Service
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     aws.HTTPClient
	retryer  aws.Retryer
	signer   *v4.Signer
	// Errors, when set, is told the service id and the operation of each
	// call that failed after its retries, unless the caller's context
	// ended (metrics.InstrumentAWS counts the SDK clients' the same way).
	Errors func(service, operation string)
}

// New returns the client of svc for cfg, sending its requests to endpoint
// when not nil (a service's AWS_ENDPOINT_URL_<SERVICE> override), else to
// cfg.BaseEndpoint, else to the service's regional endpoint. It dials
// nothing.
func New(cfg aws.Config, svc Service, endpoint *string) *Client {
	c := &Client{svc: svc, region: cfg.Region, creds: cfg.Credentials, http: cfg.HTTPClient, signer: v4.NewSigner()}
	switch {
	case endpoint != nil:
		c.endpoint = *endpoint
	case cfg.BaseEndpoint != nil:
		c.endpoint = *cfg.BaseEndpoint
	default:
		c.endpoint = "https://" + svc.EndpointPrefix + "." + cfg.Region + ".amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			c.endpoint += ".cn"
		}
	}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	c.retryer = retryerOf(cfg)
	return c
}

// retryerOf is the retryer the SDK's clients build from cfg: its Retryer,
// else the standard or adaptive one its RetryMode names, with its
// RetryMaxAttempts when set.
func retryerOf(cfg aws.Config) aws.Retryer {
	var r aws.Retryer
	switch {
	case cfg.Retryer != nil:
		r = cfg.Retryer()
	case cfg.RetryMode == aws.RetryModeAdaptive:
		r = retry.NewAdaptiveMode()
	default:
		r = retry.NewStandard()
	}
	if cfg.RetryMaxAttempts != 0 {
		r = retry.AddWithMaxAttempts(r, cfg.RetryMaxAttempts)
	}
	return r
}

// Endpoint is where the client sends its requests.
func (c *Client) Endpoint() string { return c.endpoint }

// JSON calls the JSON service's operation op with the document in (any
// value encoding/json encodes) and decodes its answer into out (a pointer,
// or nil to drop it).
func (c *Client) JSON(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return c.fail(ctx, op, fmt.Errorf("encode the request: %w", err))
	}
	header := http.Header{
		"Content-Type": {"application/x-amz-json-" + c.svc.JSONVersion},
		"X-Amz-Target": {c.svc.TargetPrefix + "." + op},
	}
	if c.svc.CRC32 {
		// The checksum is of the bytes sent: no transparent decompression.
		header.Set("Accept-Encoding", "identity")
	}
	decode := func(data []byte) error {
		if out == nil {
			return nil
		}
		return json.Unmarshal(data, out)
	}
	return c.call(ctx, op, header, body, decode, jsonError)
}

// Query calls the Query service's operation op with params (Action and
// Version are added) and decodes its XML answer into out.
func (c *Client) Query(ctx context.Context, op string, params url.Values, out any) error {
	form := url.Values{"Action": {op}, "Version": {c.svc.QueryVersion}}
	for k, vs := range params {
		form[k] = vs
	}
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	decode := func(data []byte) error { return xml.Unmarshal(data, out) }
	return c.call(ctx, op, header, []byte(form.Encode()), decode, queryError)
}

// call sends the request as often as the retryer says and decodes its
// answer; errors are the SDK's (see the package's comment).
func (c *Client) call(ctx context.Context, op string, header http.Header, body []byte, decode func([]byte) error, apiError func(*http.Response, []byte) error) error {
	err := c.retry(ctx, func() error {
		data, err := c.send(ctx, header, body, apiError)
		if err != nil {
			return err
		}
		if err := decode(data); err != nil {
			return &smithy.DeserializationError{Err: err, Snapshot: data[:min(len(data), 1024)]}
		}
		return nil
	})
	if err != nil {
		return c.fail(ctx, op, err)
	}
	return nil
}

// fail is err as the SDK's operation error, counted.
func (c *Client) fail(ctx context.Context, op string, err error) error {
	if c.Errors != nil && ctx.Err() == nil {
		c.Errors(c.svc.ID, op)
	}
	return &smithy.OperationError{ServiceID: c.svc.ID, OperationName: op, Err: err}
}

// retry runs attempt until it succeeds, fails for good, or the retryer
// allows no more attempts, waiting between attempts as it says, as the
// SDK's retry middleware does.
func (c *Client) retry(ctx context.Context, attempt func() error) error {
	releaseRetry := func(error) error { return nil }
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		releaseAttempt, err := c.attemptToken(ctx)
		if err != nil {
			return fmt.Errorf("failed to get retry Send token, %w", err)
		}
		err = attempt()
		_ = releaseRetry(err)
		_ = releaseAttempt(err)
		if err == nil {
			return nil
		}
		if limit := c.retryer.MaxAttempts(); (limit > 0 && n >= limit) || !c.retryer.IsErrorRetryable(err) {
			return err
		}
		delay, derr := c.retryer.RetryDelay(n, err)
		if derr != nil {
			return err
		}
		var terr error
		if releaseRetry, terr = c.retryer.GetRetryToken(ctx, err); terr != nil {
			return err // the retry quota is spent: the last error is the answer
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// attemptToken is the retryer's token for one attempt (the adaptive
// retryer waits here when AWS throttles).
func (c *Client) attemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := c.retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return c.retryer.GetInitialToken(), nil
}

// send makes one signed request and returns the body of a 200 answer;
// any other answer is apiError's reading of it.
func (c *Client) send(ctx context.Context, header http.Header, body []byte, apiError func(*http.Response, []byte) error) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s endpoint %q: %w", c.svc.ID, c.endpoint, err)
	}
	req.Header = header.Clone()
	if c.creds == nil {
		return nil, errors.New("no AWS credentials to sign the request with")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), c.svc.SigningName, c.region, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("sign the request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, &smithyhttp.RequestSendError{Err: fmt.Errorf("read the answer: %w", err)}
	}
	if c.svc.CRC32 {
		if want := resp.Header.Get("X-Amz-Crc32"); want != "" && want != strconv.FormatUint(uint64(crc32.ChecksumIEEE(data)), 10) {
			return nil, checksumError{want: want}
		}
	}
	if resp.StatusCode == http.StatusOK {
		return data, nil
	}
	return nil, apiError(resp, data)
}

// checksumError is an answer whose checksum does not match its body: it
// was damaged on the way, and the retryer retries it.
type checksumError struct{ want string }

func (e checksumError) Error() string {
	return "the answer's CRC32 is not its X-Amz-Crc32 " + e.want + ": damaged on the way"
}

func (checksumError) RetryableError() bool { return true }

// responseError is AWS's refusal as the SDK gives it: an
// *awshttp.ResponseError (status code, request id) around api.
func responseError(resp *http.Response, requestID string, api error) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: api},
		RequestID:     requestID,
	}
}

// jsonError reads an error answer of the AWS JSON protocol: the code in
// the X-Amzn-Errortype header or the body's __type (or code), the
// namespace and anything after a colon cut off, and the body's message.
func jsonError(resp *http.Response, data []byte) error {
	var doc struct {
		Code    string `json:"code"`
		Type    string `json:"__type"`
		Message string `json:"message"`
		Upper   string `json:"Message"`
	}
	_ = json.Unmarshal(data, &doc)
	code := resp.Header.Get("X-Amzn-Errortype")
	for _, c := range []string{doc.Code, doc.Type} {
		if code == "" {
			code = c
		}
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.IndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = "UnknownError"
	}
	msg := doc.Message
	if msg == "" {
		msg = doc.Upper
	}
	return responseError(resp, resp.Header.Get("X-Amzn-Requestid"), &smithy.GenericAPIError{Code: code, Message: msg})
}

// queryError reads an error answer of EC2's Query protocol:
// <Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>.
func queryError(resp *http.Response, data []byte) error {
	var doc struct {
		Errors []struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Errors>Error"`
		RequestID string `xml:"RequestID"`
	}
	api := &smithy.GenericAPIError{Code: "UnknownError", Message: http.StatusText(resp.StatusCode)}
	if xml.Unmarshal(data, &doc) == nil && len(doc.Errors) > 0 {
		api = &smithy.GenericAPIError{Code: doc.Errors[0].Code, Message: doc.Errors[0].Message}
	}
	return responseError(resp, doc.RequestID, api)
}
