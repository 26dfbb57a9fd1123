package a2s

import "testing"

// FuzzParse feeds arbitrary datagrams to the reply parsers: they must
// answer or fail, never panic. The seed corpus in testdata/fuzz/FuzzParse
// runs with every go test.
func FuzzParse(f *testing.F) {
	f.Add([]byte("\xFF\xFF\xFF\xFFI\x02name\x00map\x00folder\x00game\x00\xF0\x00\x05\x10\x04dl\x00\x011.0\x00"))
	f.Add([]byte("\xFF\xFF\xFF\xFFA\x01\x02\x03\x04"))
	f.Fuzz(func(t *testing.T, reply []byte) {
		if c, ok, err := parseChallenge(reply); ok && (err != nil || len(c) != 4) {
			t.Errorf("challenge %x with error %v", c, err)
		}
		info, err := Parse(reply)
		if err != nil {
			return
		}
		if info.Players < 0 || info.Players > 255 || info.HumanPlayers() < 0 {
			t.Errorf("players out of range: %+v", info)
		}
	})
}
