package a2s_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/a2s"
	"github.com/mineral-contest/spawner/internal/testworld/a2sserver"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

func TestQueryAnswersTheChallenge(t *testing.T) {
	srv := a2sserver.Listen(t, "127.0.0.1:0")
	srv.SetPlayers(5, 16)
	srv.SetBots(1)
	srv.SetName("Vikings of Mineral")

	info, err := a2s.Query(wait.Context(t), srv.Addr())
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if info.Name != "Vikings of Mineral" || info.Players != 5 || info.MaxPlayers != 16 || info.Bots != 1 {
		t.Errorf("info = %+v, want Vikings of Mineral with 5/16 players, 1 bot", info)
	}
	if info.HumanPlayers() != 4 {
		t.Errorf("human players = %d, want 4", info.HumanPlayers())
	}
	if info.Game != a2sserver.DefaultGame || info.Version != a2sserver.DefaultVersion || info.GameID != a2sserver.DefaultAppID {
		t.Errorf("info = %+v, want game %q version %q game id %d", info, a2sserver.DefaultGame, a2sserver.DefaultVersion, a2sserver.DefaultAppID)
	}
	if info.Port != srv.Port()-1 {
		t.Errorf("game port = %d, want %d from the EDF", info.Port, srv.Port()-1)
	}
	if srv.Requests() != 2 || srv.Queries() != 1 {
		t.Errorf("server saw %d requests and answered %d, want 2 (the second with the challenge) and 1", srv.Requests(), srv.Queries())
	}
}

func TestQueryWithoutChallenge(t *testing.T) {
	srv := a2sserver.Listen(t, "127.0.0.1:0")
	srv.SetChallenge(false)
	srv.SetPlayers(2, 10)
	got, err := a2s.Pinger{}.Ping(wait.Context(t), srv.Addr())
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	if got.Online != 2 || got.Max != 10 || got.Version != a2sserver.DefaultVersion {
		t.Errorf("ping = %+v, want 2/10 on %s", got, a2sserver.DefaultVersion)
	}
	if srv.Requests() != 1 {
		t.Errorf("server saw %d requests, want 1", srv.Requests())
	}
}

func TestQuerySilentServerTimesOut(t *testing.T) {
	srv := a2sserver.Listen(t, "127.0.0.1:0")
	srv.SetSilent(true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := a2s.Query(ctx, srv.Addr())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("query of a silent server = %v, want context.DeadlineExceeded", err)
	}
	if srv.Requests() == 0 {
		t.Error("the silent server never received the request")
	}
}

func TestQueryHonoursCancel(t *testing.T) {
	srv := a2sserver.Listen(t, "127.0.0.1:0")
	srv.SetSilent(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a2s.Query(ctx, srv.Addr())
		done <- err
	}()
	wait.For(t, "the request to reach the server", func() bool { return srv.Requests() > 0 })
	cancel()
	if err := wait.Returns(t, "the cancelled query", done); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled query = %v, want context.Canceled", err)
	}
}

func TestQueryClosedPortFails(t *testing.T) {
	srv := a2sserver.Listen(t, "127.0.0.1:0")
	addr := srv.Addr()
	srv.Close()
	_, err := a2s.Query(wait.Context(t), addr)
	if err == nil {
		t.Fatal("query of a closed port succeeded")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("query of a closed port waited for the timeout instead of failing on the refusal: %v", err)
	}
}

// rawServer answers every datagram with reply(request).
func rawServer(tb testing.TB, reply func(req []byte) []byte) string {
	tb.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { _ = conn.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = conn.WriteToUDP(reply(buf[:n]), from)
		}
	}()
	return conn.LocalAddr().String()
}

func TestQueryRejectsBadReplies(t *testing.T) {
	cases := map[string]struct {
		reply func(req []byte) []byte
		want  error
	}{
		"split reply": {
			reply: func([]byte) []byte { return []byte{0xFE, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0, 2, 0, 0x49} },
			want:  a2s.ErrSplit,
		},
		"challenge forever": {
			reply: func([]byte) []byte { return []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x41, 1, 2, 3, 4} },
			want:  a2s.ErrBadAnswer,
		},
		"truncated info": {
			reply: func([]byte) []byte { return []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x49, 17, 'x'} },
			want:  a2s.ErrBadAnswer,
		},
		"short challenge": {
			reply: func([]byte) []byte { return []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x41, 1} },
			want:  a2s.ErrBadAnswer,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			addr := rawServer(t, c.reply)
			_, err := a2s.Query(wait.Context(t), addr)
			if !errors.Is(err, c.want) {
				t.Errorf("query = %v, want %v", err, c.want)
			}
		})
	}
}

// TestParseValveExample parses the CS:S reply given as an example in
// Valve's documentation of A2S_INFO.
func TestParseValveExample(t *testing.T) {
	reply := []byte("\xFF\xFF\xFF\xFFI\x02game2xs.com Counter-Strike Source #1\x00de_dust\x00cstrike\x00Counter-Strike: Source\x00\xF0\x00\x05\x10\x04dl\x00\x011.0.0.22\x00")
	info, err := a2s.Parse(reply)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := a2s.Info{
		Protocol: 2, Name: "game2xs.com Counter-Strike Source #1", Map: "de_dust",
		Folder: "cstrike", Game: "Counter-Strike: Source", AppID: 240,
		Players: 5, MaxPlayers: 16, Bots: 4, ServerType: 'd', Environment: 'l',
		Private: false, VAC: true, Version: "1.0.0.22",
	}
	if info != want {
		t.Errorf("parse = %+v\nwant    %+v", info, want)
	}
	if info.HumanPlayers() != 1 {
		t.Errorf("human players = %d, want 1", info.HumanPlayers())
	}
}

func TestParseExtraData(t *testing.T) {
	reply := []byte("\xFF\xFF\xFF\xFFI\x11name\x00map\x00folder\x00game\x00\x00\x00\x03\x0a\x00dw\x01\x001.2\x00" +
		"\xF1" + // every EDF bit
		"\x8f\x09" + // port 2447
		"\x01\x02\x03\x04\x05\x06\x07\x08" + // steam id
		"\x90\x09tv\x00" + // spectator
		"tag1,tag2\x00" +
		"\x2a\xa0\x0d\x00\x00\x00\x00\x00") // game id 892970
	info, err := a2s.Parse(reply)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if info.Port != 2447 || info.SteamID != 0x0807060504030201 || info.SpectatorPort != 2448 || info.Spectator != "tv" || info.Keywords != "tag1,tag2" || info.GameID != 892970 {
		t.Errorf("extra data = %+v", info)
	}
	if !info.Private || info.VAC || info.Environment != 'w' {
		t.Errorf("flags = private %v vac %v env %c, want private, no VAC, w", info.Private, info.VAC, info.Environment)
	}
}
