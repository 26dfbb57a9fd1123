package metrics

import "github.com/prometheus/client_golang/prometheus"

// newEventsCounter is spawner_events_total{outcome}: the messages read from
// the events queue: each counted once as received, then once as applied,
// duplicate, stale, foreign or unparsable.
func newEventsCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spawner_events_total",
		Help: "Messages read from the events queue: received, then applied or ignored (duplicate, stale, foreign, unparsable).",
	}, []string{"outcome"})
	for _, o := range []string{"received", "applied", "duplicate", "stale", "foreign", "unparsable"} {
		c.WithLabelValues(o) // shown at 0 from the start, so a rate is defined
	}
	return c
}

// Event counts one outcome of a message read from the events queue
// ("received", "applied", "duplicate", "stale", "foreign", "unparsable").
// It never blocks, as the consumer's Count callback must not.
func (m *Metrics) Event(outcome string) { m.events.WithLabelValues(outcome).Inc() }
