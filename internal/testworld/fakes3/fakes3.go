// Package fakes3 is an S3 on loopback that speaks the wire protocol
// (gofakes3, in memory), for tests that drive the real SDK client.
package fakes3

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Region is the region the clients of the fake sign for.
const Region = "eu-west-3"

// Server is one fake S3, stopped when the test ends.
type Server struct {
	// URL is the endpoint, as AWS_ENDPOINT_URL_S3 would give it.
	URL string

	mu       sync.Mutex
	fail     func(*http.Request) bool
	deny     func(*http.Request) bool
	holds    []*Hold
	requests []string
}

// Start starts a fake S3 on a :0 port of loopback.
func Start(tb testing.TB) *Server {
	tb.Helper()
	fake := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	s := &Server{}
	handler := fake.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, describe(r))
		fail := s.fail != nil && s.fail(r)
		deny := s.deny != nil && s.deny(r)
		var hold *Hold
		for _, h := range s.holds {
			if h.match(r) && h.take() {
				hold = h
				break
			}
		}
		s.mu.Unlock()
		switch {
		case fail:
			writeError(w, http.StatusInternalServerError, "InternalError", "failed by the test")
			return
		case deny:
			writeError(w, http.StatusForbidden, "AccessDenied", "Access Denied")
			return
		}
		if hold != nil {
			close(hold.arrived)
			select {
			case <-hold.release:
			case <-r.Context().Done(): // the client is gone (killed)
				return
			}
		}
		handler.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	// Cleanups run last first: held requests are let go before Close
	// waits for them.
	tb.Cleanup(s.releaseAll)
	s.URL = srv.URL
	return s
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>` + message + `</Message></Error>`))
}

// describe names a request by what it does: "PUT /bucket/key?partNumber&uploadId".
func describe(r *http.Request) string {
	var keys []string
	for k := range r.URL.Query() {
		if !strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			keys = append(keys, k)
		}
	}
	d := r.Method + " " + r.URL.Path
	if len(keys) > 0 {
		slices.Sort(keys)
		d += "?" + strings.Join(keys, "&")
	}
	return d
}

// FailWhen makes the fake answer 500 InternalError to every request fail
// reports true for (after the SDK's retries too); nil stops failing.
func (s *Server) FailWhen(fail func(*http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
}

// DenyWhen makes the fake answer 403 AccessDenied, as S3 answers what a
// bucket or role policy does not allow, to every request deny reports true
// for; nil stops denying. The SDK does not retry it.
func (s *Server) DenyWhen(deny func(*http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = deny
}

// Hold is a request the fake keeps waiting: the first one match reports
// true for is held, before the fake does anything with it, until Release
// (or until its client goes away, then it is dropped undone).
type Hold struct {
	match   func(*http.Request) bool
	taken   bool
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

// HoldNext holds the next request match reports true for: a test blocks
// an upload or a download in its middle with it, deterministically.
func (s *Server) HoldNext(match func(*http.Request) bool) *Hold {
	h := &Hold{match: match, arrived: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, h)
	return h
}

// take claims h for a request; false once it holds one already. Called
// with the server's lock held.
func (h *Hold) take() bool {
	if h.taken {
		return false
	}
	h.taken = true
	return true
}

// Arrived is closed once the request is held.
func (h *Hold) Arrived() <-chan struct{} { return h.arrived }

// Release lets the held request (or the next one that matches) go on; it
// may be called more than once.
func (h *Hold) Release() { h.once.Do(func() { close(h.release) }) }

func (s *Server) releaseAll() {
	s.mu.Lock()
	holds := s.holds
	s.mu.Unlock()
	for _, h := range holds {
		h.Release()
	}
}

// Requests returns the requests received so far, described as
// "METHOD /path?query-names".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Client returns a real SDK client for the fake: path-style addressing,
// test credentials, retries without long waits.
func (s *Server) Client(tb testing.TB) *s3.Client {
	tb.Helper()
	return s3.NewFromConfig(aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret-test", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 10 * time.Millisecond })
		},
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.UsePathStyle = true
	})
}

// Bucket makes a bucket.
func (s *Server) Bucket(tb testing.TB, name string) {
	tb.Helper()
	ctx := context.Background()
	client := s.Client(tb)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("create bucket %s: %v", name, err)
	}
	// gofakes3 answers NoSuchUpload to ListMultipartUploads on a bucket
	// that never had an upload, where S3 answers an empty list: one
	// upload begun and aborted makes it answer as S3 does.
	up, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(name), Key: aws.String("fakes3-primer")})
	if err != nil {
		tb.Fatalf("bucket %s: %v", name, err)
	}
	if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(name), Key: aws.String("fakes3-primer"), UploadId: up.UploadId}); err != nil {
		tb.Fatalf("bucket %s: %v", name, err)
	}
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}
