// Package alert tells the admins, outside Discord, of what went wrong:
// each spawner.Alert is published to an SNS topic and POSTed as JSON to a
// webhook (docs/alerts.md has the body), each sink with a worker and a
// bounded queue of its own, so that raising an alert never blocks or slows
// the caller and a sink that is down never delays the other.
//
// Delivery is retried with capped exponential backoff; the same failure
// repeating (an alert of the same kind and key) within a window is told
// once, then its repeats are counted and told in one summary when the
// window ends. Every secret the Notifier is given is taken out of every
// alert before it leaves.
package alert

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Defaults, used when the matching Config field is zero.
const (
	// DefaultWindow is how long the repeats of one failure are counted
	// rather than told.
	DefaultWindow = 10 * time.Minute
	// DefaultQueueSize is how many alerts each sink holds while it is
	// slow or down; more are dropped, and counted.
	DefaultQueueSize = 64
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait between two
	// tries of one delivery.
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultAttempts is how many times one alert is tried on one sink
	// before it is given up (about 8 minutes with the default backoff).
	DefaultAttempts = 10
	// DefaultTimeout caps one try (a POST, a Publish).
	DefaultTimeout = 10 * time.Second
)

// Sinks, as counted and logged.
const (
	SinkSNS     = "sns"
	SinkWebhook = "webhook"
)

// Outcomes of an alert on a sink, as counted (Config.Count).
const (
	OutcomeSent         = "sent"         // delivered
	OutcomeFailed       = "failed"       // given up after its tries, or refused for good
	OutcomeDropped      = "dropped"      // the sink's queue was full, or the Notifier closed first
	OutcomeDeduplicated = "deduplicated" // a repeat within the window: counted, told in the summary
)

// Config is what a Notifier sends alerts to, and how.
type Config struct {
	// TopicARN is the SNS topic (ALERT_SNS_TOPIC_ARN), published to
	// through SNS; empty: no SNS.
	TopicARN string
	SNS      SNSAPI
	// WebhookURL receives a JSON POST per alert (ALERT_WEBHOOK_URL); it
	// is a secret (a chat webhook's URL holds its token) and is never
	// logged. Empty: no webhook.
	WebhookURL string
	// HTTPClient POSTs to the webhook; nil: http.DefaultClient's
	// settings. Redirects are never followed.
	HTTPClient *http.Client
	// Deployment names the bot in every alert (SPAWNER_DEPLOYMENT).
	Deployment string
	// Secrets are values that must never leave: each is replaced by
	// "[redacted]" wherever it appears in an alert. Values shorter than 8
	// characters are ignored.
	Secrets []string

	Window     time.Duration // DefaultWindow when zero
	QueueSize  int           // DefaultQueueSize when zero
	MinBackoff time.Duration // DefaultMinBackoff when zero
	MaxBackoff time.Duration // DefaultMaxBackoff when zero
	Attempts   int           // DefaultAttempts when zero
	Timeout    time.Duration // DefaultTimeout when zero

	Clock Clock        // the real clock when nil
	Log   *slog.Logger // slog.Default() when nil
	// Count is told each outcome of an alert on a sink (for metrics); it
	// must not block. Nil: nothing is counted.
	Count func(sink, outcome string)
}

// Clock is the time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Notifier sends alerts to the sinks of its Config. Alert and Deliver are
// safe for concurrent use; Start starts its workers, Close stops them.
type Notifier struct {
	cfg   Config
	sinks []*sink

	mu      sync.Mutex
	windows map[string]*window // by kind and key
	closed  bool

	wake   chan struct{} // a first window opened: the summariser sets its timer
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// sink is one place alerts go, with its queue; send makes one try.
type sink struct {
	name  string
	send  func(ctx context.Context, m *message) error
	queue chan *message
}

// window is one failure told recently: its repeats until the window ends
// are counted, the last one kept for the summary.
type window struct {
	until   time.Time
	since   time.Time // when the alert told last was raised
	repeats int
	last    spawner.Alert
}

// New returns a Notifier for cfg. It starts nothing (Start does) and
// dials nothing. It has no sink when cfg names none: Alert then does
// nothing.
func New(cfg Config) *Notifier {
	cfg.Window = cmp.Or(cfg.Window, DefaultWindow)
	cfg.QueueSize = spawner.PositiveOr(cfg.QueueSize, DefaultQueueSize)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff)
	cfg.Attempts = spawner.PositiveOr(cfg.Attempts, DefaultAttempts)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Count == nil {
		cfg.Count = func(string, string) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{cfg: cfg, windows: map[string]*window{}, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	if cfg.TopicARN != "" {
		n.sinks = append(n.sinks, &sink{name: SinkSNS, send: n.publish, queue: make(chan *message, cfg.QueueSize)})
	}
	if cfg.WebhookURL != "" {
		n.sinks = append(n.sinks, &sink{name: SinkWebhook, send: n.newWebhook(), queue: make(chan *message, cfg.QueueSize)})
	}
	return n
}

// Sinks names the sinks alerts go to, in the order SNS, webhook.
func (n *Notifier) Sinks() []string {
	names := make([]string, len(n.sinks))
	for i, s := range n.sinks {
		names[i] = s.name
	}
	return names
}

// Start starts a worker per sink and the summariser of repeats; Close
// stops them. Call it once.
func (n *Notifier) Start() {
	for _, s := range n.sinks {
		n.wg.Go(func() { n.serve(s) })
	}
	n.wg.Go(n.summarise)
}

// Close stops the workers and waits for them: a try under way is
// abandoned, and the alerts still queued are dropped, counted and logged,
// as is any alert raised after Close. Close is idempotent.
func (n *Notifier) Close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
	for _, s := range n.sinks {
		left := 0
		for len(s.queue) > 0 {
			<-s.queue
			left++
			n.cfg.Count(s.name, OutcomeDropped)
		}
		if left > 0 {
			n.cfg.Log.Warn("alerts not delivered: the bot is stopping", "sink", s.name, "alerts", left)
		}
	}
}

// Alert queues a for every sink and returns at once, whatever becomes of
// it: when a sink's queue is full, a is dropped there (counted, logged);
// when an alert of the same kind and key was told less than the window
// ago, a is only counted, and told in that window's summary. A zero
// a.Time is now.
func (n *Notifier) Alert(a spawner.Alert) {
	if len(n.sinks) == 0 {
		return
	}
	now := n.cfg.Clock.Now()
	if a.Time.IsZero() {
		a.Time = now
	}
	key := string(a.Kind) + "\x00" + cmp.Or(a.Key, a.Text)
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.countAll(OutcomeDropped)
		n.cfg.Log.Warn("alert dropped: the bot is stopping", "kind", a.Kind)
		return
	}
	w, ok := n.windows[key]
	switch {
	case ok && now.Before(w.until):
		w.repeats++
		w.last = a
		n.mu.Unlock()
		n.countAll(OutcomeDeduplicated)
		return
	case ok && w.repeats > 0:
		// Its window ended before the summariser saw it: do what the
		// summariser would have done, then count a in the new window.
		last, repeats, since := w.last, w.repeats, w.since
		*w = window{until: now.Add(n.cfg.Window), since: last.Time, repeats: 1, last: a}
		n.mu.Unlock()
		n.enqueue(n.message(last, repeats, since))
		n.countAll(OutcomeDeduplicated)
		return
	}
	n.windows[key] = &window{until: now.Add(n.cfg.Window), since: a.Time}
	first := len(n.windows) == 1
	n.mu.Unlock()
	n.enqueue(n.message(a, 0, time.Time{}))
	if first {
		// Windows end in the order they open: only the first needs the
		// summariser to set its timer.
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
}

// Deliver sends a to every sink now, from the caller, retrying with
// backoff until each took it or ctx ends: for the one alert the process
// must not exit without (its start failing). It bypasses the queues and
// the deduplication, and returns the sinks' errors joined.
func (n *Notifier) Deliver(ctx context.Context, a spawner.Alert) error {
	if a.Time.IsZero() {
		a.Time = n.cfg.Clock.Now()
	}
	m := n.message(a, 0, time.Time{})
	errs := make([]error, len(n.sinks))
	var wg sync.WaitGroup
	for i, s := range n.sinks {
		wg.Go(func() { errs[i] = n.deliver(ctx, s, m, math.MaxInt) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (n *Notifier) countAll(outcome string) {
	for _, s := range n.sinks {
		n.cfg.Count(s.name, outcome)
	}
}

// enqueue hands m to every sink's worker without waiting.
func (n *Notifier) enqueue(m *message) {
	for _, s := range n.sinks {
		select {
		case s.queue <- m:
		default:
			n.cfg.Count(s.name, OutcomeDropped)
			n.cfg.Log.Warn("alert dropped: its sink is behind and its queue full", "sink", s.name, "kind", m.kind, "queue", cap(s.queue))
		}
	}
}

// serve delivers s's alerts one after the other until Close.
func (n *Notifier) serve(s *sink) {
	for {
		select {
		case <-n.ctx.Done():
			return
		case m := <-s.queue:
			_ = n.deliver(n.ctx, s, m, n.cfg.Attempts)
		}
	}
}

// deliver tries m on s until it goes through, is refused for good,
// attempts tries failed or ctx ends, with capped exponential backoff (or
// longer when the sink asks to slow down). The first failure is logged as
// a warning, the last as an error.
func (n *Notifier) deliver(ctx context.Context, s *sink, m *message, attempts int) error {
	backoff := n.cfg.MinBackoff
	for attempt := 1; ; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
		err := s.send(tctx, m)
		cancel()
		switch {
		case err == nil:
			n.cfg.Count(s.name, OutcomeSent)
			if attempt > 1 {
				n.cfg.Log.Info("alert delivered after retrying", "sink", s.name, "kind", m.kind, "attempts", attempt)
			}
			return nil
		case ctx.Err() != nil:
			n.cfg.Count(s.name, OutcomeDropped)
			n.cfg.Log.Warn("alert not delivered: stopped", "sink", s.name, "kind", m.kind, "attempts", attempt, "err", err)
			return err
		case isPermanent(err) || attempt >= attempts:
			n.cfg.Count(s.name, OutcomeFailed)
			n.cfg.Log.Error("alert not delivered; given up", "sink", s.name, "kind", m.kind, "attempts", attempt, "err", err)
			return err
		case attempt == 1:
			n.cfg.Log.Warn("alert not delivered; retrying with backoff", "sink", s.name, "kind", m.kind, "err", err)
		}
		wait := backoff
		var slow *slowDown
		if errors.As(err, &slow) {
			wait = min(max(wait, slow.after), n.cfg.MaxBackoff)
		}
		select {
		case <-ctx.Done():
			n.cfg.Count(s.name, OutcomeDropped)
			n.cfg.Log.Warn("alert not delivered: stopped", "sink", s.name, "kind", m.kind, "attempts", attempt, "err", err)
			return err
		case <-n.cfg.Clock.After(wait):
		}
		backoff = min(backoff*2, n.cfg.MaxBackoff)
	}
}

// summarise ends the windows as they run out: one with repeats sends its
// summary (the last repeat, with their number) and opens a new window; one
// without is forgotten.
func (n *Notifier) summarise() {
	for {
		now := n.cfg.Clock.Now()
		var due []*message
		var next time.Time
		n.mu.Lock()
		for key, w := range n.windows {
			switch {
			case now.Before(w.until):
				if next.IsZero() || w.until.Before(next) {
					next = w.until
				}
			case w.repeats > 0:
				due = append(due, n.message(w.last, w.repeats, w.since))
				*w = window{until: now.Add(n.cfg.Window), since: w.last.Time}
				if next.IsZero() || w.until.Before(next) {
					next = w.until
				}
			default:
				delete(n.windows, key)
			}
		}
		n.mu.Unlock()
		for _, m := range due {
			n.enqueue(m)
		}
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = n.cfg.Clock.After(next.Sub(now))
		}
		select {
		case <-n.ctx.Done():
			return
		case <-timer:
		case <-n.wake:
		}
	}
}

// permanent marks a failure that trying again cannot fix (a topic that
// does not exist, a webhook answering 404).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// slowDown is a failure whose sink asked to wait at least after.
type slowDown struct {
	error
	after time.Duration
}

func (s *slowDown) Unwrap() error { return s.error }

// newID is an alert's id: 16 random bytes in hex.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
