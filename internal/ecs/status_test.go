package ecs

import (
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestStatusOf pins the one place ECS's lastStatus words become the
// domain's: every status ECS documents, and one it may add later.
func TestStatusOf(t *testing.T) {
	for last, want := range map[string]spawner.TaskStatus{
		"PROVISIONING":   spawner.TaskProvisioning,
		"PENDING":        spawner.TaskPending,
		"ACTIVATING":     spawner.TaskPending,
		"RUNNING":        spawner.TaskRunning,
		"DEACTIVATING":   spawner.TaskStopping,
		"STOPPING":       spawner.TaskStopping,
		"DEPROVISIONING": spawner.TaskStopping,
		"STOPPED":        spawner.TaskStopped,
		"":               0,
		"HIBERNATING":    0,
	} {
		if got := statusOf(last); got != want {
			t.Errorf("statusOf(%q) = %s, want %s", last, got, want)
		}
	}
}
