// Package mcping asks a Minecraft server how many players it has, with the
// Server List Ping the game's multiplayer screen uses (handshake, status
// request, ping), spoken through github.com/Tnze/go-mc's network layer.
package mcping

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/Tnze/go-mc/data/packetid"
	mcnet "github.com/Tnze/go-mc/net"
	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// DefaultTimeout bounds one Ping when Pinger.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// protocolVersion is sent in the handshake: go-mc v1.20.2's own (Minecraft
// 1.20.2). A vanilla server answers a status request whatever the number.
const protocolVersion = 764

// intentStatus is the handshake's next state for a Server List Ping.
const intentStatus = 1

// Pinger does Server List Pings. The zero value is ready to use; it is safe
// for concurrent use.
type Pinger struct {
	// Timeout bounds one Ping, from dialling to the pong; DefaultTimeout when zero.
	Timeout time.Duration
}

// Ping does a Server List Ping to addr ("host:port") and returns the
// players online and the maximum, the version name, and the latency (the
// round trip of the final ping/pong exchange).
//
// It fails when nothing answers or the connection drops, when the server
// does not answer within the timeout or before ctx ends, and when the
// status is not valid JSON or the pong does not echo the ping. The error
// says which step failed. Whatever the server sends, Ping returns: a
// malformed or oversized answer (more than MaxReply bytes a packet) is an
// error wrapping ErrBadAnswer, never a panic.
func (p Pinger) Ping(ctx context.Context, addr string) (spawner.Ping, error) {
	ctx, cancel := spawner.ProbeContext(ctx, p.Timeout, DefaultTimeout)
	defer cancel()

	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return spawner.Ping{}, fmt.Errorf("ping %s: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return spawner.Ping{}, fmt.Errorf("ping %s: port: %w", addr, err)
	}

	var dialer net.Dialer
	conn, err := (*mcnet.Dialer)(&dialer).DialMCContext(ctx, addr)
	if err != nil {
		return spawner.Ping{}, fmt.Errorf("ping %s: dial: %w", addr, spawner.ProbeErr(ctx, err))
	}
	defer conn.Close()
	// The deadline covers a server that accepts and then says nothing; the
	// AfterFunc covers ctx being cancelled without a deadline passing.
	deadline, _ := ctx.Deadline()
	if err := conn.Socket.SetDeadline(deadline); err != nil {
		return spawner.Ping{}, fmt.Errorf("ping %s: set deadline: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Socket.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	status, latency, err := exchange(conn, host, uint16(port))
	if err != nil {
		return spawner.Ping{}, fmt.Errorf("ping %s: %w", addr, spawner.ProbeErr(ctx, err))
	}
	ping, err := ParseStatus(status)
	if err != nil {
		return spawner.Ping{}, fmt.Errorf("ping %s: %w", addr, err)
	}
	ping.Latency = latency
	return ping, nil
}

// exchange speaks the status protocol on conn: handshake, status request,
// status response, ping, pong. It reads at most MaxReply bytes a packet,
// and whatever the server sends, it returns an error rather than panic.
func exchange(conn *mcnet.Conn, host string, port uint16) (status string, latency time.Duration, err error) {
	defer func() {
		// The probe's boundary: a parse bug, ours or go-mc's, on a
		// hostile answer is a failed ping, never a crashed daemon.
		if r := recover(); r != nil {
			status, latency, err = "", 0, fmt.Errorf("%w: %v", ErrBadAnswer, r)
		}
	}()
	err = conn.WritePacket(pk.Marshal(
		0x00, // handshake
		pk.VarInt(protocolVersion),
		pk.String(host),
		pk.UnsignedShort(port),
		pk.VarInt(intentStatus),
	))
	if err != nil {
		return "", 0, fmt.Errorf("send handshake: %w", err)
	}
	if err := conn.WritePacket(pk.Marshal(packetid.ServerboundStatusRequest)); err != nil {
		return "", 0, fmt.Errorf("send status request: %w", err)
	}
	r := bufio.NewReader(conn.Socket)
	frame, err := readFrame(r)
	if err != nil {
		return "", 0, fmt.Errorf("read status: %w", err)
	}
	status, err = parseStatusResponse(frame)
	if err != nil {
		return "", 0, fmt.Errorf("read status: %w", err)
	}

	start := time.Now()
	payload := pk.Long(start.UnixNano())
	if err := conn.WritePacket(pk.Marshal(packetid.ServerboundStatusPingRequest, payload)); err != nil {
		return "", 0, fmt.Errorf("send ping: %w", err)
	}
	frame, err = readFrame(r)
	if err != nil {
		return "", 0, fmt.Errorf("read pong: %w", err)
	}
	latency = time.Since(start)
	if echo, err := parsePong(frame); err != nil || echo != int64(payload) {
		return "", 0, errors.New("read pong: the server did not echo the ping")
	}
	return status, latency, nil
}
