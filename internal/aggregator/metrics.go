package aggregator

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	calls    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	breaker  *prometheus.GaugeVec
	cache    *prometheus.CounterVec
	attempts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_provider_calls_total",
			Help: "Calls to flight providers by provider, operation and outcome (ok, timeout, error, circuit_open).",
		}, []string{"provider", "op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reservd_provider_call_duration_seconds",
			Help:    "Time spent on a provider operation, retries included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 3, 5, 10},
		}, []string{"provider", "op"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reservd_provider_circuit_state",
			Help: "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_offer_search_cache_total",
			Help: "Offer searches answered from cache (hit) or from the providers (miss).",
		}, []string{"result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_trip_attempts_total",
			Help: "Trip booking attempts by provider and outcome.",
		}, []string{"provider", "outcome"}),
	}
	reg.MustRegister(m.calls, m.latency, m.breaker, m.cache, m.attempts)
	return m
}

func (m *metrics) observe(provider, op, outcome string, d time.Duration) {
	m.calls.WithLabelValues(provider, op, outcome).Inc()
	m.latency.WithLabelValues(provider, op).Observe(d.Seconds())
}
