// Package httpapi is reservd's HTTP surface: the routes of docs/API.md, the
// middleware around them (request ids, access logs, metrics, auth, panics),
// strict JSON decoding and the one mapper from errors to responses.
package httpapi

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/health"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/ratelimit"
	"github.com/reservd/reservd/internal/reserve"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/stream"
	"github.com/reservd/reservd/internal/telemetry"
)

// Deps is everything the HTTP surface needs, passed explicitly; NewServer
// refuses a missing one (internal/app builds them all).
type Deps struct {
	Store store.Store
	// Reserve holds, books, releases and cancels seats.
	Reserve *reserve.Service
	// Aggregator searches third-party providers; Trips books through them.
	Aggregator *aggregator.Aggregator
	Trips      *aggregator.TripService
	Logger     *slog.Logger
	// Registry receives the HTTP metrics and serves /metrics.
	Registry *prometheus.Registry
	// Ready lists the dependencies /readyz reports on.
	Ready []health.Check
	// Limiter limits requests per API key (ratelimit.Unlimited for none).
	Limiter ratelimit.Limiter
	// Tracing says whether spans are recorded (OTEL_* configured them). Without
	// it, requests still carry a caller's W3C trace context into logs and
	// provider calls, without the cost of otelhttp's instrumentation.
	Tracing bool
	// IdempotencyLease is how long a keyed request owns its Idempotency-Key
	// before a repeat may take it over (IDEMPOTENCY_LEASE; 0: the default);
	// a keyed request has half of it to run (idempotency.RunLimit).
	IdempotencyLease time.Duration
	// KeyCacheTTL is how long an API key, once looked up, is trusted
	// without asking the store again (API_KEY_CACHE_TTL; 0: ask every time).
	KeyCacheTTL time.Duration
	// MaxInFlight caps the requests served at once (MAX_IN_FLIGHT; past it
	// 503 overloaded), MaxInFlightPerKey those of one API key
	// (MAX_IN_FLIGHT_PER_KEY; past it 429 rate_limited). 0: no cap.
	MaxInFlight, MaxInFlightPerKey int
	// AuthFailureRate and AuthFailureBurst limit the invalid API keys one
	// client address may present (AUTH_FAILURE_LIMIT, AUTH_FAILURE_BURST;
	// past them 429 rate_limited before any lookup). 0: no limit.
	AuthFailureRate  float64
	AuthFailureBurst int
	// KeyUsage records each authenticated request's key use in memory (the
	// caller flushes it to the store): no write per request.
	KeyUsage *apikey.Usage
	// QueueTokenSecret signs waiting-room Queue-Tokens (QUEUE_TOKEN_SECRET,
	// at least 32 bytes, the same on every replica). Empty: a secret is
	// generated once and kept in the database.
	QueueTokenSecret []byte
	// Streams serves the server-sent event streams; StreamMaxPerKey and
	// StreamMaxTotal cap them (STREAM_MAX_PER_KEY, STREAM_MAX_TOTAL; 0: no
	// cap), StreamHeartbeat spaces idle streams' comment lines
	// (STREAM_HEARTBEAT; 0: 15s).
	Streams                         *stream.Hub
	StreamMaxPerKey, StreamMaxTotal int
	StreamHeartbeat                 time.Duration
	// WebhookAllowPrivate accepts webhook endpoints on http:// and on
	// loopback, private and link-local addresses (WEBHOOK_ALLOW_PRIVATE).
	WebhookAllowPrivate bool
}

// Server serves the API. Build it with NewServer.
type Server struct {
	store    store.Store
	reserve  *reserve.Service
	limiter  ratelimit.Limiter
	agg      *aggregator.Aggregator
	trips    *aggregator.TripService
	log      *slog.Logger
	registry *prometheus.Registry
	ready    []health.Check
	metrics  *httpMetrics
	keys     *keyCache
	inflight *inflight
	// authFailures limits bad keys per client address; nil: no limit.
	authFailures *authFailures
	idem         *idempotency.Guard
	keyUsage     *apikey.Usage
	// queue signs and verifies waiting-room tokens.
	queue *queueTokens
	// streams fans changes out to stream clients, streamCaps caps them.
	streams         *stream.Hub
	streamCaps      streamCaps
	streamHeartbeat time.Duration
	// webhookAllowPrivate: see Deps.WebhookAllowPrivate.
	webhookAllowPrivate bool
	// promHandler serves /metrics from registry.
	promHandler http.Handler
	mux         *http.ServeMux
}

// continueTrace puts a caller's W3C trace context (traceparent, baggage)
// into the request's context, as otelhttp would, for a server that records
// no spans of its own.
func continueTrace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Traceparent") == "" && r.Header.Get("Baggage") == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// NewServer wires every route of the API to deps, all of which it needs.
func NewServer(deps Deps) (http.Handler, error) {
	var missing []string
	for _, d := range []struct {
		name   string
		absent bool
	}{
		{"Store", deps.Store == nil}, {"Reserve", deps.Reserve == nil}, {"Aggregator", deps.Aggregator == nil},
		{"Trips", deps.Trips == nil}, {"Logger", deps.Logger == nil}, {"Registry", deps.Registry == nil},
		{"Limiter", deps.Limiter == nil}, {"Streams", deps.Streams == nil}, {"KeyUsage", deps.KeyUsage == nil},
	} {
		if d.absent {
			missing = append(missing, d.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("httpapi: missing dependencies: %s", strings.Join(missing, ", "))
	}
	s := &Server{
		store:        deps.Store,
		reserve:      deps.Reserve,
		limiter:      deps.Limiter,
		agg:          deps.Aggregator,
		trips:        deps.Trips,
		log:          deps.Logger,
		registry:     deps.Registry,
		ready:        deps.Ready,
		mux:          http.NewServeMux(),
		inflight:     newInflight(deps.MaxInFlight, deps.MaxInFlightPerKey),
		authFailures: newAuthFailures(deps.AuthFailureRate, deps.AuthFailureBurst),
		keyUsage:     deps.KeyUsage,
		queue: &queueTokens{secret: deps.QueueTokenSecret, store: deps.Store,
			sales: newSaleCache()},
		streams:         deps.Streams,
		streamCaps:      streamCaps{newInflight(deps.StreamMaxTotal, deps.StreamMaxPerKey)},
		streamHeartbeat: cmp.Or(deps.StreamHeartbeat, 15*time.Second),
	}
	s.webhookAllowPrivate = deps.WebhookAllowPrivate
	s.keys = newKeyCache(deps.KeyCacheTTL, s.store.APIKeyPrincipal)
	// Lines logged with a request's context carry its request and trace ids.
	s.log = slog.New(telemetry.NewLogHandler(s.log.Handler()))
	s.idem = idempotency.NewGuard(s.store, s.log, deps.IdempotencyLease)
	s.metrics = newHTTPMetrics(s.registry)
	s.promHandler = promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.endpoint(rt))
	}
	h := s.observe(s.recoverPanics(http.HandlerFunc(s.dispatch)))
	if !deps.Tracing {
		return continueTrace(h), nil
	}
	// The server span (from the global tracer provider, continuing a W3C
	// traceparent) wraps everything, so that the access line carries its
	// trace id; endpoint renames it after the route. Scrapes and liveness
	// probes are not traced.
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/metrics" && r.URL.Path != "/healthz" }),
	), nil
}

// dispatch routes a request, answering unknown paths and methods in the
// API's own error envelope rather than ServeMux's plain text.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) == 0 {
		s.writeError(w, r, errNotFound)
		return
	}
	for _, m := range allowed {
		w.Header().Add("Allow", m)
	}
	s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "Method " + r.Method + " is not allowed here"})
}

// apiHandler is a handler that returns its error for writeError to answer.
type apiHandler func(w http.ResponseWriter, r *http.Request) error
