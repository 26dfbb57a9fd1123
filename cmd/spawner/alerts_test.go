package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestAlertsCarryNoConfiguredSecret: whatever an alert's text holds (an
// error that echoed a token, a key, the webhook's own URL), no secret of
// the configuration reaches the webhook.
func TestAlertsCarryNoConfiguredSecret(t *testing.T) {
	t.Parallel()
	recv := newAlertReceiver(t)
	dir := t.TempDir()
	secrets := map[string]string{
		"DISCORD_TOKEN":         "MTEwMDAwMDAwMDAwMDAwMDAwMg.GhIjKl.discord-token-value",
		"WEB_SECRET":            "web-secret-of-at-least-16-characters",
		"AWS_ACCESS_KEY_ID":     "AKIAALERTTESTKEY0001",
		"AWS_SECRET_ACCESS_KEY": "alert/test/secret+access+key/0123456789",
		"ALERT_WEBHOOK_URL":     recv.srv.URL + alertHook,
	}
	env := map[string]string{
		"DISCORD_GUILD_ID":               guildID,
		"DISCORD_USER_ROLE_ID":           userRole,
		"DISCORD_ADMIN_ROLE_ID":          adminRole,
		"DISCORD_GAMESERVER_CATEGORY_ID": categoryID,
		"DOCKER_PUBLIC_HOST":             "play.example.org",
		"SPAWNER_DATA_DIR":               dir,
	}
	for k, v := range secrets {
		env[k+"_FILE"] = writeSecret(t, dir, strings.ToLower(k), v)
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, os.ReadFile)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	n, err := newAlerts(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil || n == nil {
		t.Fatalf("newAlerts = %v, %v", n, err)
	}
	var all []string
	for _, v := range secrets {
		all = append(all, v)
	}
	echo := strings.Join(all, " ")
	a := spawner.StartFailedAlert("refused: "+echo, time.Now())
	a.Title = "The bot could not start " + echo
	a.Fields = map[string]string{"echo": echo}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := n.Deliver(ctx, a); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	posts := recv.all()
	if len(posts) != 1 {
		t.Fatalf("the webhook got %d alerts, want 1", len(posts))
	}
	for name, v := range secrets {
		if strings.Contains(posts[0], v) {
			t.Errorf("the alert carries %s:\n%s", name, posts[0])
		}
	}
	if strings.Contains(posts[0], "alert-hook-token") {
		t.Errorf("the alert carries the webhook's token:\n%s", posts[0])
	}
}
