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
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/mcping"
	"github.com/mineral-contest/spawner/internal/metrics"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// usageError is a mistake in how spawner was called or configured: exit 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

const usage = `usage: spawner [run|check|health]
  run     the daemon (default)
  check   report every configuration problem and exit non-zero if any; changes nothing
  health  exit 0 if the running daemon's /healthz answers (needs HTTP_ADDR)`

// run is the whole program but for the process: main calls it with the
// real environment, tests with theirs. It returns when ctx ends (the daemon)
// or the subcommand is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "run", "check", "health":
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", cmd)}
	}
	if cmd == "health" {
		return health(ctx, getenv("HTTP_ADDR"))
	}
	cfg, err := config.Load(getenv, os.ReadFile)
	if cmd == "check" {
		return check(ctx, cfg, err, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "spawner: configuration:\n%v\n", err)
		return usageError{errors.New("invalid configuration")}
	}
	log := newLogger(cfg, stderr)
	d, err := newDaemon(ctx, cfg, log)
	if err != nil {
		log.Error("start", "err", err)
		return err
	}
	return d.run(ctx)
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
	tasks  *ecs.Tasks
	table  *dynamo.Table
	bot    *discord.Bot
	pinger mcping.Pinger
}

func newAdapters(ctx context.Context, cfg *config.Config, log *slog.Logger, met *metrics.Metrics) (*adapters, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.AWSRegion)}
	if cfg.AWSAccessKeyID.Value() != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			cfg.AWSAccessKeyID.Value(), cfg.AWSSecretAccessKey.Value(), cfg.AWSSessionToken.Value())))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	if met != nil {
		met.InstrumentAWS(&awsCfg)
	}
	endpoint := func(specific string) *string {
		switch {
		case specific != "":
			return aws.String(specific)
		case cfg.AWSEndpoint != "":
			return aws.String(cfg.AWSEndpoint)
		}
		return nil
	}
	ecsClient := awsecs.NewFromConfig(awsCfg, func(o *awsecs.Options) { o.BaseEndpoint = endpoint(cfg.ECSEndpoint) })
	ec2Client := ec2.NewFromConfig(awsCfg, func(o *ec2.Options) { o.BaseEndpoint = endpoint(cfg.EC2Endpoint) })
	dynamoClient := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint(cfg.DynamoDBEndpoint) })

	bot, err := discord.New(discord.Config{
		Token:        cfg.DiscordToken.Value(),
		GuildID:      cfg.GuildID,
		UserRoleIDs:  cfg.UserRoleIDs,
		AdminRoleIDs: cfg.AdminRoleIDs,
		CategoryID:   cfg.CategoryID,
		LogChannelID: cfg.LogChannelID,
		APIURL:       cfg.DiscordAPIURL,
	}, log)
	if err != nil {
		return nil, err
	}
	if met != nil {
		bot.Errors = met.DiscordError
	}
	return &adapters{
		met: met,
		tasks: ecs.New(ecsClient, ec2Client, ecs.Config{
			Cluster:          cfg.Cluster,
			Subnets:          cfg.Subnets,
			SecurityGroups:   cfg.SecurityGroups,
			AssignPublicIP:   cfg.AssignPublicIP,
			CapacityProvider: cfg.CapacityProvider,
		}),
		table:  dynamo.New(dynamoClient, cfg.Table),
		bot:    bot,
		pinger: mcping.Pinger{Timeout: 5 * time.Second},
	}, nil
}

// daemon is the running bot.
type daemon struct {
	cfg  *config.Config
	log  *slog.Logger
	a    *adapters
	mgr  atomic.Pointer[lifecycle.Manager] // set once the table is read; HTTP handlers read it
	http *http.Server
	ln   net.Listener
}

func newDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger) (*daemon, error) {
	d := &daemon{cfg: cfg, log: log}
	met := metrics.New(func() []spawner.Server {
		if mgr := d.mgr.Load(); mgr != nil {
			return mgr.Servers(spawner.Actor{Admin: true})
		}
		return nil
	})
	a, err := newAdapters(ctx, cfg, log, met)
	if err != nil {
		return nil, err
	}
	d.a = a
	if cfg.HTTPAddr != "" {
		// Listen before anything else, so a bad address stops the start
		// and /healthz answers while the bot connects.
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("HTTP_ADDR: %w", err)
		}
		d.ln = ln
		d.http = &http.Server{Handler: d.routes(met), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := d.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "err", err)
			}
		}()
		log.Info("http listening", "addr", ln.Addr().String())
	}
	return d, nil
}

// run starts the bot and blocks until ctx ends, then shuts down within
// seconds, leaving every game server running and recorded.
func (d *daemon) run(ctx context.Context) error {
	cfg, log, a := d.cfg, d.log, d.a
	if cfg.CreateTable {
		if err := a.table.EnsureTable(ctx); err != nil {
			return fmt.Errorf("create table: %w", err)
		}
	}
	locale, err := a.bot.GuildLocale(ctx)
	if err != nil {
		return fmt.Errorf("discord guild %s: %w", cfg.GuildID, err)
	}
	mgr := lifecycle.New(lifecycle.Options{
		Catalog:          cfg.Catalog(),
		MaxServers:       cfg.MaxServers,
		PollInterval:     cfg.PollInterval,
		TicketCloseDelay: cfg.TicketCloseDelay,
		Locale:           locale,
		// Off until the configuration carries a cooldown variable; give it
		// lifecycle.DefaultCreateCooldown by default when it does.
		CreateCooldown: -1,
		Tasks:          a.tasks,
		Store:          a.table,
		Pinger:         a.pinger,
		Chat:           a.bot,
		Clock:          lifecycle.RealClock{},
		Log:            log,
		Metrics:        a.met,
	})
	defer mgr.Close()

	d.mgr.Store(mgr)
	if err := retry(ctx, log, "recover servers from the table and ECS", mgr.Recover); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := a.bot.Open(ctx, mgr); err != nil {
		return err
	}
	log.Info("spawner started", "guild", cfg.GuildID, "cluster", cfg.Cluster, "table", cfg.Table)
	err = mgr.Run(ctx)
	log.Info("shutting down: game servers keep running and recorded")
	_ = mgr.Close()
	_ = a.bot.Close()
	if d.http != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = d.http.Shutdown(sctx)
		cancel()
	}
	return err
}

// routes serves /healthz (the process is up), /readyz (the gateway is
// connected and the table answers) and /metrics.
func (d *daemon) routes(met *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var problems []string
		if d.mgr.Load() == nil || !d.a.bot.Connected() {
			problems = append(problems, "discord gateway not connected")
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := d.a.table.Check(ctx); err != nil {
			problems = append(problems, "table: "+err.Error())
		}
		if len(problems) > 0 {
			http.Error(w, strings.Join(problems, "\n"), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", met.Handler())
	return mux
}

// Addr is the HTTP listener's address, when HTTP_ADDR is set.
func (d *daemon) Addr() string {
	if d.ln == nil {
		return ""
	}
	return d.ln.Addr().String()
}

// retry calls f until it succeeds or ctx ends, backing off from 1 s to 30 s,
// logging the first failure and then every tenth.
func retry(ctx context.Context, log *slog.Logger, what string, f func(context.Context) error) error {
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			if attempt > 1 {
				log.Info(what+": recovered", "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if attempt == 1 || attempt%10 == 0 {
			log.Error(what+"; retrying", "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// health asks a running daemon's /healthz.
func health(ctx context.Context, addr string) error {
	if addr == "" {
		return usageError{errors.New("health: HTTP_ADDR is not set")}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError{fmt.Errorf("health: HTTP_ADDR: %w", err)}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s", resp.Status)
	}
	return nil
}
