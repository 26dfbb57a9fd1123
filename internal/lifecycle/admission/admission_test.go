package admission

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

var t0 = time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)

const (
	alice = "100000000000000001"
	bob   = "100000000000000002"
	boss  = "900000000000000001"
)

var errBoom = errors.New("service unavailable")

// cooldowns is a function-field fake of the table's cooldowns.
type cooldowns struct {
	PutFn    func(ctx context.Context, member string, since time.Time) error
	DeleteFn func(ctx context.Context, member string) error
}

var _ Cooldowns = (*cooldowns)(nil)

func (c *cooldowns) PutCooldown(ctx context.Context, member string, since time.Time) error {
	return c.PutFn(ctx, member, since)
}
func (c *cooldowns) DeleteCooldown(ctx context.Context, member string) error {
	return c.DeleteFn(ctx, member)
}

// kept is a table of cooldowns behind a cooldowns fake: what was put and
// deleted, by member.
type kept struct {
	mu      sync.Mutex
	since   map[string]time.Time
	deleted []string
}

func (k *kept) fake() *cooldowns {
	k.since = map[string]time.Time{}
	return &cooldowns{
		PutFn: func(_ context.Context, member string, since time.Time) error {
			k.mu.Lock()
			defer k.mu.Unlock()
			k.since[member] = since
			return nil
		},
		DeleteFn: func(_ context.Context, member string) error {
			k.mu.Lock()
			defer k.mu.Unlock()
			delete(k.since, member)
			k.deleted = append(k.deleted, member)
			return nil
		},
	}
}

func (k *kept) get(member string) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.since[member]
	return t, ok
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

func refusal(err error) *spawner.Refusal {
	var r *spawner.Refusal
	errors.As(err, &r)
	return r
}

func TestAdmit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int
		before func(a *Admission) // the places taken, the cooldowns started
		owner  string
		admin  bool
		want   spawner.RefusalCode // 0: admitted
		until  time.Time           // of a cooldown refusal
		limit  int                 // of a cap refusal
	}{
		{name: "a free fleet", max: 2, owner: alice},
		{name: "one server per member", max: 5, before: func(a *Admission) { _ = a.Admit("s1", alice, false, t0) }, owner: alice, want: spawner.RefusedBusy},
		{name: "another member", max: 5, before: func(a *Admission) { _ = a.Admit("s1", alice, false, t0) }, owner: bob},
		{name: "an admin has as many as they like", max: 5, before: func(a *Admission) { _ = a.Admit("s1", boss, true, t0) }, owner: boss, admin: true},
		{name: "a server found at start holds its place", max: 5, before: func(a *Admission) { a.Hold("s1", alice, t0) }, owner: alice, want: spawner.RefusedBusy},
		{name: "the cap", max: 1, before: func(a *Admission) { _ = a.Admit("s1", bob, false, t0) }, owner: alice, want: spawner.RefusedCap, limit: 1},
		{name: "the cap holds for admins", max: 1, before: func(a *Admission) { a.Hold("s1", bob, t0) }, owner: boss, admin: true, want: spawner.RefusedCap, limit: 1},
		{name: "a cooldown", max: 5, before: func(a *Admission) {
			_ = a.Admit("s1", alice, false, t0.Add(-time.Minute))
			a.Leave(context.Background(), "s1", true, t0)
		}, owner: alice, want: spawner.RefusedCooldown, until: t0.Add(time.Minute)},
		{name: "admins wait no cooldown", max: 5, before: func(a *Admission) {
			_ = a.Admit("s1", boss, false, t0.Add(-time.Minute))
			a.Leave(context.Background(), "s1", true, t0)
		}, owner: boss, admin: true},
		{name: "a cooldown over", max: 5, before: func(a *Admission) {
			_ = a.Admit("s1", alice, false, t0.Add(-2*time.Minute))
			a.Leave(context.Background(), "s1", true, t0)
		}, owner: alice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := New(tc.max, 2*time.Minute, nil, quiet())
			if tc.before != nil {
				tc.before(a)
			}
			before := len(a.places)
			err := a.Admit("new", tc.owner, tc.admin, t0)
			r := refusal(err)
			switch {
			case tc.want == 0 && err != nil:
				t.Fatalf("Admit = %v, want admitted", err)
			case tc.want == 0:
				if len(a.places) != before+1 {
					t.Errorf("places %d after an admission, want %d", len(a.places), before+1)
				}
				return
			case r == nil || r.Code != tc.want:
				t.Fatalf("Admit = %v, want refusal %d", err, tc.want)
			}
			if !r.Until.Equal(tc.until) || r.Limit != tc.limit {
				t.Errorf("refusal = %+v, want until %v, limit %d", r, tc.until, tc.limit)
			}
			if len(a.places) != before {
				t.Errorf("a refusal took a place")
			}
		})
	}
}

// TestWhatCounts is the cooldown's rule: a creation counts, from when it
// was asked for, once its server is ready or when its owner stopped it;
// one that ended otherwise, or an admin's, does not.
func TestWhatCounts(t *testing.T) {
	asked := t0.Add(-30 * time.Second)
	for _, tc := range []struct {
		name  string
		admin bool
		end   func(a *Admission, ctx context.Context) time.Time // returns Leave's until
		want  bool                                              // a cooldown from asked
	}{
		{name: "failed before ready", end: func(a *Admission, ctx context.Context) time.Time {
			return a.Leave(ctx, "s1", false, t0)
		}},
		{name: "ready", want: true, end: func(a *Admission, ctx context.Context) time.Time {
			a.Count(ctx, "s1", t0)
			return time.Time{}
		}},
		{name: "ready, then gone on its own", want: true, end: func(a *Admission, ctx context.Context) time.Time {
			a.Count(ctx, "s1", t0)
			return a.Leave(ctx, "s1", false, t0)
		}},
		{name: "stopped by its owner during creation", want: true, end: func(a *Admission, ctx context.Context) time.Time {
			return a.Leave(ctx, "s1", true, t0)
		}},
		{name: "ready, then stopped by its owner: counted once", want: true, end: func(a *Admission, ctx context.Context) time.Time {
			a.Count(ctx, "s1", t0)
			return a.Leave(ctx, "s1", true, t0)
		}},
		{name: "an admin's creation", admin: true, end: func(a *Admission, ctx context.Context) time.Time {
			a.Count(ctx, "s1", t0)
			return a.Leave(ctx, "s1", true, t0)
		}},
		{name: "ready once the cooldown is over", end: func(a *Admission, ctx context.Context) time.Time {
			a.Count(ctx, "s1", asked.Add(2*time.Minute))
			return time.Time{}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &kept{}
			a := New(5, 2*time.Minute, k.fake(), quiet())
			if err := a.Admit("s1", alice, tc.admin, asked); err != nil {
				t.Fatal(err)
			}
			until := tc.end(a, context.Background())
			since, stored := k.get(alice)
			if stored != tc.want || (stored && !since.Equal(asked)) {
				t.Errorf("stored cooldown = %v, %v; want %v from %v", since, stored, tc.want, asked)
			}
			if !until.IsZero() && !until.Equal(asked.Add(2*time.Minute)) {
				t.Errorf("Leave's until = %v, want the end of the cooldown", until)
			}
		})
	}
}

// TestLeaveTellsTheCooldown: Leave returns until when the owner must wait,
// zero for an admin's server or with no cooldown; a later cooldown is
// never replaced by an earlier one.
func TestLeaveTellsTheCooldown(t *testing.T) {
	ctx := context.Background()
	a := New(5, 2*time.Minute, nil, quiet())
	_ = a.Admit("late", alice, false, t0)
	a.Count(ctx, "late", t0)
	a.Hold("early", alice, t0.Add(-time.Minute)) // found at start, asked before
	if until := a.Leave(ctx, "early", true, t0); !until.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("until = %v, want the later cooldown's end %v", until, t0.Add(2*time.Minute))
	}
	_ = a.Admit("boss", boss, true, t0)
	if until := a.Leave(ctx, "boss", true, t0); !until.IsZero() {
		t.Errorf("until of an admin's server = %v, want none", until)
	}
	off := New(5, 0, nil, quiet())
	_ = off.Admit("s", alice, false, t0)
	if until := off.Leave(ctx, "s", true, t0); !until.IsZero() {
		t.Errorf("until with the cooldown off = %v, want none", until)
	}
	if err := off.Admit("s2", alice, false, t0); err != nil {
		t.Errorf("Admit with the cooldown off = %v", err)
	}
}

// TestCooldownNotSaved: a table that refuses a cooldown leaves it in
// memory, with a log line; the member is refused all the same.
func TestCooldownNotSaved(t *testing.T) {
	var log bytes.Buffer
	fake := &cooldowns{PutFn: func(context.Context, string, time.Time) error { return errBoom }}
	a := New(5, 2*time.Minute, fake, slog.New(slog.NewTextHandler(&log, nil)))
	_ = a.Admit("s1", alice, false, t0)
	a.Count(context.Background(), "s1", t0)
	a.Leave(context.Background(), "s1", false, t0)
	if err := a.Admit("s2", alice, false, t0.Add(time.Minute)); refusal(err) == nil || refusal(err).Code != spawner.RefusedCooldown {
		t.Errorf("Admit = %v, want the cooldown kept in memory", err)
	}
	if !strings.Contains(log.String(), "record creation cooldown") {
		t.Errorf("the failed save is not logged:\n%s", log.String())
	}
}

func TestLoad(t *testing.T) {
	stored := map[string]time.Time{
		alice: t0.Add(-time.Minute),     // a minute left
		bob:   t0.Add(-2 * time.Minute), // over
	}
	t.Run("restores those left, removes those over", func(t *testing.T) {
		var deleted []string
		fake := &cooldowns{
			DeleteFn: func(_ context.Context, member string) error {
				deleted = append(deleted, member)
				return nil
			},
		}
		a := New(5, 2*time.Minute, fake, quiet())
		a.Load(context.Background(), maps.Clone(stored), t0)
		if !slices.Equal(deleted, []string{bob}) {
			t.Errorf("deleted %v, want the cooldown over", deleted)
		}
		if r := refusal(a.Admit("s1", alice, false, t0)); r == nil || !r.Until.Equal(t0.Add(time.Minute)) {
			t.Errorf("Admit for alice = %+v, want her cooldown restored", r)
		}
		if err := a.Admit("s2", bob, false, t0); err != nil {
			t.Errorf("Admit for bob = %v, want admitted", err)
		}
	})
	t.Run("with the cooldown off, all are removed", func(t *testing.T) {
		var deleted []string
		fake := &cooldowns{
			DeleteFn: func(_ context.Context, member string) error {
				deleted = append(deleted, member)
				return nil
			},
		}
		a := New(5, 0, fake, quiet())
		a.Load(context.Background(), maps.Clone(stored), t0)
		if !slices.Equal(deleted, []string{alice, bob}) {
			t.Errorf("deleted %v, want every cooldown", deleted)
		}
	})
	t.Run("no table: nothing stored is kept", func(t *testing.T) {
		a := New(5, 2*time.Minute, nil, quiet())
		a.Load(context.Background(), maps.Clone(stored), t0)
		if err := a.Admit("s1", alice, false, t0); err != nil {
			t.Errorf("Admit for alice = %v, want admitted: without a table the stored cooldowns are not read", err)
		}
	})
}

// A wake is a creation of a world that exists: the cooldown neither
// refuses it nor starts with it, while one server per member and the cap
// hold as for any creation.
func TestAdmitWake(t *testing.T) {
	k := &kept{}
	a := New(2, 2*time.Minute, k.fake(), quiet())
	_ = a.Admit("s1", alice, false, t0.Add(-time.Minute))
	a.Leave(context.Background(), "s1", true, t0) // alice's cooldown runs to t0+1m
	if err := a.Admit("s2", alice, false, t0); refusal(err) == nil || refusal(err).Code != spawner.RefusedCooldown {
		t.Fatalf("a creation in the cooldown: %v", err)
	}
	if err := a.AdmitWake("w1", alice, false, t0); err != nil {
		t.Fatalf("a wake in the cooldown: %v, want admitted", err)
	}
	if err := a.AdmitWake("w2", alice, false, t0); refusal(err) == nil || refusal(err).Code != spawner.RefusedBusy {
		t.Errorf("a second server of the member by a wake: %v, want RefusedBusy", err)
	}
	_ = a.Admit("s3", bob, false, t0)
	if err := a.AdmitWake("w3", boss, true, t0); refusal(err) == nil || refusal(err).Code != spawner.RefusedCap {
		t.Errorf("a wake past the cap: %v, want RefusedCap", err)
	}

	a.Leave(context.Background(), "s3", false, t0)
	a.Count(context.Background(), "w1", t0.Add(30*time.Second)) // its server is ready
	if until := a.Leave(context.Background(), "w1", true, t0.Add(time.Minute)); !until.IsZero() {
		t.Errorf("the end of a wake's server leaves a cooldown until %v, want none", until)
	}
	if since, ok := k.get(alice); !ok || !since.Equal(t0.Add(-time.Minute)) {
		t.Errorf("alice's cooldown recorded from %v (%v), want the creation's alone", since, ok)
	}
}
