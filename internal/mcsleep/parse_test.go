package mcsleep

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	pk "github.com/Tnze/go-mc/net/packet"
)

// TestLegacyPingIsNotA254ByteHandshake: a 1.6 client's legacy ping starts
// FE 01 FA, which reads as a packet of 254 bytes; a modern handshake of 254
// bytes (a long host) starts FE 01 too, then its id 0x00, and is served.
func TestLegacyPingIsNotA254ByteHandshake(t *testing.T) {
	if _, err := readFrame(bytes.NewReader([]byte{0xFE, 0x01, 0xFA, 0x00, 0x0B}), MaxPacket); !errors.Is(err, ErrMalformed) {
		t.Errorf("legacy ping: %v, want ErrMalformed", err)
	}
	// id (1) + protocol (2) + host length (2) + host + port (2) + intent (1) = 254
	long := frame(0x00, pk.VarInt(764), pk.String(strings.Repeat("h", 246)), pk.UnsignedShort(25565), pk.VarInt(IntentLogin))
	if !bytes.HasPrefix(long, []byte{0xFE, 0x01, 0x00}) {
		t.Fatalf("the handshake is not 254 bytes: % x", long[:3])
	}
	p, err := readFrame(bytes.NewReader(long), MaxPacket)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := ParseHandshake(p); err != nil || len(h.Host) != 246 || h.Intent != IntentLogin {
		t.Errorf("handshake of 254 bytes: %+v, %v", h, err)
	}
}

// TestLoginStartOfEveryProtocol: the name, and the UUID where the protocol
// carries one, from the Login Start of each protocol's shape.
func TestLoginStartOfEveryProtocol(t *testing.T) {
	id := pk.UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	key := func() []pk.FieldEncoder {
		return []pk.FieldEncoder{pk.Boolean(true), pk.Long(1), pk.ByteArray(make([]byte, 294)), pk.ByteArray(make([]byte, 256))}
	}
	cases := []struct {
		name     string
		protocol int32
		fields   []pk.FieldEncoder
		hasUUID  bool
	}{
		{"1.8", 47, nil, false},
		{"1.19 signed", 759, key(), false},
		{"1.19 unsigned", 759, []pk.FieldEncoder{pk.Boolean(false)}, false},
		{"1.19.2 signed with UUID", 760, append(key(), pk.Boolean(true), id), true},
		{"1.19.2 without UUID", 760, []pk.FieldEncoder{pk.Boolean(false), pk.Boolean(false)}, false},
		{"1.20.1 with UUID", 763, []pk.FieldEncoder{pk.Boolean(true), id}, true},
		{"1.20.2", 764, []pk.FieldEncoder{id}, true},
		{"1.21.4", 769, []pk.FieldEncoder{id}, true},
	}
	for _, c := range cases {
		p, err := readFrame(bytes.NewReader(frame(0x00, append([]pk.FieldEncoder{pk.String("Alex_2")}, c.fields...)...)), MaxPacket)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := ParseLoginStart(p, c.protocol)
		if err != nil || ls.Name != "Alex_2" || ls.HasUUID != c.hasUUID || (c.hasUUID && ls.UUID != [16]byte(id)) {
			t.Errorf("%s: %+v, %v", c.name, ls, err)
		}
	}
}
