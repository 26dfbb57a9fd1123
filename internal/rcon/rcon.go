// Package rcon runs one command in a game server through Minecraft RCON,
// over the RCON connection of github.com/Tnze/go-mc/net, with a deadline
// on the dial and on every read and write.
package rcon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	mcnet "github.com/Tnze/go-mc/net"
)

// DefaultTimeout bounds one Run when ctx has no deadline.
const DefaultTimeout = 10 * time.Second

// Packet types of the Minecraft RCON protocol.
const (
	typeLogin   = 3
	typeCommand = 2
)

// ErrAuth is returned by Run when the server refuses the password.
var ErrAuth = errors.New("rcon: wrong password")

// Run connects to addr ("host:port", the game's RCON port), logs in with
// password, runs command and returns the server's reply (its first packet,
// up to 4 KiB: enough for "op"; a longer reply is cut). It is bounded by
// ctx's deadline, or DefaultTimeout when ctx has none. A refused password
// is ErrAuth; the password never appears in an error. Run never panics on
// what a server sends.
//
// Run does not check command: a caller that builds it from what a member
// typed validates it first (see spawner.ValidPlayerName).
func Run(ctx context.Context, addr, password, command string) (reply string, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	reply, err = run(ctx, addr, password, command)
	if err != nil && !errors.Is(err, ErrAuth) {
		return "", fmt.Errorf("rcon %s: %w", addr, ctxErr(ctx, err))
	}
	return reply, err
}

func run(ctx context.Context, addr, password, command string) (reply string, err error) {
	defer func() {
		if r := recover(); r != nil {
			reply, err = "", fmt.Errorf("bad answer: %v", r)
		}
	}()
	// go-mc's DialRCON dials without a timeout and tells a wrong password
	// only by an error string, so the dial and the login are done here,
	// on go-mc's RCONConn, which frames every packet.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c := &mcnet.RCONConn{Conn: conn, ReqID: rand.Int32N(1<<31-2) + 1} //nolint:gosec // G404: a request id tells answers apart; it guards nothing
	if err := c.WritePacket(c.ReqID, typeLogin, password); err != nil {
		return "", fmt.Errorf("send login: %w", err)
	}
	id, _, _, err := c.ReadPacket()
	switch {
	case err != nil:
		return "", fmt.Errorf("read login reply: %w", err)
	case id == -1:
		return "", ErrAuth
	case id != c.ReqID:
		return "", fmt.Errorf("read login reply: request id %d, want %d", id, c.ReqID)
	}

	var client mcnet.RCONClientConn = c
	if err := client.Cmd(command); err != nil {
		return "", fmt.Errorf("send command: %w", err)
	}
	reply, err = client.Resp()
	if err != nil {
		return "", fmt.Errorf("read reply: %w", err)
	}
	return reply, nil
}

// ctxErr prefers the context's reason over the socket's "i/o timeout".
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	// The socket's deadline is the context's, and its timer may fire
	// first; go-mc's reads keep only the text of the error.
	d, ok := ctx.Deadline()
	if errors.Is(err, os.ErrDeadlineExceeded) || ok && !time.Now().Before(d) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}
