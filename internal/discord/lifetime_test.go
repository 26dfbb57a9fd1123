package discord

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// countingFleet counts the calls that would change a server.
type countingFleet struct{ calls atomic.Int32 }

func (f *countingFleet) Create(spawner.CreateRequest) error { f.calls.Add(1); return nil }
func (f *countingFleet) Stop(context.Context, spawner.Actor, string) (spawner.Server, error) {
	f.calls.Add(1)
	return spawner.Server{}, nil
}
func (f *countingFleet) Servers(spawner.Actor) []spawner.Server { return nil }
func (f *countingFleet) StopsAt(spawner.Server) time.Time       { return time.Time{} }
func (f *countingFleet) Catalog() spawner.Catalog               { return nil }
func (f *countingFleet) Extend(context.Context, spawner.Actor, string) (spawner.Extension, error) {
	f.calls.Add(1)
	return spawner.Extension{}, nil
}
func (f *countingFleet) Op(context.Context, spawner.Actor, string, string) (string, error) {
	f.calls.Add(1)
	return "", nil
}

// An interaction whose handler runs after Close began (discordgo runs
// each handler in a goroutine of its own) starts no work: nothing would
// wait for it, and it would act on a lifecycle already closed.
func TestNoWorkStartsAfterClose(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer api.Close()
	u, _ := url.Parse(api.URL)
	b, err := New(Config{Token: "t", GuildID: "g", UserRoleIDs: []string{"member"}, APIURL: u}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := &countingFleet{}
	b.fleet = f
	_ = b.Close()

	for _, sub := range []string{"extend", "op", "stop"} {
		b.onInteraction(nil, &discordgo.InteractionCreate{Interaction: &discordgo.Interaction{
			ID: "1", AppID: "app", Token: "itoken", Type: discordgo.InteractionApplicationCommand, GuildID: "g",
			Member: &discordgo.Member{User: &discordgo.User{ID: "u1"}, Roles: []string{"member"}},
			Data: discordgo.ApplicationCommandInteractionData{Name: "server", Options: []*discordgo.ApplicationCommandInteractionDataOption{{
				Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand,
				Options: []*discordgo.ApplicationCommandInteractionDataOption{
					{Name: "server", Type: discordgo.ApplicationCommandOptionString, Value: "abc"},
					{Name: "player", Type: discordgo.ApplicationCommandOptionString, Value: "Steve"},
				},
			}}},
		}})
	}
	b.leaveIfForeign("another-guild")
	b.workers.Wait()
	if n := f.calls.Load(); n != 0 {
		t.Errorf("%d commands reached the lifecycle after Close, want none", n)
	}
	if _, pending := b.left.Load("another-guild"); pending {
		t.Errorf("a guild is marked left though the bot was closing")
	}
}
