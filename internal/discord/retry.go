package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/mineral-contest/spawner/internal/backoff"
)

// Retry says how the adapter retries a REST call that failed for a reason
// that passes: a 5xx, a network error, or a 429. The zero value takes the
// defaults below.
type Retry struct {
	// First is the wait after the first transient failure; it doubles at
	// each retry up to Max.
	First, Max time.Duration
	// Budget bounds the time spent retrying 5xx and network errors, from
	// the first attempt. Rate-limit waits do not count against it.
	Budget time.Duration
	// MaxRateLimitWait is the longest retry_after the adapter waits out; a
	// 429 asking for longer is returned to the caller at once.
	MaxRateLimitWait time.Duration
	// Attempt bounds each attempt (its request and response headers).
	Attempt time.Duration
}

// Defaults of Retry: as the AWS SDK retries AWS, with capped exponential
// backoff, but long enough to ride out a short Discord outage.
const (
	DefaultRetryFirst       = 250 * time.Millisecond
	DefaultRetryMax         = 5 * time.Second
	DefaultRetryBudget      = 30 * time.Second
	DefaultMaxRateLimitWait = 60 * time.Second
	DefaultAttemptTimeout   = 20 * time.Second
)

func (r Retry) withDefaults() Retry {
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&r.First, DefaultRetryFirst)
	def(&r.Max, DefaultRetryMax)
	def(&r.Budget, DefaultRetryBudget)
	def(&r.MaxRateLimitWait, DefaultMaxRateLimitWait)
	def(&r.Attempt, DefaultAttemptTimeout)
	return r
}

// retrying is the RoundTripper under discordgo that retries transient
// failures itself. discordgo's own 429 handling sleeps without a context, so
// a long retry_after would hold shutdown; here every wait ends with the
// request's context, and the caller gets ctx's error.
type retrying struct {
	next  http.RoundTripper
	retry Retry
	sleep func(ctx context.Context, d time.Duration) error
}

func newRetrying(next http.RoundTripper, r Retry) *retrying {
	return &retrying{next: next, retry: r.withDefaults(), sleep: backoff.Sleep}
}

// budgetKey carries a retry budget that replaces Retry.Budget for the
// calls made with the context.
type budgetKey struct{}

// withRetryBudget returns ctx with the time spent retrying 5xx and network
// errors bounded by d instead of Retry.Budget: for calls a person waits on,
// such as `spawner check` or an interaction's 3-second answer.
func withRetryBudget(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, budgetKey{}, d)
}

func (t *retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	start := time.Now()
	b := backoff.Backoff{Min: t.retry.First, Max: t.retry.Max}
	budget := t.retry.Budget
	if d, ok := ctx.Value(budgetKey{}).(time.Duration); ok {
		budget = d
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	oneShot := hasBody && req.GetBody == nil // the body cannot be sent again
	for attempt := 0; ; attempt++ {
		if attempt > 0 && hasBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("replay request body: %w", err)
			}
			req = req.Clone(ctx)
			req.Body = body
		}
		resp, err := t.attempt(req)
		if ctx.Err() != nil {
			closeBody(resp)
			return nil, ctx.Err()
		}
		var wait time.Duration
		switch {
		case err != nil || resp.StatusCode >= 500:
			if oneShot {
				return resp, err
			}
			wait = b.Next()
			if time.Since(start)+wait > budget {
				return resp, err
			}
		case resp.StatusCode == http.StatusTooManyRequests:
			after, ok := retryAfter(resp)
			if !ok || after > t.retry.MaxRateLimitWait || oneShot {
				return resp, nil
			}
			wait = after
		default:
			return resp, nil
		}
		closeBody(resp)
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// attempt sends req once, bounded by retry.Attempt until the response
// headers arrive; the body stays readable until closed.
func (t *retrying) attempt(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(t.retry.Attempt, cancel)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() || err != nil {
		cancel()
		if err == nil {
			closeBody(resp)
			err = errors.New("discord did not answer in time")
		}
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func closeBody(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
}

// retryAfter reads how long a 429 asks to wait: retry_after of the JSON
// body (seconds, fractional), else the Retry-After header. It leaves the
// body readable.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	// Closing the response still closes the connection's body and ends
	// the attempt's context.
	resp.Body = struct {
		io.Reader
		io.Closer
	}{bytes.NewReader(body), resp.Body}
	if err == nil {
		var rl struct {
			RetryAfter *float64 `json:"retry_after"`
		}
		if json.Unmarshal(body, &rl) == nil && rl.RetryAfter != nil && *rl.RetryAfter >= 0 && !math.IsInf(*rl.RetryAfter, 0) {
			return time.Duration(*rl.RetryAfter * float64(time.Second)), true
		}
	}
	if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	return 0, false
}
