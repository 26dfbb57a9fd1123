package main

// Asleep worlds under Docker: the bot answers on the host port an asleep
// world keeps (internal/mcsleep), so the address in the friends' server
// list never changes, and a login there wakes the world through the
// lifecycle. Under ECS a world's address changes at each start: nothing
// listens, and worlds wake by command or by the Wake button.

import (
	"context"
	"fmt"

	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/mcsleep"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// asleepWorlds is the lifecycle's Sleepers under Docker: one listener per
// asleep world, in one mcsleep.Set that Main owns and closes at shutdown.
// Each listens where the engine publishes game ports (ListenAddress), so
// the listener and a server of the world hold the same thing and each
// binds the port the moment the other let it go.
type asleepWorlds struct {
	set    *mcsleep.Set
	listen func(port int) string // the address to bind for a host port
}

var _ lifecycle.Sleepers = (*asleepWorlds)(nil)

// newAsleepWorlds returns the listeners of asleep worlds on rt's host
// ports, answering players in the guild's language (locale) with the
// default limits. A login's wake goes to waker, the Manager once built.
func newAsleepWorlds(rt *docker.Runtime, locale string, waker mcsleep.Waker) (*asleepWorlds, error) {
	set, err := mcsleep.NewSet(mcsleep.SetConfig{Config: mcsleep.Config{Waker: waker, Lang: text.For(locale)}})
	if err != nil {
		return nil, fmt.Errorf("asleep worlds: %w", err)
	}
	return &asleepWorlds{set: set, listen: rt.ListenAddress}, nil
}

// Sleep answers for w on its kept port, showing the version, protocol and
// maximum of players of its last real status, until Release or Close. Called again for a
// world already answered for on that port, it only updates what the
// status shows. A port another process holds is an error wrapping
// spawner.ErrPortTaken; a world without a port is an error.
func (s *asleepWorlds) Sleep(w spawner.World) error {
	if w.Port <= 0 || w.Port > 65535 {
		return fmt.Errorf("asleep world %s: no port to answer on (%d)", w.ID, w.Port)
	}
	_, err := s.set.Listen(s.listen(w.Port), mcsleep.World{
		ID:         w.ID,
		Version:    w.StatusVersion,
		Protocol:   w.StatusProtocol,
		MaxPlayers: w.StatusMax,
	})
	return err
}

// Release stops answering for world id and frees its port at once,
// reporting whether it was answered for. It waits for a login's call of
// the Waker for that world under way: the lifecycle calls it from the
// wake's worker, never from Wake itself.
func (s *asleepWorlds) Release(id string) bool { return s.set.Close(id) }

// Close stops answering for every world, each port freed and every
// connection's goroutine ended; later Sleeps fail. Idempotent.
func (s *asleepWorlds) Close() { s.set.CloseAll() }

// sleepers is s as the lifecycle's option: nil (no listener) when s is.
func (s *asleepWorlds) sleepers() lifecycle.Sleepers {
	if s == nil {
		return nil
	}
	return s
}

// managerWaker hands a login's wake to the Manager once Main built it;
// before, the wake is refused without a reason (no listener exists then:
// the Manager opens them).
func (m *Main) managerWaker() mcsleep.Waker {
	return mcsleep.WakeFunc(func(ctx context.Context, worldID, player string) (bool, string) {
		mgr := m.mgr.Load()
		if mgr == nil {
			return false, ""
		}
		return mgr.Wake(ctx, worldID, player)
	})
}

// openAsleepWorlds builds, under Docker, the listeners of asleep worlds
// before the Manager, which opens them as it recovers its worlds.
func (m *Main) openAsleepWorlds(locale string) error {
	if m.a.docker == nil {
		return nil
	}
	s, err := newAsleepWorlds(m.a.docker, locale, m.managerWaker())
	if err != nil {
		return err
	}
	m.sleepers = s
	return nil
}

// keepWorldPorts tells the Docker runtime the ports running and asleep
// worlds keep, so that it hands none of them to another server.
func (m *Main) keepWorldPorts(mgr *lifecycle.Manager) {
	if m.a.docker != nil {
		m.a.docker.ReservePorts(mgr.WorldPorts)
	}
}
