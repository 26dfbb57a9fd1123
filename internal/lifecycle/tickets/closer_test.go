package tickets

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)

// chat is a function-field fake of the ticket channels' deletion.
type chat struct {
	DeleteChannelFn func(ctx context.Context, channelID string) error
}

func (c *chat) DeleteChannel(ctx context.Context, channelID string) error {
	return c.DeleteChannelFn(ctx, channelID)
}

// deletions records the channels deleted; fail makes the next deletes fail.
type deletions struct {
	mu      sync.Mutex
	deleted []string
	fail    int
}

func (d *deletions) fake() *chat {
	return &chat{DeleteChannelFn: func(_ context.Context, id string) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.fail > 0 {
			d.fail--
			return errors.New("discord: 503")
		}
		d.deleted = append(d.deleted, id)
		return nil
	}}
}

func (d *deletions) all() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.deleted)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestLaterWaitsForTheDelay(t *testing.T) {
	ctx := context.Background()
	d := &deletions{}
	now := t0
	c := New(d.fake(), quiet(), func() time.Time { return now }, time.Minute, 5*time.Minute)
	if !c.Next().IsZero() {
		t.Errorf("Next with nothing waiting = %v, want zero", c.Next())
	}
	done := c.Later(ctx, "ch1")
	now = t0.Add(10 * time.Second)
	c.Later(ctx, "ch2")
	if got := c.Next(); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("Next = %v, want the first channel's delay over", got)
	}
	c.CloseDue(ctx, t0.Add(time.Minute-time.Nanosecond))
	if got := d.all(); len(got) != 0 || closed(done) {
		t.Fatalf("deleted %v before the delay", got)
	}
	c.CloseDue(ctx, t0.Add(time.Minute))
	if got := d.all(); !slices.Equal(got, []string{"ch1"}) || !closed(done) {
		t.Errorf("deleted %v at the delay, want ch1 and its done closed", got)
	}
	if got := c.Next(); !got.Equal(t0.Add(70 * time.Second)) {
		t.Errorf("Next = %v, want ch2's", got)
	}
}

func TestLaterWithNoDelayDeletesAtOnce(t *testing.T) {
	d := &deletions{}
	c := New(d.fake(), quiet(), func() time.Time { return t0 }, 0, time.Minute)
	if done := c.Later(context.Background(), "ch1"); !closed(done) {
		t.Errorf("Later with no delay returned before the delete")
	}
	if got := d.all(); !slices.Equal(got, []string{"ch1"}) {
		t.Errorf("deleted %v, want ch1", got)
	}
	if !c.Next().IsZero() {
		t.Errorf("a channel waits after its delete")
	}
}

func TestFailedDeleteRetried(t *testing.T) {
	ctx := context.Background()
	d := &deletions{fail: 1}
	c := New(d.fake(), quiet(), func() time.Time { return t0 }, time.Minute, 5*time.Minute)
	done := c.Later(ctx, "ch1")
	c.CloseDue(ctx, t0.Add(time.Minute))
	if closed(done) || len(d.all()) != 0 {
		t.Fatalf("a failed delete counted as done")
	}
	if got := c.Next(); !got.Equal(t0.Add(6 * time.Minute)) {
		t.Errorf("Next = %v, want the retry a retry wait later", got)
	}
	c.CloseDue(ctx, t0.Add(6*time.Minute))
	if !closed(done) || !slices.Equal(d.all(), []string{"ch1"}) {
		t.Errorf("the retry did not delete ch1: %v", d.all())
	}
}

func TestOneEarly(t *testing.T) {
	ctx := context.Background()
	d := &deletions{}
	now := t0
	c := New(d.fake(), quiet(), func() time.Time { return now }, time.Minute, time.Minute)
	if c.OneEarly(ctx) {
		t.Errorf("OneEarly with nothing waiting = true")
	}
	c.Later(ctx, "late")
	now = t0.Add(-10 * time.Second)
	first := c.Later(ctx, "first") // its delay is over first
	d.fail = 1
	if c.OneEarly(ctx) || closed(first) {
		t.Fatalf("OneEarly with a failing delete = true")
	}
	if !c.OneEarly(ctx) || !closed(first) || !slices.Equal(d.all(), []string{"first"}) {
		t.Errorf("OneEarly deleted %v, want the channel closest to its delay", d.all())
	}
	if got := c.Next(); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("Next = %v, want the other one still waiting", got)
	}
}
