package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mineral-contest/spawner/internal/config"
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
	section := func(name string, errs []error) {
		if len(errs) == 0 {
			ok = append(ok, name)
		}
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
	}
	section("discord", a.bot.Check(ctx))
	section("ecs", a.tasks.Check(ctx, cfg.TaskDefinition, cfg.Container))
	if err := a.table.Check(ctx); err != nil {
		if cfg.CreateTable {
			ok = append(ok, "dynamodb (the table will be created at start: DYNAMODB_CREATE_TABLE=true)")
		} else {
			problems = append(problems, fmt.Sprintf("AWS_DYNAMODB_TABLE_NAME: %v (create it, or set DYNAMODB_CREATE_TABLE=true)", err))
		}
	} else {
		ok = append(ok, "dynamodb")
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
