package config

import (
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestLoadBounds: every duration and count a variable sets has a floor and
// a ceiling, and the problem names the variable, the value and the bound.
func TestLoadBounds(t *testing.T) {
	for _, tc := range []struct {
		variable, value, want string
	}{
		{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", "1ms", "1ms is below the minimum of 10s"},
		{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", "1", "1 (1ms) is below the minimum of 10s"},
		{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", "0", "0 (0s) is below the minimum of 10s"},
		{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", "48h", "48h is above the maximum of 24h"},
		{"GAMESERVER_MAX_DURATION", "10s", "10s is below the minimum of 1m"},
		{"GAMESERVER_MAX_DURATION", "-90m", "-90m is below the minimum of 1m"},
		{"GAMESERVER_MAX_DURATION", "8760h", "8760h is above the maximum of 720h"},
		{"GAMESERVER_MAX_DURATION_WARNING", "1ms", "1ms is below the minimum of 10s"},
		{"GAMESERVER_READY_TIMEOUT", "1", "1 (1ms) is below the minimum of 30s"},
		{"GAMESERVER_READY_TIMEOUT", "3h", "3h is above the maximum of 2h"},
		{"GAMESERVER_POLL_INTERVAL", "1ms", "1ms is below the minimum of 250ms"},
		{"GAMESERVER_POLL_INTERVAL", "0s", "0s is below the minimum of 250ms"},
		{"GAMESERVER_POLL_INTERVAL", "1h", "1h is above the maximum of 1m"},
		{"GAMESERVER_EXTEND_DURATION", "1s", "1s is below the minimum of 1m"},
		{"GAMESERVER_EXTEND_DURATION", "0", "0 (0s) is below the minimum of 1m"},
		{"GAMESERVER_EXTEND_DURATION", "0s", "0s is below the minimum of 1m"},
		{"GAMESERVER_EXTEND_DURATION", "48h", "48h is above the maximum of 24h"},
		{"DISCORD_TICKET_CLOSE_DELAY", "-1m", "-1m is below the minimum of 0s"},
		{"DISCORD_TICKET_CLOSE_DELAY", "720h", "720h is above the maximum of 24h"},
		{"GAMESERVER_CREATE_COOLDOWN", "-1s", "-1s is below the minimum of 0s"},
		{"GAMESERVER_CREATE_COOLDOWN", "72h", "72h is above the maximum of 24h"},
		{"GAMESERVER_MIN_REQUIRED_PLAYERS", "5000", `must be a whole number from 0 to 1000, got "5000"`},
		{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT", "1000", `must be a whole number from 1 to 100, got "1000"`},
		{"GAMESERVER_MAX_EXTENSIONS", "1000000", `must be a whole number from 0 to 100, got "1000000"`},
	} {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			errs := loadErrors(t, with(requiredEnv(), map[string]string{tc.variable: tc.value}))
			if len(errs) != 1 || errs[0].Var != tc.variable {
				t.Fatalf("problems with %v, want only %s:\n%v", errs.Vars(), tc.variable, errs)
			}
			if got := errs[0].Problem; len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
				t.Errorf("%s=%s: problem %q, want it to start with %q", tc.variable, tc.value, got, tc.want)
			}
		})
	}
	// The bounds themselves are accepted, and 0 where the variable allows it.
	c := mustLoad(t, with(requiredEnv(), map[string]string{
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "10s",
		"GAMESERVER_MAX_DURATION":                          "720h",
		"GAMESERVER_MAX_DURATION_WARNING":                  "24h",
		"GAMESERVER_READY_TIMEOUT":                         "30000",
		"GAMESERVER_POLL_INTERVAL":                         "250ms",
		"GAMESERVER_EXTEND_DURATION":                       "24h",
		"DISCORD_TICKET_CLOSE_DELAY":                       "0",
		"GAMESERVER_CREATE_COOLDOWN":                       "0",
		"GAMESERVER_MIN_REQUIRED_PLAYERS":                  "1000",
	}))
	if c.CheckInterval != 10*time.Second || c.ReadyTimeout != 30*time.Second || c.MaxDuration != 720*time.Hour || c.MinPlayers != 1000 {
		t.Errorf("config at the bounds = %+v", c)
	}
}

// TestLoadWithinLimits: a caller's limits replace the defaults (the tests'
// world lowers floors; the daemon never does).
func TestLoadWithinLimits(t *testing.T) {
	env := with(requiredEnv(), map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "300ms"})
	if _, err := load(t, env); err == nil {
		t.Fatalf("300ms accepted under the default limits")
	}
	lim := spawner.DefaultLimits()
	lim.CheckInterval.Min = 100 * time.Millisecond
	c, err := LoadWithin(func(k string) string { return env[k] }, nil, lim)
	if err != nil || c.CheckInterval != 300*time.Millisecond {
		t.Errorf("LoadWithin a 100ms floor = %v, %v", c, err)
	}
}
