package a2sserver_test

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/a2sserver"
)

var request = append([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x54}, "Source Engine Query\x00"...)

// exchange sends req and returns the reply, failing tb after 5s.
func exchange(tb testing.TB, conn net.Conn, req []byte) []byte {
	tb.Helper()
	if _, err := conn.Write(req); err != nil {
		tb.Fatalf("send: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		tb.Fatalf("waiting 5s for a reply: %v", err)
	}
	return buf[:n]
}

// dial opens a UDP socket to addr, closed when tb ends.
func dial(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestChallengeThenInfo(t *testing.T) {
	srv := a2sserver.Listen(t, "127.0.0.1:0")
	srv.SetPlayers(4, 16)
	conn := dial(t, srv.Addr())

	reply := exchange(t, conn, request)
	if len(reply) != 9 || !bytes.HasPrefix(reply, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x41}) {
		t.Fatalf("first reply = % x, want a challenge (FF FF FF FF 41 + 4 bytes)", reply)
	}
	reply = exchange(t, conn, append(request, reply[5:]...))
	if !bytes.HasPrefix(reply, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x49}) {
		t.Fatalf("reply with the challenge = % x, want an info reply", reply)
	}
	if !bytes.Contains(reply, []byte(a2sserver.DefaultName+"\x00")) {
		t.Errorf("info reply % x does not carry the server's name", reply)
	}
	if srv.Requests() != 2 || srv.Queries() != 1 {
		t.Errorf("requests, queries = %d, %d; want 2, 1", srv.Requests(), srv.Queries())
	}

	// A wrong challenge is challenged again.
	reply = exchange(t, conn, append(request, 1, 2, 3, 4))
	if reply[4] != 0x41 {
		t.Errorf("reply to a wrong challenge = % x, want a challenge", reply)
	}
}

func TestWithoutChallenge(t *testing.T) {
	srv := a2sserver.Listen(t, "127.0.0.1:0")
	srv.SetChallenge(false)
	conn := dial(t, srv.Addr())
	if reply := exchange(t, conn, request); reply[4] != 0x49 {
		t.Errorf("reply = % x, want the info reply at once", reply)
	}
}

func TestSilentCountsButDoesNotAnswer(t *testing.T) {
	srv := a2sserver.Listen(t, "127.0.0.1:0")
	srv.SetSilent(true)
	conn := dial(t, srv.Addr())
	if _, err := conn.Write(request); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Requests() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("timed out after 5s waiting for the server to receive the request")
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.SetSilent(false)
	// The request it received while silent got no reply: the next datagram
	// read is the answer to the next request.
	if reply := exchange(t, conn, request); reply[4] != 0x41 {
		t.Errorf("reply after silence = % x, want a challenge", reply)
	}
	if srv.Requests() != 2 || srv.Queries() != 0 {
		t.Errorf("requests, queries = %d, %d; want 2, 0", srv.Requests(), srv.Queries())
	}
}
