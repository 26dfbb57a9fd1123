package main

// Benchmarks of the daemon as members see it, through the test world.
// Run them with
//
//	go test -run '^$' -bench BenchmarkCreateBurst -benchtime 10x -count 6 ./cmd/spawner

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// benchBurst is how many members ask for a server at the same moment.
const benchBurst = 50

// BenchmarkCreateBurst dispatches /server create from benchBurst different
// members back to back through the fake Discord, and measures how long each
// waits for the bot's answer (dispatch → interaction callback). Every
// interaction must be accepted (a deferred ephemeral answer) within
// Discord's 3 s, or the benchmark fails. One op is one burst, from the first
// dispatch to the last answer.
//
// The tasks are held in PROVISIONING, so a burst measures the answer and the
// creation steps it competes with (ticket channel, status message, records,
// RunTask), not the fleet booting. Between bursts, with the timer stopped,
// an admin stops every server and the benchmark waits until nothing is left.
//
// It reports p50-ms and p99-ms of the answer latency over every interaction
// of every burst, max-ms, and answered/burst.
func BenchmarkCreateBurst(b *testing.B) {
	w := newWorld(b, worldOptions{
		aws: fakeaws.Options{HoldIn: "PROVISIONING"},
		env: map[string]string{
			"GAMESERVER_MAX_SERVERS":     "100",
			"GAMESERVER_POLL_INTERVAL":   "250ms",
			"DISCORD_TICKET_CLOSE_DELAY": "0",
			"LOG_LEVEL":                  "info",
		},
	})
	d := w.start(b)
	stopper := admin(1)

	var (
		latencies []time.Duration
		bursts    int
		members   int // members used so far: each burst has fresh ones
	)
	for b.Loop() {
		ixs := make([]*fakediscord.Interaction, benchBurst)
		for k := range ixs {
			members++
			ixs[k] = w.discord.Command(member(members), "en-US", []string{"server", "create"}, nil)
		}
		lat := benchAnswers(b, w, d, ixs)

		b.StopTimer()
		latencies = append(latencies, lat...)
		bursts++
		benchStopAll(b, w, d, stopper)
		b.StartTimer()
	}

	slices.Sort(latencies)
	b.ReportMetric(benchMillis(benchPercentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(benchMillis(benchPercentile(latencies, 0.99)), "p99-ms")
	b.ReportMetric(benchMillis(latencies[len(latencies)-1]), "max-ms")
	b.ReportMetric(float64(len(latencies))/float64(bursts), "answered/burst")
}

// benchAnswers waits for the bot's answer to every interaction of ixs and
// returns each one's latency, dispatch → callback. It fails b when one is
// not answered within the interaction deadline, is answered late, or is
// refused instead of accepted.
func benchAnswers(b *testing.B, w *world, d *daemonHandle, ixs []*fakediscord.Interaction) []time.Duration {
	b.Helper()
	deadline := w.discord.Options().InteractionDeadline
	lat := make([]time.Duration, len(ixs))
	pending := slices.Clone(ixs)
	index := make(map[*fakediscord.Interaction]int, len(ixs))
	for i, ix := range ixs {
		index[ix] = i
	}
	// The last dispatched is the last to expire; a margin lets a late
	// answer arrive and be reported as late rather than as missing.
	giveUp := ixs[len(ixs)-1].DispatchedAt.Add(deadline + 500*time.Millisecond)
	for len(pending) > 0 {
		kept := pending[:0]
		for _, ix := range pending {
			resp, ok := ix.Response()
			if !ok {
				kept = append(kept, ix)
				continue
			}
			if resp.Late {
				b.Fatalf("create %d answered after Discord's %v: %v after its dispatch", index[ix], deadline, resp.At.Sub(ix.DispatchedAt))
			}
			if resp.Type != fakediscord.ResponseDeferredChannelMessage || !resp.Ephemeral() {
				b.Fatalf("create %d not accepted: answer type %d, ephemeral %t, %q\n--- daemon logs:\n%s", index[ix], resp.Type, resp.Ephemeral(), resp.Text(), d.logs.String())
			}
			lat[index[ix]] = resp.At.Sub(ix.DispatchedAt)
		}
		pending = kept
		if len(pending) == 0 {
			break
		}
		if time.Now().After(giveUp) {
			b.Fatalf("%d of %d creates not answered within Discord's %v (first: interaction %s)\n--- daemon logs:\n%s", len(pending), len(ixs), deadline, pending[0].ID, d.logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	return lat
}

// benchStopAll waits for the burst's tasks to be started (held in
// PROVISIONING), has admin stop each through /server stop, and waits until
// no task runs, the table is empty and no ticket channel is left, so the next
// burst starts from a quiet daemon.
func benchStopAll(b *testing.B, w *world, d *daemonHandle, admin fakediscord.User) {
	b.Helper()
	w.waitFor(b, fmt.Sprintf("the burst's %d tasks to be started", benchBurst), func() bool {
		return len(w.running()) == benchBurst
	}, d)
	var stops []*fakediscord.Interaction
	for _, t := range w.running() {
		stops = append(stops, w.discord.Command(admin, "en-US", []string{"server", "stop"}, map[string]any{"server": t.ID}))
	}
	for _, ix := range stops {
		ix.WaitEdit(b, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "stopped") })
	}
	w.waitFor(b, "every server of the burst to be stopped, forgotten and its ticket deleted", func() bool {
		return len(w.running()) == 0 && len(w.tickets()) == 0 && len(w.table(b)) == 0
	}, d)
}

// benchPercentile is the nearest-rank p-th percentile of sorted.
func benchPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func benchMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
