package health_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/health"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMonitor(t *testing.T) {
	t.Parallel()
	var redisDown atomic.Bool
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	m := health.NewMonitor(slog.New(slog.NewTextHandler(&logs, nil)), reg,
		health.Check{Name: "database", Check: func(context.Context) error { return nil }},
		health.Check{Name: "redis", Check: func(ctx context.Context) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if redisDown.Load() {
				return errors.New("connection refused")
			}
			return nil
		}},
	)
	up := func(dep string) float64 {
		t.Helper()
		g, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range g {
			for _, s := range f.GetMetric() {
				if f.GetName() == "reservd_dependency_up" && s.GetLabel()[0].GetValue() == dep {
					return s.GetGauge().GetValue()
				}
			}
		}
		t.Fatalf("no reservd_dependency_up{dependency=%q}", dep)
		return -1
	}
	if n := testutil.CollectAndCount(reg, "reservd_dependency_up"); n != 2 || up("database") != 1 || up("redis") != 1 {
		t.Fatalf("before any check: %d series, database %v, redis %v; want 2 series at 1", n, up("database"), up("redis"))
	}

	redisDown.Store(true)
	for range 3 {
		m.Run(t.Context())
	}
	if up("redis") != 0 || up("database") != 1 {
		t.Errorf("with Redis down: redis %v, database %v", up("redis"), up("database"))
	}
	if n := strings.Count(logs.String(), "dependency down"); n != 1 {
		t.Errorf("logged %q %d times over three failing passes, want once:\n%s", "dependency down", n, logs.String())
	}

	// A readiness probe whose caller went away says nothing about Redis.
	redisDown.Store(false)
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range m.Checks() {
		c.Check(canceled)
	}
	if up("redis") != 0 {
		t.Errorf("a canceled check changed the gauge")
	}
	m.Run(t.Context())
	if up("redis") != 1 || !strings.Contains(logs.String(), "dependency up again") {
		t.Errorf("after Redis came back: redis %v, log:\n%s", up("redis"), logs.String())
	}
}
