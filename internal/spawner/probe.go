package spawner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ProbeContext bounds one probe of a game server (a Server List Ping, an
// A2S query, a TCP connect): ctx with timeout, or with def when timeout is
// not positive (a prober's zero value). The caller must call the cancel.
func ProbeContext(ctx context.Context, timeout, def time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = def
	}
	return context.WithTimeout(ctx, timeout)
}

// TimedProbe runs probe under ProbeContext(ctx, timeout, def) and returns
// its Ping with Latency set to how long the whole probe took. probe's
// error is returned as it is, with a zero Ping.
func TimedProbe(ctx context.Context, timeout, def time.Duration, probe func(context.Context) (Ping, error)) (Ping, error) {
	ctx, cancel := ProbeContext(ctx, timeout, def)
	defer cancel()
	start := time.Now()
	ping, err := probe(ctx)
	if err != nil {
		return Ping{}, err
	}
	ping.Latency = time.Since(start)
	return ping, nil
}

// ProbeErr is a probe's failure with the context's reason preferred over
// the socket's "i/o timeout", so a caller can tell a timeout
// (context.DeadlineExceeded) from a refusal: the socket's deadline is the
// context's, and its timer may fire first.
func ProbeErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}
