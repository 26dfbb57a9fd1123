package metrics

import "github.com/prometheus/client_golang/prometheus"

// feedMetrics are the web feed's: its clients now, and those dropped.
type feedMetrics struct {
	clients prometheus.Gauge
	dropped prometheus.Counter
}

func newFeedMetrics() feedMetrics {
	return feedMetrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "spawner_feed_clients", Help: "WebSocket clients of the live pages' event feed connected now.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spawner_feed_clients_dropped_total", Help: "Feed clients dropped because they could not keep up.",
		}),
	}
}

// FeedClients sets the number of feed clients connected (web.HubOptions.OnClients).
func (m *Metrics) FeedClients(n int) { m.feed.clients.Set(float64(n)) }

// FeedDropped counts a feed client dropped for being too slow (web.HubOptions.OnDropped).
func (m *Metrics) FeedDropped() { m.feed.dropped.Inc() }
