package main

// How long the bot takes to wake an asleep world: from a player's Login
// Start on the world's address to the engine starting the world's
// container, through the real daemon and a real Docker engine, the game's
// image local. The game's own boot comes after and is not counted. Run it
// with
//
//	go test -run '^$' -bench BenchmarkWakeByLogin -benchtime 5x ./cmd/spawner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// BenchmarkWakeByLogin puts one world of a new member to sleep per op (its
// server created, ready, then stopped by its owner: the world sleeps on
// its port), then joins it with a Minecraft client and measures from the
// Login Start to the start event of the world's new container, as the
// engine dates it. It reports the median (p50-ms) and the slowest
// (max-ms) over the ops; the target is under 500 ms.
func BenchmarkWakeByLogin(b *testing.B) {
	w := newDockerWorld(b, 16, map[string]string{"LOG_LEVEL": "info", "GAMESERVER_MAX_SERVERS": "16"})
	putWorldGame(b, w)
	d := w.start(b)
	var latencies []time.Duration
	members := 0
	for b.Loop() {
		b.StopTimer()
		members++
		addr := benchAsleep(b, w, d, member(members))
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		started := benchStarted(ctx, b, w, member(members).ID)
		b.StartTimer()
		reason, sent, err := slLoginAt(addr, "Steve")
		if err != nil || reason != slGuild(w).SleepStarting() {
			b.Fatalf("the login on %s: %q %v", addr, reason, err)
		}
		at, ok := <-started
		b.StopTimer()
		cancel()
		if !ok {
			b.Fatalf("no container of the world started within %s of the login\n%s", waitLong, d.logs.String())
		}
		latencies = append(latencies, at.Sub(sent))
		b.StartTimer()
	}
	slices.Sort(latencies)
	b.ReportMetric(benchMillis(benchPercentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(benchMillis(latencies[len(latencies)-1]), "max-ms")
}

// benchAsleep creates u's world, waits for its server, has u stop it, and
// waits for the world to answer asleep on its address, which it returns.
func benchAsleep(b *testing.B, w *dockerWorld, d *daemonHandle, u fakediscord.User) string {
	b.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, map[string]any{"game": "keeper", "world": "home"})
	ix.WaitResponse(b, waitLong)
	edit := ix.WaitEdit(b, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID := between(edit.Text(), "<#", ">")
	ready := wdWait(b, w.world, d, channelID, "your server is ready")
	addr := between(ready.Text(), "**Address:** `", "`")
	c := w.containerOf(b, channelID)
	stop := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": c.ID})
	stop.WaitResponse(b, waitLong)
	wdWait(b, w.world, d, channelID, "Server stopped by <@"+u.ID+">")
	w.waitFor(b, "the world asleep on "+addr, func() bool {
		st, err := slPing(addr)
		return err == nil && strings.Contains(st.Description.String(), slAsleep(w))
	}, d)
	return addr
}

// benchStarted follows the engine's events from now on (replayed from
// this instant, so none is missed while the stream connects) and sends,
// once, when the engine started a container of owner's; it is closed
// without a send when ctx ends first, or when the stream fails, which
// fails b.
func benchStarted(ctx context.Context, b *testing.B, w *dockerWorld, owner string) <-chan time.Time {
	b.Helper()
	now := time.Now()
	f := filters.NewArgs()
	f.Add("type", string(events.ContainerEventType))
	f.Add("event", string(events.ActionStart))
	f.Add("label", docker.LabelDeployment+"="+w.deployment)
	f.Add("label", docker.LabelOwner+"="+owner)
	since := fmt.Sprintf("%d.%09d", now.Unix(), now.Nanosecond())
	msgs, errs := w.cli.Events(ctx, events.ListOptions{Since: since, Filters: f})
	out := make(chan time.Time, 1)
	go func() {
		defer close(out)
		select {
		case m := <-msgs:
			out <- time.Unix(0, m.TimeNano)
		case err := <-errs:
			if ctx.Err() == nil {
				b.Errorf("the engine's events: %v", err)
			}
		}
	}()
	return out
}
