package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretPrintsRedacted(t *testing.T) {
	s := NewSecret(testToken)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s", "%d"} {
		t.Run(verb, func(t *testing.T) {
			got := fmt.Sprintf(verb, s)
			if strings.Contains(got, testToken) || !strings.Contains(got, "[redacted]") {
				t.Errorf("Sprintf(%s) = %q, want [redacted] and no token", verb, got)
			}
		})
	}
	t.Run("pointer", func(t *testing.T) {
		if got := fmt.Sprintf("%v", &s); strings.Contains(got, testToken) {
			t.Errorf("Sprintf(%%v, &s) = %q", got)
		}
	})
	t.Run("String", func(t *testing.T) { equal(t, s.String(), "[redacted]") })
	t.Run("Value", func(t *testing.T) { equal(t, s.Value(), testToken) })
	t.Run("empty", func(t *testing.T) {
		var empty Secret
		equal(t, empty.String(), "")
		equal(t, fmt.Sprintf("%v|%q", empty, empty), `|""`)
		equal(t, empty.IsZero(), true)
	})
}

// TestSecretsNeverPrinted prints a loaded Config every way an operator's
// log line or a panic might, and looks for the secrets.
func TestSecretsNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	secrets := []string{testToken, "LEAKED-AWS-SECRET-KEY-wJalrXUtnFEMI", "LEAKED-AWS-SESSION-TOKEN-IQoJb3Jp"}
	c := mustLoad(t, with(requiredEnv(), map[string]string{
		"AWS_ACCESS_KEY_ID_FILE":     writeFile(t, dir, "id", "AKIAEXAMPLEKEYID0005\n"),
		"AWS_SECRET_ACCESS_KEY_FILE": writeFile(t, dir, "key", secrets[1]+"\n"),
		"AWS_SESSION_TOKEN_FILE":     writeFile(t, dir, "session", secrets[2]+"\n"),
	}))

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		outputs["fmt "+verb+" *Config"] = fmt.Sprintf(verb, c)
		outputs["fmt "+verb+" Config"] = fmt.Sprintf(verb, *c)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("loaded", "config", c, "token", c.DiscordToken, "key", c.AWSSecretAccessKey)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("loaded", "config", c, "token", c.DiscordToken, "key", c.AWSSecretAccessKey)
	outputs["slog text"] = text.String()
	outputs["slog json"] = js.String()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	outputs["json"] = string(b)

	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("output shows a secret:\n%s", out)
				}
			}
			if !strings.Contains(out, "[redacted]") {
				t.Errorf("output does not show [redacted] for the secrets:\n%s", out)
			}
		})
	}
}

// TestErrorsNeverShowSecrets makes Load fail while secrets are set, one of
// them pasted into the wrong variable.
func TestErrorsNeverShowSecrets(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"token pasted as guild id", map[string]string{"DISCORD_GUILD_ID": testToken}},
		{"token pasted as port", map[string]string{"GAMESERVER_PORT": testToken}},
		{"token pasted in the log level", map[string]string{"LOG_LEVEL": "x" + testToken}},
		{"token with quotes pasted as cluster", map[string]string{
			"DISCORD_TOKEN":        `LEAKED"token\with-escapes`,
			"AWS_ECS_CLUSTER_NAME": `LEAKED"token\with-escapes`,
		}},
		{"secret key pasted as table name", map[string]string{
			"AWS_ACCESS_KEY_ID_FILE":  writeFile(t, t.TempDir(), "id", "AKIAEXAMPLEKEYID0006"),
			"AWS_SECRET_ACCESS_KEY":   "LEAKED/AWS+SECRET+KEY+wJalrXUtnFEMI",
			"AWS_DYNAMODB_TABLE_NAME": "LEAKED/AWS+SECRET+KEY+wJalrXUtnFEMI",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := loadErrors(t, with(requiredEnv(), tc.env))
			msg := errs.Error()
			for _, s := range []string{testToken, "LEAKED"} {
				if strings.Contains(msg, s) {
					t.Errorf("error shows a secret:\n%s", msg)
				}
			}
			if !strings.Contains(msg, "[redacted]") {
				t.Errorf("error does not show the redacted value:\n%s", msg)
			}
		})
	}
}
