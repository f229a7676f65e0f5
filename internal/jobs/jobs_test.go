package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunnerRunsJobsUntilStopped(t *testing.T) {
	t.Parallel()
	var ok, failing atomic.Int64
	reg := prometheus.NewRegistry()
	r := NewRunner(slog.New(slog.DiscardHandler), reg,
		Job{Name: "ok", Every: 10 * time.Millisecond, Run: func(context.Context) (int, error) { ok.Add(1); return 2, nil }},
		Job{Name: "failing", Every: 10 * time.Millisecond, Run: func(context.Context) (int, error) {
			failing.Add(1)
			return 0, errors.New("boom")
		}},
	)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for (ok.Load() < 3 || failing.Load() < 3) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done // Run returns once every loop has stopped
	n := ok.Load()
	time.Sleep(30 * time.Millisecond)
	if ok.Load() != n {
		t.Error("a job ran after Run returned")
	}
	if got := testutil.ToFloat64(r.runs.WithLabelValues("ok", "ok")); got != float64(n) {
		t.Errorf("ok runs counted %v, ran %d", got, n)
	}
	if got := testutil.ToFloat64(r.done.WithLabelValues("ok")); got != float64(2*n) {
		t.Errorf("items counted %v, want %d", got, 2*n)
	}
	if got := testutil.ToFloat64(r.runs.WithLabelValues("failing", "error")); got != float64(failing.Load()) || got < 3 {
		t.Errorf("failures counted %v, ran %d", got, failing.Load())
	}
}

func TestOnceFinishesAPassStartedBeforeShutdown(t *testing.T) {
	t.Parallel()
	r := NewRunner(slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var sawCanceled bool
	r.Once(ctx, Job{Name: "tidy", Every: time.Second, Run: func(ctx context.Context) (int, error) {
		sawCanceled = ctx.Err() != nil
		return 0, nil
	}})
	if sawCanceled {
		t.Error("a pass got an already-canceled context: shutdown must let it finish")
	}
}

// TestWakeRunsAPassAtOnce: a kick runs a pass without waiting for the
// interval, and kicks sent while one is pending coalesce.
func TestWakeRunsAPassAtOnce(t *testing.T) {
	t.Parallel()
	wake := make(chan struct{}, 1)
	passes := make(chan struct{}, 10)
	r := NewRunner(slog.New(slog.DiscardHandler), prometheus.NewRegistry(),
		Job{Name: "woken", Every: time.Hour, Wake: wake, Run: func(context.Context) (int, error) {
			passes <- struct{}{}
			return 0, nil
		}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := range 3 {
		Kick(wake)
		Kick(wake) // coalesces with the first, or wakes the next pass
		select {
		case <-passes:
		case <-time.After(10 * time.Second):
			t.Fatalf("kick %d: no pass within 10s of an hourly job", i)
		}
		for len(wake) > 0 || len(passes) > 0 { // let a second pass from the coalesced kick finish
			select {
			case <-passes:
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}
