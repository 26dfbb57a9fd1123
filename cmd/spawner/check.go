package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// check reports every problem it finds with the configuration, Discord and
// AWS in one report, and returns an error when there is any. It changes
// nothing: only reads.
func check(ctx context.Context, cfg *config.Config, loadErr error, out io.Writer) error {
	var problems []string
	if loadErr != nil {
		var errs config.Errors
		if errors.As(loadErr, &errs) {
			for _, e := range errs {
				problems = append(problems, e.Error())
			}
		} else {
			problems = append(problems, loadErr.Error())
		}
	}
	if cfg == nil {
		return report(out, problems, []string{"configuration"})
	}
	ok := []string{}
	if loadErr == nil {
		ok = append(ok, "configuration")
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	a, err := newAdapters(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		problems = append(problems, err.Error())
		return report(out, problems, ok)
	}
	// The three systems are asked at once, so systems that do not answer
	// cost the SDK's retries once, not three times over.
	var (
		discordErrs, ecsErrs []error
		tableErr             error
		wg                   sync.WaitGroup
	)
	wg.Go(func() { discordErrs = a.bot.Check(ctx) })
	wg.Go(func() { ecsErrs = a.tasks.Check(ctx, cfg.TaskDefinition, cfg.Container) })
	wg.Go(func() { tableErr = a.table.Check(ctx) })
	wg.Wait()

	section := func(name string, errs []error) {
		if len(errs) == 0 {
			ok = append(ok, name)
		}
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
	}
	section("discord", discordErrs)
	for i, err := range ecsErrs {
		ecsErrs[i] = ecsProblem(cfg, err)
	}
	section("ecs", ecsErrs)
	switch {
	case tableErr == nil:
		ok = append(ok, "dynamodb")
	case errors.Is(tableErr, spawner.ErrNotFound) && cfg.CreateTable:
		ok = append(ok, "dynamodb (the table will be created at start: DYNAMODB_CREATE_TABLE=true)")
	case errors.Is(tableErr, spawner.ErrNotFound):
		problems = append(problems, fmt.Sprintf("AWS_DYNAMODB_TABLE_NAME: %v (create it, or set DYNAMODB_CREATE_TABLE=true)", tableErr))
	case unanswered(tableErr):
		problems = append(problems, fmt.Sprintf("%s: %v", awsAccessVars(cfg, "AWS_ENDPOINT_URL_DYNAMODB", cfg.DynamoDBEndpoint), tableErr))
	default:
		problems = append(problems, fmt.Sprintf("AWS_DYNAMODB_TABLE_NAME: %v", tableErr))
	}
	return report(out, problems, ok)
}

func report(out io.Writer, problems, ok []string) error {
	for _, o := range ok {
		fmt.Fprintf(out, "ok       %s\n", o)
	}
	for _, p := range problems {
		fmt.Fprintf(out, "PROBLEM  %s\n", p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(out, "%d problem(s) found\n", len(problems))
		return fmt.Errorf("check: %d problem(s)", len(problems))
	}
	fmt.Fprintln(out, "all good")
	return nil
}

// ecsProblem names the variable to fix for a problem ecs.Check found: the
// endpoint, region or credentials when ECS did not answer, else the variable
// the thing ECS lacks comes from. It reads the messages of ecs.Check, which
// returns plain errors; check_test.go pins each case.
func ecsProblem(cfg *config.Config, err error) error {
	msg := err.Error()
	var name string
	switch {
	case unanswered(err):
		name = awsAccessVars(cfg, "AWS_ENDPOINT_URL_ECS", cfg.ECSEndpoint)
	case strings.Contains(msg, "no container named"):
		name = "DOCKER_IMAGE_NAME"
	case strings.Contains(msg, "capacity provider"):
		name = "ECS_CAPACITY_PROVIDER"
	case strings.Contains(msg, "task definition"):
		name = "ECS_TASK_DEFINITION"
	default:
		name = "AWS_ECS_CLUSTER_NAME"
	}
	return fmt.Errorf("%s: %w", name, err)
}

// unanswered reports whether an AWS call failed without an answer from
// AWS (connection refused, timeout, no credentials found).
func unanswered(err error) bool {
	var op *smithy.OperationError
	var api smithy.APIError
	return errors.As(err, &op) && !errors.As(err, &api)
}

// awsAccessVars names what decides how a service is reached: its endpoint
// override when one is set, else the region and the credentials.
func awsAccessVars(cfg *config.Config, endpointVar, endpoint string) string {
	switch {
	case endpoint != "":
		return endpointVar
	case cfg.AWSEndpoint != "":
		return "AWS_ENDPOINT_URL"
	}
	return "AWS_REGION and the AWS credentials"
}
