package ecs

// The one EC2 call the adapter makes, DescribeNetworkInterfaces, spoken
// over EC2's Query protocol (a signed form POST, an XML answer) by hand.
// The SDK's EC2 client is one package for EC2's whole API: linked in for
// this one call, it made the binary three times bigger, and a daemon that
// maps its binary pays for that in memory.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
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

// NetworkInterface is what the adapter reads of an EC2 network interface.
type NetworkInterface struct {
	ID       string
	PublicIP string // empty when no public IP is associated
}

// EC2API is the part of EC2 the adapter uses.
type EC2API interface {
	// DescribeNetworkInterfaces describes the network interfaces ids. An id
	// EC2 does not know fails the whole call, with EC2's
	// InvalidNetworkInterfaceID.NotFound as a smithy.APIError.
	DescribeNetworkInterfaces(ctx context.Context, ids []string) ([]NetworkInterface, error)
}

var _ EC2API = (*EC2)(nil)

// ec2APIVersion is the version of EC2's Query API the calls are written to.
const ec2APIVersion = "2016-11-15"

// EC2 calls EC2 the way the SDK's client would with the same
// configuration: its region, credentials, HTTP client and retryer (the
// standard one retries throttling, 5xx and broken connections, 3 attempts
// in all), requests signed with Signature Version 4, and errors of the
// SDK's types (a *smithy.OperationError around the API's error, which is
// a smithy.APIError). It is safe for concurrent use.
type EC2 struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     aws.HTTPClient
	retryer  aws.Retryer
	signer   *v4.Signer
	now      func() time.Time
	// Errors, when set, is told the service and operation of each call
	// that failed after its retries, as metrics.InstrumentAWS counts the
	// SDK clients' failures.
	Errors func(service, operation string)
}

// NewEC2 returns the EC2 client of cfg, on endpoint when not nil (the
// AWS_ENDPOINT_URL_EC2 override), else cfg.BaseEndpoint, else EC2's
// regional endpoint. It dials nothing.
func NewEC2(cfg aws.Config, endpoint *string) *EC2 {
	c := &EC2{region: cfg.Region, creds: cfg.Credentials, http: cfg.HTTPClient, signer: v4.NewSigner(), now: time.Now}
	switch {
	case endpoint != nil:
		c.endpoint = *endpoint
	case cfg.BaseEndpoint != nil:
		c.endpoint = *cfg.BaseEndpoint
	default:
		c.endpoint = "https://ec2." + cfg.Region + ".amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			c.endpoint += ".cn"
		}
	}
	if c.http == nil {
		c.http = awshttp.NewBuildableClient()
	}
	if cfg.Retryer != nil {
		c.retryer = cfg.Retryer()
	} else {
		c.retryer = retry.NewStandard()
	}
	return c
}

// DescribeNetworkInterfaces implements EC2API.
func (c *EC2) DescribeNetworkInterfaces(ctx context.Context, ids []string) ([]NetworkInterface, error) {
	const op = "DescribeNetworkInterfaces"
	form := url.Values{"Action": {op}, "Version": {ec2APIVersion}}
	for i, id := range ids {
		form.Set("NetworkInterfaceId."+strconv.Itoa(i+1), id)
	}
	var out struct {
		Items []struct {
			ID          string `xml:"networkInterfaceId"`
			Association struct {
				PublicIP string `xml:"publicIp"`
			} `xml:"association"`
		} `xml:"networkInterfaceSet>item"`
	}
	if err := c.call(ctx, op, form, &out); err != nil {
		return nil, err
	}
	nis := make([]NetworkInterface, 0, len(out.Items))
	for _, it := range out.Items {
		nis = append(nis, NetworkInterface{ID: it.ID, PublicIP: it.Association.PublicIP})
	}
	return nis, nil
}

// call makes the Query call op with form, retried as the retryer says,
// and decodes its answer into out.
func (c *EC2) call(ctx context.Context, op string, form url.Values, out any) error {
	body := []byte(form.Encode())
	err := c.retry(ctx, func() error { return c.attempt(ctx, body, out) })
	if err == nil {
		return nil
	}
	if c.Errors != nil && ctx.Err() == nil {
		c.Errors("EC2", op)
	}
	return &smithy.OperationError{ServiceID: "EC2", OperationName: op, Err: err}
}

// retry runs attempt until it succeeds, fails for good, or the retryer
// allows no more attempts, waiting between attempts as it says.
func (c *EC2) retry(ctx context.Context, attempt func() error) error {
	release := func(error) error { return nil }
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		initial := c.retryer.GetInitialToken()
		err := attempt()
		_ = release(err)
		_ = initial(err)
		if err == nil {
			return nil
		}
		if max := c.retryer.MaxAttempts(); (max > 0 && n >= max) || !c.retryer.IsErrorRetryable(err) {
			return err
		}
		delay, derr := c.retryer.RetryDelay(n, err)
		if derr != nil {
			return err
		}
		var terr error
		if release, terr = c.retryer.GetRetryToken(ctx, err); terr != nil {
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

// attempt sends one signed request and reads its answer: out on 200, else
// the API's error.
func (c *EC2) attempt(ctx context.Context, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("EC2 endpoint %q: %w", c.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if c.creds == nil {
		return errors.New("no AWS credentials")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", c.region, c.now()); err != nil {
		return fmt.Errorf("sign the request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return &smithyhttp.RequestSendError{Err: fmt.Errorf("read the answer: %w", err)}
	}
	if resp.StatusCode == http.StatusOK {
		if err := xml.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode the answer: %w", err)
		}
		return nil
	}
	return responseError(resp, data)
}

// responseError is EC2's error answer as the SDK gives it: an
// *awshttp.ResponseError (status code, request id) around a
// *smithy.GenericAPIError (EC2's code and message).
func responseError(resp *http.Response, data []byte) error {
	var doc struct {
		Errors []struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Errors>Error"`
		RequestID string `xml:"RequestID"`
	}
	api := &smithy.GenericAPIError{Code: resp.Status, Message: strings.TrimSpace(string(data))}
	if xml.Unmarshal(data, &doc) == nil && len(doc.Errors) > 0 {
		api = &smithy.GenericAPIError{Code: doc.Errors[0].Code, Message: doc.Errors[0].Message}
	}
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: api},
		RequestID:     doc.RequestID,
	}
}
