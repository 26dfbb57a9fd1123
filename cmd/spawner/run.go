package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mineral-contest/spawner/internal/alert"
	"github.com/mineral-contest/spawner/internal/backoff"
	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/docker"
	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/metrics"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/sqs"
)

// limits bound every duration and count an admin sets, in the variables
// and in game templates. The tests' world lowers its floors (its servers
// live seconds); nothing else changes it.
var limits = spawner.DefaultLimits()

// usageError is a mistake in how spawner was called or configured: exit 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

const usage = `usage: spawner [run|check|health|world]
  run     the daemon (default)
  check   report every configuration problem and exit non-zero if any; changes nothing
  health  exit 0 if the running daemon's /healthz answers (needs HTTP_ADDR)
  world   pull|push <world id> <folder>: a world's newest backup into a folder, or a folder as its backup;
          sidecar|ready: the ECS companion of a game with a world, and its health check`

// run is the whole program but for the process: main calls it with the
// real environment, tests with theirs. It returns when ctx ends (the daemon)
// or the subcommand is done. An error that ends the daemon or `health` is
// printed once on stderr, in plain text whatever LOG_FORMAT, with what to
// check; check prints its own report.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "run", "check", "health":
	case "world":
		return worldCommand(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", cmd)}
	}
	if cmd == "health" {
		err := health(ctx, getenv("HTTP_ADDR"))
		if err != nil {
			fmt.Fprintf(stderr, "spawner: %v\n", err)
		}
		return err
	}
	cfg, err := config.LoadWithin(getenv, os.ReadFile, limits)
	if cmd == "check" {
		return check(ctx, cfg, err, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "spawner: configuration:\n%v\n", err)
		return usageError{errors.New("invalid configuration")}
	}
	if err := daemon(ctx, cfg, newLogger(cfg, stderr)); err != nil {
		fmt.Fprintf(stderr, "spawner: %v\n", err)
		return err
	}
	return nil
}

// daemon runs the bot until ctx ends, then stops it within seconds, leaving
// every game server running and recorded.
func daemon(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	m := NewMain(cfg, log)
	if err := m.Run(ctx); err != nil {
		m.alertStartFailed(err)
		m.Close()
		return err
	}
	var err error
	select {
	case <-ctx.Done():
	case <-m.done:
		err = m.runErr
	}
	log.Info("shutting down: game servers keep running and recorded")
	m.Close()
	return err
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// adapters are the outside systems, built from the configuration; nothing is dialled yet.
type adapters struct {
	met    *metrics.Metrics
	tasks  *ecs.Tasks      // nil unless the runtime is ECS
	docker *docker.Runtime // nil unless the runtime is Docker
	table  *dynamo.Table   // nil with the embedded store
	file   *bolt.Store     // the embedded store, once opened; nil with a table
	bot    *discord.Bot
	// progress is told an image pull's progress (lifecycle.Manager.Progress).
	progress func(creationID string, note spawner.PullProgress)
	events   *sqs.Consumer // nil without AWS_SQS_EVENTS_QUEUE_URL
	// worldBucket is WORLD_S3_BUCKET: under ECS, games with a world need it.
	worldBucket string
}

func newAdapters(ctx context.Context, cfg *config.Config, log *slog.Logger, met *metrics.Metrics) (*adapters, error) {
	bot, err := discord.New(discord.Config{
		Token:        cfg.DiscordToken.Value(),
		GuildID:      cfg.GuildID,
		UserRoleIDs:  cfg.UserRoleIDs,
		AdminRoleIDs: cfg.AdminRoleIDs,
		CategoryID:   cfg.CategoryID,
		LogChannelID: cfg.LogChannelID,
		APIURL:       cfg.DiscordAPIURL,
		Dashboard:    dashboardLink(cfg),
	}, log)
	if err != nil {
		return nil, err
	}
	if met != nil {
		bot.Errors = met.DiscordError
	}
	a := &adapters{met: met, bot: bot, worldBucket: cfg.WorldBucket}
	if cfg.Runtime == config.RuntimeDocker {
		if err := a.newDocker(cfg, log); err != nil {
			return nil, err
		}
	}
	if cfg.Runtime != config.RuntimeECS && cfg.EmbeddedStore() {
		return a, nil
	}

	awsCfg, err := loadAWS(ctx, cfg, met)
	if err != nil {
		return nil, err
	}
	if cfg.Runtime == config.RuntimeECS {
		ecsClient := ecs.NewECS(awsCfg, awsEndpoint(cfg, cfg.ECSEndpoint))
		ec2Client := ecs.NewEC2(awsCfg, awsEndpoint(cfg, cfg.EC2Endpoint))
		if met != nil {
			ecsClient.Errors, ec2Client.Errors = met.AWSError, met.AWSError
		}
		a.tasks = ecs.New(ecsClient, ec2Client, ecs.Config{
			Cluster:          cfg.Cluster,
			Subnets:          cfg.Subnets,
			SecurityGroups:   cfg.SecurityGroups,
			AssignPublicIP:   cfg.AssignPublicIP,
			CapacityProvider: cfg.CapacityProvider,
			Deployment:       cfg.Deployment,
		})
		a.events = newEvents(awsCfg, cfg, log, met)
	}
	if !cfg.EmbeddedStore() {
		dynamoClient := dynamo.NewClient(awsCfg, awsEndpoint(cfg, cfg.DynamoDBEndpoint))
		if met != nil {
			dynamoClient.Errors = met.AWSError
		}
		a.table = dynamo.New(dynamoClient, cfg.Table)
	}
	return a, nil
}

// loadAWS is the SDK configuration every AWS client is built from: the
// region, the credentials (from files when given, else the SDK's chain),
// and failed calls counted when met is set. Nothing is dialled.
func loadAWS(ctx context.Context, cfg *config.Config, met *metrics.Metrics) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.AWSRegion)}
	if cfg.HasStaticAWSCredentials() {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			cfg.AWSAccessKeyID.Value(), cfg.AWSSecretAccessKey.Value(), cfg.AWSSessionToken.Value())))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws configuration: %w", err)
	}
	if met != nil {
		met.InstrumentAWS(&awsCfg)
	}
	return awsCfg, nil
}

// awsEndpoint is where a service's client sends its requests: its own
// endpoint when set, else AWS_ENDPOINT_URL, else nil (the SDK's default).
func awsEndpoint(cfg *config.Config, specific string) *string {
	switch {
	case specific != "":
		return aws.String(specific)
	case cfg.AWSEndpoint != "":
		return aws.String(cfg.AWSEndpoint)
	}
	return nil
}

// Main is the daemon, in the manner of wtf's cmd/wtfd Main: Run starts each
// part in turn and returns once the bot serves, or at the first error;
// Close stops, in reverse order, every part Run started, whether Run
// succeeded or not. Build one with NewMain; Run and Close are each called
// once, Close after Run.
type Main struct {
	cfg *config.Config
	log *slog.Logger

	a    *adapters
	mgr  atomic.Pointer[lifecycle.Manager] // set once built; HTTP handlers read it
	http *http.Server
	ln   net.Listener

	pages *pages // the live pages and their feed (web.go); nil without HTTP_ADDR

	worlds worldParts // where worlds' content and backups are kept (worldcontent.go)

	sleepers *asleepWorlds // the listeners of asleep worlds (sleep.go); nil unless Docker

	cancel   context.CancelFunc // ends the lifetime of the manager's workers and the bot
	served   sync.WaitGroup     // the HTTP server's goroutine
	watching sync.WaitGroup     // the Docker events stream's goroutine
	botOpen  bool               // Bot.Open was called: Close must close it
	managing bool               // the manager's loop was started: Close waits for done
	done     chan struct{}      // closed when the manager's loop returned
	runErr   error              // what it returned, once done is closed

	events eventsLoop // the events queue's consumer, when one is set

	monthly monthlyLoop // the monthly report (cost.go)

	alerts *alert.Notifier // nil without ALERT_SNS_TOPIC_ARN or ALERT_WEBHOOK_URL (alerts.go)
}

// NewMain returns a daemon for cfg that logs to log; nothing is started.
func NewMain(cfg *config.Config, log *slog.Logger) *Main {
	return &Main{cfg: cfg, log: log, done: make(chan struct{})}
}

// Run starts the daemon: the HTTP server, the table (created when asked),
// the lifecycle (recovering every server), the gateway, then the
// watchdogs. Transient failures (network, throttling, 5xx) are retried with
// capped backoff; a permanent one (a refused token, an unknown guild,
// access denied) is returned, told with what to check. It returns nil when
// ctx ends before the bot serves. Call Close in every case.
func (m *Main) Run(ctx context.Context) error {
	ctx, m.cancel = context.WithCancel(ctx)
	met := metrics.New(func() []spawner.Server {
		if mgr := m.mgr.Load(); mgr != nil {
			return mgr.Servers(spawner.Actor{Admin: true})
		}
		return nil
	})
	// The alerts first: every failure of the start after this point is told.
	var err error
	if m.alerts, err = newAlerts(ctx, m.cfg, m.log, met); m.alerts != nil {
		m.alerts.Start()
	}
	if err != nil {
		return err
	}
	if err := m.open(ctx, met); err != nil {
		return err
	}
	locale, maxServers, err := m.prepare(ctx)
	if err != nil || ctx.Err() != nil {
		return err
	}
	if err := m.openAsleepWorlds(locale); err != nil {
		return err
	}
	mgr := m.newManager(locale, maxServers, lifecycleClock(ctx))
	if err := retry(ctx, m.log, "recover servers from the "+m.a.storeName()+" and "+runtimeName(m.cfg), mgr.Recover); err != nil || ctx.Err() != nil {
		return err
	}
	m.startCost(ctx, locale)
	return m.start(ctx, mgr)
}

// open builds the adapters, opens the store and serves HTTP: nothing that
// waits on Discord or AWS.
func (m *Main) open(ctx context.Context, met *metrics.Metrics) error {
	a, err := newAdapters(ctx, m.cfg, m.log, met)
	if err != nil {
		return err
	}
	m.a = a
	if err := a.openStore(m.cfg); err != nil {
		return err
	}
	if m.worlds, err = newWorldContent(ctx, m.cfg, a.docker, a.tasks, met, m.log); err != nil {
		return err
	}
	m.pages = newPages(m, met)
	return m.serveHTTP(ctx, met)
}

// prepare reads what the lifecycle needs before it starts, retrying what
// fails for a while: the table (created when asked), the guild's language
// and the cap on servers.
func (m *Main) prepare(ctx context.Context) (locale string, maxServers int, err error) {
	cfg, log, a := m.cfg, m.log, m.a
	if cfg.CreateTable {
		err := retry(ctx, log, "create table", func(ctx context.Context) error {
			return tableStartError(cfg, a.table.EnsureTable(ctx))
		})
		if err != nil || ctx.Err() != nil {
			return "", 0, err
		}
	}
	err = retry(ctx, log, "read the Discord guild", func(ctx context.Context) (err error) {
		locale, err = a.bot.GuildLocale(ctx)
		return discordStartError(cfg, err)
	})
	if err != nil || ctx.Err() != nil {
		return "", 0, err
	}
	maxServers, err = m.maxServers(ctx)
	return locale, maxServers, err
}

// newManager wires the lifecycle to the adapters.
func (m *Main) newManager(locale string, maxServers int, clock lifecycle.Clock) *lifecycle.Manager {
	cfg, a := m.cfg, m.a
	mgr := lifecycle.New(lifecycle.Options{
		Catalog:          cfg.Catalog(),
		MaxServers:       maxServers,
		PollInterval:     cfg.PollInterval,
		TicketCloseDelay: cfg.TicketCloseDelay,
		Locale:           locale,
		CreateCooldown:   cfg.CreateCooldown,
		MaxExtensions:    cfg.MaxExtensions,
		RCON:             rconRunner,
		Limits:           limits,
		Tasks:            a.runtime(),
		Store:            a.store(),
		Cooldowns:        a.store(),
		Games:            a.store(),
		GameChecker:      gameChecker(a),
		Pinger:           newProbe(),
		Chat:             a.bot,
		Clock:            clock,
		Log:              m.log,
		Metrics:          a.met,
		Events:           m.pages.events(),
		Links:            lifecycleLinks(cfg),
		Alerts:           m.lifecycleAlerts(),
		Sessions:         a.sessions(),
		SessionDefaults:  sessionDefaults(cfg),
		Worlds:           a.store(),
		WorldContent:     m.worlds.content,
		Sleepers:         m.sleepers.sleepers(),
		Members:          a.bot,
		SleepMax:         cfg.WorldSleepMax,
		KeepPorts:        a.docker != nil,
	})
	m.mgr.Store(mgr)
	m.keepWorldPorts(mgr)
	a.progress = mgr.Progress
	return mgr
}

// start runs, once the fleet is recovered, what follows the world: the
// Docker events, the events queue, the gateway and the watchdogs. Close
// stops each of them.
func (m *Main) start(ctx context.Context, mgr *lifecycle.Manager) error {
	cfg, a := m.cfg, m.a
	m.watchDocker(ctx, mgr)
	if a.events != nil {
		m.events.start(ctx, a.events, a.tasks, mgr, m.log)
	}
	if m.worlds.content != nil {
		a.bot.ServeWorlds(mgr)
	}
	m.botOpen = true
	if err := a.bot.Open(ctx, mgr); err != nil {
		if ctx.Err() != nil {
			return nil //nolint:nilerr // the shutdown cut the connection short: not a failure, Run ends with nil
		}
		return fmt.Errorf("discord: %w: check DISCORD_TOKEN, and that the bot was invited with the applications.commands scope (README, step 2)", err)
	}
	m.managing = true
	go func() {
		m.runErr = mgr.Run(ctx)
		close(m.done)
	}()
	m.log.Info("spawner started", "guild", cfg.GuildID, "runtime", cfg.Runtime, "cluster", cfg.Cluster, "table", cfg.Table, "data_dir", dataDir(cfg))
	return nil
}

// serveHTTP listens on HTTP_ADDR first, so a bad address stops the start
// and /healthz answers while the bot connects. ctx bounds the listen only
// (a host name in HTTP_ADDR is looked up); Close stops the server.
func (m *Main) serveHTTP(ctx context.Context, met *metrics.Metrics) error {
	if m.cfg.HTTPAddr == "" {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", m.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	m.ln = ln
	m.http = newHTTPServer(m.routes(met), defaultHTTPTimeouts)
	m.served.Go(func() {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("http server", "err", err)
		}
	})
	m.log.Info("http listening", "addr", ln.Addr().String())
	return nil
}

// httpTimeouts are the bot's HTTP server's bounds on a connection.
type httpTimeouts struct {
	readHeader time.Duration // to read a request's headers
	// idle is how long a kept-alive connection may wait for its next
	// request. The feed's WebSockets are the server's no more once
	// upgraded: their pings (feedPingInterval) keep them, and the idle
	// timers of the proxies in front, busy.
	idle time.Duration
}

// The bot's HTTP timeouts, and the feed's pings, well within the idle
// timeouts of the bot and of common reverse proxies (nginx closes a
// proxied connection silent for 60 s), so a live page never looks idle.
var defaultHTTPTimeouts = httpTimeouts{readHeader: 5 * time.Second, idle: 2 * time.Minute}

const feedPingInterval = 30 * time.Second

// newHTTPServer returns the bot's HTTP server for h.
func newHTTPServer(h http.Handler, t httpTimeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.readHeader, IdleTimeout: t.idle}
}

// Close stops what Run started, in reverse order: the watchdogs and every
// creation worker (waited for), the gateway and its handlers, the HTTP
// server. Game servers keep running and recorded.
func (m *Main) Close() {
	if m.cancel != nil {
		m.cancel()
	}
	if m.managing {
		<-m.done
	}
	m.events.stop()
	m.monthly.stop()
	if mgr := m.mgr.Load(); mgr != nil {
		_ = mgr.Close() // every worker, Recover's included, waited for; it never fails
	}
	if m.sleepers != nil {
		m.sleepers.Close() // after the workers: none opens a listener any more
	}
	m.watching.Wait()
	if m.botOpen {
		_ = m.a.bot.Close()
	}
	m.pages.Close() // the feed's connections are hijacked: Shutdown would not end them
	if m.http != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := m.http.Shutdown(sctx); err != nil {
			_ = m.http.Close()
		}
		cancel()
		m.served.Wait()
	}
	if m.a != nil {
		m.a.close() // nothing uses the store or the engine any more
	}
	if m.alerts != nil {
		m.alerts.Close() // last: nothing raises alerts any more
	}
}

// routes serves /healthz (the process is up), /readyz (the gateway is
// connected and the store answers: the table, or the embedded file open
// with its last write through, a check cheap enough to ask at any rate),
// /metrics, and the live pages.
func (m *Main) routes(met *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var problems []string
		if m.mgr.Load() == nil || !m.a.bot.Connected() {
			problems = append(problems, "discord gateway not connected")
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := m.a.store().Check(ctx); err != nil {
			var p *spawner.Problem
			if errors.As(err, &p) {
				err = p.Err
			}
			problems = append(problems, m.a.storeName()+": "+err.Error())
		}
		if len(problems) > 0 {
			http.Error(w, strings.Join(problems, "\n"), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", met.Handler())
	m.pages.mount(mux)
	return mux
}

// retry calls f until it succeeds, fails permanently (see permanent) or
// ctx ends, backing off from 1 s to 30 s, logging the first failure and
// then every tenth. It returns the permanent error, else nil.
func retry(ctx context.Context, log *slog.Logger, what string, f func(context.Context) error) error {
	b := backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	for {
		err := f(ctx)
		if err == nil {
			if b.Failures() > 0 {
				log.Info(what+": recovered", "attempts", b.Failures()+1)
			}
			return nil
		}
		if ctx.Err() != nil {
			return nil //nolint:nilerr // ctx ended: not a permanent error, retry returns nil (see above)
		}
		var p permanentError
		if errors.As(err, &p) {
			return err
		}
		wait := b.Next()
		if attempt := b.Failures(); attempt == 1 || attempt%10 == 0 {
			log.Error(what+"; retrying", "attempt", attempt, "err", err)
		}
		if backoff.Sleep(ctx, wait) != nil {
			return nil //nolint:nilerr // ctx ended during the wait: retry returns nil (see above)
		}
	}
}
