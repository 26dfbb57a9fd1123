package a2s

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Info is a server's answer to A2S_INFO. Fields after Version come from
// the optional Extra Data Flag (EDF) and are zero when the server left
// them out.
type Info struct {
	Protocol   byte   // version of the query protocol (17 today)
	Name       string // the server's name
	Map        string
	Folder     string // the game's folder
	Game       string // the game's full name
	AppID      uint16 // Steam application id (0 for some games)
	Players    int    // players on the server, bots included
	MaxPlayers int
	Bots       int
	// ServerType is 'd' (dedicated), 'l' (non-dedicated) or 'p' (SourceTV
	// relay); Environment 'l' (Linux), 'w' (Windows) or 'm'/'o' (macOS).
	ServerType  byte
	Environment byte
	Private     bool // a password is needed to join
	VAC         bool // Valve Anti-Cheat is on
	Version     string

	Port          int    // the game port, when the server says it
	SteamID       uint64 // the server's Steam id
	SpectatorPort int    // SourceTV port
	Spectator     string // SourceTV name
	Keywords      string // tags describing the server
	GameID        uint64 // the full 64-bit game id
}

// HumanPlayers is Players without the bots, never negative.
func (i Info) HumanPlayers() int {
	if i.Bots >= i.Players {
		return 0
	}
	return i.Players - i.Bots
}

// The Ship's application id: its info reply has three more bytes after VAC.
const appTheShip = 2400

// EDF bits.
const (
	edfPort      = 0x80
	edfSteamID   = 0x10
	edfSpectator = 0x40
	edfKeywords  = 0x20
	edfGameID    = 0x01
)

// Parse reads a single-packet A2S_INFO reply, header included. It never
// panics: a split reply is ErrSplit, anything else malformed or truncated
// an error wrapping ErrBadAnswer.
func Parse(reply []byte) (Info, error) {
	r := reader{b: reply}
	if err := r.header(); err != nil {
		return Info{}, err
	}
	switch t := r.byte(); {
	case r.err != nil:
		return Info{}, fmt.Errorf("%w: no packet type", ErrBadAnswer)
	case t == typeGoldSource:
		return Info{}, fmt.Errorf("%w: obsolete GoldSource reply, not supported", ErrBadAnswer)
	case t != typeInfoReply:
		return Info{}, fmt.Errorf("%w: packet type 0x%02x, want an info reply (0x49)", ErrBadAnswer, t)
	}
	var i Info
	i.Protocol = r.byte()
	i.Name = r.string()
	i.Map = r.string()
	i.Folder = r.string()
	i.Game = r.string()
	i.AppID = r.uint16()
	i.Players = int(r.byte())
	i.MaxPlayers = int(r.byte())
	i.Bots = int(r.byte())
	i.ServerType = r.byte()
	i.Environment = r.byte()
	i.Private = r.byte() == 1
	i.VAC = r.byte() == 1
	if i.AppID == appTheShip {
		r.bytes(3) // mode, witnesses, duration
	}
	i.Version = r.string()
	if r.err != nil {
		return Info{}, r.err
	}
	if r.empty() {
		return i, nil
	}
	edf := r.byte()
	if edf&edfPort != 0 {
		i.Port = int(r.uint16())
	}
	if edf&edfSteamID != 0 {
		i.SteamID = r.uint64()
	}
	if edf&edfSpectator != 0 {
		i.SpectatorPort = int(r.uint16())
		i.Spectator = r.string()
	}
	if edf&edfKeywords != 0 {
		i.Keywords = r.string()
	}
	if edf&edfGameID != 0 {
		i.GameID = r.uint64()
	}
	if r.err != nil {
		return Info{}, r.err
	}
	return i, nil
}

// reader reads little-endian fields off a packet; the first short read
// sets err and every later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) empty() bool { return len(r.b) == 0 }

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%w: truncated reply", ErrBadAnswer)
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uint16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) uint64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// string reads a NUL-terminated string.
func (r *reader) string() string {
	if r.err != nil {
		return ""
	}
	i := bytes.IndexByte(r.b, 0)
	if i < 0 {
		r.err = fmt.Errorf("%w: unterminated string", ErrBadAnswer)
		return ""
	}
	s := string(r.b[:i])
	r.b = r.b[i+1:]
	return s
}

// header reads the 4-byte header of a reply: single-packet, or ErrSplit.
func (r *reader) header() error {
	b := r.bytes(4)
	if r.err != nil {
		return fmt.Errorf("%w: reply of %d bytes", ErrBadAnswer, len(r.b))
	}
	switch h := binary.LittleEndian.Uint32(b); h {
	case headerSingle:
		return nil
	case headerSplit:
		return ErrSplit
	default:
		return fmt.Errorf("%w: header 0x%08x", ErrBadAnswer, h)
	}
}
