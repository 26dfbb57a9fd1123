package mcping

import (
	"bytes"
	"testing"

	pk "github.com/Tnze/go-mc/net/packet"
)

// FuzzParseAnswer feeds whatever a server could send after the status
// request to the client's parser: it must answer or fail, never panic, and
// what it accepts must be a sane count. The seed corpus in
// testdata/fuzz/FuzzParseAnswer runs with every go test.
func FuzzParseAnswer(f *testing.F) {
	frame := func(fields ...pk.FieldEncoder) []byte {
		var b bytes.Buffer
		p := pk.Marshal(0x00, fields...)
		_ = p.Pack(&b, -1)
		return b.Bytes()
	}
	pong := func(n int64) []byte {
		var b bytes.Buffer
		p := pk.Marshal(0x01, pk.Long(n))
		_ = p.Pack(&b, -1)
		return b.Bytes()
	}
	good := append(frame(pk.String(`{"version":{"name":"1.20.4"},"players":{"online":3,"max":10}}`)), pong(42)...)
	f.Add(good)
	f.Add(frame(pk.VarInt(-1)))
	f.Add(frame(pk.VarInt(1<<30), pk.Byte('{')))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ping, _, err := parseAnswer(data)
		if err != nil {
			return
		}
		if ping.Online < 0 || ping.Max < 0 {
			t.Errorf("accepted a negative count: %+v", ping)
		}
	})
}
