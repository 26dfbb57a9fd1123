package lifecycle

import (
	"context"
	"errors"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Stop stops the server whose task id is taskID on behalf of by: its owner
// or an admin. It returns once the task is stopped and the record removed
// (the channel goes after the close delay), or a *spawner.Refusal, or the
// error that kept it from stopping (a retry is then scheduled).
func (m *Manager) Stop(ctx context.Context, by spawner.Actor, taskID string) (spawner.Server, error) {
	e, srv, creating, err := m.fleet.askStop(by, taskID)
	if err != nil {
		return spawner.Server{}, err
	}
	if !creating {
		err := m.finish(ctx, e.id, ending{cause: spawner.CauseCommand, by: by.UserID})
		return srv, err
	}
	// The creation worker owns the server until it is ready; it ends it at
	// its next step, never longer than one poll away.
	m.wakeWorker(e)
	m.log.Info("stop asked during creation", "creation", e.id, "task", srv.TaskID, "by", by.UserID)
	// Its end may fail (the runtime or the table down): the member is then told,
	// as for a watched server, while the sweep retries it.
	select {
	case <-e.gone:
		return srv, nil
	case <-e.failed:
		return srv, errEndRetried
	case <-ctx.Done():
		return srv, ctx.Err()
	}
}

// errEndRetried is Stop's answer when the end of a server stopped during
// its creation failed: the sweep retries it.
var errEndRetried = errors.New("stop server: failed; the sweep retries it")
