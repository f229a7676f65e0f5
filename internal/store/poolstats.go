package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolStats is one database connection pool at one instant.
type PoolStats struct {
	// Pool names the pool: "primary" (PostgreSQL), "writer" or "reader" (SQLite).
	Pool                             string
	MaxConns, OpenConns, InUse, Idle int
	WaitCount                        int64         // acquisitions that had to wait for a free connection
	WaitDuration                     time.Duration // total time spent waiting
	AcquireCount                     int64         // every acquisition, waited for or not
	AcquireDuration                  time.Duration // total time spent acquiring
	CountsAcquires                   bool          // whether the engine knows AcquireCount and AcquireDuration
}

// NewPoolCollector exports the pools that stats describes, read at every
// scrape, under the same metric names for every engine, labelled by pool.
func NewPoolCollector(stats func() []PoolStats) prometheus.Collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("reservd_db_pool_"+name, help, []string{"pool"}, nil)
	}
	return &poolCollector{
		stats:        stats,
		max:          desc("max_connections", "Most connections the pool may open."),
		open:         desc("open_connections", "Connections open now, in use or idle."),
		inUse:        desc("in_use_connections", "Connections in use now."),
		idle:         desc("idle_connections", "Connections open and idle now."),
		waits:        desc("waits_total", "Connection acquisitions that had to wait for a free connection."),
		waitSeconds:  desc("wait_seconds_total", "Time spent waiting for a free connection."),
		acquires:     desc("acquires_total", "Connection acquisitions (PostgreSQL pool only)."),
		acquireTotal: desc("acquire_seconds_total", "Time spent acquiring connections, waits included (PostgreSQL pool only)."),
	}
}

type poolCollector struct {
	stats                                                              func() []PoolStats
	max, open, inUse, idle, waits, waitSeconds, acquires, acquireTotal *prometheus.Desc
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.max, c.open, c.inUse, c.idle, c.waits, c.waitSeconds, c.acquires, c.acquireTotal} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.stats() {
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), p.Pool)
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, p.Pool)
		}
		gauge(c.max, p.MaxConns)
		gauge(c.open, p.OpenConns)
		gauge(c.inUse, p.InUse)
		gauge(c.idle, p.Idle)
		counter(c.waits, float64(p.WaitCount))
		counter(c.waitSeconds, p.WaitDuration.Seconds())
		if p.CountsAcquires {
			counter(c.acquires, float64(p.AcquireCount))
			counter(c.acquireTotal, p.AcquireDuration.Seconds())
		}
	}
}
