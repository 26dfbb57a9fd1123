package main

// Where game servers run (ECS or the host's Docker engine) and where their
// records are kept (DynamoDB or the embedded store), chosen from the
// configuration. Any pairing works: the lifecycle sees only lifecycle.Tasks
// and lifecycle.Store.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/docker/docker/client"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/lifecycle/admission"
	"github.com/mineral-contest/spawner/internal/lifecycle/catalog"
	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// store is what the daemon needs of where servers, game templates and
// creation cooldowns are kept: the DynamoDB table or the embedded file.
// Both adapters have the same methods with the same semantics.
type store interface {
	lifecycle.Store
	admission.Cooldowns
	catalog.Store
	worlds.Store
	// Check reports, changing nothing, whether the store answers as it
	// should; a *spawner.Problem naming the variable to fix.
	Check(ctx context.Context) error
}

var (
	_ store = (*dynamo.Table)(nil)
	_ store = (*bolt.Store)(nil)
)

// newDocker builds the Docker runtime of cfg; it dials nothing. Pull
// progress goes to a.progress once the lifecycle sets it. Ports are
// published on DOCKER_PUBLIC_HOST itself when it is a loopback address
// (players can only come from this machine then), else on every address.
func (a *adapters) newDocker(cfg *config.Config, log *slog.Logger) error {
	hostIP := ""
	if ip := net.ParseIP(cfg.DockerPublicHost); ip != nil && ip.IsLoopback() {
		hostIP = ip.String()
	}
	// The client reads DOCKER_HOST itself; it is given again from the
	// configuration, so a daemon run with another environment (the tests)
	// reaches the engine it was configured with.
	var opts []client.Opt
	if cfg.DockerHost != "" {
		opts = append(opts, client.WithHost(cfg.DockerHost))
	}
	rt, err := docker.New(docker.Config{
		Deployment:    cfg.Deployment,
		PublicHost:    cfg.DockerPublicHost,
		HostIP:        hostIP,
		PrivateHostIP: privateHostIP(cfg.DockerHost),
		PortLo:        cfg.DockerPorts.First,
		PortHi:        cfg.DockerPorts.Last,
		OnPull: func(creationID string, progress spawner.PullProgress) {
			if p := a.progress; p != nil {
				p(creationID, progress)
			}
		},
		Log: log,
	}, opts...)
	if err != nil {
		return fmt.Errorf("DOCKER_HOST: %w", err)
	}
	a.docker = rt
	return nil
}

// privateHostIP is where the Docker runtime publishes the ports only the
// bot may reach (RCON), given DOCKER_HOST: 127.0.0.1 when the bot shares
// the engine's host network, which it does when the engine is on a local
// socket, or on a TCP port of this machine's loopback (docker-compose.yaml:
// the bot on the host's network, the socket proxy published on
// 127.0.0.1); else "", the engine's default bridge gateway, which a bot in
// a container on that host reaches (a proxy by its name on a compose
// network) and the Internet does not. A name is not resolved: a bot that
// reaches the engine as tcp://localhost gets the bridge gateway, which it
// reaches too. See internal/docker/private.go.
func privateHostIP(dockerHost string) string {
	if dockerHost == "" || strings.HasPrefix(dockerHost, "unix://") || strings.HasPrefix(dockerHost, "npipe://") {
		return "127.0.0.1"
	}
	if rest, ok := strings.CutPrefix(dockerHost, "tcp://"); ok {
		host, _, err := net.SplitHostPort(strings.TrimSuffix(rest, "/"))
		if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
			return "127.0.0.1"
		}
	}
	return ""
}

var _ lifecycle.PrivateAddresser = (*docker.Runtime)(nil)

// openStore opens the embedded store in SPAWNER_DATA_DIR when there is no
// table; a folder another spawner holds is refused with what to do.
func (a *adapters) openStore(cfg *config.Config) error {
	if !cfg.EmbeddedStore() {
		return nil
	}
	f, err := bolt.Open(cfg.DataDir)
	if errors.Is(err, bolt.ErrInUse) {
		return fmt.Errorf("%w: stop the other spawner first, or give this one its own SPAWNER_DATA_DIR", err)
	}
	if err != nil {
		return err
	}
	a.file = f
	return nil
}

// close releases what the adapters hold open: the Docker client's
// connections and the embedded store's file and lock.
func (a *adapters) close() {
	if a.docker != nil {
		_ = a.docker.Close()
	}
	if a.file != nil {
		_ = a.file.Close()
	}
}

// maxServers is the server cap: GAMESERVER_MAX_SERVERS when set; under
// Docker otherwise, what the host's memory holds at the default game's
// memory limit, never above the category's 50 channels.
func (m *Main) maxServers(ctx context.Context) (int, error) {
	cfg := m.cfg
	if cfg.MaxServersSet || m.a.docker == nil {
		return cfg.MaxServers, nil
	}
	var n int
	err := retry(ctx, m.log, "reach the Docker engine", func(ctx context.Context) (err error) {
		n, err = m.a.docker.MaxServers(ctx, cfg.Catalog()[0].Memory)
		return err
	})
	if err != nil || ctx.Err() != nil {
		return 0, err
	}
	limit := min(n, config.MaxCategoryChannels)
	m.log.Info("server cap from the host's memory (set GAMESERVER_MAX_SERVERS to change it)", "max_servers", limit, "fits_in_memory", n)
	return limit, nil
}

// watchDocker follows the engine's events, so a container that dies is
// acted on at once; it stops when ctx ends, and Close waits for it.
func (m *Main) watchDocker(ctx context.Context, mgr *lifecycle.Manager) {
	if m.a.docker == nil {
		return
	}
	m.watching.Go(func() { _ = m.a.docker.Watch(ctx, mgr.TaskChanged) })
}

// runtime is where servers run: the Docker engine, else ECS.
func (a *adapters) runtime() lifecycle.Tasks {
	if a.docker != nil {
		return a.docker
	}
	return a.tasks
}

// store is where servers are kept: the embedded store once opened, else
// the table.
func (a *adapters) store() store {
	if a.file != nil {
		return a.file
	}
	return a.table
}

// storeName names the store in /readyz and the logs.
func (a *adapters) storeName() string {
	if a.file != nil {
		return "data folder"
	}
	return "table"
}

// dataDir is SPAWNER_DATA_DIR when the embedded store is used, else "".
func dataDir(cfg *config.Config) string {
	if cfg.EmbeddedStore() {
		return cfg.DataDir
	}
	return ""
}

// checkDataDir is `spawner check`'s look at the embedded store: it opens
// the file (creating the folder if needed), which checks all its pages and
// refuses a damaged file, changing nothing in it. A store a running
// spawner holds is reported as such, not as a problem: that daemon is the
// one using it. When the store is readable, what is stored in it is
// returned, so the games' images, the asleep worlds' ports and the records
// the daemon would skip (recordWarnings) can be checked too; stored is nil
// when it was not read.
func checkDataDir(ctx context.Context, cfg *config.Config) (ok string, stored *spawner.Snapshot, problem error) {
	f, err := bolt.Open(cfg.DataDir)
	var p *spawner.Problem
	switch {
	case errors.Is(err, bolt.ErrInUse):
		return fmt.Sprintf("data folder %s (in use by a running spawner: not checked further)", cfg.DataDir), nil, nil
	case errors.As(err, &p):
		return "", nil, err // names SPAWNER_DATA_DIR already
	case err != nil:
		return "", nil, fmt.Errorf("SPAWNER_DATA_DIR: %w", err)
	}
	snap, err := readDataDir(ctx, f)
	// Closing releases the file's lock: a close that fails is told too.
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("SPAWNER_DATA_DIR: %w", cerr)
	}
	if err != nil {
		return "", nil, err
	}
	return "data folder " + f.Path(), &snap, nil
}

// readDataDir checks every page of the open store f and reads what it
// stores.
func readDataDir(ctx context.Context, f *bolt.Store) (spawner.Snapshot, error) {
	if err := f.Check(ctx); err != nil {
		return spawner.Snapshot{}, err
	}
	snap, err := f.LoadAll(ctx)
	if err != nil {
		return spawner.Snapshot{}, fmt.Errorf("SPAWNER_DATA_DIR: read the records of %s: %w", f.Path(), err)
	}
	return snap, nil
}

// dockerImages names the image of each game to check under Docker: the
// default game's (GAMESERVER_IMAGE) and each stored template's that names
// one. A template that does not parse is the games' check's business.
// stored is nil when the store was not read.
func dockerImages(cfg *config.Config, stored *spawner.Snapshot) map[string]string {
	def := cfg.Catalog()[0]
	images := map[string]string{"GAMESERVER_IMAGE": def.Image}
	if stored == nil {
		return images
	}
	for name, doc := range stored.Games {
		if g, err := spawner.ParseTemplateWithin(doc, def, limits); err == nil && g.Image != "" {
			images["game template "+name] = g.Image
		}
	}
	return images
}

// runtimeName names where servers run, for the logs.
func runtimeName(cfg *config.Config) string {
	if cfg.Runtime == config.RuntimeDocker {
		return "Docker"
	}
	return "ECS"
}
