package text

import (
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The words the lifecycle says at each step of a server's life, which its
// own tests leave to these: they check which sentence is said, to whom and
// when; these check what each sentence says.

var (
	owner = "100000000000000001"
	t0    = time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)
)

func minecraft() spawner.Game {
	return spawner.Game{
		Name: "minecraft", Title: "Minecraft", Version: "1.20.4", Port: 25565, AdminCommand: "/opredeem {token}",
		MinPlayers: 4, WarningCount: 3, CheckInterval: 5 * time.Minute, MaxDuration: 90 * time.Minute,
	}
}

func contains(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not say %q:\n%s", what, p, s)
		}
	}
}

func TestStatusShowsTheStepReached(t *testing.T) {
	g := minecraft()
	s := spawner.Server{Owner: owner, Variant: "official", State: spawner.StateBooting, Address: "203.0.113.7", Port: 25565,
		TaskID: "arn:aws:ecs:eu-west-3:1:task/games/t1", RunningAt: t0}
	booting := En.Status(g, s, "")
	contains(t, "status while booting", booting, "Minecraft", "✅ requested", "✅ running · `203.0.113.7:25565`", "⏳ booting", "▫️ ready")
	s.State, s.ReadyAt = spawner.StateReady, t0
	ready := En.Status(g, s, "")
	contains(t, "status once ready", ready, "✅ ready")
	if strings.Contains(ready, "⏳") {
		t.Errorf("a ready server's status shows a step in progress:\n%s", ready)
	}
	// An end shows the last step reached, never one that did not happen.
	failed := spawner.Server{Owner: owner, Variant: "official", State: spawner.StateStopped, TaskID: "arn:aws:ecs:eu-west-3:1:task/games/t1"}
	stopped := En.Status(g, failed, "")
	contains(t, "status of a creation that failed while pending", stopped, "✅ provisioning", "▫️ ready", "⏹️ stopped")
	noIP := failed
	noIP.RunningAt = t0
	contains(t, "status of a server with no public address", En.Status(g, noIP, ""), "✅ running", "▫️ booting", "⏹️ stopped")
	contains(t, "status with a note", En.Status(g, s, En.StatusStopsAt(t0)), "Stops "+Timestamp(t0, spawner.TimeOfDay))
	contains(t, "French status", Fr.Status(g, s, ""), "✅ prêt")
}

func TestReadySaysWhereAndUntilWhen(t *testing.T) {
	g := minecraft()
	s := spawner.Server{Owner: owner, Variant: "non_official", Address: "203.0.113.7", Port: 25565, Token: "t0k3n", Players: 5}
	stop := t0.Add(90 * time.Minute)
	contains(t, "ready message", En.Ready(g, s, stop), Mention(owner), "`203.0.113.7:25565`", "1.20.4", "non-official",
		"**Players online:** 5", "**Minimum players:** 4", Timestamp(stop, spawner.TimeOfDay), Timestamp(stop, spawner.TimeRelative), "`/opredeem t0k3n`")
	g.MinPlayers = 0
	if got := En.Ready(g, s, stop); strings.Contains(got, "Minimum players") {
		t.Errorf("a ready message tells a minimum though there is none:\n%s", got)
	}
	g.Protocol, g.MinPlayers = spawner.ProtocolTCP, 2
	tcp := En.Ready(g, s, stop)
	contains(t, "ready message of a tcp game", tcp, "players are not counted for this game")
	if strings.Contains(tcp, "Minimum players") {
		t.Errorf("the ready message of a tcp game tells a minimum:\n%s", tcp)
	}
}

func TestWarningsCountAndSayWhatWasFound(t *testing.T) {
	next := t0.Add(5 * time.Minute)
	contains(t, "first warning", En.PlayerWarning(owner, 1, 3, 1, 4, true, next), Mention(owner), "warning **1/3**", "1 player(s) online, 4 needed", "Next check")
	contains(t, "warning with no answer", En.PlayerWarning(owner, 2, 3, 0, 4, false, next), "warning **2/3**", "did not answer")
	contains(t, "last warning", En.PlayerWarning(owner, 3, 3, 0, 4, false, next), "warning **3/3**", "Last warning")
	contains(t, "players back", En.PlayersBack(6), "6 players online: warnings reset")
	contains(t, "runtime warning", En.RuntimeWarning(owner, next), Mention(owner), "maximum duration", Timestamp(next, spawner.TimeRelative))
	contains(t, "reclaim warning", En.Reclaimed(owner), Mention(owner), "Fargate Spot is reclaiming this server", "two minutes")
	contains(t, "French reclaim warning", Fr.Reclaimed(owner), Mention(owner), "Fargate Spot reprend ce serveur")
}

func TestEndsSayWhy(t *testing.T) {
	exit := int32(137)
	ended := spawner.Task{StoppedReason: "Essential container in task exited", ExitCode: &exit}
	for _, tc := range []struct {
		what  string
		got   string
		parts []string
	}{
		{"stopped by an admin", En.Ended(owner, spawner.CauseCommand, "900000000000000001", "", time.Minute),
			[]string{Mention(owner), "Server stopped by " + Mention("900000000000000001"), "This channel closes in 1 min"}},
		{"too few players", En.Ended(owner, spawner.CausePlayers, "", "", time.Minute), []string{"too few players after the last warning"}},
		{"maximum duration", En.Ended(owner, spawner.CauseRuntime, "", "", time.Minute), []string{"maximum duration"}},
		{"gone", En.Ended(owner, spawner.CauseTaskEnded, "", En.FailTaskEnded(ended), time.Minute),
			[]string{"Server gone: the server stopped on its own (Essential container in task exited, exit code 137)"}},
		{"gone, no reason", En.FailTaskEnded(spawner.Task{}), []string{"(no reason given)"}},
		{"interrupted", En.Ended(owner, spawner.CauseRestart, "", "", time.Minute), []string{"interrupted by a bot restart"}},
		{"failed", En.Ended(owner, spawner.CauseFailed, "", En.FailRun("RESOURCE:FARGATE"), time.Minute),
			[]string{"could not be created: it could not be started (RESOURCE:FARGATE)", "try again"}},
		{"not running", En.FailNotRunning(time.Minute), []string{"it did not start within 1 min"}},
		{"not ready", En.FailNotReady(time.Minute), []string{"the game did not answer within 1 min of starting"}},
		{"answer: failed", En.CreationFailed(En.FailRecord()), []string{"could not be created: " + En.FailRecord(), "try again"}},
		{"answer: started", En.CreationStarted("1300000000000000001"), []string{ChannelLink("1300000000000000001")}},
		{"answer: stopped", En.CreationStopped(time.Time{}), []string{"creation of your server was stopped"}},
		{"answer: stopped, cooldown", En.CreationStopped(t0), []string{"you can create another " + Timestamp(t0, spawner.TimeRelative)}},
		{"answer: stopped, cooldown, French", Fr.CreationStopped(t0), []string{"tu pourras en créer un autre " + Timestamp(t0, spawner.TimeRelative)}},
	} {
		contains(t, tc.what, tc.got, tc.parts...)
	}
	if got := En.Ended(owner, spawner.CauseCommand, owner, "", time.Minute); strings.HasPrefix(got, "⏹️ "+Mention(owner)) {
		t.Errorf("the owner is pinged for their own stop: %q", got)
	}
}

func TestLogChannelLines(t *testing.T) {
	s := spawner.Server{Owner: owner, Variant: "official", ChannelID: "1300000000000000001", TaskID: "arn:aws:ecs:eu-west-3:1:task/games/t1",
		Address: "203.0.113.7", Port: 25565}
	for _, tc := range []struct {
		what  string
		got   string
		parts []string
	}{
		{"requested", En.LogCreated(s), []string{Mention(owner), "requested", ChannelLink(s.ChannelID)}},
		{"ready", En.LogReady(s), []string{"203.0.113.7:25565", Mention(owner), "t1"}},
		{"stopped", En.LogStopped(s, spawner.CauseCommand, "900000000000000001", ""), []string{Mention(owner), "stopped by " + Mention("900000000000000001"), "t1"}},
		{"players", En.LogStopped(s, spawner.CausePlayers, "", ""), []string{"too few players", "t1"}},
		{"runtime", En.LogStopped(s, spawner.CauseRuntime, "", ""), []string{"maximum duration reached"}},
		{"gone", En.LogStopped(s, spawner.CauseTaskEnded, "", "why"), []string{" gone: why"}},
		{"interrupted", En.LogStopped(s, spawner.CauseRestart, "", ""), []string{"interrupted by a restart"}},
		{"failed", En.LogStopped(s, spawner.CauseFailed, "", "why"), []string{"failed: why"}},
		{"orphan", En.LogStopped(s, spawner.CauseOrphan, "", ""), []string{"Stopped task `t1`"}},
		{"retried", En.LogStopRetry(s, "503"), []string{"Could not stop task `t1`", "503"}},
		{"malformed", En.LogBadRecord("item 3: no taskId"), []string{"malformed", "item 3: no taskId"}},
		{"malformed template", En.LogBadTemplate("broken", "port: not a number"), []string{"broken", "port: not a number"}},
		{"extended", En.LogExtended(s, owner, t0), []string{"extended by " + Mention(owner), Timestamp(t0, spawner.TimeDateTime), "t1"}},
		{"extended, ticket", En.ExtendedTicket(owner, t0), []string{Mention(owner) + " extended the server", Timestamp(t0, spawner.TimeOfDay)}},
	} {
		contains(t, tc.what, tc.got, tc.parts...)
	}
}

func TestControlRefusals(t *testing.T) {
	contains(t, "extension limit", En.Refusal(&spawner.Refusal{Code: spawner.RefusedExtendLimit, Limit: 2}), "2 times")
	contains(t, "no RCON", En.Refusal(&spawner.Refusal{Code: spawner.RefusedNoRCON}), "no RCON")
	contains(t, "refused password", En.OpFailed(true), "refused the bot's RCON password")
}
