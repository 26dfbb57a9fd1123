package lifecycle

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TestPlanRecovery classifies what a start reads, with no fakes: each case
// is the table, ECS and the category as read, and what recovery must do.
func TestPlanRecovery(t *testing.T) {
	arn := func(n int) string { return fmt.Sprintf("arn:aws:ecs:eu-west-3:1:task/games/%032x", n) }
	cid := func(n int) string { return fmt.Sprintf("%032x", 0xc0ffee00+n) }
	task := func(n int, s spawner.TaskStatus, creation string) spawner.Task {
		return spawner.Task{ID: arn(n), Status: s, StartedBy: spawner.StartedBy, Tags: map[string]string{spawner.TagCreation: creation}}
	}
	rec := func(n int, state spawner.State) spawner.Server {
		return spawner.Server{TaskID: arn(n), CreationID: cid(n), State: state, ChannelID: fmt.Sprint("ch", n)}
	}
	pending := func(n int) spawner.Server {
		return spawner.Server{CreationID: cid(n), State: spawner.StateRequested, ChannelID: fmt.Sprint("ch", n)}
	}
	original := spawner.Server{TaskID: arn(9), ChannelID: "ch9"} // the original bot's: no creation id, no state

	type want struct {
		verdicts map[string]verdict // by the record's Key
		orphans  []string           // ARNs
		stale    []string           // channel ids
	}
	for _, tc := range []struct {
		name string
		in   observed
		want want
	}{{
		name: "ready record with a running task is watched",
		in:   observed{records: []spawner.Server{rec(1, spawner.StateReady)}, owned: []spawner.Task{task(1, spawner.TaskRunning, cid(1))}},
		want: want{verdicts: map[string]verdict{arn(1): verdictWatch}},
	}, {
		name: "original bot's record is watched (its task is not ours, so described)",
		in:   observed{records: []spawner.Server{original}, recorded: map[string]spawner.Task{arn(9): {ID: arn(9), Status: spawner.TaskRunning}}},
		want: want{verdicts: map[string]verdict{arn(9): verdictWatch}},
	}, {
		name: "booting record is resumed",
		in:   observed{records: []spawner.Server{rec(1, spawner.StateBooting)}, owned: []spawner.Task{task(1, spawner.TaskRunning, cid(1))}},
		want: want{verdicts: map[string]verdict{arn(1): verdictResume}},
	}, {
		name: "pending record whose task started is adopted",
		in:   observed{records: []spawner.Server{pending(1)}, owned: []spawner.Task{task(5, spawner.TaskPending, cid(1))}},
		want: want{verdicts: map[string]verdict{arn(5): verdictAdopt}}, // keyed by its task once adopted
	}, {
		name: "pending record with no task was interrupted",
		in:   observed{records: []spawner.Server{pending(1)}},
		want: want{verdicts: map[string]verdict{spawner.PendingKeyPrefix + cid(1): verdictInterrupted}},
	}, {
		name: "pending record beside its task's record is superseded",
		in: observed{records: []spawner.Server{pending(1), rec(1, spawner.StateProvisioning)},
			owned: []spawner.Task{task(1, spawner.TaskProvisioning, cid(1))}},
		want: want{verdicts: map[string]verdict{spawner.PendingKeyPrefix + cid(1): verdictSuperseded, arn(1): verdictResume}},
	}, {
		name: "record whose task is unknown to ECS is gone",
		in:   observed{records: []spawner.Server{rec(1, spawner.StateReady)}},
		want: want{verdicts: map[string]verdict{arn(1): verdictGone}},
	}, {
		name: "record whose task stopped is gone",
		in: observed{records: []spawner.Server{rec(1, spawner.StateReady)},
			recorded: map[string]spawner.Task{arn(1): {ID: arn(1), Status: spawner.TaskStopped, StopWanted: true}}},
		want: want{verdicts: map[string]verdict{arn(1): verdictGone}},
	}, {
		name: "record whose task is asked to stop is gone",
		in: observed{records: []spawner.Server{rec(1, spawner.StateReady)},
			owned: []spawner.Task{{ID: arn(1), Status: spawner.TaskRunning, StopWanted: true}}},
		want: want{verdicts: map[string]verdict{arn(1): verdictGone}},
	}, {
		name: "owned task named by no record is an orphan; one named by creation tag is not",
		in: observed{records: []spawner.Server{pending(2)},
			owned: []spawner.Task{task(1, spawner.TaskRunning, cid(1)), task(2, spawner.TaskPending, cid(2)), task(3, spawner.TaskStopping, cid(3))}},
		want: want{verdicts: map[string]verdict{arn(2): verdictAdopt}, orphans: []string{arn(1)}},
	}, {
		name: "only our unnamed ticket channels are stale",
		in: observed{records: []spawner.Server{rec(1, spawner.StateReady)}, owned: []spawner.Task{task(1, spawner.TaskRunning, cid(1))},
			channels: []spawner.Channel{
				{ID: "ch1", Topic: "Minecraft · official · spawner:" + cid(1)},
				{ID: "ch2", Topic: "Minecraft · official · spawner:" + cid(2)},
				{ID: "ch3", Topic: "all about spawner: ask here"},
				{ID: "ch4", Topic: "x · spawner:" + cid(4) + " (kept)"},
			}},
		want: want{verdicts: map[string]verdict{arn(1): verdictWatch}, stale: []string{"ch2"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := planRecovery(tc.in)
			got := make(map[string]verdict)
			for _, s := range p.servers {
				got[s.srv.Key()] = s.verdict
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want.verdicts) {
				t.Errorf("verdicts = %v, want %v", got, tc.want.verdicts)
			}
			var orphans []string
			for _, o := range p.orphans {
				orphans = append(orphans, o.ID)
			}
			if !slices.Equal(orphans, tc.want.orphans) {
				t.Errorf("orphans = %v, want %v", orphans, tc.want.orphans)
			}
			if !slices.Equal(p.stale, tc.want.stale) {
				t.Errorf("stale channels = %v, want %v", p.stale, tc.want.stale)
			}
		})
	}
}

// TestOrphansGrace: the sweep's orphans are the plan's, minus the tasks
// younger than the grace window (a creation between RunTask and its record).
func TestOrphansGrace(t *testing.T) {
	now := time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)
	owned := []spawner.Task{
		{ID: "old", Status: spawner.TaskRunning, CreatedAt: now.Add(-3 * time.Minute)},
		{ID: "young", Status: spawner.TaskProvisioning, CreatedAt: now.Add(-time.Minute)},
		{ID: "tracked", Status: spawner.TaskRunning, CreatedAt: now.Add(-time.Hour)},
		{ID: "tagged", Status: spawner.TaskRunning, CreatedAt: now.Add(-time.Hour), Tags: map[string]string{spawner.TagCreation: "c1"}},
	}
	var tracked tracking
	tracked.add(spawner.Server{TaskID: "tracked"})
	tracked.add(spawner.Server{CreationID: "c1"})
	var got []string
	for _, o := range orphans(owned, tracked, now, 2*time.Minute) {
		got = append(got, o.ID)
	}
	if !slices.Equal(got, []string{"old"}) {
		t.Errorf("orphans = %v, want [old]", got)
	}
}

func TestTicketCreation(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	for topic, want := range map[string]bool{
		"Minecraft · official · spawner:" + id:            true,
		"spawner:" + id:                                   false, // no separator: not as the bot writes it
		"Minecraft · official · spawner:" + id + " ":      false,
		"Minecraft · official · spawner:" + id[:31]:       false,
		"Minecraft · official · spawner:" + id + "0":      false,
		"Minecraft · official · spawner:" + id[:31] + "g": false,
		"Our spawner: questions welcome":                  false,
		"":                                                false,
	} {
		got, ok := ticketCreation(topic)
		if ok != want || (ok && got != id) {
			t.Errorf("ticketCreation(%q) = %q, %v; want ours=%v", topic, got, ok, want)
		}
	}
}

// TestPlanPass decides what a pass of the sweep does with what it read,
// with no fakes: each case is one server as read, the runtime's word on
// its task, and what is due.
func TestPlanPass(t *testing.T) {
	now := time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)
	game := spawner.Game{MinPlayers: 4, CheckInterval: 5 * time.Minute, MaxDuration: 90 * time.Minute, MaxDurationWarning: 10 * time.Minute}
	tcp := game
	tcp.Protocol = spawner.ProtocolTCP
	const arn = "arn:aws:ecs:eu-west-3:1:task/games/a1"
	watched := func(age time.Duration) view {
		return view{id: "c1", phase: phaseWatched, game: game, nextCheck: now.Add(time.Minute),
			srv: spawner.Server{TaskID: arn, CreationID: "c1", State: spawner.StateReady, CreatedAt: now.Add(-age)}}
	}
	running := map[string]spawner.Task{arn: {ID: arn, Status: spawner.TaskRunning}}
	type want struct {
		due       bool
		end       spawner.StopCause
		warnEnd   bool
		ping      bool
		save      bool
		retryStop bool
	}
	for _, tc := range []struct {
		name  string
		v     view
		sweep bool
		tasks map[string]spawner.Task // nil: not read
		want  want
	}{
		{name: "nothing due", v: watched(time.Hour), sweep: true, tasks: running},
		{name: "the player check is due", v: func() view { v := watched(time.Hour); v.nextCheck = now; return v }(),
			want: want{due: true, ping: true}},
		{name: "a game that counts no players is not checked", v: func() view {
			v := watched(time.Hour)
			v.game, v.nextCheck = tcp, now
			return v
		}()},
		{name: "the runtime warning is due", v: watched(80 * time.Minute), want: want{due: true, warnEnd: true}},
		{name: "warned once", v: func() view { v := watched(80 * time.Minute); v.srv.RuntimeWarned = true; return v }()},
		{name: "its time is up", v: func() view { v := watched(90 * time.Minute); v.nextCheck = now; return v }(),
			want: want{due: true, end: spawner.CauseRuntime}},
		{name: "a stop time moved later", v: func() view { v := watched(90 * time.Minute); v.srv.StopsAt = now.Add(time.Hour); return v }()},
		{name: "its task stopped", v: watched(time.Hour), sweep: true,
			tasks: map[string]spawner.Task{arn: {ID: arn, Status: spawner.TaskStopped}}, want: want{due: true, end: spawner.CauseTaskEnded}},
		{name: "its task is gone", v: watched(time.Hour), sweep: true, tasks: map[string]spawner.Task{},
			want: want{due: true, end: spawner.CauseTaskEnded}},
		{name: "the runtime not read: nothing concluded", v: watched(time.Hour), sweep: true},
		{name: "an unsaved record is saved at a sweep", v: func() view { v := watched(time.Hour); v.unsaved = true; return v }(),
			sweep: true, tasks: running, want: want{due: true, save: true}},
		{name: "not between sweeps", v: func() view { v := watched(time.Hour); v.unsaved = true; return v }()},
		{name: "an end that failed is retried at a sweep", v: func() view { v := watched(time.Hour); v.phase = phaseEndWanted; return v }(),
			sweep: true, want: want{due: true, retryStop: true}},
		{name: "and only then", v: func() view { v := watched(time.Hour); v.phase = phaseEndWanted; return v }()},
		{name: "a creation is its worker's", v: func() view { v := watched(95 * time.Minute); v.phase = phaseCreating; return v }(),
			sweep: true, tasks: map[string]spawner.Task{}},
		{name: "an end under way is its worker's", v: func() view { v := watched(95 * time.Minute); v.phase = phaseEnding; return v }(),
			sweep: true, tasks: map[string]spawner.Task{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planPass(passInput{now: now, sweep: tc.sweep, servers: []view{tc.v}, tasks: tc.tasks})
			var got want
			if len(p.checks) == 1 {
				c := p.checks[0]
				got = want{due: true, warnEnd: c.warnEnd, ping: c.ping, save: c.save, retryStop: c.retryStop}
				if c.end != nil {
					got.end = c.end.cause
				}
				if c.ping && !c.nextCheck.Equal(now.Add(game.CheckInterval)) {
					t.Errorf("next check at %v, want one interval after now", c.nextCheck)
				}
			}
			if got != tc.want {
				t.Errorf("planned %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestPlanPassOrphans: the sweep stops the owned tasks no server names,
// older than the grace window, and only when it read the runtime.
func TestPlanPassOrphans(t *testing.T) {
	now := time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)
	owned := []spawner.Task{
		{ID: "orphan", Status: spawner.TaskRunning, CreatedAt: now.Add(-time.Hour)},
		{ID: "young", Status: spawner.TaskRunning, CreatedAt: now.Add(-time.Minute)},
		{ID: "ours", Status: spawner.TaskRunning, CreatedAt: now.Add(-time.Hour)},
		{ID: "starting", Status: spawner.TaskRunning, CreatedAt: now.Add(-time.Hour), Tags: map[string]string{spawner.TagCreation: "c2"}},
	}
	servers := []view{
		{id: "c1", phase: phaseWatched, srv: spawner.Server{TaskID: "ours", CreationID: "c1", CreatedAt: now}},
		{id: "c2", phase: phaseCreating, srv: spawner.Server{CreationID: "c2", CreatedAt: now}}, // its record names no task yet
	}
	in := passInput{now: now, sweep: true, servers: servers, owned: owned, tasks: map[string]spawner.Task{}, grace: 2 * time.Minute}
	var got []string
	for _, o := range planPass(in).orphans {
		got = append(got, o.ID)
	}
	if !slices.Equal(got, []string{"orphan"}) {
		t.Errorf("orphans = %v, want [orphan]", got)
	}
	in.owned, in.tasks = nil, nil // the runtime could not be read
	if o := planPass(in).orphans; len(o) != 0 {
		t.Errorf("orphans without reading the runtime = %v", o)
	}
}

// TestNextDue: the sweep's loop wakes for the first thing due of a watched
// server, never later than its limit.
func TestNextDue(t *testing.T) {
	now := time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)
	game := spawner.Game{MinPlayers: 4, CheckInterval: 5 * time.Minute, MaxDuration: 90 * time.Minute, MaxDurationWarning: 10 * time.Minute}
	limit := now.Add(time.Hour)
	srv := func(age time.Duration, warned bool) spawner.Server {
		return spawner.Server{CreatedAt: now.Add(-age), RuntimeWarned: warned}
	}
	for _, tc := range []struct {
		name string
		v    view
		want time.Time
	}{
		{name: "its next check", v: view{phase: phaseWatched, game: game, srv: srv(0, false), nextCheck: now.Add(5 * time.Minute)}, want: now.Add(5 * time.Minute)},
		{name: "its runtime warning", v: view{phase: phaseWatched, game: game, srv: srv(79*time.Minute, false), nextCheck: now.Add(5 * time.Minute)}, want: now.Add(time.Minute)},
		{name: "its end, once warned", v: view{phase: phaseWatched, game: game, srv: srv(88*time.Minute, true), nextCheck: now.Add(5 * time.Minute)}, want: now.Add(2 * time.Minute)},
		{name: "nothing before the limit", v: view{phase: phaseWatched, game: spawner.Game{MaxDuration: 3 * time.Hour}, srv: srv(0, false)}, want: limit},
		{name: "a creation is its worker's", v: view{phase: phaseCreating, game: game, srv: srv(89*time.Minute, true)}, want: limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextDue([]view{tc.v}, limit); !got.Equal(tc.want) {
				t.Errorf("nextDue = %v, want %v", got, tc.want)
			}
		})
	}
}
