package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// fakeAlerts records the alerts the Manager raises.
type fakeAlerts struct {
	mu     sync.Mutex
	alerts []spawner.Alert
}

var _ Alerts = (*fakeAlerts)(nil)

func (f *fakeAlerts) Alert(a spawner.Alert) {
	f.mu.Lock()
	f.alerts = append(f.alerts, a)
	f.mu.Unlock()
}

func (f *fakeAlerts) all() []spawner.Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]spawner.Alert(nil), f.alerts...)
}

// withAlerts gives the Manager alerts to raise.
func withAlerts(f *fakeAlerts) option {
	return withConfig(func(c *Options) { c.Alerts = f })
}

// failRuns makes the runtime refuse the next n tasks with err.
func (w *world) failRuns(n int, err error) {
	fail := failing(n)
	w.tasks.RunTaskFn = func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
		if fail() {
			return spawner.Task{}, err
		}
		return w.cluster.RunTask(ctx, spec)
	}
}

// onlyAlert returns the one alert raised, failing the test when there is
// not exactly one.
func onlyAlert(tb testing.TB, w *world, f *fakeAlerts) spawner.Alert {
	tb.Helper()
	got := f.all()
	if len(got) != 1 {
		tb.Fatalf("alerts raised = %+v, want exactly one\n%s", got, w)
	}
	return got[0]
}

// expectAlertOf checks that a is about srv, with its facts and none of its
// secrets.
func expectAlertOf(tb testing.TB, a spawner.Alert, srv spawner.Server, kind spawner.AlertKind, severity spawner.Severity, title, why string) {
	tb.Helper()
	if a.Kind != kind || a.Severity != severity || a.Title != title {
		tb.Errorf("alert %q %q %q, want %q %q %q", a.Kind, a.Severity, a.Title, kind, severity, title)
	}
	if !strings.Contains(a.Text, why) {
		tb.Errorf("alert text %q does not say %q", a.Text, why)
	}
	if a.Server != srv.CreationID || a.Member != srv.Owner || a.Game != "minecraft" {
		tb.Errorf("alert about server %q of %q, game %q; want %q of %q, minecraft", a.Server, a.Member, a.Game, srv.CreationID, srv.Owner)
	}
	if a.Time.Before(t0) {
		tb.Errorf("alert time %v, want the fake clock's", a.Time)
	}
	if a.Key == "" || strings.Contains(a.Key, srv.CreationID) || (srv.TaskID != "" && strings.Contains(a.Key, srv.ShortTaskID())) {
		tb.Errorf("alert key %q: want the failure, without the server's ids", a.Key)
	}
	all := fmt.Sprintf("%+v", a)
	for _, secret := range []string{srv.Token, srv.RCONPassword} {
		if secret != "" && strings.Contains(all, secret) {
			tb.Errorf("the alert carries a secret of the server: %s", all)
		}
	}
}

// TestAlertCreationFailed: every creation that fails raises one alert,
// beside its log line, saying why; two creations failing the same way
// raise alerts of one key, so they can be told once.
func TestAlertCreationFailed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []option
		setup func(w *world)
		drive func(w *world)
		why   string
		cause spawner.StopCause
	}{{
		name: "ticket channel",
		setup: func(w *world) {
			fail := failing(2)
			w.chat.CreateTicketFn = func(ctx context.Context, tk spawner.Ticket) (string, error) {
				if fail() {
					return "", errBoom
				}
				return w.guild.CreateTicket(ctx, tk)
			}
		},
		why: "the ticket channel could not be created: service unavailable",
	}, {
		name: "run task",
		setup: func(w *world) {
			w.failRuns(2, &spawner.RunFailure{Reason: "RESOURCE:FARGATE", Detail: "capacity is unavailable"})
		},
		why: "it could not be started (RESOURCE:FARGATE)",
	}, {
		name:  "no ping answer",
		opts:  []option{withGame(func(g *spawner.Game) { g.ReadyTimeout = time.Minute })},
		setup: func(w *world) { w.cluster.startIn(spawner.TaskRunning) },
		drive: func(w *world) { w.pollUntilWorkersDone(20) },
		why:   "the game did not answer within 1 min of starting",
		cause: spawner.CauseNotReady,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAlerts{}
			w := newWorld(t, append([]option{withAlerts(f)}, tc.opts...)...)
			w.recover()
			tc.setup(w)
			cause := tc.cause
			if cause == "" {
				cause = spawner.CauseFailed
			}
			var keys []string
			for i, owner := range []string{alice, bob} {
				w.create(owner, "")
				if tc.drive != nil {
					tc.drive(w)
				} else {
					w.waitWorkers()
				}
				got := f.all()
				if len(got) != i+1 {
					t.Fatalf("after %d failed creations, alerts = %+v\n%s", i+1, got, w)
				}
				a := got[i]
				if _, ok := w.serverOf(owner); ok {
					t.Fatalf("the server of %s is still tracked\n%s", owner, w)
				}
				srv := spawner.Server{CreationID: a.Server, Owner: owner, Game: "minecraft"}
				for _, p := range w.table.puts.all() {
					if p.CreationID == a.Server {
						srv = p
					}
				}
				expectAlertOf(t, a, srv, spawner.AlertCreationFailed, spawner.SeverityError, "Creation failed", tc.why)
				if a.Fields["cause"] != string(cause) {
					t.Errorf("alert cause = %q, want %q", a.Fields["cause"], cause)
				}
				if n := w.logged(srv, "log-end"); n != 1 {
					t.Errorf("the log channel was told of the end %d times, want once as well\n%s", n, w)
				}
				keys = append(keys, a.Key)
			}
			if keys[0] != keys[1] {
				t.Errorf("two creations failing the same way have keys %q and %q: they could not be told once", keys[0], keys[1])
			}
		})
	}
}

// TestAlertCreationFailedFrench: the alert speaks the log channel's
// language; its key does not change with it.
func TestAlertCreationFailedFrench(t *testing.T) {
	keyOf := func(locale string) spawner.Alert {
		f := &fakeAlerts{}
		w := newWorld(t, withAlerts(f), withConfig(func(c *Options) { c.Locale = locale }))
		w.recover()
		w.failRuns(1, &spawner.RunFailure{Reason: "RESOURCE:FARGATE"})
		w.create(alice, "")
		w.waitWorkers()
		return onlyAlert(t, w, f)
	}
	en, fr := keyOf("en-US"), keyOf("fr")
	if fr.Title != "Échec d'une création" || !strings.Contains(fr.Text, "il n'a pas pu être lancé (RESOURCE:FARGATE)") {
		t.Errorf("French alert = %q: %q", fr.Title, fr.Text)
	}
	if en.Key != fr.Key {
		t.Errorf("keys %q (en) and %q (fr) differ", en.Key, fr.Key)
	}
}

// TestAlertServerFailed: a ready server whose task stopped on its own
// raises one alert, with the exit code; a reclaimed one only a warning.
func TestAlertServerFailed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		end      func(w *world, id string)
		severity spawner.Severity
		why      string
	}{{
		name:     "crash",
		end:      func(w *world, id string) { w.cluster.endOnOwn(id, "OutOfMemoryError: Container killed", 137) },
		severity: spawner.SeverityError,
		why:      "the server stopped on its own (OutOfMemoryError: Container killed, exit code 137)",
	}, {
		name: "reclaimed",
		end: func(w *world, id string) {
			w.cluster.set(id, func(t *spawner.Task) {
				t.Status, t.Reclaimed, t.StoppedReason = spawner.TaskStopped, true, "Your Spot Task was interrupted."
			})
		},
		severity: spawner.SeverityWarning,
		why:      "Your Spot Task was interrupted.",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAlerts{}
			w := newWorld(t, withAlerts(f))
			w.recover()
			srv := w.readyServer(alice)
			if got := f.all(); len(got) != 0 {
				t.Fatalf("a server that became ready raised alerts: %+v", got)
			}
			tc.end(w, srv.TaskID)
			w.pass(true)
			a := onlyAlert(t, w, f)
			expectAlertOf(t, a, srv, spawner.AlertServerFailed, tc.severity, "Server gone", tc.why)
			if a.Fields["task"] != srv.ShortTaskID() || a.Fields["cause"] != string(spawner.CauseTaskEnded) {
				t.Errorf("alert fields = %v, want task %s and cause task_ended", a.Fields, srv.ShortTaskID())
			}
		})
	}
}

// TestAlertStopFailed: a stop the runtime refuses raises one alert,
// however often it is retried; the server then ending as asked raises none.
func TestAlertStopFailed(t *testing.T) {
	f := &fakeAlerts{}
	w := newWorld(t, withAlerts(f))
	w.recover()
	srv := w.readyServer(alice)
	fail := failing(2)
	w.tasks.StopTaskFn = func(ctx context.Context, id, reason string) error {
		if fail() {
			return errBoom
		}
		return w.cluster.StopTask(ctx, id, reason)
	}
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); !errors.Is(err, errBoom) {
		t.Fatalf("Stop = %v, want the failure", err)
	}
	a := onlyAlert(t, w, f)
	expectAlertOf(t, a, srv, spawner.AlertStopFailed, spawner.SeverityError, "Server not stopped yet", errBoom.Error())
	w.advanceAndPass(w.game().CheckInterval, true) // fails again
	w.advanceAndPass(w.game().CheckInterval, true) // goes through
	if _, ok := w.serverOf(alice); ok {
		t.Fatalf("the server was not stopped by the sweeps\n%s", w)
	}
	onlyAlert(t, w, f)
}

// TestAlertNoneForOrdinaryEnds: a server stopped by its owner or by a
// watchdog is no failure: no alert.
func TestAlertNoneForOrdinaryEnds(t *testing.T) {
	f := &fakeAlerts{}
	w := newWorld(t, withAlerts(f))
	w.recover()
	srv := w.readyServer(alice)
	if _, err := w.m.Stop(w.ctx, spawner.Actor{UserID: alice}, srv.ShortTaskID()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	w.readyServer(bob)
	w.advanceAndPass(w.game().MaxDuration, true)
	if _, ok := w.serverOf(bob); ok {
		t.Fatalf("the runtime watchdog did not stop bob's server\n%s", w)
	}
	if got := f.all(); len(got) != 0 {
		t.Errorf("ordinary ends raised alerts: %+v", got)
	}
}
