// Package health watches the service's dependencies (the database, Redis).
// Every check's latest result is the gauge reservd_dependency_up, refreshed
// by a periodic pass (Monitor.Run, a background job) and by every /readyz,
// so that an alert sees a dependency go down even when nobody asks.
package health

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Check asks one dependency whether it answers.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Timeout bounds one check.
const Timeout = 2 * time.Second

// Monitor runs checks and records their results.
type Monitor struct {
	checks []Check
	up     *prometheus.GaugeVec
	log    *slog.Logger

	mu   sync.Mutex
	down map[string]bool
}

// NewMonitor returns a monitor of checks; reg receives
// reservd_dependency_up{dependency}, one series per check (so the label is
// bounded), 1 until a check fails.
func NewMonitor(log *slog.Logger, reg prometheus.Registerer, checks ...Check) *Monitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{
		checks: checks,
		log:    log,
		down:   map[string]bool{},
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reservd_dependency_up",
			Help: "Whether a dependency (database, redis) answered its latest check: 1 up, 0 down.",
		}, []string{"dependency"}),
	}
	for _, c := range checks {
		m.up.WithLabelValues(c.Name).Set(1)
	}
	reg.MustRegister(m.up)
	return m
}

// Checks returns the checks, each recording its result when it runs, for
// /readyz to run.
func (m *Monitor) Checks() []Check {
	out := make([]Check, len(m.checks))
	for i, c := range m.checks {
		out[i] = Check{Name: c.Name, Check: func(ctx context.Context) error {
			err := c.Check(ctx)
			if err != nil && errors.Is(ctx.Err(), context.Canceled) {
				return err // the asker went away: that says nothing about the dependency
			}
			m.record(ctx, c.Name, err)
			return err
		}}
	}
	return out
}

// Run checks every dependency at once, each within Timeout, and records
// the results. A dependency that is down is not an error of the pass: the
// gauge and a log line on each change say it.
func (m *Monitor) Run(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	for _, c := range m.Checks() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, Timeout)
			defer cancel()
			c.Check(cctx) // #nosec G104 -- each check records its own result (Checks); a dependency that is down is not an error of the pass
		}()
	}
	wg.Wait()
	return 0, nil // a measurement, not work done
}

func (m *Monitor) record(ctx context.Context, name string, err error) {
	v := 1.0
	if err != nil {
		v = 0
	}
	m.up.WithLabelValues(name).Set(v)
	m.mu.Lock()
	was := m.down[name]
	m.down[name] = err != nil
	m.mu.Unlock()
	switch {
	case err != nil && !was:
		m.log.ErrorContext(ctx, "dependency down", "dependency", name, "error", err.Error())
	case err == nil && was:
		m.log.InfoContext(ctx, "dependency up again", "dependency", name)
	}
}
