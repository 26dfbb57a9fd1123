package spawner

import (
	"fmt"
	"strings"
	"time"
)

// Range is the inclusive range of a duration or a count an admin may set.
type Range[T ~int | ~int64] struct{ Min, Max T }

// Check returns "" when v is within r, else the problem with v spelled as
// given: "1ms is below the minimum of 10s", "5000 is above the maximum of
// 1000".
func (r Range[T]) Check(v T, given string) string {
	switch {
	case v < r.Min:
		return fmt.Sprintf("%s is below the minimum of %s", given, formatBound(r.Min))
	case v > r.Max:
		return fmt.Sprintf("%s is above the maximum of %s", given, formatBound(r.Max))
	}
	return ""
}

// formatBound spells a bound as an admin writes it: "10s", "24h", "1h30m",
// "128".
func formatBound[T ~int | ~int64](v T) string {
	d, ok := any(v).(time.Duration)
	if !ok {
		return fmt.Sprint(v)
	}
	return FormatDuration(d)
}

// FormatDuration is d in Go syntax without its zero units: 24h, 1h30m,
// 10s, 250ms (time.Duration's String says 24h0m0s).
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Limits are the floor and the ceiling of every duration and count an
// admin sets, in the variables and in game templates. They keep a setting
// from making the bot hammer the runtime, the chat or a game (a check every
// millisecond) or from overflowing what a server may live.
//
// DefaultLimits are the daemon's; a caller may lower a floor only where no
// admin can reach it (the tests' world, whose servers live seconds).
type Limits struct {
	// CheckInterval bounds checkInterval and
	// GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION, which is also the
	// interval of the fleet's sweep.
	CheckInterval      Range[time.Duration]
	MaxDuration        Range[time.Duration] // maxDuration, GAMESERVER_MAX_DURATION
	MaxDurationWarning Range[time.Duration] // maxDurationWarning, GAMESERVER_MAX_DURATION_WARNING; also shorter than the maximum duration
	ReadyTimeout       Range[time.Duration] // readyTimeout, GAMESERVER_READY_TIMEOUT
	ExtendDuration     Range[time.Duration] // extendDuration, GAMESERVER_EXTEND_DURATION
	PollInterval       Range[time.Duration] // GAMESERVER_POLL_INTERVAL
	TicketCloseDelay   Range[time.Duration] // DISCORD_TICKET_CLOSE_DELAY
	CreateCooldown     Range[time.Duration] // GAMESERVER_CREATE_COOLDOWN

	MinPlayers    Range[int] // minPlayers, GAMESERVER_MIN_REQUIRED_PLAYERS
	Warnings      Range[int] // warnings, GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT
	MaxExtensions Range[int] // GAMESERVER_MAX_EXTENSIONS
	CPU           Range[int] // cpu: CPU units (1024 = 1 vCPU)
	Memory        Range[int] // memory: MiB
	// MaxPorts is how many ports a template's ports may list.
	MaxPorts int
}

// DefaultLimits are the bounds the daemon applies: wide enough for any
// community, narrow enough that no setting harms the bot or its hosts.
// The minimum of ready timeout leaves time for a runtime to provision a
// task and pull its image; a check or a sweep more often than every 10 s
// only costs the runtime's calls and pings.
func DefaultLimits() Limits {
	return Limits{
		CheckInterval:      Range[time.Duration]{10 * time.Second, 24 * time.Hour},
		MaxDuration:        Range[time.Duration]{time.Minute, 30 * 24 * time.Hour},
		MaxDurationWarning: Range[time.Duration]{10 * time.Second, 24 * time.Hour},
		ReadyTimeout:       Range[time.Duration]{30 * time.Second, 2 * time.Hour},
		ExtendDuration:     Range[time.Duration]{time.Minute, 24 * time.Hour},
		PollInterval:       Range[time.Duration]{250 * time.Millisecond, time.Minute},
		TicketCloseDelay:   Range[time.Duration]{0, 24 * time.Hour},
		CreateCooldown:     Range[time.Duration]{0, 24 * time.Hour},
		MinPlayers:         Range[int]{0, 1000},
		Warnings:           Range[int]{1, 100},
		MaxExtensions:      Range[int]{0, 100},
		CPU:                Range[int]{128, 16384},
		Memory:             Range[int]{128, 122880},
		MaxPorts:           16,
	}
}
