package fakedocker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/mineral-contest/spawner/internal/testworld/fakedocker"
)

// The real Docker client, negotiating its version, lists, inspects and
// follows the fake's containers as it would a real engine's.
func TestTheDockerClientSeesTheFleet(t *testing.T) {
	e := fakedocker.New(t)
	created := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	e.Add(fakedocker.Container{ID: "a1", Name: "one", Image: "img", Created: created, Labels: map[string]string{"team": "x"}})
	e.Add(fakedocker.Container{ID: "b2", Name: "two", Image: "img", Created: created, Labels: map[string]string{"team": "y"}})
	cli, err := client.NewClientWithOpts(client.WithHost(e.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "team=y"))})
	if err != nil || len(list) != 1 || list[0].ID != "b2" || list[0].State != container.StateRunning {
		t.Fatalf("list team=y = %+v, %v; want b2, running", list, err)
	}
	c, err := cli.ContainerInspect(ctx, "one")
	if err != nil || c.ID != "a1" || c.Config.Labels["team"] != "x" || c.State.Status != container.StateRunning || c.Created != "2026-12-07T12:00:00Z" {
		t.Fatalf("inspect one = %+v, %v", c, err)
	}
	if _, err := cli.ContainerInspect(ctx, "nope"); err == nil {
		t.Error("inspect of an unknown container succeeded")
	}
	info, err := cli.Info(ctx)
	if err != nil || info.NCPU < 1 || info.MemTotal <= 0 {
		t.Errorf("info = %+v, %v", info, err)
	}

	streamCtx, stop := context.WithCancel(ctx)
	msgs, errs := cli.Events(streamCtx, events.ListOptions{})
	stop()
	select {
	case m := <-msgs:
		t.Errorf("event %+v from an engine whose containers never die", m)
	case err := <-errs:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("events stream ended with %v, want its context's end", err)
		}
	case <-ctx.Done():
		t.Error("events stream still open after its context ended")
	}

	if err := cli.ContainerStart(ctx, "a1", container.StartOptions{}); err == nil {
		t.Error("start answered: the fake runs nothing")
	}
	if u := e.Unexpected(); len(u) != 1 {
		t.Errorf("unexpected calls %v, want the start only", u)
	}
}
