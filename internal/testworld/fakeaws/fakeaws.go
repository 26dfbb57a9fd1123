// Package fakeaws is a fake ECS and EC2 for tests: one HTTP server on
// loopback that answers the AWS JSON 1.1 protocol of ECS and the EC2 Query
// protocol well enough for the real aws-sdk-go-v2 clients to talk to it.
//
// It runs Fargate-like tasks through PROVISIONING, PENDING and RUNNING on
// timers, gives each a unique loopback address (so a test can answer pings
// on it), records every call, and injects faults (throttling, server errors,
// RunTask failures, tasks that crash or never start) on demand.
//
// Point the SDK at it with BaseEndpoint set to URL (or use AWSConfig, or
// Env for a daemon configured through the environment).
package fakeaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Test credentials the fake expects to be signed with; any key is accepted,
// these are what AWSConfig and Env hand out.
const (
	AccessKeyID     = "AKIDFAKEAWSTEST"
	SecretAccessKey = "fake-secret-access-key"
)

// Defaults of Options.
const (
	DefaultRegion      = "eu-west-3"
	DefaultAccount     = "123456789012"
	DefaultClusterName = "spawner"
	DefaultStepDelay   = 20 * time.Millisecond
)

// Options configures a fake. The zero value is a usable fake with an
// ACTIVE cluster named DefaultClusterName and no task definition.
type Options struct {
	Region      string // default DefaultRegion; requests must be signed for it
	Account     string // default DefaultAccount; appears in every ARN
	ClusterName string // default DefaultClusterName
	// ClusterStatus is what DescribeClusters says of the cluster; default
	// ACTIVE. RunTask on a cluster that is not ACTIVE is refused.
	ClusterStatus string
	// CapacityProviders associated with the cluster; nil means FARGATE and
	// FARGATE_SPOT. RunTask with any other provider is refused, as ECS does.
	CapacityProviders []string
	// TaskDefinitionFamilies are the task definitions registered: family →
	// names of its containers, each essential, without health check. Each
	// has one ACTIVE revision, 1.
	TaskDefinitionFamilies map[string][]string
	// TaskDefinitions are task definitions registered with their content
	// (several containers, dependencies, health checks, volumes), as
	// Terraform registers them; one ACTIVE revision, 1, each. New refuses,
	// as a test error, what RegisterTaskDefinition would. A family may be
	// in both maps only with the same containers.
	TaskDefinitions map[string]TaskDefinition

	// ProvisioningDelay is how long a new task stays PROVISIONING,
	// PendingDelay how long it then stays PENDING, and StoppingDelay how
	// long a stopped task stays STOPPING before it is STOPPED. Zero means
	// DefaultStepDelay; a negative value means at once (still after the
	// call that caused the step has been answered).
	ProvisioningDelay time.Duration
	PendingDelay      time.Duration
	StoppingDelay     time.Duration
	// HoldIn, when set to a status ("PROVISIONING", "PENDING", "STOPPING"),
	// makes every task stay in that status until Release or Advance.
	HoldIn string

	// NoPublicIPs makes EC2 give no public address to a task started with
	// assignPublicIp ENABLED, as subnets that do not map public IPs do: the
	// task runs, on its private IP only.
	NoPublicIPs bool

	// OnRunning, when set, is called once for each task about to be RUNNING,
	// before any ECS call can see it RUNNING (its argument already says
	// RUNNING), so a game server it starts on the task's address is there
	// when a client learns the task runs. It is called from a goroutine of
	// the fake with no lock held, and may call the Server's methods; while
	// it runs, that task does not move on its own. It is not called once the server is
	// closed.
	OnRunning func(Task)
	// Now is the clock of createdAt, startedAt and the other task times;
	// default time.Now. The step delays above always run on real time.
	Now func() time.Time
}

// Server is a running fake. It is closed when the test ends. All its
// methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	opts Options
	defs map[string]TaskDefinition // by family, every registered one
	http *httptest.Server

	mu          sync.Mutex
	closed      bool
	hooks       sync.WaitGroup // OnRunning calls in flight
	seq         int            // tasks created so far
	tasks       []*task        // in creation order
	byARN       map[string]*task
	byID        map[string]*task
	byToken     map[string][]*task // RunTask clientToken → the tasks it started
	enis        map[string]*task   // attached network interfaces
	holdIn      string
	calls       map[string][]Call
	faults      map[string][]Fault
	runFailures []string
	failStarts  []string
	holdNext    []string
	requests    int
}

// New starts a fake on 127.0.0.1:0; it is closed by tb.Cleanup.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.ClusterName == "" {
		opts.ClusterName = DefaultClusterName
	}
	if opts.ClusterStatus == "" {
		opts.ClusterStatus = "ACTIVE"
	}
	if opts.CapacityProviders == nil {
		opts.CapacityProviders = []string{"FARGATE", "FARGATE_SPOT"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	defs := registerTaskDefinitions(tb, &opts)
	s := &Server{
		tb:      tb,
		opts:    opts,
		defs:    defs,
		byARN:   make(map[string]*task),
		byID:    make(map[string]*task),
		byToken: make(map[string][]*task),
		enis:    make(map[string]*task),
		holdIn:  opts.HoldIn,
		calls:   make(map[string][]Call),
		faults:  make(map[string][]Fault),
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.Close)
	return s
}

// URL is the endpoint of both ECS and EC2, for the SDK's BaseEndpoint.
func (s *Server) URL() string { return s.http.URL }

// Region is the region requests must be signed for.
func (s *Server) Region() string { return s.opts.Region }

// ClusterARN is the ARN of the fake's cluster.
func (s *Server) ClusterARN() string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", s.opts.Region, s.opts.Account, s.opts.ClusterName)
}

// TaskDefinitionARN is the ARN of the one revision of family.
func (s *Server) TaskDefinitionARN(family string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:1", s.opts.Region, s.opts.Account, family)
}

// AWSConfig is an SDK configuration that talks to the fake: its region,
// static test credentials, BaseEndpoint set to URL, and a retryer that
// retries like the SDK's standard one but with a 1ms backoff and no retry
// quota, so tests of retries are fast.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region: s.opts.Region,
		Credentials: aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, Source: "fakeaws"}, nil
		}),
		BaseEndpoint: aws.String(s.URL()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// Env is the environment that points a process using the SDK's default
// configuration at the fake (region, credentials, ECS and EC2 endpoints).
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_REGION":                s.opts.Region,
		"AWS_ACCESS_KEY_ID":         AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     SecretAccessKey,
		"AWS_ENDPOINT_URL_ECS":      s.URL(),
		"AWS_ENDPOINT_URL_EC2":      s.URL(),
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// Close stops the server and every task timer, and waits for OnRunning
// calls in flight. It is idempotent and called by tb.Cleanup.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, t := range s.tasks {
		t.stopTimer()
	}
	s.mu.Unlock()
	s.http.Close()
	s.hooks.Wait()
}

// Call is one request the fake received.
type Call struct {
	Op     string     // ECS or EC2 operation name, e.g. "RunTask"
	Body   []byte     // the request body: JSON for ECS, a form for EC2
	Form   url.Values // the parsed form, for EC2 calls
	Status int        // the HTTP status answered
	Error  string     // the error code answered, if any
	At     time.Time  // when the request arrived, before its answer was computed
}

// Decode unmarshals an ECS call's JSON body into v (e.g. *RunTaskInput).
func (c Call) Decode(v any) error { return json.Unmarshal(c.Body, v) }

// Calls returns the calls made to op so far, in the order they arrived
// (faulted and refused ones included).
func (s *Server) Calls(op string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls[op]...)
}

// Fault is an injected failure of one call.
type Fault int

const (
	// Throttle answers ThrottlingException (ECS, status 400) or
	// RequestLimitExceeded (EC2, status 503); the SDK retries both.
	Throttle Fault = iota + 1
	// ServerError answers a 500 (ECS ServerException, EC2 InternalError)
	// without doing anything; the SDK retries it.
	ServerError
	// ServerErrorAfterEffect does what was asked, then answers a 500 as if
	// the response was lost: a retried RunTask must rely on its clientToken.
	ServerErrorAfterEffect
)

// FailNext makes the next n calls to op fail with kind, before any
// validation. Faults queue up: FailNext twice adds both.
func (s *Server) FailNext(op string, n int, kind Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.faults[op] = append(s.faults[op], kind)
	}
}

// RunFailures makes the next n RunTask calls (that pass validation and are
// not a retry of a known clientToken) answer with a failure with reason
// (e.g. "RESOURCE:MEMORY") and no task.
func (s *Server) RunFailures(n int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.runFailures = append(s.runFailures, reason)
	}
}

// FailToStart makes the next n tasks started by RunTask stop on their own
// instead of reaching RUNNING: at the end of PENDING they stop with stopCode
// TaskFailedToStart and stoppedReason reason (e.g. "CannotPullContainerError:
// pull access denied"), and no container exit code.
func (s *Server) FailToStart(n int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failStarts = append(s.failStarts, reason)
	}
}

const (
	ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113."
	ec2Namespace    = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

// apiError is an error answer of either protocol.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func invalidParameter(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests++
	reqID := fmt.Sprintf("fake-%08d-0000-4000-8000-000000000000", s.requests)
	s.mu.Unlock()
	arrived := time.Now()

	if target := r.Header.Get("X-Amz-Target"); target != "" {
		op := strings.TrimPrefix(target, ecsTargetPrefix)
		status, errCode, out := s.serveECS(r, op, body)
		s.record(Call{Op: op, Body: body, Status: status, Error: errCode, At: arrived})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-RequestId", reqID)
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(status)
		_, _ = w.Write(out)
		return
	}

	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") == "" {
		s.record(Call{Op: "", Body: body, Status: http.StatusBadRequest, Error: "UnknownOperation", At: arrived})
		http.Error(w, "fakeaws: neither an ECS X-Amz-Target nor an EC2 Action", http.StatusBadRequest)
		return
	}
	op := form.Get("Action")
	status, errCode, out := s.serveEC2(r, op, form, reqID)
	s.record(Call{Op: op, Body: body, Form: form, Status: status, Error: errCode, At: arrived})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[c.Op] = append(s.calls[c.Op], c)
}

// authorize checks that the request carries a SigV4 Authorization header
// scoped to the fake's region and to service. The signature itself is not
// verified.
func (s *Server) authorize(r *http.Request, service string) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	scope := "/" + s.opts.Region + "/" + service + "/aws4_request"
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, scope) {
		return &apiError{http.StatusForbidden, "InvalidSignatureException",
			fmt.Sprintf("Credential should be scoped to a valid region and service (want %s)", strings.TrimPrefix(scope, "/"))}
	}
	return nil
}

// takeFault pops the next fault injected for op, if any.
func (s *Server) takeFault(op string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[op]
	if len(q) == 0 {
		return 0
	}
	s.faults[op] = q[1:]
	return q[0]
}

// serveECS answers one ECS call: status, error code (empty on success) and body.
func (s *Server) serveECS(r *http.Request, op string, body []byte) (int, string, []byte) {
	if err := s.authorize(r, "ecs"); err != nil {
		return ecsError(err)
	}
	fault := s.takeFault(op)
	switch fault {
	case Throttle:
		return ecsError(&apiError{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"})
	case ServerError:
		return ecsError(&apiError{http.StatusInternalServerError, "ServerException", "Service Unavailable. Please try again later."})
	case ServerErrorAfterEffect: // answered once the call has had its effect, below
	}
	handler, ok := ecsOps[op]
	if !ok {
		return ecsError(&apiError{http.StatusBadRequest, "UnknownOperationException", "fakeaws does not implement " + op})
	}
	out, aerr := handler(s, body)
	if aerr != nil {
		return ecsError(aerr)
	}
	if fault == ServerErrorAfterEffect {
		return ecsError(&apiError{http.StatusInternalServerError, "ServerException", "Service Unavailable. Please try again later."})
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.tb.Errorf("fakeaws: encode %s answer: %v", op, err)
		return ecsError(&apiError{http.StatusInternalServerError, "ServerException", "fakeaws: encode answer"})
	}
	return http.StatusOK, "", b
}

func ecsError(e *apiError) (int, string, []byte) {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.message})
	return e.status, e.code, b
}

// serveEC2 answers one EC2 Query call.
func (s *Server) serveEC2(r *http.Request, op string, form url.Values, reqID string) (int, string, []byte) {
	if err := s.authorize(r, "ec2"); err != nil {
		if err.code == "MissingAuthenticationTokenException" {
			err.code = "MissingAuthenticationToken"
		} else {
			err.code = "AuthFailure"
		}
		return ec2Error(err, reqID)
	}
	fault := s.takeFault(op)
	switch fault {
	case Throttle:
		return ec2Error(&apiError{http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded."}, reqID)
	case ServerError:
		return ec2Error(&apiError{http.StatusInternalServerError, "InternalError", "An internal error has occurred"}, reqID)
	case ServerErrorAfterEffect: // answered once the call has had its effect, below
	}
	var (
		out  []byte
		aerr *apiError
	)
	switch op {
	case "DescribeNetworkInterfaces":
		out, aerr = s.describeNetworkInterfaces(form, reqID)
	default:
		aerr = &apiError{http.StatusBadRequest, "InvalidAction", "fakeaws does not implement " + op}
	}
	if aerr != nil {
		return ec2Error(aerr, reqID)
	}
	if fault == ServerErrorAfterEffect {
		return ec2Error(&apiError{http.StatusInternalServerError, "InternalError", "An internal error has occurred"}, reqID)
	}
	return http.StatusOK, "", out
}

func ec2Error(e *apiError, reqID string) (int, string, []byte) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>")
	xmlEscape(&b, e.code)
	b.WriteString("</Code><Message>")
	xmlEscape(&b, e.message)
	b.WriteString("</Message></Error></Errors><RequestID>")
	xmlEscape(&b, reqID)
	b.WriteString("</RequestID></Response>")
	return e.status, e.code, b.Bytes()
}

// String names the fault, for test names and messages.
func (f Fault) String() string {
	switch f {
	case Throttle:
		return "Throttle"
	case ServerError:
		return "ServerError"
	case ServerErrorAfterEffect:
		return "ServerErrorAfterEffect"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}
