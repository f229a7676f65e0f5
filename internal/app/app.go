// Package app is reservd's one composition root: New builds the whole
// service — store, seat locks, caches, services, providers, background jobs
// and the HTTP handler — from a config.Config. cmd/reservd serves what it
// builds; the HTTP tests, the fault suite and the linearizability suite
// build through it too, so that what they test is what runs, swapping only
// what Overrides lets a test swap.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/health"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/httpapi"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/jobs"
	"github.com/reservd/reservd/internal/payment"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simset"
	"github.com/reservd/reservd/internal/ratelimit"
	"github.com/reservd/reservd/internal/reserve"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/sqlite"
	"github.com/reservd/reservd/internal/stream"
	"github.com/reservd/reservd/internal/webhook"
)

// Env is what the process gives the service: where it logs and prints, and
// whether tracing is on (telemetry is set up process-wide, before New).
type Env struct {
	// Log receives the service's lines; nil discards them.
	Log *slog.Logger
	// Stdout receives the demo API key of a fresh embedded database; nil discards it.
	Stdout io.Writer
	// Tracing says whether OTEL_* configured spans to be recorded.
	Tracing bool
}

// Overrides are what a test may swap; the zero value builds the service
// exactly as production does.
type Overrides struct {
	// Store is an existing, migrated store used instead of opening the
	// configured one; the App neither migrates, seeds nor closes it.
	Store store.Store
	// Gateway takes the card payments (default: payment.NewTestGateway(),
	// the built-in test gateway).
	Gateway payment.Gateway
	// Providers returns the flight providers, built on hc (the traced
	// client), instead of the configured ones or the built-in simulators:
	// adapters pointed at proxied simulators, or a stub.
	Providers func(hc *http.Client) []aggregator.Source
	// Aggregator tunes the aggregator's configuration after the
	// environment's (breaker, retries, booking timeout, cache TTL).
	Aggregator func(*aggregator.Config)
	// Clock is the in-process seat locks' and cache's clock (default time.Now).
	Clock func() time.Time
	// Locks replaces the seat fast path chosen from the engine and
	// REDIS_URL: a test that checks the database alone passes seatlock.Off.
	Locks seatlock.Locker
	// UncachedReads serves flights and seat maps straight from the
	// database: a linearizability check reads seat maps as observations,
	// which the read cache's bounded staleness would falsify.
	UncachedReads bool
}

// App is the built service.
type App struct {
	Store      store.Store
	Reserve    *reserve.Service
	Aggregator *aggregator.Aggregator
	Trips      *aggregator.TripService
	// Registry holds every metric of the service and is what /metrics serves.
	Registry *prometheus.Registry

	handler  http.Handler
	ready    []health.Check
	draining atomic.Bool
	keyUsage *apikey.Usage
	runner   *jobs.Runner
	closers  []func()
	log      *slog.Logger
	// streams fans changes out to this replica's stream clients.
	streams *stream.Hub

	sequencedMu sync.Mutex
	sequenced   []func(context.Context, store.Sequenced)
}

// New builds the service cfg describes. Close releases what it opened,
// also when New fails half way.
func New(ctx context.Context, cfg config.Config, env Env, o Overrides) (_ *App, err error) {
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stdout := env.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	a := &App{Registry: prometheus.NewRegistry(), log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	st, fresh := o.Store, false
	if st == nil {
		if st, fresh, err = OpenStore(ctx, cfg); err != nil {
			return nil, err
		}
		a.onClose(func() {
			if err := st.Close(); err != nil {
				log.Error("close the database", "error", err.Error())
			}
		})
		if _, err := Migrate(ctx, cfg, st); err != nil {
			return nil, err
		}
	}
	a.Store = st
	reg := a.Registry
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pc, ok := st.(poolCollector); ok {
		reg.MustRegister(pc.Collector())
	}
	checks := []health.Check{{Name: "database", Check: st.Ping}}

	// Seat locks and caches: Redis when configured, else in process. Either
	// way only a fast path; the database decides.
	// In-process seat keys only where this process is the database's one
	// writer (the embedded engine): beside other replicas they would refuse
	// seats another replica freed, until the hold's TTL.
	var locks seatlock.Locker = seatlock.Off{}
	if st.Engine() == "sqlite" {
		locks = seatlock.NewMemory(clock)
	}
	var caches cache.Cache = cache.NewMemory(clock)
	var limiter ratelimit.Limiter = ratelimit.Unlimited{}
	if cfg.RateLimit > 0 {
		limiter = ratelimit.NewMemory(cfg.RateLimit, cfg.RateBurst)
	}
	if cfg.RedisURL != "" {
		rdb, err := seatlock.NewUniversalRedisClient(cfg.RedisURL, cfg.RedisCluster)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		a.onClose(func() { rdb.Close() }) // #nosec G104 -- closing the Redis client at shutdown; it holds nothing to flush
		redis.SetLogger(redisLogger{log})
		// Command names only: values (cache entries, owners) stay out of spans.
		if err := redisotel.InstrumentTracing(rdb, redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
			return nil, fmt.Errorf("trace redis: %w", err)
		}
		if o.Store == nil {
			warnIfRedisDown(ctx, rdb, log)
		}
		if locks, err = seatlock.NewRedis(rdb, seatlock.WithPrefix(cfg.RedisPrefix)); err != nil {
			return nil, err
		}
		if caches, err = cache.NewRedis(rdb, cache.WithPrefix(cfg.RedisPrefix)); err != nil {
			return nil, err
		}
		if cfg.RateLimit > 0 {
			limiter = ratelimit.NewRedis(rdb, cfg.RateLimit, cfg.RateBurst, ratelimit.WithPrefix(cfg.RedisPrefix))
		}
		checks = append(checks, health.Check{Name: "redis", Check: redisCheck(rdb)})
	}
	deps := health.NewMonitor(log, reg, checks...)
	// From Drain on, /readyz fails so that load balancers stop sending
	// this replica new work while it still serves (DRAIN_DELAY).
	a.ready = append(deps.Checks(), health.Check{Name: "draining", Check: func(context.Context) error {
		if a.draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	}})

	if o.Store == nil && cfg.Embedded() && cfg.SeedDemo {
		if err := seedDemo(ctx, cfg, st, fresh, log, stdout); err != nil {
			return nil, err
		}
	}

	gateway := o.Gateway
	if gateway == nil {
		gateway = payment.NewTestGateway()
	}
	rcfg := reserve.DefaultConfig()
	rcfg.HoldTTL, rcfg.HoldMaxLifetime, rcfg.HoldMaxSeats = cfg.HoldTTL, cfg.HoldMaxLifetime, cfg.HoldMaxSeats
	rcfg.HoldLimits = holds.Limits{SeatsPerFlight: cfg.HoldMaxSeatsPerFlight, Active: cfg.HoldMaxActive}
	rcfg.PaymentLease = cfg.PaymentLease
	rcfg.Batch = reserve.BatchConfig{Enabled: cfg.HoldBatch.Enabled, Slots: cfg.HoldBatch.Slots, Window: cfg.HoldBatch.Window, MaxSize: cfg.HoldBatch.Max}
	if o.UncachedReads {
		rcfg.ReadCacheTTL = 0
	}
	if o.Locks != nil {
		locks = o.Locks
	}
	svc := reserve.New(st, locks, caches, gateway, log, reg, rcfg)
	agg, closeProviders, err := newAggregator(cfg, o, caches, log, reg)
	if err != nil {
		return nil, err
	}
	a.onClose(closeProviders)
	tripSvc := aggregator.NewTripService(st, agg)
	tripSvc.Lease = cfg.TripLease
	a.Reserve, a.Aggregator, a.Trips = svc, agg, tripSvc

	// Keys' last use is kept in memory and written at most once a minute
	// per key (keys list): no write per request.
	a.keyUsage = apikey.NewUsage(time.Now)
	hub := a.startStreams(cfg, log)
	a.handler, err = httpapi.NewServer(httpapi.Deps{Streams: hub, StreamMaxPerKey: cfg.Streams.MaxPerKey,
		StreamMaxTotal: cfg.Streams.MaxTotal, StreamHeartbeat: cfg.Streams.Heartbeat, KeyUsage: a.keyUsage, Store: st, Reserve: svc, Aggregator: agg, Trips: tripSvc, Logger: log, Registry: reg,
		Ready: a.ready, Limiter: limiter, Tracing: env.Tracing, KeyCacheTTL: cfg.APIKeyCacheTTL, IdempotencyLease: cfg.IdempotencyLease,
		QueueTokenSecret: []byte(cfg.QueueTokenSecret),
		MaxInFlight:      cfg.MaxInFlight, MaxInFlightPerKey: cfg.MaxInFlightPerKey,
		AuthFailureRate: cfg.AuthFailureLimit, AuthFailureBurst: cfg.AuthFailureBurst,
		WebhookAllowPrivate: cfg.Webhooks.AllowPrivate})
	if err != nil {
		return nil, err
	}

	// Webhooks: every replica (with WEBHOOK_DELIVER) streams events to
	// endpoints and retries failed deliveries; leases in the database share
	// the work (package webhook).
	hooks := webhook.New(st, webhookConfig(cfg.Webhooks), log, reg)
	a.onClose(func() { hooks.Close(webhook.Timeout) })
	// New events wake the streams instead of waiting for their next pass
	// (WEBHOOK_INTERVAL still runs it: a sequencer pass on another replica
	// wakes nothing here).
	streamWake := make(chan struct{}, 1)
	a.OnSequenced(func(_ context.Context, sq store.Sequenced) {
		if sq.N > 0 {
			jobs.Kick(streamWake)
		}
	})

	runs := []jobs.Job{
		{Name: "expire_holds", Every: cfg.SweepInterval, Run: svc.SweepExpired},
		{Name: "recover_payments", Every: cfg.SweepInterval, Run: svc.RecoverPayments},
		{Name: "recover_refunds", Every: 2 * cfg.SweepInterval, Run: svc.RecoverRefunds},
		{Name: "book_trips", Every: 500 * time.Millisecond, Run: tripSvc.Work},
		svc.CleanIdempotencyKeysJob(time.Hour, idempotency.Retention),
		jobs.QueueDepth(reg, cfg.SweepInterval, store.WorkQueues, st.WorkDepth),
		{Name: "check_dependencies", Every: cfg.SweepInterval, Run: deps.Run},
		{Name: "flush_key_usage", Every: time.Minute, Run: a.FlushKeyUsage},
		jobs.EventsSequence(st, cfg.EventSequenceInterval, a.notifySequenced),
		jobs.EventsPrune(st, cfg.EventRetention),
		{Name: "webhook_gauges", Every: cfg.SweepInterval, Run: hooks.Gauges},
		{Name: "webhook_prune", Every: time.Hour, Run: hooks.Prune},
	}
	if cfg.Webhooks.Deliver {
		runs = append(runs,
			jobs.Job{Name: "webhook_stream", Every: cfg.Webhooks.Interval, Run: hooks.Stream, Wake: streamWake},
			jobs.Job{Name: "webhook_dispatch", Every: cfg.Webhooks.Interval, Run: hooks.Dispatch})
	}
	a.runner = jobs.NewRunner(log, reg, runs...)
	return a, nil
}

// Handler serves the API.
func (a *App) Handler() http.Handler { return a.handler }

// Ready returns the dependency checks /readyz runs, each recording its
// result in reservd_dependency_up.
func (a *App) Ready() []health.Check { return a.ready }

// Drain makes /readyz answer 503 from now on, so that load balancers take
// this replica out of rotation before it stops serving.
func (a *App) Drain() { a.draining.Store(true) }

// FlushKeyUsage writes the API keys' last use recorded since the last
// flush; serve calls it once more after its last request.
func (a *App) FlushKeyUsage(ctx context.Context) (int, error) {
	return a.keyUsage.Flush(ctx, a.Store.APIKeyTouch)
}

// OnSequenced is the seam through which whatever serves events live (the
// event and seat streams, the webhook fan-out) learns of new ones: f is
// called after every pass of this replica's sequencer (the events_sequence
// job) that gave events their positions or found committed events' flights
// waiting for theirs, with what the pass did (N is 0 in the latter). It is
// only a wake-up: readers page the feed from their own cursor
// (store.Events.EventList), so a call missed or coalesced costs latency,
// never an event; and a pass that ran on another replica calls nothing
// here. f runs in the sequencer's loop: it must be quick (signal, or one
// NOTIFY; don't work). Add hooks before RunJobs.
func (a *App) OnSequenced(f func(context.Context, store.Sequenced)) {
	a.sequencedMu.Lock()
	defer a.sequencedMu.Unlock()
	a.sequenced = append(a.sequenced, f)
}

// notifySequenced calls the OnSequenced hooks.
func (a *App) notifySequenced(ctx context.Context, sq store.Sequenced) {
	a.sequencedMu.Lock()
	hooks := a.sequenced
	a.sequencedMu.Unlock()
	for _, f := range hooks {
		f(ctx, sq)
	}
}

// RunJobs runs the background jobs until ctx is done and every pass in
// flight has finished.
func (a *App) RunJobs(ctx context.Context) { a.runner.Run(ctx) }

// Close releases what New opened (providers, Redis client, store), last
// opened first. Stop serving and running jobs before.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

func (a *App) onClose(f func()) { a.closers = append(a.closers, f) }

// poolCollector is a store that exports its connection pools' statistics.
type poolCollector interface {
	Collector() prometheus.Collector
}

// Migrate applies the migrations to st, or through DATABASE_DIRECT_URL
// when it is set: goose's advisory lock is held by a session, which a
// transaction-pooling PgBouncer does not keep between statements.
// It returns the names of the migrations it applied.
func Migrate(ctx context.Context, cfg config.Config, st store.Store) ([]string, error) {
	if cfg.DatabaseDirectURL == "" {
		return st.MigrateUp(ctx)
	}
	direct, err := postgres.Open(ctx, cfg.DatabaseDirectURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_DIRECT_URL: %w", err)
	}
	defer direct.Close()
	return direct.MigrateUp(ctx)
}

// OpenStore opens the configured engine, unmigrated. fresh reports that the
// embedded database file did not exist before.
func OpenStore(ctx context.Context, cfg config.Config) (st store.Store, fresh bool, err error) {
	if !cfg.Embedded() {
		pg, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, false, err
		}
		return pg, false, nil
	}
	path := filepath.Join(cfg.DataDir, "reservd.db")
	_, statErr := os.Stat(path)
	lite, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, false, err
	}
	return lite, errors.Is(statErr, os.ErrNotExist), nil
}

// webhookConfig is the dispatcher's configuration from the WEBHOOK_* settings.
func webhookConfig(c config.Webhooks) webhook.Config {
	w := webhook.DefaultConfig()
	w.AllowPrivate, w.RetryBase, w.RetryFor = c.AllowPrivate, c.RetryBase, c.RetryFor
	w.Concurrency, w.PerEndpoint = c.Concurrency, c.PerEndpoint
	return w
}

// newAggregator builds the flight aggregator: the configured providers, or
// with none configured, the built-in simulators of all three.
func newAggregator(cfg config.Config, o Overrides, cache cache.Cache, log *slog.Logger, reg prometheus.Registerer) (*aggregator.Aggregator, func(), error) {
	rates, err := fx.Load(cfg.FXRatesFile)
	if err != nil {
		return nil, nil, err
	}
	// Every provider request is a client span, and carries the W3C
	// traceparent to the provider.
	hc := &http.Client{Transport: otelhttp.NewTransport(&http.Transport{
		Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 30 * time.Second,
	})}
	acfg := aggregator.DefaultConfig()
	acfg.CallTimeout, acfg.SearchBudget = cfg.ProviderTimeout, cfg.SearchBudget
	if o.Aggregator != nil {
		o.Aggregator(&acfg)
	}
	var sources []aggregator.Source
	closeAll := hc.CloseIdleConnections
	switch {
	case o.Providers != nil:
		sources = o.Providers(hc)
	case cfg.SimulateProviders():
		sims, err := simset.Start()
		if err != nil {
			return nil, nil, fmt.Errorf("start provider simulators: %w", err)
		}
		closeAll = func() { hc.CloseIdleConnections(); sims.Close() } // #nosec G104 -- stopping the in-process simulators at shutdown; nothing to flush
		for _, p := range sims.Providers(hc) {
			sources = append(sources, aggregator.Source{Provider: p, Simulated: true})
		}
		log.Info("no flight provider configured: using the built-in simulators", "urls", sims.URLs)
	default:
		for _, p := range registry.All() {
			if v := cfg.Providers[p.Name]; p.Configured(v) {
				sources = append(sources, aggregator.Source{Provider: p.New(v, hc)})
			}
		}
	}
	return aggregator.New(sources, rates, cache, log, reg, acfg), closeAll, nil
}
