package main

// What the servers cost: /server cost reads the sessions from the store,
// and the monthly report runs in a goroutine of Main's that Close stops.

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

var (
	_ cost.Store = (*dynamo.Table)(nil)
	_ cost.Store = (*bolt.Store)(nil)
)

// costStore is where the sessions and the reports sent are kept: the
// embedded store once opened, else the table.
func (a *adapters) costStore() cost.Store {
	if a.file != nil {
		return a.file
	}
	return a.table
}

// clockKey is the key, in the context run is given, of the clock that
// /server cost and the monthly report read: the end-to-end tests' way to
// say what day it is. Without it they read time.Now.
type clockKey struct{}

// clockOf is ctx's clock: the tests', else time.Now.
func clockOf(ctx context.Context) func() time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok && now != nil {
		return now
	}
	return time.Now
}

// startCost gives /server cost its sessions and prices, and starts the
// monthly report, whose sentences are in locale (the guild's). It is
// called before the bot opens; Close stops the report.
func (m *Main) startCost(ctx context.Context, locale string) {
	now := clockOf(ctx)
	pricing := cost.Pricing{Rates: m.cfg.CostRates, HostMonthly: m.cfg.HostMonthlyPrice}
	store := m.a.costStore()
	m.a.bot.Costs = &discord.Costs{Sessions: store, Pricing: pricing, Now: now}
	m.monthly.start(ctx, &cost.Monthly{
		Store:   store,
		Pricing: pricing,
		Post:    postReport(m.a.bot, text.For(locale), m.cfg.LogChannelID == "", m.log),
		Now:     now,
		Log:     m.log,
	})
}

// postReport posts a monthly report to the log channel in lang, pinging
// nobody, once per month even if the call is retried (its key); without
// a log channel it posts nothing, says so, and is not an error.
func postReport(bot *discord.Bot, lang text.Lang, noLogChannel bool, log *slog.Logger) func(ctx context.Context, r cost.Report) error {
	return func(ctx context.Context, r cost.Report) error {
		if noLogChannel {
			log.Info("monthly report: no DISCORD_LOG_CHANNEL_ID, posted nowhere", "month", r.Month.String())
			return nil
		}
		key, err := spawner.ReportKey(r.Month)
		if err != nil {
			return err
		}
		return bot.Log(ctx, spawner.Message{Content: lang.CostReport(r), Key: key})
	}
}

// monthlyLoop runs the monthly report (cost.Monthly) in a goroutine of
// Main's, stopped and waited for by Close before the store closes.
type monthlyLoop struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start runs monthly until stop.
func (l *monthlyLoop) start(ctx context.Context, monthly *cost.Monthly) {
	ctx, l.cancel = context.WithCancel(ctx)
	l.wg.Go(func() { _ = monthly.Run(ctx) })
}

// stop ends the loop and waits for it; safe when it was never started.
func (l *monthlyLoop) stop() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
}

// costCheck is `spawner check`'s line on what the cost is estimated with:
// under ecs, the rates (their date, source and table) and whether they
// price the region of AWS_REGION; under docker, whether the host's price
// is shared out. Never a problem: the configuration refuses a rates file
// it cannot use, and a region the repository's table lacks is counted in
// hours.
func costCheck(cfg *config.Config) string {
	r := cfg.CostRates
	if cfg.Runtime == config.RuntimeDocker {
		if cfg.HostMonthlyPrice > 0 {
			return fmt.Sprintf("cost: Docker servers counted in hours, the host's %s %s a month (DOCKER_HOST_MONTHLY_PRICE) shared out by hours",
				strconv.FormatFloat(cfg.HostMonthlyPrice, 'f', -1, 64), r.Currency)
		}
		return "cost: Docker servers counted in hours (set DOCKER_HOST_MONTHLY_PRICE to share out the host's price)"
	}
	table := "the repository's table"
	if cfg.CostRatesFile != "" {
		table = "COST_RATES_FILE " + cfg.CostRatesFile
	}
	line := fmt.Sprintf("cost: rates of %s from %s (%s)", r.Date, r.Source, table)
	var priced []string
	for _, capacity := range []string{spawner.CapacityFargate, spawner.CapacityFargateSpot} {
		if _, ok := r.Price(cfg.AWSRegion, capacity); ok {
			priced = append(priced, capacity)
		}
	}
	if len(priced) == 0 {
		return line + "; they do not price AWS_REGION " + cfg.AWSRegion + ": /server cost counts its servers in hours (COST_RATES_FILE can add it)"
	}
	return line + "; " + cfg.AWSRegion + " priced for " + strings.Join(priced, " and ")
}
