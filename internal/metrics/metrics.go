// Package metrics exposes what the bot does in the Prometheus format, on a
// registry of its own (never the global one, so several daemons can run in
// one process, as the tests do).
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Metrics records the bot's activity. Its methods are safe for concurrent use.
type Metrics struct {
	reg        *prometheus.Registry
	created    *prometheus.CounterVec
	stopped    *prometheus.CounterVec
	warnings   *prometheus.CounterVec
	ping       prometheus.Histogram
	pingErrors prometheus.Counter
	awsErrors  *prometheus.CounterVec
	discordErr *prometheus.CounterVec
	events     *prometheus.CounterVec
	alerts     *prometheus.CounterVec // alerts.go
	feed       feedMetrics            // web.go
}

// New returns Metrics whose servers gauge reads servers() at each scrape.
func New(servers func() []spawner.Server) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spawner_creations_total", Help: "Server creations accepted, by game.",
		}, []string{"game"}),
		stopped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spawner_stops_total", Help: "Servers ended, by reason.",
		}, []string{"reason"}),
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spawner_warnings_total", Help: "Warnings posted in ticket channels, by kind (players, runtime).",
		}, []string{"kind"}),
		ping: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "spawner_ping_seconds", Help: "Server List Ping latency of answered pings.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		pingErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spawner_ping_errors_total", Help: "Server List Pings that got no valid answer.",
		}),
		awsErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spawner_aws_errors_total", Help: "Failed AWS calls (after the SDK's retries), by service and operation.",
		}, []string{"service", "operation"}),
		discordErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spawner_discord_errors_total", Help: "Failed Discord calls (after retries), by operation.",
		}, []string{"operation"}),
		events: newEventsCounter(),
		alerts: newAlertsCounter(),
		feed:   newFeedMetrics(),
	}
	byState := prometheus.NewDesc("spawner_servers", "Servers tracked now, by state.", []string{"state"}, nil)
	m.reg.MustRegister(m.created, m.stopped, m.warnings, m.ping, m.pingErrors, m.awsErrors, m.discordErr, m.events, m.alerts,
		m.feed.clients, m.feed.dropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		stateCollector{desc: byState, servers: servers})
	return m
}

type stateCollector struct {
	desc    *prometheus.Desc
	servers func() []spawner.Server
}

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[spawner.State]int{}
	for _, st := range spawner.States() {
		if st != spawner.StateStopped { // a stopped server has left the fleet
			counts[st] = 0
		}
	}
	if c.servers != nil {
		for _, s := range c.servers() {
			counts[s.State]++
		}
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), string(st))
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Created counts an accepted creation.
func (m *Metrics) Created(game string) { m.created.WithLabelValues(game).Inc() }

// Stopped counts a server that ended.
func (m *Metrics) Stopped(cause spawner.StopCause) { m.stopped.WithLabelValues(string(cause)).Inc() }

// Warned counts a warning posted.
func (m *Metrics) Warned(kind string) { m.warnings.WithLabelValues(kind).Inc() }

// Pinged records a ping's latency, or its failure.
func (m *Metrics) Pinged(d time.Duration, err error) {
	if err != nil {
		m.pingErrors.Inc()
		return
	}
	m.ping.Observe(d.Seconds())
}

// DiscordError counts a failed Discord call.
func (m *Metrics) DiscordError(op string) { m.discordErr.WithLabelValues(op).Inc() }

// AWSError counts a failed AWS call (after its retries) of a client that
// InstrumentAWS cannot reach: one that calls AWS without the SDK's
// middleware (ecs.EC2).
func (m *Metrics) AWSError(service, operation string) {
	m.awsErrors.WithLabelValues(service, operation).Inc()
}

// InstrumentAWS makes every client built from cfg count its failed calls.
func (m *Metrics) InstrumentAWS(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("spawnerCountErrors",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err != nil && ctx.Err() == nil {
					m.awsErrors.WithLabelValues(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)).Inc()
				}
				return out, md, err
			}), middleware.After)
	})
}
