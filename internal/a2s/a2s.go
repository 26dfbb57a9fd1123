// Package a2s asks a Steam game server (Valheim, Rust, CS2, ...) who plays,
// with the A2S_INFO query of Valve's server query protocol over UDP,
// including the challenge step current servers send before they answer.
//
// Reference: https://developer.valvesoftware.com/wiki/Server_queries
package a2s

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// DefaultTimeout bounds one Query when ctx has no deadline.
const DefaultTimeout = 5 * time.Second

// maxChallenges is how many challenges in a row Query answers before it
// gives up: a real server sends one.
const maxChallenges = 3

// Packet headers and types.
const (
	headerSingle = 0xFFFFFFFF // a reply in one packet
	headerSplit  = 0xFFFFFFFE // a reply split over several packets

	typeInfoRequest = 0x54 // 'T', A2S_INFO
	typeChallenge   = 0x41 // 'A', S2C_CHALLENGE
	typeInfoReply   = 0x49 // 'I', the Source info reply
	typeGoldSource  = 0x6D // 'm', the obsolete GoldSource info reply
)

// infoPayload follows the header and type of every A2S_INFO request.
const infoPayload = "Source Engine Query\x00"

// ErrBadAnswer is the cause of every error about what a server sent: a
// packet malformed, truncated, or not the one expected.
var ErrBadAnswer = errors.New("bad answer")

// ErrSplit is returned for a reply split over several packets, which this
// client does not reassemble. Info replies fit in one packet on every
// server seen so far.
var ErrSplit = fmt.Errorf("%w: the reply is split over several packets, which is not supported", ErrBadAnswer)

// Query sends A2S_INFO to addr ("host:port", the game's query port) and
// returns the server's answer, answering a challenge if the server sends
// one. It is bounded by ctx's deadline, or DefaultTimeout when ctx has
// none; a server that never answers gives an error wrapping
// context.DeadlineExceeded. It is safe for concurrent use and never panics
// on what a server sends.
func Query(ctx context.Context, addr string) (Info, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	info, err := query(ctx, addr)
	if err != nil {
		return Info{}, fmt.Errorf("a2s query %s: %w", addr, spawner.ProbeErr(ctx, err))
	}
	return info, nil
}

func query(ctx context.Context, addr string) (info Info, err error) {
	defer func() {
		// The probe's boundary: whatever a server sends, a bug in the
		// parser is a failed query, never a crashed daemon.
		if r := recover(); r != nil {
			info, err = Info{}, fmt.Errorf("%w: %v", ErrBadAnswer, r)
		}
	}()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return Info{}, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return Info{}, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	buf := make([]byte, 64<<10)
	var challenge []byte
	for range maxChallenges + 1 {
		if _, err := conn.Write(infoRequest(challenge)); err != nil {
			return Info{}, fmt.Errorf("send request: %w", err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			return Info{}, fmt.Errorf("read reply: %w", err)
		}
		reply := buf[:n]
		if c, ok, err := parseChallenge(reply); err != nil {
			return Info{}, err
		} else if ok {
			challenge = c
			continue
		}
		return Parse(reply)
	}
	return Info{}, fmt.Errorf("%w: %d challenges in a row", ErrBadAnswer, maxChallenges+1)
}

// infoRequest is an A2S_INFO request, with the challenge appended when the
// server sent one.
func infoRequest(challenge []byte) []byte {
	b := make([]byte, 0, 5+len(infoPayload)+len(challenge))
	b = append(b, 0xFF, 0xFF, 0xFF, 0xFF, typeInfoRequest)
	b = append(b, infoPayload...)
	return append(b, challenge...)
}

// parseChallenge reports whether reply is an S2C_CHALLENGE, and its 4 bytes.
func parseChallenge(reply []byte) ([]byte, bool, error) {
	r := reader{b: reply}
	if err := r.header(); err != nil {
		return nil, false, err
	}
	t := r.byte()
	if r.err != nil {
		return nil, false, r.err
	}
	if t != typeChallenge {
		return nil, false, nil
	}
	c := r.bytes(4)
	if r.err != nil {
		return nil, false, fmt.Errorf("%w: challenge of %d bytes, want 4", ErrBadAnswer, len(reply)-5)
	}
	return append([]byte(nil), c...), true, nil
}

// Pinger asks Steam game servers who plays, for the lifecycle's probes.
// The zero value is ready to use; it is safe for concurrent use.
type Pinger struct {
	// Timeout bounds one Ping; DefaultTimeout when zero.
	Timeout time.Duration
}

// Ping queries addr (the game's query port) and returns the players
// online (bots not counted), the maximum, the version and the latency of
// the whole query. Errors are Query's.
func (p Pinger) Ping(ctx context.Context, addr string) (spawner.Ping, error) {
	return spawner.TimedProbe(ctx, p.Timeout, DefaultTimeout, func(ctx context.Context) (spawner.Ping, error) {
		info, err := Query(ctx, addr)
		if err != nil {
			return spawner.Ping{}, err
		}
		return spawner.Ping{Online: info.HumanPlayers(), Max: info.MaxPlayers, Version: info.Version}, nil
	})
}
