package spawner

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFailureKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{
			"operation error ECS: RunTask, https response error StatusCode: 500, RequestID: 8f1c2b3a-1111-4a2b-9c3d-0123456789ab, api error ServerException",
			"operation error ECS: RunTask, https response error StatusCode: 500, RequestID: 0d9e8f7a-2222-4b3c-8d4e-ba9876543210, api error ServerException",
		},
		{"task 3f9a1c0b2d4e4f60a1b2c3d4e5f60718 stopped", "task 0a1b2c3d4e5f60718293a4b5c6d7e8f9 stopped"},
	} {
		if ka, kb := FailureKey(tc.a), FailureKey(tc.b); ka != kb {
			t.Errorf("FailureKey differs for one failure:\n %q\n %q", ka, kb)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"it could not be started (RESOURCE:MEMORY)", "it could not be started (RESOURCE:CPU)"},
		{"exit code 137", "exit code 1"},
		{"the feedback was accepted", "the feedback was refused"}, // words of hex letters are no ids
	} {
		if FailureKey(tc.a) == FailureKey(tc.b) {
			t.Errorf("FailureKey is the same for two failures: %q and %q", tc.a, tc.b)
		}
	}
}

// TestAlertsCarryNoSecret: the constructors take what they tell from the
// server, never its token or RCON password.
func TestAlertsCarryNoSecret(t *testing.T) {
	exit := int32(1)
	srv := Server{CreationID: "c1", TaskID: "arn:aws:ecs:eu-west-3:123456789012:task/cl/0123abcd", Game: "minecraft", Owner: "100000000000000001",
		Token: "token-of-the-server", RCONPassword: "rcon-password-of-the-server"}
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, a := range []Alert{
		CreationFailedAlert(srv, CauseFailed, "why", "why", at),
		ServerFailedAlert(srv, CauseTaskEnded, &Task{ExitCode: &exit}, "why", "why", at),
		StopFailedAlert(srv, "why", "why", at),
	} {
		if a.Server != "c1" || a.Fields["task"] != "0123abcd" || a.Member != srv.Owner {
			t.Errorf("%s: %+v", a.Kind, a)
		}
		if all := fmt.Sprintf("%+v", a); strings.Contains(all, srv.Token) || strings.Contains(all, srv.RCONPassword) {
			t.Errorf("%s carries a secret: %s", a.Kind, all)
		}
	}
}
