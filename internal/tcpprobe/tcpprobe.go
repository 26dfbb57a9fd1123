// Package tcpprobe tells whether a game server is up by whether its port
// accepts a TCP connection: for games that answer no query protocol. It
// cannot tell how many play.
package tcpprobe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// DefaultTimeout bounds one Probe when ctx has no deadline.
const DefaultTimeout = 5 * time.Second

// Probe connects to addr ("host:port") and closes the connection at once.
// It returns nil when the port accepted, and an error when it refused or
// did not accept before ctx's deadline (DefaultTimeout when ctx has none);
// a timeout wraps context.DeadlineExceeded.
func Probe(ctx context.Context, addr string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%v)", cerr, err)
		}
		return fmt.Errorf("tcp probe %s: %w", addr, err)
	}
	_ = conn.Close()
	return nil
}

// Pinger probes game servers for the lifecycle. The Ping it returns says
// only that the server is up: Online and Max are always 0, since a TCP
// port tells nothing of players (spawner.ProtocolTCP.CountsPlayers is
// false). The zero value is ready to use; it is safe for concurrent use.
type Pinger struct {
	// Timeout bounds one Ping; DefaultTimeout when zero.
	Timeout time.Duration
}

// Ping probes addr and returns the time the connection took to open.
func (p Pinger) Ping(ctx context.Context, addr string) (spawner.Ping, error) {
	return spawner.TimedProbe(ctx, p.Timeout, DefaultTimeout, func(ctx context.Context) (spawner.Ping, error) {
		return spawner.Ping{}, Probe(ctx, addr)
	})
}
