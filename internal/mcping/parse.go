package mcping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/Tnze/go-mc/data/packetid"
	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// MaxReply bounds one packet of a server's answer. A vanilla status is a
// few KiB even with a server icon; anything larger is refused before it is
// read, so a hostile server cannot make the bot allocate at will.
const MaxReply = 64 << 10

// ErrBadAnswer is the cause of every error about what a server sent: a
// packet too large, malformed, or not the one expected.
var ErrBadAnswer = errors.New("bad answer")

// readFrame reads one uncompressed packet (length, then that many bytes)
// and returns its body: the packet id and the data.
func readFrame(r io.ByteReader) ([]byte, error) {
	var n uint64
	for i := 0; ; i++ {
		if i == 5 {
			return nil, fmt.Errorf("%w: packet length is not a VarInt", ErrBadAnswer)
		}
		b, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		n |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			break
		}
	}
	if n == 0 || n > MaxReply {
		return nil, fmt.Errorf("%w: packet of %d bytes (at most %d)", ErrBadAnswer, n, MaxReply)
	}
	frame := make([]byte, n)
	for i := range frame {
		var err error
		if frame[i], err = r.ReadByte(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return frame, nil
}

// parseStatusResponse returns the JSON status carried by a status response
// packet body, checking every length against what was received.
func parseStatusResponse(frame []byte) (string, error) {
	r := bytes.NewReader(frame)
	var id pk.VarInt
	if _, err := id.ReadFrom(r); err != nil {
		return "", fmt.Errorf("%w: packet id: %v", ErrBadAnswer, err)
	}
	if int32(id) != int32(packetid.ClientboundStatusResponse) {
		return "", fmt.Errorf("%w: packet 0x%02x, want 0x%02x", ErrBadAnswer, int32(id), int32(packetid.ClientboundStatusResponse))
	}
	var n pk.VarInt
	if _, err := n.ReadFrom(r); err != nil {
		return "", fmt.Errorf("%w: status length: %v", ErrBadAnswer, err)
	}
	// go-mc's pk.String trusts this length: a negative one panics in
	// make, a huge one allocates it. Check it against what is there.
	if n < 0 || int(n) > r.Len() {
		return "", fmt.Errorf("%w: status of %d bytes in a packet of %d", ErrBadAnswer, int32(n), len(frame))
	}
	status := make([]byte, n)
	_, _ = r.Read(status)
	return string(status), nil
}

// parsePong returns the number echoed by a pong packet body.
func parsePong(frame []byte) (int64, error) {
	r := bytes.NewReader(frame)
	var id pk.VarInt
	if _, err := id.ReadFrom(r); err != nil {
		return 0, fmt.Errorf("%w: packet id: %v", ErrBadAnswer, err)
	}
	if int32(id) != int32(packetid.ClientboundStatusPongResponse) {
		return 0, fmt.Errorf("%w: packet 0x%02x, want a pong", ErrBadAnswer, int32(id))
	}
	var echo pk.Long
	if _, err := echo.ReadFrom(r); err != nil {
		return 0, fmt.Errorf("%w: pong: %v", ErrBadAnswer, err)
	}
	return int64(echo), nil
}

// ParseStatus reads the players and the version from a Server List Ping
// status (the JSON of the status response). It never panics; anything but
// a JSON object with non-negative player counts is an error wrapping
// ErrBadAnswer.
func ParseStatus(status string) (spawner.Ping, error) {
	var answer struct {
		Version struct {
			Name string `json:"name"`
			// Read apart: a protocol that is no number loses the number,
			// never the players.
			Protocol json.RawMessage `json:"protocol"`
		} `json:"version"`
		Players struct {
			Max    int `json:"max"`
			Online int `json:"online"`
		} `json:"players"`
	}
	if err := json.Unmarshal([]byte(status), &answer); err != nil {
		return spawner.Ping{}, fmt.Errorf("%w: status is not valid JSON: %v", ErrBadAnswer, err)
	}
	if answer.Players.Online < 0 || answer.Players.Max < 0 {
		return spawner.Ping{}, fmt.Errorf("%w: negative player count", ErrBadAnswer)
	}
	return spawner.Ping{
		Online:   answer.Players.Online,
		Max:      answer.Players.Max,
		Version:  answer.Version.Name,
		Protocol: protocolNumber(answer.Version.Protocol),
	}, nil
}

// protocolNumber is the status's protocol number: a JSON integer that fits
// 32 bits, as the game's VarInt does; 0 for anything else.
func protocolNumber(raw json.RawMessage) int {
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		return 0
	}
	return int(n)
}

// parseAnswer is the whole of what the client parses, from the bytes a
// server sent after the status request: the status packet, then the pong.
// It exists for the fuzz test.
func parseAnswer(data []byte) (spawner.Ping, int64, error) {
	r := bytes.NewReader(data)
	frame, err := readFrame(r)
	if err != nil {
		return spawner.Ping{}, 0, err
	}
	status, err := parseStatusResponse(frame)
	if err != nil {
		return spawner.Ping{}, 0, err
	}
	ping, err := ParseStatus(status)
	if err != nil {
		return spawner.Ping{}, 0, err
	}
	frame, err = readFrame(r)
	if err != nil {
		return spawner.Ping{}, 0, err
	}
	echo, err := parsePong(frame)
	return ping, echo, err
}
