package aggregator

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
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
			Help: "Provider operations (search, price, book, find_order; retries included) by provider and outcome: ok, rejected (a definite refusal such as sold out or price changed), timeout, error, circuit_open.",
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

// providerCall is one provider operation (retries included) as metrics and
// traces see it; the HTTP requests it makes are child spans of its span.
type providerCall struct {
	m            *metrics
	span         trace.Span
	provider, op string
	start        time.Time
}

// startCall starts the span of one provider operation.
func (a *Aggregator) startCall(ctx context.Context, provider, op string) (context.Context, *providerCall) {
	ctx, span := a.tracer.Start(ctx, "provider "+provider+" "+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("reservd.provider", provider), attribute.String("reservd.provider.operation", op)))
	return ctx, &providerCall{m: a.m, span: span, provider: provider, op: op, start: timeNow()}
}

// end records the operation's outcome in the metrics and its span, and
// returns the outcome as the API reports it (see outcome). The metrics tell
// a definite refusal (sold out, price changed, no such order: the provider
// is healthy) from a failure.
func (c *providerCall) end(err error) string {
	out := outcome(err)
	recorded := out
	if err != nil && out == "error" && !transient(err) {
		recorded = "rejected"
	}
	c.m.observe(c.provider, c.op, recorded, timeNow().Sub(c.start))
	c.span.SetAttributes(attribute.String("reservd.provider.outcome", recorded))
	if err != nil {
		c.span.RecordError(err)
		if recorded != "rejected" {
			c.span.SetStatus(codes.Error, recorded)
		}
	}
	c.span.End()
	return out
}
