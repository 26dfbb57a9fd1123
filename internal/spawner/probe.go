package spawner

import (
	"context"
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
