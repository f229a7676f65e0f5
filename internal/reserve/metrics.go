package reserve

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	holds     *prometheus.CounterVec
	bookings  *prometheus.CounterVec
	payments  *prometheus.CounterVec
	fastPath  *prometheus.CounterVec
	cache     *prometheus.CounterVec
	recovered prometheus.Counter
	expiryLag prometheus.Gauge
	active    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		holds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_holds_total",
			Help: "Hold outcomes: created, conflict (seats taken), released, expired (swept), booked.",
		}, []string{"event"}),
		bookings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_bookings_total",
			Help: "Bookings confirmed and canceled.",
		}, []string{"event"}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_payments_total",
			Help: "Payment outcomes: charged, declined, unavailable, refunded, refund_seats_lost.",
		}, []string{"outcome"}),
		fastPath: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_seat_fastpath_total",
			Help: "Seat fast path (Redis or in-process) results: hit (refused without the database), miss (went on to the database), error (fell back to the database alone).",
		}, []string{"result"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_read_cache_total",
			Help: "Flight and seat-map read cache lookups: hit or miss.",
		}, []string{"result"}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reservd_bookings_recovered_total",
			Help: "Interrupted bookings that recovery drove to an end.",
		}),
		expiryLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reservd_hold_expiry_lag_seconds",
			Help: "How long the oldest expired hold has waited for the sweeper (its seats are free regardless).",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reservd_active_holds",
			Help: "Holds active now (not expired, released or booked), counted by every sweeper pass.",
		}),
	}
	for _, e := range []string{"created", "conflict", "released", "expired", "booked"} {
		m.holds.WithLabelValues(e)
	}
	for _, e := range []string{"confirmed", "canceled"} {
		m.bookings.WithLabelValues(e)
	}
	for _, r := range []string{"hit", "miss", "error"} {
		m.fastPath.WithLabelValues(r)
	}
	m.cache.WithLabelValues("hit")
	m.cache.WithLabelValues("miss")
	reg.MustRegister(m.holds, m.bookings, m.payments, m.fastPath, m.cache, m.recovered, m.expiryLag, m.active)
	return m
}
