package discord

import (
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

func TestDashboardIsRegisteredOnlyWithWebPages(t *testing.T) {
	subcommands := func(b *Bot) map[string]string {
		out := map[string]string{}
		for _, c := range b.commands() {
			for _, o := range c.Options {
				out[c.Name+" "+o.Name] = o.NameLocalizations["fr"]
			}
		}
		return out
	}
	without := subcommands(&Bot{})
	if _, ok := without["server dashboard"]; ok {
		t.Errorf("/server dashboard registered without PUBLIC_URL: %v", without)
	}
	with := subcommands(&Bot{cfg: Config{Dashboard: func(spawner.Actor) (string, time.Duration) { return "", 0 }}})
	if fr, ok := with["server dashboard"]; !ok || fr != "tableau" {
		t.Errorf("/server dashboard with PUBLIC_URL: %v; want it, in French tableau", with)
	}
	if len(with) != len(without)+1 {
		t.Errorf("with the dashboard %d subcommands, without %d: want exactly one more", len(with), len(without))
	}
	// Commands, the list other code reads, is never changed by it.
	for _, c := range Commands() {
		for _, o := range c.Options {
			if o.Name == "dashboard" {
				t.Error("Commands() was changed in place by commands()")
			}
		}
	}
}
