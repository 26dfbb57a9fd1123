package metrics

import "github.com/prometheus/client_golang/prometheus"

// newAlertsCounter is spawner_alerts_total{sink,outcome}: each alert on
// each sink (sns, webhook), counted once as sent, failed (given up),
// dropped (its queue full, or the bot stopping) or deduplicated (a repeat
// told later in a summary).
func newAlertsCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spawner_alerts_total",
		Help: "Alerts by sink (sns, webhook) and outcome: sent, failed (given up), dropped (queue full or stopping), deduplicated (a repeat within the window).",
	}, []string{"sink", "outcome"})
	for _, sink := range []string{"sns", "webhook"} {
		for _, o := range []string{"sent", "failed", "dropped", "deduplicated"} {
			c.WithLabelValues(sink, o) // shown at 0 from the start, so a rate is defined
		}
	}
	return c
}

// Alert counts one outcome of an alert on a sink (alert.Config.Count). It
// never blocks.
func (m *Metrics) Alert(sink, outcome string) { m.alerts.WithLabelValues(sink, outcome).Inc() }
