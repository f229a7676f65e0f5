package stream

import "github.com/prometheus/client_golang/prometheus"

// The kinds of stream, the kind label of the metrics.
const (
	kindEvents = "events"
	kindSeats  = "seats"
)

// Kinds lists the kinds of stream.
var Kinds = []string{kindEvents, kindSeats}

type metrics struct {
	open    *prometheus.GaugeVec
	sent    *prometheus.CounterVec
	dropped *prometheus.CounterVec
	// listening is 1 while the PostgreSQL LISTEN connection is up.
	listening prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reservd_streams_open",
			Help: "Server-sent event streams open on this replica, by kind (events, seats).",
		}, []string{"kind"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_stream_events_sent_total",
			Help: "Server-sent events written to stream clients (heartbeats excluded), by kind.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_stream_clients_dropped_total",
			Help: "Stream clients disconnected for falling behind (a full buffer or a write past its deadline), by kind.",
		}, []string{"kind"}),
		listening: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reservd_stream_listener_up",
			Help: "1 while this replica listens for other replicas' wake-ups (PostgreSQL LISTEN); streams still poll without it.",
		}),
	}
	for _, k := range Kinds {
		m.open.WithLabelValues(k)
		m.sent.WithLabelValues(k)
		m.dropped.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(m.open, m.sent, m.dropped, m.listening)
	}
	return m
}

// Sent counts n events written to clients of a stream of kind
// ("events" or "seats").
func (h *Hub) Sent(kind string, n int) { h.metrics.sent.WithLabelValues(kind).Add(float64(n)) }

// DroppedSlow counts a client of kind disconnected because a write to it
// did not finish in time.
func (h *Hub) DroppedSlow(kind string) { h.metrics.dropped.WithLabelValues(kind).Inc() }
