package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"

	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/telemetry"
)

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

// serve builds the service with app.New and serves it: listening, signals
// and graceful shutdown are all that is left here.
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

	a, err := app.New(ctx, cfg, app.Env{Log: log, Stdout: stdout, Tracing: tcfg.Enabled()}, app.Overrides{})
	if err != nil {
		return err
	}
	defer a.Close()

	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); a.RunJobs(jobsCtx) }()
	defer func() { stopJobs(); <-jobsDone }()

	ln, err := listen(cfg.Addr, cfg.MaxConnections)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: a.Handler(),
		// A slow or stalled client cannot hold a connection forever.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Streams never go idle: Shutdown ends them as it begins, rather than
	// wait SHUTDOWN_TIMEOUT for them (their clients reconnect elsewhere).
	srv.RegisterOnShutdown(a.CloseStreams)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if cfg.DebugAddr != "" {
		stop, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	log.Info("listening", "addr", ln.Addr().String(), "engine", a.Store.Engine())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Drain: /readyz answers 503 and answers close their connections, while
	// every request is still served, until the load balancer has seen it.
	a.Drain()
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
	if _, err := a.FlushKeyUsage(shutdownCtx); err != nil {
		log.Warn("recording API keys' last use failed", "error", err.Error())
	}
	log.Info("stopped")
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
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "error", err.Error())
		}
	}()
	log.Info("serving pprof", "addr", ln.Addr().String())
	return func() { srv.Close(); <-done }, nil // #nosec G104 -- stopping the pprof listener at shutdown; its Serve error is logged
}
