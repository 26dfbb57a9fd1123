package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/alert"
	"github.com/mineral-contest/spawner/internal/backup"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// check reports every problem it finds with the configuration, Discord and
// AWS in one report, and returns an error when there is any. It changes
// nothing: only reads. "ok" is said only of what was checked and found
// right. What the daemon copes with but someone should look at, a stored
// record it would skip, is a warning, which does not fail check.
func check(ctx context.Context, cfg *config.Config, loadErr error, out io.Writer) error {
	r := checkResult{cfg: cfg}
	if loadErr != nil || cfg == nil {
		// Load returns no configuration with its problems: nothing else
		// can be checked, and nothing is ok.
		var errs config.Errors
		if errors.As(loadErr, &errs) {
			for _, e := range errs {
				r.problems = append(r.problems, e.Error())
			}
		} else if loadErr != nil {
			r.problems = append(r.problems, loadErr.Error())
		}
		return r.report(out)
	}
	r.ok = append(r.ok, "configuration", costCheck(cfg))
	if slices.Contains(cfg.UserRoleIDs, cfg.GuildID) {
		r.ok = append(r.ok, "DISCORD_USER_ROLE_ID is the guild's id, the @everyone role: every member may ask for servers")
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newAdapters(ctx, cfg, quiet, nil)
	if err != nil {
		r.problems = append(r.problems, err.Error())
		return r.report(out)
	}
	defer a.close()
	alerts, err := newAlerts(ctx, cfg, quiet, nil)
	if err != nil {
		r.problems = append(r.problems, err.Error())
	}
	r.add(a, askAll(ctx, cfg, a, alerts))
	return r.report(out)
}

// findings are what each system said to check.
type findings struct {
	discord, ecs, docker []error
	table, file, queue   error
	fileOK               string
	topic                error
	topicAsked           bool // the alerts' topic was read (an AWS configuration was found)
	bucket               error
	// records are the records of the table or the embedded store that the
	// daemon would skip (recordWarnings).
	records []string
	asleep  *asleepPortsCheck // nil when the asleep worlds' ports were not checked
}

// askAll asks every configured system at once, so systems that do not
// answer cost the SDK's retries once, not once each.
func askAll(ctx context.Context, cfg *config.Config, a *adapters, alerts *alert.Notifier) findings {
	var f findings
	var stored *spawner.Snapshot // nil unless the data folder was read
	if cfg.EmbeddedStore() {
		f.fileOK, stored, f.file = checkDataDir(ctx, cfg)
		if stored != nil {
			f.records = recordWarnings("SPAWNER_DATA_DIR", *stored)
		}
	}
	var wg sync.WaitGroup
	if a.docker != nil {
		wg.Go(func() { f.docker = a.docker.Check(ctx, dockerImages(cfg, stored)) })
		if a.table == nil { // else once the table is read, below
			wg.Go(func() { f.asleep = checkAsleepWorlds(ctx, a, stored) })
		}
	}
	wg.Go(func() { f.discord = a.bot.Check(ctx) })
	if a.tasks != nil {
		wg.Go(func() { f.ecs = a.tasks.Check(ctx, cfg.TaskDefinition, cfg.Container) })
	}
	if a.table != nil {
		wg.Go(func() {
			if f.table = a.table.Check(ctx); f.table != nil {
				return
			}
			var stored *spawner.Snapshot
			stored, f.records, f.table = checkTableRecords(ctx, a.table)
			if a.docker != nil {
				f.asleep = checkAsleepWorlds(ctx, a, stored)
			}
		})
	}
	if a.events != nil {
		wg.Go(func() { f.queue = a.events.Check(ctx) })
	}
	if cfg.WorldBucket != "" {
		wg.Go(func() { f.bucket = checkWorldBucket(ctx, cfg) })
	}
	if alerts != nil && slices.Contains(alerts.Sinks(), alert.SinkSNS) {
		f.topicAsked = true
		wg.Go(func() { f.topic = alerts.Check(ctx) })
	}
	wg.Wait()
	return f
}

// add records f, one section per system, naming the variable to fix.
func (r *checkResult) add(a *adapters, f findings) {
	cfg := r.cfg
	r.section("discord", f.discord, "", "")
	if a.tasks != nil {
		r.section("ecs", f.ecs, "AWS_ENDPOINT_URL_ECS", cfg.ECSEndpoint)
	}
	if a.docker != nil {
		r.section("docker engine "+a.docker.Host()+", images, DOCKER_PORT_RANGE "+cfg.DockerPorts.String(), f.docker, "", "")
	}
	switch {
	case f.file != nil:
		r.problems = append(r.problems, f.file.Error())
	case f.fileOK != "":
		r.ok = append(r.ok, f.fileOK)
	}
	switch {
	case a.table == nil:
	case errors.Is(f.table, spawner.ErrNotFound) && cfg.CreateTable:
		r.ok = append(r.ok, "dynamodb (the table will be created at start: DYNAMODB_CREATE_TABLE=true)")
	case errors.Is(f.table, spawner.ErrNotFound):
		r.section("dynamodb", []error{fmt.Errorf("%w (create it, or set DYNAMODB_CREATE_TABLE=true)", f.table)}, "", "")
	case f.table == nil:
		r.ok = append(r.ok, "dynamodb")
	default:
		r.section("dynamodb", []error{f.table}, "AWS_ENDPOINT_URL_DYNAMODB", cfg.DynamoDBEndpoint)
	}
	r.warnings = append(r.warnings, f.records...)
	if a.events != nil {
		r.section("sqs events queue", errsOf(f.queue), "", "")
	}
	if f.topicAsked {
		r.section("alerts: sns topic "+cfg.AlertTopicARN+" (read, nothing published)", errsOf(f.topic), "AWS_ENDPOINT_URL_SNS", cfg.SNSEndpoint)
	}
	if !cfg.AlertWebhookURL.IsZero() {
		r.ok = append(r.ok, "alerts: webhook "+webhookHost(cfg)+" (an https URL; nothing posted to it)")
	}
	if f.asleep != nil {
		r.addAsleep(*f.asleep)
	}
	if cfg.WorldBucket != "" {
		r.section("worlds: s3 bucket "+cfg.WorldBucket+" (one key listed under "+backup.S3Prefix+", nothing written)", errsOf(f.bucket), "AWS_ENDPOINT_URL_S3", cfg.S3Endpoint)
	}
}

// checkWorldBucket lists one key under worlds/ of WORLD_S3_BUCKET: the
// roles may list the bucket under that prefix only, so HeadBucket would be
// refused to them. The problem names WORLD_S3_BUCKET.
func checkWorldBucket(ctx context.Context, cfg *config.Config) error {
	store, err := worldBucket(ctx, cfg, nil)
	if err == nil {
		err = store.Check(ctx)
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "AccessDenied" {
		err = fmt.Errorf("%w (the bot's role needs s3:ListBucket on it with the prefix %s)", err, backup.S3Prefix)
	}
	if err != nil {
		return &spawner.Problem{Var: "WORLD_S3_BUCKET", Err: err}
	}
	return nil
}

// checkTableRecords reads every record of the table, as the daemon does
// at start (one Scan), and returns them with those it would skip
// (recordWarnings). A scan that fails is a problem: the daemon could not
// start either.
func checkTableRecords(ctx context.Context, table *dynamo.Table) (*spawner.Snapshot, []string, error) {
	stored, err := table.LoadAll(ctx)
	if err != nil {
		return nil, nil, &spawner.Problem{Var: "AWS_DYNAMODB_TABLE_NAME", Err: fmt.Errorf("read the records of table %s: %w", table.Name(), err)}
	}
	return &stored, recordWarnings("AWS_DYNAMODB_TABLE_NAME", stored), nil
}

// recordWarnings tells each record of stored that cannot be read (a
// server, a cooldown, a world or a game template), led by variable, the
// store's: which record, and what is wrong with it. They are warnings,
// not problems: the daemon starts, leaves such a record in the store and
// skips it (its log channel says so at each start); only its content is
// lost to the bot until someone repairs or deletes it.
func recordWarnings(variable string, stored spawner.Snapshot) []string {
	var out []string
	for _, err := range slices.Concat(stored.Problems, stored.GameProblems) {
		what := err.Error()
		var rec *spawner.RecordError
		if errors.As(err, &rec) && rec.Key != "" {
			what = spawner.DescribeKey(rec.Key) + ": " + rec.Err.Error()
		}
		out = append(out, variable+": "+what+" (the daemon skips this record: repair or delete it)")
	}
	slices.Sort(out)
	return out
}

// errsOf is err as a section's findings: none when nil.
func errsOf(err error) []error {
	if err == nil {
		return nil
	}
	return []error{err}
}

// checkResult is what check found: what is ok, and every problem.
type checkResult struct {
	cfg      *config.Config
	ok       []string
	warnings []string // what the daemon copes with, but someone should look at
	problems []string
}

// section records one system's findings: ok when there are none, else one
// problem per finding, led by the variable to fix. A finding AWS did not
// answer (a typed signal of the SDK, not a message) names what decides how
// the service is reached instead: endpointVar when endpoint is set, else
// the shared endpoint, else the region and the credentials.
func (r *checkResult) section(name string, errs []error, endpointVar, endpoint string) {
	if len(errs) == 0 {
		r.ok = append(r.ok, name)
	}
	for _, err := range errs {
		var p *spawner.Problem
		switch {
		case errors.As(err, &p) && endpointVar != "" && unanswered(p.Err):
			r.problems = append(r.problems, awsAccessVars(r.cfg, endpointVar, endpoint)+": "+p.Err.Error())
		default:
			r.problems = append(r.problems, err.Error()) // "VAR: what is wrong"
		}
	}
}

func (r *checkResult) report(out io.Writer) error {
	for _, o := range r.ok {
		fmt.Fprintf(out, "ok       %s\n", o)
	}
	for _, w := range r.warnings {
		fmt.Fprintf(out, "WARNING  %s\n", w)
	}
	for _, p := range r.problems {
		fmt.Fprintf(out, "PROBLEM  %s\n", p)
	}
	switch {
	case len(r.problems) > 0:
		fmt.Fprintf(out, "%d problem(s) found\n", len(r.problems))
		return fmt.Errorf("check: %d problem(s)", len(r.problems))
	case len(r.warnings) > 0:
		// The daemon starts: warnings do not fail check.
		fmt.Fprintf(out, "no problem; %d warning(s)\n", len(r.warnings))
		return nil
	}
	fmt.Fprintln(out, "all good")
	return nil
}

// unanswered reports whether an AWS call failed without an answer from
// AWS (connection refused, timeout, no credentials found).
func unanswered(err error) bool {
	var op *smithy.OperationError
	var api smithy.APIError
	return errors.As(err, &op) && !errors.As(err, &api)
}

// awsChainVars is what decides how AWS is reached when no endpoint is set.
const awsChainVars = "AWS_REGION and the AWS credentials"

// awsAccessVars names what decides how a service is reached: its endpoint
// override when one is set, else the region and the credentials.
func awsAccessVars(cfg *config.Config, endpointVar, endpoint string) string {
	switch {
	case endpoint != "":
		return endpointVar
	case cfg.AWSEndpoint != "":
		return "AWS_ENDPOINT_URL"
	}
	return awsChainVars
}
