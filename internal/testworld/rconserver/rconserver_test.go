package rconserver_test

import (
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/rconserver"
)

func send(tb testing.TB, c net.Conn, id, typ int32, payload string) (int32, int32, string) {
	tb.Helper()
	b := binary.LittleEndian.AppendUint32(nil, uint32(10+len(payload)))
	b = binary.LittleEndian.AppendUint32(b, uint32(id))
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	b = append(append(b, payload...), 0, 0)
	if _, err := c.Write(b); err != nil {
		tb.Fatalf("send: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var n int32
	if err := binary.Read(c, binary.LittleEndian, &n); err != nil {
		tb.Fatalf("waiting 5s for a reply: %v", err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		tb.Fatalf("read reply: %v", err)
	}
	return int32(binary.LittleEndian.Uint32(body)), int32(binary.LittleEndian.Uint32(body[4:])), string(body[8 : n-2])
}

func TestLoginAndOp(t *testing.T) {
	srv := rconserver.Listen(t, "127.0.0.1:0", "pw")
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if id, typ, _ := send(t, c, 7, 3, "pw"); id != 7 || typ != 2 {
		t.Fatalf("login reply = id %d type %d, want id 7 type 2", id, typ)
	}
	if id, typ, reply := send(t, c, 8, 2, "op Alex"); id != 8 || typ != 0 || reply != "Made Alex a server operator" {
		t.Errorf("op reply = %d %d %q", id, typ, reply)
	}
	if _, _, reply := send(t, c, 9, 2, "stop"); reply == "" {
		t.Error("no answer to an unknown command")
	}
	if got := srv.Commands(); !slices.Equal(got, []string{"op Alex", "stop"}) {
		t.Errorf("commands = %q", got)
	}
}

func TestWrongPasswordAnswersMinusOne(t *testing.T) {
	srv := rconserver.Listen(t, "127.0.0.1:0", "pw")
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if id, _, _ := send(t, c, 7, 3, "nope"); id != -1 {
		t.Errorf("login reply id = %d, want -1", id)
	}
	if srv.FailedLogins() != 1 || srv.Logins() != 0 || len(srv.Commands()) != 0 {
		t.Errorf("logins %d, failed %d, commands %q", srv.Logins(), srv.FailedLogins(), srv.Commands())
	}
}
