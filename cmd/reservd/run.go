package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/demo"
	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/health"
	"github.com/reservd/reservd/internal/httpapi"
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
	"github.com/reservd/reservd/internal/telemetry"
)

const usage = `usage: reservd [command]

commands:
  serve                              run the HTTP service (the default)
  migrate                            apply pending database migrations and exit
  keys create --name NAME [--admin]  create an API key and print it once

Configuration comes from the environment; see the README.
`

// run is the whole program, callable from tests: args without the program
// name, the environment through getenv, and the process's output streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "serve":
		if len(args) > 0 {
			return fmt.Errorf("serve takes no arguments, got %q", args)
		}
		return serve(ctx, cfg, getenv, log, stdout)
	case "migrate":
		st, _, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := migrate(ctx, cfg, st); err != nil {
			return err
		}
		log.Info("migrations applied", "engine", st.Engine())
		return nil
	case "keys":
		return keys(ctx, cfg, args, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newLogger writes text or JSON lines; a line logged with a request's or a
// job's context carries its request id and trace and span ids.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(telemetry.NewLogHandler(h))
}

// version is the module version the binary was built from ("(devel)" for
// a local build), the service.version of its spans.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// poolCollector is a store that exports its connection pools' statistics.
type poolCollector interface {
	Collector() prometheus.Collector
}

// openStore opens the configured engine. fresh reports that the embedded
// database file did not exist before.
func openStore(ctx context.Context, cfg config.Config) (st store.Store, fresh bool, err error) {
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

func serve(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger, stdout io.Writer) error {
	log.Info("starting reservd", "config", cfg)
	// Tracing first: the store, Redis client and HTTP layers take their
	// tracers from it as they are built.
	tcfg, err := telemetry.ReadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	shutdownTracing, err := telemetry.Setup(ctx, getenv, version(), telemetry.WithConsoleWriter(stdout))
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(flushCtx); err != nil {
			log.Warn("flushing traces failed", "error", err.Error())
		}
	}()
	log.Info("tracing", "exporters", tcfg.Exporters, "protocol", tcfg.Protocol, "endpoint", tcfg.Endpoint, "service_name", tcfg.ServiceName)

	st, fresh, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := migrate(ctx, cfg, st); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pc, ok := st.(poolCollector); ok {
		reg.MustRegister(pc.Collector())
	}
	checks := []health.Check{{Name: "database", Check: st.Ping}}

	// Seat locks and caches: Redis when configured, else in process. Either
	// way only a fast path; the database decides.
	var locks seatlock.Store = seatlock.NewMemory(nil)
	var limiter ratelimit.Limiter
	if cfg.RateLimit > 0 {
		limiter = ratelimit.NewMemory(cfg.RateLimit, cfg.RateBurst)
	}
	if cfg.RedisURL != "" {
		rdb, err := seatlock.NewRedisClient(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		defer rdb.Close()
		// Command names only: values (cache entries, owners) stay out of spans.
		if err := redisotel.InstrumentTracing(rdb, redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
			return fmt.Errorf("trace redis: %w", err)
		}
		if locks, err = seatlock.NewRedis(rdb, seatlock.WithPrefix(cfg.RedisPrefix)); err != nil {
			return err
		}
		if cfg.RateLimit > 0 {
			limiter = ratelimit.NewRedis(rdb, cfg.RateLimit, cfg.RateBurst, ratelimit.WithPrefix(cfg.RedisPrefix))
		}
		checks = append(checks, health.Check{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	}
	deps := health.NewMonitor(log, reg, checks...)
	var ready []httpapi.Check
	for _, c := range deps.Checks() {
		ready = append(ready, httpapi.Check{Name: c.Name, Check: c.Check})
	}
	// From SIGTERM on, /readyz fails so that load balancers drain this
	// replica while it still serves (DRAIN_DELAY).
	var draining atomic.Bool
	ready = append(ready, httpapi.Check{Name: "draining", Check: func(context.Context) error {
		if draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	}})

	if cfg.Embedded() && cfg.SeedDemo {
		if err := seedDemo(ctx, cfg, st, fresh, log, stdout); err != nil {
			return err
		}
	}

	rcfg := reserve.DefaultConfig()
	rcfg.HoldTTL, rcfg.HoldMaxLifetime, rcfg.HoldMaxSeats = cfg.HoldTTL, cfg.HoldMaxLifetime, cfg.HoldMaxSeats
	rcfg.PaymentLease = cfg.PaymentLease
	svc := reserve.New(st, locks, payment.NewTestGateway(), log, reg, rcfg)
	agg, closeProviders, err := newAggregator(cfg, locks, log, reg)
	if err != nil {
		return err
	}
	defer closeProviders()
	tripSvc := aggregator.NewTripService(st, agg)
	tripSvc.Lease = cfg.TripLease
	handler := httpapi.NewServer(httpapi.Deps{Store: st, Reserve: svc, Aggregator: agg, Trips: tripSvc, Logger: log, Registry: reg, Ready: ready, Limiter: limiter,
		Tracing: tcfg.Enabled(), KeyCacheTTL: cfg.APIKeyCacheTTL, MaxInFlight: cfg.MaxInFlight, MaxInFlightPerKey: cfg.MaxInFlightPerKey,
		AuthFailureRate: cfg.AuthFailureLimit, AuthFailureBurst: cfg.AuthFailureBurst,
		QueueTokenSecret: []byte(cfg.QueueTokenSecret)})

	runner := jobs.NewRunner(log, reg,
		jobs.Job{Name: "expire_holds", Every: cfg.SweepInterval, Run: svc.SweepExpired},
		jobs.Job{Name: "recover_payments", Every: cfg.SweepInterval, Run: svc.RecoverPayments},
		jobs.Job{Name: "recover_refunds", Every: 2 * cfg.SweepInterval, Run: svc.RecoverRefunds},
		jobs.Job{Name: "book_trips", Every: 500 * time.Millisecond, Run: tripSvc.Work},
		jobs.Job{Name: "clean_idempotency_keys", Every: time.Hour, Run: func(ctx context.Context) (int, error) {
			n, err := svc.CleanIdempotencyKeys(ctx, idempotencyKeyAge)
			return int(n), err
		}},
		jobs.QueueDepth(reg, cfg.SweepInterval, store.WorkQueues, st.WorkDepth),
		jobs.Job{Name: "check_dependencies", Every: cfg.SweepInterval, Run: deps.Run},
	)
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); runner.Run(jobsCtx) }()
	defer func() { stopJobs(); <-jobsDone }()

	ln, err := listen(cfg.Addr, cfg.MaxConnections)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: handler,
		// A slow or stalled client cannot hold a connection forever.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if cfg.DebugAddr != "" {
		stop, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	log.Info("listening", "addr", ln.Addr().String(), "engine", st.Engine())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Drain: /readyz answers 503 and answers close their connections, while
	// every request is still served, until the load balancer has seen it.
	draining.Store(true)
	srv.SetKeepAlivesEnabled(false)
	if cfg.DrainDelay > 0 {
		log.Info("shutting down: /readyz answers 503 while load balancers drain this replica", "drain_delay", cfg.DrainDelay)
		select {
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		case <-time.After(cfg.DrainDelay):
		}
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// migrate applies the migrations to st, or through DATABASE_DIRECT_URL when
// it is set: goose's advisory lock is held by a session, which a
// transaction-pooling PgBouncer does not keep between statements.
func migrate(ctx context.Context, cfg config.Config, st store.Store) error {
	if cfg.DatabaseDirectURL == "" {
		return st.Migrate(ctx)
	}
	direct, err := postgres.Open(ctx, cfg.DatabaseDirectURL)
	if err != nil {
		return fmt.Errorf("DATABASE_DIRECT_URL: %w", err)
	}
	defer direct.Close()
	return direct.Migrate(ctx)
}

// newAggregator builds the flight aggregator: the configured providers, or
// with none configured, the built-in simulators of all three.
func newAggregator(cfg config.Config, cache aggregator.Cache, log *slog.Logger, reg prometheus.Registerer) (*aggregator.Aggregator, func(), error) {
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
	var sources []aggregator.Source
	closeAll := func() {}
	if cfg.SimulateProviders() {
		sims, err := simset.Start()
		if err != nil {
			return nil, nil, fmt.Errorf("start provider simulators: %w", err)
		}
		closeAll = func() { sims.Close() }
		for _, p := range sims.Providers(hc) {
			sources = append(sources, aggregator.Source{Provider: p, Simulated: true})
		}
		log.Info("no flight provider configured: using the built-in simulators", "urls", sims.URLs)
	} else {
		for _, p := range registry.All() {
			if v := cfg.Providers[p.Name]; p.Configured(v) {
				sources = append(sources, aggregator.Source{Provider: p.New(v, hc)})
			}
		}
	}
	return aggregator.New(sources, rates, cache, log, reg, acfg), closeAll, nil
}

// idempotencyKeyAge is how long idempotency keys are kept (the contract says at least 24 h).
const idempotencyKeyAge = 25 * time.Hour

// seedDemo loads the demo catalogue into an empty embedded database and,
// the first time, prints a customer key with a curl line to try it.
func seedDemo(ctx context.Context, cfg config.Config, st store.Store, fresh bool, log *slog.Logger, stdout io.Writer) error {
	has, err := st.FlightExists(ctx)
	if err != nil || has {
		return err
	}
	n, err := demo.Seed(ctx, st, time.Now())
	if err != nil {
		return err
	}
	log.Info("loaded the demo catalogue", "flights", n)
	if !fresh {
		return nil
	}
	key, digest := apikey.Generate()
	if _, err := st.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "demo", Digest: digest, Admin: false}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
A fresh embedded database was created with a demo catalogue and this customer API key
(shown once; only its hash is stored):

  %s

Hold two economy seats on flight 1 (10 minutes to book them):

  curl -s -X POST http://%s/holds -H 'Authorization: Bearer %s' -H 'Idempotency-Key: demo-1' -H 'Content-Type: application/json' -d '{"flight_id": 1, "cabin": "economy", "quantity": 2}'

`, key, curlHost(cfg.Addr), key)
	return nil
}

// curlHost turns a listen address into something curl can reach.
func curlHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func keys(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: reservd keys create --name NAME [--admin]")
	}
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "who the key is for")
	isAdmin := fs.Bool("admin", false, "grant admin rights")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" || fs.NArg() > 0 {
		return errors.New("usage: reservd keys create --name NAME [--admin]")
	}
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := migrate(ctx, cfg, st); err != nil {
		return err
	}
	key, digest := apikey.Generate()
	id, err := st.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: *name, Digest: digest, Admin: *isAdmin})
	if err != nil {
		return err
	}
	role := "customer"
	if *isAdmin {
		role = "admin"
	}
	fmt.Fprintf(stdout, "created %s key %d for %q; it is shown only this once:\n%s\n", role, id, *name, key)
	return nil
}

// serveDebug serves net/http/pprof on addr until stop is called.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on DEBUG_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	log.Info("serving pprof", "addr", ln.Addr().String())
	return func() { srv.Close(); <-done }, nil
}
