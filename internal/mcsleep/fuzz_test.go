package mcsleep

import (
	"bytes"
	"testing"
	"unicode/utf8"

	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The fuzz targets feed what a client could send to the listener's parsers:
// they must answer or fail, never panic, and what they accept must be what
// the listener relies on. The seed corpora in testdata/fuzz/FuzzHandshake
// and testdata/fuzz/FuzzLoginStart run with every go test; to search more:
//
//	go test -run '^$' -fuzz FuzzHandshake -fuzztime 60s -parallel 1 ./internal/mcsleep/
//	go test -run '^$' -fuzz FuzzLoginStart -fuzztime 60s -parallel 1 ./internal/mcsleep/

// FuzzHandshake: the first packet of a connection, as read from the wire.
func FuzzHandshake(f *testing.F) {
	f.Add(handshake(764, IntentStatus))
	f.Add(handshake(764, IntentLogin))
	f.Add(frame(0x00, pk.VarInt(766), pk.String("play.example.org\x00FML3\x00"), pk.UnsignedShort(25565), pk.VarInt(IntentTransfer)))
	f.Add([]byte{0xFE, 0x01, 0xFA})
	f.Add(frame(0x00, pk.VarInt(764), pk.VarInt(-1)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := readFrame(bytes.NewReader(data), MaxPacket)
		if err != nil {
			return
		}
		if len(p.Data) > MaxPacket {
			t.Fatalf("a packet of %d bytes was read", len(p.Data))
		}
		h, err := ParseHandshake(p)
		if err != nil {
			return
		}
		if h.Intent != IntentStatus && h.Intent != IntentLogin && h.Intent != IntentTransfer {
			t.Errorf("accepted intent %d", h.Intent)
		}
		if !utf8.ValidString(h.Host) || utf8.RuneCountInString(h.Host) > maxHost {
			t.Errorf("accepted host %q", h.Host)
		}
	})
}

// FuzzLoginStart: the Login Start packet of a client of any protocol, as
// read from the wire.
func FuzzLoginStart(f *testing.F) {
	uuid := pk.UUID{0x06, 0x9a, 0x79, 0xf4, 0x44, 0xe9, 0x47, 0x26, 0xa5, 0xbe, 0xfc, 0xa9, 0x0e, 0x38, 0xaa, 0xf5}
	f.Add(int32(764), frame(0x00, pk.String("Notch"), uuid))
	f.Add(int32(47), frame(0x00, pk.String("Notch")))
	f.Add(int32(759), frame(0x00, pk.String("Notch"), pk.Boolean(true), pk.Long(1), pk.ByteArray(make([]byte, 294)), pk.ByteArray(make([]byte, 512))))
	f.Add(int32(760), frame(0x00, pk.String("Notch"), pk.Boolean(false), pk.Boolean(true), uuid))
	f.Add(int32(762), frame(0x00, pk.String("Notch"), pk.Boolean(false)))
	f.Add(int32(767), frame(0x00, pk.String("Notch"), uuid, pk.Byte(0)))
	f.Add(int32(764), frame(0x00, pk.VarInt(-1)))
	f.Fuzz(func(t *testing.T, protocol int32, data []byte) {
		p, err := readFrame(bytes.NewReader(data), MaxPacket)
		if err != nil {
			return
		}
		ls, err := ParseLoginStart(p, protocol)
		if err != nil {
			return
		}
		if !utf8.ValidString(ls.Name) || utf8.RuneCountInString(ls.Name) > 16 {
			t.Errorf("accepted name %q", ls.Name)
		}
		if protocol >= protocol1202 && !ls.HasUUID {
			t.Errorf("protocol %d: accepted a login start without its UUID", protocol)
		}
		if spawner.LoginName(ls.Name) && (len(ls.Name) == 0 || len(ls.Name) > 16) {
			t.Errorf("LoginName(%q)", ls.Name)
		}
	})
}
