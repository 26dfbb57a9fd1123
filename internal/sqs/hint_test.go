package sqs_test

import (
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/sqs"
)

// TestHint: a change tells the lifecycle which task to look at and whether
// it is on its way down, never a status to act on; the reason and the exit
// code come along for a task ECS will no longer describe.
func TestHint(t *testing.T) {
	code := int32(137)
	created := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name          string
		last, desired string
		stopCode      string
		reason        string
		wantStop      bool
		wantReason    string
	}{
		{"provisioning", "PROVISIONING", "RUNNING", "", "", false, ""},
		{"running", "RUNNING", "RUNNING", "", "", false, ""},
		{"spot interruption", "RUNNING", "STOPPED", "SpotInterruption", "Your Spot Task was interrupted.", true, "Your Spot Task was interrupted."},
		{"a stop code alone", "RUNNING", "RUNNING", "SpotInterruption", "", true, "SpotInterruption"},
		{"deprovisioning", "DEPROVISIONING", "STOPPED", "EssentialContainerExited", "Essential container in task exited", true, "Essential container in task exited"},
		{"stopped", "STOPPED", "", "", "", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sqs.TaskChange{
				TaskARN: "arn:aws:ecs:eu-west-3:1:task/c/abc", StartedBy: spawner.StartedBy,
				LastStatus: tc.last, DesiredStatus: tc.desired, StopCode: tc.stopCode,
				StoppedReason: tc.reason, ExitCode: &code,
				ENI: "eni-1", PrivateIP: "10.0.0.7", CreatedAt: created,
			}
			got := c.Hint()
			if got.ID != c.TaskARN || got.Stopped() != tc.wantStop || got.StoppedReason != tc.wantReason ||
				got.Status != 0 || !got.CreatedAt.Equal(created) || got.StartedBy != spawner.StartedBy {
				t.Errorf("hint = %+v; want task %s, stopping %v, reason %q, status unknown", got, c.TaskARN, tc.wantStop, tc.wantReason)
			}
			if got.ExitCode == nil || *got.ExitCode != 137 || got.ExitCode == &code {
				t.Errorf("exit code = %v, want a copy of 137", got.ExitCode)
			}
		})
	}
}
