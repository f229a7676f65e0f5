package webhook

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	deliveries    *prometheus.CounterVec
	latency       prometheus.Histogram
	queue         *prometheus.GaugeVec
	disabled      prometheus.Gauge
	disabledTotal prometheus.Counter
}

// outcomes are the values of reservd_webhook_deliveries_total's outcome label.
var outcomes = []string{"delivered", "failed", "stale"}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: delivered (a 2xx), failed (anything else; retried), stale (sent after the lease ran out and another replica took it over).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "reservd_webhook_delivery_latency_seconds",
			Help:    "Time from an event's commit to its successful delivery, retries included.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600, 72 * 3600},
		}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reservd_webhook_queue_depth",
			Help: "Pending webhook deliveries of enabled endpoints: due now (state=due) or waiting for a retry's backoff (state=retrying); and events not yet sent to the enabled endpoints past whose stream position they lie (state=unsent).",
		}, []string{"state"}),
		disabled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reservd_webhook_endpoints_disabled",
			Help: "Webhook endpoints disabled after failing for the whole retry window.",
		}),
		disabledTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reservd_webhook_endpoints_disabled_total",
			Help: "Webhook endpoints this replica disabled after their retry window.",
		}),
	}
	for _, o := range outcomes {
		m.deliveries.WithLabelValues(o)
	}
	m.queue.WithLabelValues("due")
	m.queue.WithLabelValues("retrying")
	m.queue.WithLabelValues("unsent")
	if reg != nil {
		reg.MustRegister(m.deliveries, m.latency, m.queue, m.disabled, m.disabledTotal)
	}
	return m
}
