package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/telemetry"
)

type ctxKey int

const (
	infoKey ctxKey = iota
	principalKey
)

// requestInfo is filled in as a request travels through the middleware and
// read back by the access log.
type requestInfo struct {
	id      string
	route   string
	arrived time.Time // when observe first saw the request
}

// arrival is when the request reached the server's middleware, or now for
// a request that did not come through it.
func arrival(ctx context.Context) time.Time {
	if ri := info(ctx); ri != nil && !ri.arrived.IsZero() {
		return ri.arrived
	}
	return time.Now()
}

func info(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(infoKey).(*requestInfo)
	return ri
}

// principal returns who the request acts for; only set on authenticated routes.
func principal(ctx context.Context) apikey.Principal {
	p, _ := ctx.Value(principalKey).(apikey.Principal)
	return p
}

type httpMetrics struct {
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	replays  prometheus.Counter
	limited  prometheus.Counter
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reservd_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern, method and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reservd_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	m.replays = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "reservd_idempotent_replays_total",
		Help: "Responses replayed for a repeated Idempotency-Key.",
	})
	m.limited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "reservd_rate_limited_total",
		Help: "Requests refused with 429 by the per-API-key rate limit or cap on requests in flight.",
	})
	reg.MustRegister(m.duration, m.inflight, m.replays, m.limited)
	return m
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id, which every log line written with the
// request's context carries (with the trace id, see telemetry.NewLogHandler),
// then logs one access line and records its duration once it is answered.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ri := &requestInfo{id: id, route: "unmatched", arrived: start}
		w.Header().Set("X-Request-Id", id)
		securityHeaders(w.Header())
		sw := &statusWriter{ResponseWriter: w}
		s.metrics.inflight.Inc()
		defer s.metrics.inflight.Dec()
		ctx := telemetry.WithLogAttrs(context.WithValue(r.Context(), infoKey, ri), slog.String("request_id", id))
		next.ServeHTTP(sw, r.WithContext(ctx))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.duration.WithLabelValues(ri.route, methodLabel(r.Method), statusClass(sw.status)).Observe(elapsed.Seconds())
		s.log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("route", ri.route),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recoverPanics turns a panic in a handler into a logged 500.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// endpoint wraps one route: it names the route for logs, metrics and the
// request's span ("POST /holds"), enforces its access level, and answers
// its errors.
// writeDeadline bounds a change whose client has gone away.
const writeDeadline = 30 * time.Second

func (s *Server) endpoint(rt route) http.Handler {
	spanName := rt.method + " " + rt.pattern
	limit := bodyLimit(rt)
	// Probes and scrapes are answered whatever the load: a replica that
	// failed its liveness probe for being busy would be restarted for it.
	// Streams are in flight for as long as their clients watch: they have
	// caps of their own (streamCaps).
	capped := rt.pattern != "/healthz" && rt.pattern != "/readyz" && rt.pattern != "/metrics" && !isStream(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri := info(r.Context()); ri != nil {
			ri.route = rt.pattern
		}
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetName(spanName)
			span.SetAttributes(semconv.HTTPRoute(rt.pattern))
		}
		if capped {
			release, err := s.inflight.enter()
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			defer release()
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if rt.access != public {
			p, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if rt.access == admin && !p.Admin {
				s.writeError(w, r, errForbidden)
				return
			}
			if err := s.rateLimit(r, p); err != nil {
				s.writeError(w, r, err)
				return
			}
			if !isStream(rt) {
				release, err := s.inflight.enterKey(p.KeyID)
				if err != nil {
					s.metrics.limited.Inc()
					s.writeError(w, r, err)
					return
				}
				defer release()
			}
			r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		}
		if err := checkIdempotencyKey(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if rt.method != http.MethodGet {
			// A change, once started, runs to its end even if the client
			// goes away: cut off between its commit and what follows it
			// (the seats' fast-path keys, the stored answer), it would
			// leave them behind the database.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), writeDeadline)
			defer cancel()
			r = r.WithContext(ctx)
		}
		if err := s.idempotent(rt.idem, rt.idemTx, w, r, rt.handler); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (apikey.Principal, error) {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return apikey.Principal{}, errUnauthorized
	}
	digest := apikey.Digest(strings.TrimSpace(key))
	p, known := s.keys.cached(digest)
	if !known {
		addr := clientAddr(r)
		if err := s.authFailures.check(addr); err != nil {
			return apikey.Principal{}, err
		}
		var err error
		if p, err = s.keys.principal(r.Context(), digest); err != nil {
			if err == apikey.ErrNotFound {
				if err := s.authFailures.failed(r.Context(), addr); err != nil {
					return apikey.Principal{}, err
				}
				return apikey.Principal{}, errUnauthorized
			}
			return apikey.Principal{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	p.Digest = string(digest)
	s.keyUsage.Record(p.KeyID)
	return p, nil
}

// rateLimit spends one of the API key's tokens. A limiter that fails lets
// the request through: limits protect the service, they decide nothing.
func (s *Server) rateLimit(r *http.Request, p apikey.Principal) error {
	ok, retry, err := s.limiter.Allow(r.Context(), fmt.Sprintf("key:%d", p.KeyID))
	if err != nil {
		s.log.WarnContext(r.Context(), "rate limiter unavailable; allowing the request", "error", err.Error())
		return nil
	}
	if ok {
		return nil
	}
	s.metrics.limited.Inc()
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "Too many requests for this API key; slow down",
		RetryAfter: max(1, int((retry+time.Second-1)/time.Second))}
}

// checkIdempotencyKey rejects a malformed Idempotency-Key on any request:
// more or less than one, empty, over 255 characters, or not text (invalid
// UTF-8, which PostgreSQL refuses to store, or control characters).
func checkIdempotencyKey(r *http.Request) error {
	k, ok := r.Header["Idempotency-Key"]
	if !ok {
		return nil
	}
	if len(k) != 1 {
		return idemError(idempotency.ErrKeyInvalid)
	}
	return idemError(idempotency.CheckKey(k[0]))
}

// methodLabel is the method label of a request: a method of RFC 9110, or
// "other". The raw method of a request that matched no route comes from the
// client, and a label per made-up method would grow /metrics without bound.
// (The route label is bounded already: a route pattern, or "unmatched".)
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

var statusClasses = [...]string{"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"}

// statusClass is the code label of a status: "2xx", "4xx", …
func statusClass(status int) string {
	if c := status / 100; c >= 1 && c <= 5 {
		return statusClasses[c]
	}
	return "other"
}
