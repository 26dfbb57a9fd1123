package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// sessionStore is the sessions' part of a store, as the table and the
// embedded store keep it: a put replaces the session of the same id.
type sessionStore struct {
	mock *mockSessions

	mu       sync.Mutex
	sessions map[string]spawner.Session
	puts     []spawner.Session
}

func newSessionStore() *sessionStore {
	st := &sessionStore{sessions: map[string]spawner.Session{}}
	st.mock = &mockSessions{PutSessionFn: st.PutSession, SessionsFn: st.Sessions}
	return st
}

func (st *sessionStore) PutSession(ctx context.Context, s spawner.Session) error {
	if err := s.Storable(); err != nil {
		return fmt.Errorf("put %w", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sessions[s.ID] = s
	st.puts = append(st.puts, s)
	return nil
}

func (st *sessionStore) Sessions(ctx context.Context, from, to time.Time) ([]spawner.Session, []error, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []spawner.Session
	for _, s := range st.sessions {
		if s.Overlaps(from, to) {
			out = append(out, s)
		}
	}
	return out, nil, nil
}

// put stores s as a previous run of the bot left it.
func (st *sessionStore) put(s spawner.Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sessions[s.ID] = s
}

func (st *sessionStore) get(id string) (spawner.Session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.sessions[id]
	return s, ok
}

// written is every session written, in order.
func (st *sessionStore) written() []spawner.Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.puts)
}

// expect fails the test unless the store holds want under its id.
func (st *sessionStore) expect(tb testing.TB, want spawner.Session) {
	tb.Helper()
	got, ok := st.get(want.ID)
	if !ok {
		tb.Fatalf("no session %s recorded; written: %+v", want.ID, st.written())
	}
	if got != want {
		tb.Errorf("session %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

// ecsDefaults are the session defaults of an ECS runtime, as cmd/spawner
// gives them: its task definition's size is the task's to tell.
var ecsDefaults = SessionDefaults{Capacity: spawner.CapacityFargate, Region: "eu-west-3", PublicIP: true}

func withSessions(st *sessionStore, d SessionDefaults) option {
	return withConfig(func(c *Options) { c.Sessions, c.SessionDefaults = st.mock, d })
}

// sized makes the runtime answer RunTask with a task of that size.
func (w *world) sized(cpu, memory int) {
	w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
		t, err := w.cluster.RunTask(ctx, spec)
		t.CPU, t.Memory = cpu, memory
		return t, err
	}
}

// TestSessionFromStartToStop: a server that became ready has its session
// recorded from the moment the runtime accepted its task, with its size
// as the runtime said it, and its end once stopped.
func TestSessionFromStartToStop(t *testing.T) {
	st := newSessionStore()
	w := newWorld(t, withSessions(st, ecsDefaults))
	w.sized(2048, 4096)
	w.recover()
	srv := w.readyServer(alice)
	want := spawner.Session{ID: srv.CreationID, Owner: alice, Game: "minecraft", Variant: "official", StartedAt: t0,
		CPU: 2048, Memory: 4096, Capacity: spawner.CapacityFargate, Region: "eu-west-3", PublicIP: true}
	st.expect(t, want)

	w.clock.Advance(45 * time.Minute)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	want.EndedAt = t0.Add(45 * time.Minute)
	st.expect(t, want)
	if n := len(st.written()); n != 2 {
		t.Errorf("%d session writes, want 2 (start, end): %+v", n, st.written())
	}
}

// TestSessionSize: the size the game sets, else the task's as the runtime
// answered, else the runtime's default; the game's capacity provider, else
// the runtime's, except under Docker, which has one capacity.
func TestSessionSize(t *testing.T) {
	docker := SessionDefaults{Capacity: spawner.CapacityDocker, CPU: 1024, Memory: 2048}
	for _, tc := range []struct {
		name      string
		defaults  SessionDefaults
		game      func(g *spawner.Game)
		taskSize  [2]int
		cpu, mem  int
		capacity  string
		region    string
		hasPublic bool
	}{
		{name: "nobody says", defaults: ecsDefaults, capacity: spawner.CapacityFargate, region: "eu-west-3", hasPublic: true},
		{name: "the task says", defaults: ecsDefaults, taskSize: [2]int{512, 1024}, cpu: 512, mem: 1024, capacity: spawner.CapacityFargate, region: "eu-west-3", hasPublic: true},
		{name: "the game says", defaults: ecsDefaults, taskSize: [2]int{512, 1024},
			game: func(g *spawner.Game) { g.CPU, g.Memory, g.CapacityProvider = 4096, 8192, spawner.CapacityFargateSpot },
			cpu:  4096, mem: 8192, capacity: spawner.CapacityFargateSpot, region: "eu-west-3", hasPublic: true},
		{name: "docker's default", defaults: docker, game: func(g *spawner.Game) { g.CapacityProvider = spawner.CapacityFargateSpot },
			cpu: 1024, mem: 2048, capacity: spawner.CapacityDocker},
		{name: "docker, the game's size", defaults: docker, game: func(g *spawner.Game) { g.Memory = 4096 },
			cpu: 1024, mem: 4096, capacity: spawner.CapacityDocker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newSessionStore()
			opts := []option{withSessions(st, tc.defaults)}
			if tc.game != nil {
				opts = append(opts, withGame(tc.game))
			}
			w := newWorld(t, opts...)
			w.sized(tc.taskSize[0], tc.taskSize[1])
			w.recover()
			srv := w.readyServer(alice)
			st.expect(t, spawner.Session{ID: srv.CreationID, Owner: alice, Game: "minecraft", Variant: "official", StartedAt: t0,
				CPU: tc.cpu, Memory: tc.mem, Capacity: tc.capacity, Region: tc.region, PublicIP: tc.hasPublic})
		})
	}
}

// TestSessionOfAFailedCreation: a creation whose task the runtime accepted
// cost something, ready or not: its session is recorded, start and end. One
// that failed before its task records none.
func TestSessionOfAFailedCreation(t *testing.T) {
	t.Run("task stopped while booting", func(t *testing.T) {
		st := newSessionStore()
		w := newWorld(t, withSessions(st, ecsDefaults))
		w.recover()
		w.create(alice, "non_official")
		w.blockUntil(1)
		w.cluster.endOnOwn(w.cluster.all()[0], "Essential container in task exited", 137)
		w.clock.Advance(w.cfg.PollInterval)
		w.waitWorkers()
		all := st.written()
		if len(all) != 2 {
			t.Fatalf("session writes %+v, want its start and its end", all)
		}
		want := spawner.Session{ID: all[0].ID, Owner: alice, Game: "minecraft", Variant: "non_official", StartedAt: t0,
			EndedAt: t0.Add(w.cfg.PollInterval), Capacity: spawner.CapacityFargate, Region: "eu-west-3", PublicIP: true}
		st.expect(t, want)
	})
	t.Run("no task", func(t *testing.T) {
		st := newSessionStore()
		w := newWorld(t, withSessions(st, ecsDefaults))
		w.recover()
		w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
			return spawner.Task{}, &spawner.RunFailure{Reason: "RESOURCE:CAPACITY"}
		}
		w.create(alice, "")
		w.waitWorkers()
		w.expectNothingLeft()
		if all := st.written(); len(all) != 0 {
			t.Errorf("sessions written for a creation that had no task: %+v", all)
		}
	})
}

// TestSessionStoreFailureBlocksNothing: with every session write failing,
// a server is still created, becomes ready and is stopped; the failure is
// logged once for the server, not at each write.
func TestSessionStoreFailureBlocksNothing(t *testing.T) {
	st := newSessionStore()
	st.mock.PutSessionFn = func(ctx context.Context, s spawner.Session) error { return errBoom }
	w := newWorld(t, withSessions(st, ecsDefaults))
	w.recover()
	srv := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.expectStoppedBy(srv, alice)
	if n := w.logCount("/server cost may miss this server"); n != 1 {
		t.Errorf("the failed session writes were logged %d times, want once\n%s", n, w)
	}
}

// TestSessionsAtRecovery: after a restart the session of a server that
// carries on stays open, with its start and size, until the server ends;
// that of a server gone while the bot was away, with or without its
// records, is ended at the restart; a server with no session recorded (the
// original bot's) is counted from its creation when it ends.
func TestSessionsAtRecovery(t *testing.T) {
	st := newSessionStore()
	w := newWorld(t, withSessions(st, ecsDefaults))
	before := t0.Add(-2 * time.Hour)
	live := w.seed(seed{owner: alice, createdAt: before, state: spawner.StateReady, task: spawner.TaskRunning, owned: true})
	gone := w.seed(seed{owner: bob, createdAt: before, state: spawner.StateReady, task: spawner.TaskStopped, owned: true})
	original := w.seed(seed{owner: carol, createdAt: before, task: spawner.TaskRunning, original: true})
	open := func(id, owner string) spawner.Session {
		s := spawner.Session{ID: id, Owner: owner, Game: "minecraft", Variant: "official", StartedAt: before.Add(time.Second),
			CPU: 512, Memory: 1024, Capacity: spawner.CapacityFargateSpot, Region: "eu-west-3"}
		st.put(s)
		return s
	}
	liveSession, goneSession := open(live.CreationID, alice), open(gone.CreationID, bob)
	lostSession := open("lost", "100000000000000009") // its records went, its end was never written
	ended := spawner.Session{ID: "old", Owner: bob, StartedAt: before, EndedAt: before.Add(time.Hour), Capacity: spawner.CapacityFargate}
	st.put(ended)

	w.recover()
	goneSession.EndedAt, lostSession.EndedAt = t0, t0
	st.expect(t, goneSession)
	st.expect(t, lostSession)
	st.expect(t, liveSession)
	st.expect(t, ended)
	if all := st.written(); len(all) != 2 {
		t.Errorf("session writes at recovery %+v, want the two ends", all)
	}

	w.clock.Advance(10 * time.Minute)
	for _, srv := range []spawner.Server{live, original} {
		if _, err := w.m.Stop(w.ctx, admin, srv.ShortTaskID()); err != nil {
			t.Fatalf("Stop %s: %v", srv.ShortTaskID(), err)
		}
	}
	liveSession.EndedAt = t0.Add(10 * time.Minute)
	st.expect(t, liveSession)
	st.expect(t, spawner.Session{ID: original.TaskID, Owner: carol, Game: "minecraft", Variant: "official", StartedAt: before,
		EndedAt: t0.Add(10 * time.Minute), Capacity: spawner.CapacityFargate, Region: "eu-west-3", PublicIP: true})
	if strings.Contains(w.logs.String(), "session;") {
		t.Errorf("a session write failed\n%s", w)
	}
}
