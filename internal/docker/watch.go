package docker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"

	"github.com/mineral-contest/spawner/internal/backoff"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// Backoff of the events stream's reconnections.
const (
	minWatchBackoff = 250 * time.Millisecond
	maxWatchBackoff = 15 * time.Second
)

// Watch follows the engine's events stream and calls fn with the task of
// each of this deployment's containers that dies (exits, is killed, runs
// out of memory), as soon as the engine says so: whoever stopped it, the
// bot included. fn is called from Watch's goroutine, one call at a time,
// and should hand slow work elsewhere.
//
// When the stream breaks, Watch reconnects with a capped backoff and asks
// for the events it missed meanwhile (the engine keeps its recent ones). It
// returns nil when ctx ends; it is the caller's goroutine that runs it.
func (r *Runtime) Watch(ctx context.Context, fn func(spawner.Task)) error {
	since := r.cfg.Now()
	b := backoff.Backoff{Min: minWatchBackoff, Max: maxWatchBackoff}
	for ctx.Err() == nil {
		last, got, err := r.watchOnce(ctx, since, fn)
		if !last.IsZero() {
			since = last
		}
		if ctx.Err() != nil {
			break
		}
		if got { // the connection worked for a while: a new failure
			b.Reset()
		}
		wait := b.Next()
		if b.Failures() == 1 { // one log line per streak of failures
			r.cfg.Log.Warn("docker events stream broke; reconnecting", "err", err, "host", r.Host())
		}
		_ = backoff.Sleep(ctx, wait) // ctx's end is seen by the loop
	}
	return nil //nolint:nilerr // the stream's errors are logged and retried; Watch ends, with nil, only when ctx does
}

// watchOnce follows one connection of the events stream from since, until
// it breaks or ctx ends. It returns the time of the last event read and
// whether any was.
func (r *Runtime) watchOnce(ctx context.Context, since time.Time, fn func(spawner.Task)) (last time.Time, got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := r.ownFilter()
	f.Add("type", string(events.ContainerEventType))
	f.Add("event", string(events.ActionDie))
	f.Add("event", string(events.ActionOOM))
	msgs, errs := r.cli.Events(ctx, events.ListOptions{
		Since:   strconv.FormatInt(since.Unix(), 10) + "." + fmt.Sprintf("%09d", since.Nanosecond()),
		Filters: f,
	})
	for {
		select {
		case m := <-msgs:
			got = true
			if m.TimeNano > 0 {
				last = time.Unix(0, m.TimeNano)
			}
			if t, ok := r.taskOfEvent(ctx, m); ok {
				fn(t)
			}
		case err := <-errs:
			if err == nil {
				err = errors.New("stream ended")
			}
			return last, got, err
		}
	}
}

// taskOfEvent is the task of the container an event is about: as the
// engine describes it now, or, when it is already removed, as the event's
// attributes tell (its labels and exit code).
func (r *Runtime) taskOfEvent(ctx context.Context, m events.Message) (spawner.Task, bool) {
	attrs := m.Actor.Attributes
	if attrs[LabelDeployment] != r.cfg.Deployment || attrs[LabelStartedBy] != spawner.StartedBy {
		return spawner.Task{}, false // the filter's job; kept as a guard
	}
	c, err := r.cli.ContainerInspect(ctx, m.Actor.ID)
	if err == nil && r.ours(c.Config) {
		return taskOf(c), true
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		r.cfg.Log.Warn("docker events: inspect container", "container", shortID(m.Actor.ID), "err", err)
	}
	t := spawner.Task{ID: m.Actor.ID, StartedBy: spawner.StartedBy, Status: spawner.TaskStopped, StopWanted: true}
	t.Tags = tagsOfLabels(attrs)
	t.StoppedReason = "container removed"
	if code, err := strconv.ParseInt(attrs["exitCode"], 10, 32); err == nil {
		c := int32(code)
		t.ExitCode = &c
		t.StoppedReason = "exited with code " + attrs["exitCode"]
	}
	if m.Action == events.ActionOOM {
		t.StoppedReason = "OOMKilled: out of memory"
	}
	return t, true
}
