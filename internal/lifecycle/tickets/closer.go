// Package tickets deletes the ticket channels of servers that ended, once
// their owners had time to read why. Its Closer owns the channels waiting
// to be deleted; it has no goroutine of its own: the lifecycle's loop
// asks it for the next time one is due (Next) and has it delete those due
// (CloseDue).
package tickets

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Chat deletes a ticket channel; deleting one already gone is not an error.
type Chat interface {
	DeleteChannel(ctx context.Context, channelID string) error
}

// Closer holds the ticket channels waiting for their close delay. It is
// safe for concurrent use; it calls Chat with no lock held.
type Closer struct {
	chat  Chat
	log   *slog.Logger
	now   func() time.Time
	delay time.Duration // a ticket stays this long after its server ended; 0: deleted at once
	retry time.Duration // the wait before a failed delete is tried again

	mu  sync.Mutex
	due []closing
}

type closing struct {
	channelID string
	at        time.Time
	done      chan struct{} // closed once the channel is deleted
}

// New returns a Closer that deletes a ticket channel delay after its
// server ended (at once when delay is zero), trying a failed delete again
// retry later, with now as its clock.
func New(chat Chat, log *slog.Logger, now func() time.Time, delay, retry time.Duration) *Closer {
	return &Closer{chat: chat, log: log, now: now, delay: delay, retry: retry}
}

// Later deletes a ticket channel after the close delay, so its owner can
// read why the server ended; with no delay, it deletes it at once. A
// restart in between leaves it to the start's sweep of the category. The
// channel returned is closed once the ticket channel is deleted.
func (c *Closer) Later(ctx context.Context, channelID string) <-chan struct{} {
	done := make(chan struct{})
	if c.delay <= 0 {
		if err := c.chat.DeleteChannel(ctx, channelID); err != nil && ctx.Err() == nil {
			c.log.Warn("delete ticket channel", "channel", channelID, "err", err)
		}
		close(done)
		return done
	}
	c.mu.Lock()
	c.due = append(c.due, closing{channelID: channelID, at: c.now().Add(c.delay), done: done})
	c.mu.Unlock()
	return done
}

// Next is when the first channel is due, zero when none waits.
func (c *Closer) Next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for _, d := range c.due {
		if next.IsZero() || d.at.Before(next) {
			next = d.at
		}
	}
	return next
}

// CloseDue deletes the ticket channels whose close delay is over at now; a
// delete that fails is tried again after the retry wait.
func (c *Closer) CloseDue(ctx context.Context, now time.Time) {
	c.mu.Lock()
	var due []closing
	kept := c.due[:0]
	for _, d := range c.due {
		if !now.Before(d.at) {
			due = append(due, d)
		} else {
			kept = append(kept, d)
		}
	}
	c.due = kept
	c.mu.Unlock()
	for _, d := range due {
		if err := c.chat.DeleteChannel(ctx, d.channelID); err != nil && ctx.Err() == nil {
			c.log.Warn("delete ticket channel; retrying later", "channel", d.channelID, "err", err)
			d.at = now.Add(c.retry)
			c.mu.Lock()
			c.due = append(c.due, d)
			c.mu.Unlock()
			continue
		}
		close(d.done)
	}
}

// OneEarly deletes the ticket channel of an ended server that is the
// closest to its close delay, to free its slot in a full category. It
// reports whether one was deleted.
func (c *Closer) OneEarly(ctx context.Context) bool {
	c.mu.Lock()
	if len(c.due) == 0 {
		c.mu.Unlock()
		return false
	}
	first := 0
	for i, d := range c.due {
		if d.at.Before(c.due[first].at) {
			first = i
		}
	}
	d := c.due[first]
	c.due = slices.Delete(c.due, first, first+1)
	c.mu.Unlock()
	if err := c.chat.DeleteChannel(ctx, d.channelID); err != nil {
		c.log.Warn("delete a lingering ticket channel early", "channel", d.channelID, "err", err)
		c.mu.Lock()
		c.due = append(c.due, d)
		c.mu.Unlock()
		return false
	}
	c.log.Info("ticket category full: closed a lingering ticket channel early", "channel", d.channelID)
	close(d.done)
	return true
}
