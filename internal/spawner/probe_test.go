package spawner

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTimedProbe(t *testing.T) {
	t.Run("a probe that answers has its latency and fields", func(t *testing.T) {
		var deadline time.Time
		ping, err := TimedProbe(context.Background(), 0, time.Hour, func(ctx context.Context) (Ping, error) {
			deadline, _ = ctx.Deadline()
			time.Sleep(time.Millisecond) // something to measure, not a synchronisation
			return Ping{Online: 2, Max: 10, Version: "1.21"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ping.Online != 2 || ping.Max != 10 || ping.Version != "1.21" {
			t.Errorf("ping = %+v, want the probe's fields", ping)
		}
		if ping.Latency < time.Millisecond {
			t.Errorf("latency = %v, want at least the probe's 1ms", ping.Latency)
		}
		if time.Until(deadline) < 30*time.Minute {
			t.Errorf("deadline in %v, want the default of an hour", time.Until(deadline))
		}
	})
	t.Run("a failed probe gives its error and a zero ping", func(t *testing.T) {
		refused := errors.New("refused")
		ping, err := TimedProbe(context.Background(), time.Second, time.Hour, func(context.Context) (Ping, error) {
			return Ping{Online: 1}, refused
		})
		if !errors.Is(err, refused) || ping != (Ping{}) {
			t.Errorf("got %+v, %v; want a zero ping and the probe's error", ping, err)
		}
	})
}
