package mcsleep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	pk "github.com/Tnze/go-mc/net/packet"
)

// MaxPacket bounds one packet a client sends to an asleep world, its length
// prefix aside. The largest a vanilla client sends here is a Login Start of
// 1.19 with its chat signing key, under 1 KiB; a handshake is at most 265
// bytes plus what a mod loader appends to the host. Anything larger is
// refused before it is read, so a client cannot make the bot allocate.
//
// go-mc's own packet reader is not used for reading: it trusts the length a
// client sends up to 2 MiB and allocates it, and its String panics on a
// negative length. Its field types are used where they cannot be fooled.
const MaxPacket = 2048

// ErrMalformed is the cause of every error about what a client sent: a
// packet too large, malformed, or not the one its state expects.
var ErrMalformed = errors.New("malformed packet")

// Handshake intents (next states).
const (
	IntentStatus   = 1
	IntentLogin    = 2
	IntentTransfer = 3 // 1.20.5+: a login sent by another server
)

// Protocol numbers where the Login Start changed.
const (
	protocol119   = 759 // 1.19: optional chat signing data
	protocol1191  = 760 // 1.19.1: signing data, then an optional UUID
	protocol11193 = 761 // 1.19.3: an optional UUID only
	protocol1202  = 764 // 1.20.2: the UUID always
)

// Handshake is the first packet of every connection.
type Handshake struct {
	Protocol int32  // the client's protocol number
	Host     string // the address as the player typed it (mods may append to it)
	Port     uint16
	Intent   int32 // IntentStatus, IntentLogin or IntentTransfer
}

// LoginStart is what a client says when it joins: its player's name, and
// its UUID when the protocol carries one.
type LoginStart struct {
	Name    string
	UUID    [16]byte
	HasUUID bool
}

// readFrame reads one uncompressed packet (length, then that many bytes)
// of at most limit bytes and returns its id and data. It reads the length a
// byte at a time so as to never read past the packet.
func readFrame(r io.Reader, limit int) (pk.Packet, error) {
	var (
		n   uint32
		buf [1]byte
	)
	for i := 0; ; i++ {
		if i == 3 { // 3 bytes hold 2^21, far above any limit here
			return pk.Packet{}, fmt.Errorf("%w: packet length is not a short VarInt", ErrMalformed)
		}
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return pk.Packet{}, err
		}
		n |= uint32(buf[0]&0x7f) << (7 * i)
		if buf[0]&0x80 == 0 {
			break
		}
	}
	if n == 0 || int(n) > limit {
		return pk.Packet{}, fmt.Errorf("%w: packet of %d bytes (at most %d)", ErrMalformed, n, limit)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame[:1]); err != nil {
		return pk.Packet{}, io.ErrUnexpectedEOF
	}
	if n == 254 && frame[0] == 0xFA {
		// FE 01 FA: the legacy ping of a 1.6 client, not served. A modern
		// packet of that length starts with its id, never 0xFA.
		return pk.Packet{}, fmt.Errorf("%w: legacy ping", ErrMalformed)
	}
	if _, err := io.ReadFull(r, frame[1:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return pk.Packet{}, err
	}
	br := bytes.NewReader(frame)
	var id pk.VarInt
	if _, err := id.ReadFrom(br); err != nil {
		return pk.Packet{}, fmt.Errorf("%w: packet id: %v", ErrMalformed, err)
	}
	return pk.Packet{ID: int32(id), Data: frame[len(frame)-br.Len():]}, nil
}

// readVarInt reads a VarInt of at most 5 bytes.
func readVarInt(r *bytes.Reader, what string) (int32, error) {
	var v pk.VarInt
	if _, err := v.ReadFrom(r); err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return int32(v), nil
}

// readString reads a protocol string of at most maxChars characters,
// checking its length against what is there before taking it: the
// protocol's rule is at most 4 bytes a character.
func readString(r *bytes.Reader, maxChars int, what string) (string, error) {
	n, err := readVarInt(r, what+" length")
	if err != nil {
		return "", err
	}
	if n < 0 || int(n) > maxChars*4 || int(n) > r.Len() {
		return "", fmt.Errorf("%w: %s of %d bytes (at most %d characters, %d bytes left)", ErrMalformed, what, n, maxChars, r.Len())
	}
	b := make([]byte, n)
	_, _ = r.Read(b)
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%w: %s is not UTF-8", ErrMalformed, what)
	}
	if c := utf8.RuneCount(b); c > maxChars {
		return "", fmt.Errorf("%w: %s of %d characters (at most %d)", ErrMalformed, what, c, maxChars)
	}
	return string(b), nil
}

// readBool reads a protocol boolean: one byte, 0 or 1.
func readBool(r *bytes.Reader, what string) (bool, error) {
	b, err := r.ReadByte()
	if err != nil {
		return false, fmt.Errorf("%w: %s: %v", ErrMalformed, what, io.ErrUnexpectedEOF)
	}
	if b > 1 {
		return false, fmt.Errorf("%w: %s is %d, not a boolean", ErrMalformed, what, b)
	}
	return b == 1, nil
}

// skip drops n bytes, failing when fewer are there.
func skip(r *bytes.Reader, n int, what string) error {
	if n < 0 || n > r.Len() {
		return fmt.Errorf("%w: %s of %d bytes, %d left", ErrMalformed, what, n, r.Len())
	}
	_, err := r.Seek(int64(n), io.SeekCurrent)
	return err
}

// maxHost is the longest server address a vanilla client sends; Forge and
// BungeeCord append markers to it, which still fit in a packet.
const maxHost = 1024

// ParseHandshake reads a handshake packet (its id and data). It never
// panics; anything but a handshake with a known intent and nothing after
// it is an error wrapping ErrMalformed.
func ParseHandshake(p pk.Packet) (Handshake, error) {
	if p.ID != 0x00 {
		return Handshake{}, fmt.Errorf("%w: packet 0x%02x, want a handshake", ErrMalformed, p.ID)
	}
	r := bytes.NewReader(p.Data)
	var h Handshake
	var err error
	if h.Protocol, err = readVarInt(r, "protocol"); err != nil {
		return Handshake{}, err
	}
	if h.Host, err = readString(r, maxHost, "host"); err != nil {
		return Handshake{}, err
	}
	var port pk.UnsignedShort
	if _, err := port.ReadFrom(r); err != nil {
		return Handshake{}, fmt.Errorf("%w: port: %v", ErrMalformed, io.ErrUnexpectedEOF)
	}
	h.Port = uint16(port)
	if h.Intent, err = readVarInt(r, "intent"); err != nil {
		return Handshake{}, err
	}
	switch h.Intent {
	case IntentStatus, IntentLogin, IntentTransfer:
	default:
		return Handshake{}, fmt.Errorf("%w: intent %d", ErrMalformed, h.Intent)
	}
	if r.Len() != 0 {
		return Handshake{}, fmt.Errorf("%w: %d bytes after the handshake", ErrMalformed, r.Len())
	}
	return h, nil
}

// ParseLoginStart reads a Login Start packet as a client of protocol sends
// it: the name, then the signing data of 1.19 and 1.19.1 (skipped), then the
// UUID (optional from 1.19.1, always there from 1.20.2). It never panics;
// what it cannot read is an error wrapping ErrMalformed. Bytes after what
// it knows are ignored, for protocols newer than it knows.
func ParseLoginStart(p pk.Packet, protocol int32) (LoginStart, error) {
	if p.ID != 0x00 {
		return LoginStart{}, fmt.Errorf("%w: packet 0x%02x, want a login start", ErrMalformed, p.ID)
	}
	r := bytes.NewReader(p.Data)
	var ls LoginStart
	var err error
	if ls.Name, err = readString(r, 16, "player name"); err != nil {
		return LoginStart{}, err
	}
	if protocol < protocol119 {
		return ls, nil
	}
	if protocol == protocol119 || protocol == protocol1191 {
		has, err := readBool(r, "has signing data")
		if err != nil {
			return LoginStart{}, err
		}
		if has {
			if err := skip(r, 8, "key expiry"); err != nil {
				return LoginStart{}, err
			}
			for _, what := range []string{"public key", "key signature"} {
				n, err := readVarInt(r, what+" length")
				if err != nil {
					return LoginStart{}, err
				}
				if err := skip(r, int(n), what); err != nil {
					return LoginStart{}, err
				}
			}
		}
		if protocol == protocol119 {
			return ls, nil
		}
	}
	if protocol < protocol1202 {
		if ls.HasUUID, err = readBool(r, "has UUID"); err != nil || !ls.HasUUID {
			return ls, err
		}
	}
	if r.Len() < len(ls.UUID) {
		return LoginStart{}, fmt.Errorf("%w: UUID of %d bytes, want 16", ErrMalformed, r.Len())
	}
	_, _ = r.Read(ls.UUID[:])
	ls.HasUUID = true
	return ls, nil
}
