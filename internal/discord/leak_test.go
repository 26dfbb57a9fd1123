package discord

import (
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/testworld/syncbuf"
)

// An interaction's token is in the path of the calls that answer it (the
// webhook of the interaction), and lets anyone who has it speak in the
// bot's name for 15 minutes: a failed answer logs the failure, not it.
func TestFailedAnswerLogsNoInteractionToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://" + ln.Addr().String())
	ln.Close() // nothing listens: every call is a network error
	var logs syncbuf.Buffer
	b, err := New(Config{Token: "bot-token", APIURL: u, Retry: Retry{First: time.Millisecond, Max: time.Millisecond, Budget: time.Millisecond}},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpTRUNSRVQ"
	i := &discordgo.Interaction{ID: "1", AppID: "app", Token: secret, Type: discordgo.InteractionApplicationCommand}
	b.deferReply(i)
	b.editResponse(i, "hello")
	out := logs.String()
	if !strings.Contains(out, "answer interaction") || !strings.Contains(out, "edit interaction answer") {
		t.Fatalf("the failures were not logged:\n%s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "bot-token") {
		t.Errorf("the log holds a token:\n%s", out)
	}
}
