// Package jobs runs reservd's periodic background work: sweeping expired
// holds, recovering interrupted bookings and refunds, and forgetting old
// idempotency keys. The durable state of each job lives in the database (a
// payment's intent row, a hold's expiry), so any replica can run any pass
// and a crashed replica's work is picked up by the next pass anywhere; the
// store's SKIP LOCKED claims keep replicas from doing the same item twice.
package jobs

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Job is one kind of periodic work.
type Job struct {
	Name  string
	Every time.Duration
	// Run does one pass and reports how many items it handled.
	Run func(ctx context.Context) (int, error)
	// Wake, when set, runs a pass at once whenever it receives, beside the
	// interval: a signal that work has arrived (Kick sends one).
	Wake <-chan struct{}
}

// Kick signals a job's Wake channel (made with room for one) without
// blocking: a signal already pending stands for this one too.
func Kick(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// Runner runs jobs until its context ends.
type Runner struct {
	jobs   []Job
	log    *slog.Logger
	runs   *prometheus.CounterVec
	done   *prometheus.CounterVec
	tracer trace.Tracer
}

// NewRunner returns a runner for jobs; reg receives its metrics.
func NewRunner(log *slog.Logger, reg prometheus.Registerer, jobs ...Job) *Runner {
	r := &Runner{
		jobs:   jobs,
		log:    log,
		tracer: otel.Tracer("github.com/reservd/reservd/internal/jobs"),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_job_runs_total",
			Help: "Background job passes by job and result (ok or error).",
		}, []string{"job", "result"}),
		done: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reservd_job_items_total",
			Help: "Items background jobs handled (holds swept, bookings recovered, …).",
		}, []string{"job"}),
	}
	for _, j := range jobs {
		r.runs.WithLabelValues(j.Name, "ok")
		r.runs.WithLabelValues(j.Name, "error")
		r.done.WithLabelValues(j.Name)
	}
	reg.MustRegister(r.runs, r.done)
	return r
}

// Run runs every job on its interval (with jitter, so replicas spread out)
// until ctx ends, then waits for the passes in flight to finish.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, j := range r.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, j)
		}()
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, j Job) {
	for {
		jitter := time.Duration(rand.Int64N(int64(j.Every)/5 + 1)) // #nosec G404 -- jitter so replicas do not run a job in step; nothing secret
		t := time.NewTimer(j.Every - j.Every/10 + jitter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-j.Wake:
			t.Stop()
		}
		r.Once(ctx, j)
	}
}

// Once runs one pass of j, bounded by its interval, in a span of its own
// (the root of a trace: "job NAME"), and records the result.
func (r *Runner) Once(ctx context.Context, j Job) {
	// A pass in flight at shutdown finishes: its claims are leases anyway.
	pass, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(j.Every, 10*time.Second))
	defer cancel()
	pass, span := r.tracer.Start(pass, "job "+j.Name, trace.WithNewRoot(), trace.WithAttributes(attribute.String("reservd.job", j.Name)))
	defer span.End()
	n, err := j.Run(pass)
	span.SetAttributes(attribute.Int("reservd.job.items", n))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "job failed")
		r.runs.WithLabelValues(j.Name, "error").Inc()
		r.log.ErrorContext(pass, "background job failed", "job", j.Name, "error", err.Error())
		return
	}
	r.runs.WithLabelValues(j.Name, "ok").Inc()
	r.done.WithLabelValues(j.Name).Add(float64(n))
	if n > 0 {
		r.log.DebugContext(pass, "background job", "job", j.Name, "items", n)
	}
}

// QueueDepth returns a job, named queue_depth, that sets the gauge
// reservd_job_queue_depth{queue} from depth on every pass. queues lists
// every queue depth reports; they are the only label values (anything else
// depth returns is ignored), so the label stays bounded.
func QueueDepth(reg prometheus.Registerer, every time.Duration, queues []string, depth func(ctx context.Context) (map[string]int, error)) Job {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "reservd_job_queue_depth",
		Help: "Background work outstanding by queue: payments pending, refunds due, trips pending.",
	}, []string{"queue"})
	for _, q := range queues {
		g.WithLabelValues(q)
	}
	reg.MustRegister(g)
	return Job{Name: "queue_depth", Every: every, Run: func(ctx context.Context) (int, error) {
		d, err := depth(ctx)
		if err != nil {
			return 0, err
		}
		for _, q := range queues {
			g.WithLabelValues(q).Set(float64(d[q]))
		}
		return 0, nil // a measurement, not work done
	}}
}
