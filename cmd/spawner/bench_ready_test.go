package main

// How soon the ready message follows the game's first answer, through the
// real daemon in the test world, on the default 1 s beat. Run it with
//
//	go test -run '^$' -bench BenchmarkReadyAfterAnswer -benchtime 3x -count 5 ./cmd/spawner

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/goaws"
)

// benchBooting is how many servers boot at once in one op.
const benchBooting = 10

// BenchmarkReadyAfterAnswer boots benchBooting servers whose games are down,
// then starts the games one after the other, spread over one beat, and
// measures for each the time from the game's start (it answers from then
// on) to the ready message in its ticket, as Discord received it. It
// reports p50-ms and max-ms over every server of every op; the target is
// max ≤ 1000 ms. "poll" has no queue; "queue" reads the task events too
// (they make RUNNING known at once, but the game's answer is only learnt by
// a ping on the beat).
func BenchmarkReadyAfterAnswer(b *testing.B) {
	for _, withQueue := range []bool{false, true} {
		name := "poll"
		if withQueue {
			name = "queue"
		}
		b.Run(name, func(b *testing.B) {
			env := map[string]string{
				"GAMESERVER_POLL_INTERVAL":   "", // the default beat
				"GAMESERVER_MAX_SERVERS":     fmt.Sprint(benchBooting),
				"DISCORD_TICKET_CLOSE_DELAY": "0",
				"LOG_LEVEL":                  "info",
			}
			var q *goaws.SQS
			if withQueue {
				q = goaws.Start(b)
				env["AWS_SQS_EVENTS_QUEUE_URL"] = q.QueueURL(goaws.DefaultQueue)
				env["AWS_ENDPOINT_URL_SQS"] = q.Endpoint()
			}
			w := newWorld(b, worldOptions{env: env})
			if withQueue {
				w.aws.PublishEventsTo(q.QueueURL(goaws.DefaultQueue), q.Endpoint())
			}
			w.late.Store(true)
			d := w.start(b)
			stopper := admin(1)

			var latencies []time.Duration
			members := 0
			for b.Loop() {
				b.StopTimer()
				channels, ips := make([]string, benchBooting), make([]string, benchBooting)
				for i := range benchBooting {
					members++
					channels[i], ips[i] = evBooting(b, w, d, member(members))
				}
				b.StartTimer()
				answered := make([]time.Time, benchBooting)
				for i := range benchBooting {
					time.Sleep(time.Second / benchBooting) // spread the answers over one beat (not a synchronisation)
					answered[i] = time.Now()
					w.mc.Start(ips[i]).SetPlayers(int(w.players.Load()), 20)
				}
				for i := range benchBooting {
					ready := wdWait(b, w, d, channels[i], "your server is ready")
					if !ready.CreatedAt.After(answered[i]) {
						b.Fatalf("server %d: ready at %v, before its game answered at %v", i, ready.CreatedAt, answered[i])
					}
					latencies = append(latencies, ready.CreatedAt.Sub(answered[i]))
				}
				b.StopTimer()
				benchStopBooted(b, w, d, stopper, ips)
				b.StartTimer()
			}
			slices.Sort(latencies)
			b.ReportMetric(benchMillis(benchPercentile(latencies, 0.50)), "p50-ms")
			b.ReportMetric(benchMillis(latencies[len(latencies)-1]), "max-ms")
		})
	}
}

// benchStopBooted has admin stop every running server, stops their games,
// and waits until nothing is left.
func benchStopBooted(b *testing.B, w *world, d *daemonHandle, admin fakediscord.User, ips []string) {
	b.Helper()
	for _, t := range w.running() {
		w.discord.Command(admin, "en-US", []string{"server", "stop"}, map[string]any{"server": t.ID})
	}
	w.waitFor(b, "every server stopped, forgotten and its ticket deleted", func() bool {
		return len(w.running()) == 0 && len(w.tickets()) == 0 && len(w.table(b)) == 0
	}, d)
	for _, ip := range ips {
		w.mc.Stop(ip)
	}
}
