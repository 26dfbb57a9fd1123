package ecs

import (
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

func TestTaskOfChange(t *testing.T) {
	code := int32(137)
	created := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name           string
		last, desired  string
		want           spawner.TaskStatus
		wantStopWanted bool
	}{
		{"provisioning", "PROVISIONING", "RUNNING", spawner.TaskProvisioning, false},
		{"activating", "ACTIVATING", "RUNNING", spawner.TaskPending, false},
		{"running", "RUNNING", "RUNNING", spawner.TaskRunning, false},
		{"spot warning", "RUNNING", "STOPPED", spawner.TaskRunning, true},
		{"deprovisioning", "DEPROVISIONING", "STOPPED", spawner.TaskStopping, true},
		{"stopped", "STOPPED", "STOPPED", spawner.TaskStopped, true},
		{"unknown word", "HIBERNATING", "RUNNING", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := spawner.TaskChange{
				TaskARN: "arn:aws:ecs:eu-west-3:1:task/c/abc", StartedBy: spawner.StartedBy,
				LastStatus: tc.last, DesiredStatus: tc.desired, StopCode: spawner.StopSpotInterruption,
				StoppedReason: "Your Spot Task was interrupted.", ExitCode: &code,
				ENI: "eni-1", PrivateIP: "10.0.0.7", CreatedAt: created,
			}
			got := TaskOfChange(c)
			if got.Status != tc.want || got.StopWanted != tc.wantStopWanted {
				t.Errorf("status, stop wanted = %v, %v; want %v, %v", got.Status, got.StopWanted, tc.want, tc.wantStopWanted)
			}
			if got.ID != c.TaskARN || got.StopCode != spawner.StopSpotInterruption || got.StoppedReason != c.StoppedReason ||
				got.ENI != "eni-1" || got.PrivateIP != "10.0.0.7" || !got.CreatedAt.Equal(created) || got.StartedBy != spawner.StartedBy {
				t.Errorf("task = %+v", got)
			}
			if got.ExitCode == nil || *got.ExitCode != 137 || got.ExitCode == &code {
				t.Errorf("exit code = %v, want a copy of 137", got.ExitCode)
			}
		})
	}
}
