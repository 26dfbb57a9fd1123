package discord

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// roundTrips answers with its results in order, recording the bodies sent.
type roundTrips struct {
	results []error // nil: 200
	bodies  []string
}

func (r *roundTrips) RoundTrip(req *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(req.Body)
	r.bodies = append(r.bodies, string(b))
	err := r.results[0]
	r.results = r.results[1:]
	if err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}}, nil
}

// A network error is transient: the request is sent again, body included.
func TestNetworkErrorIsRetried(t *testing.T) {
	next := &roundTrips{results: []error{errors.New("connection reset by peer"), nil}}
	tr := newRetrying(next, Retry{First: time.Millisecond})
	req, _ := http.NewRequest("POST", "https://discord.com/api/v9/channels/1/messages", strings.NewReader(`{"content":"ready"}`))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("round trip after a network error: %v", err)
	}
	resp.Body.Close()
	if len(next.bodies) != 2 || next.bodies[1] != `{"content":"ready"}` {
		t.Errorf("sent %q, want the body twice", next.bodies)
	}
}
