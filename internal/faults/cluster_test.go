package faults

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/payment"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simset"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/testdb"
)

// Targets of the faults.
const (
	targetPostgres  = "postgres"
	targetRedis     = "redis"
	targetProviders = "providers"
)

var targets = []string{targetPostgres, targetRedis, targetProviders}

// providerNames are the simulated providers, in the registry's order.
var providerNames = registry.Names()

// Tuning of the instances: production's shape, with short leases and
// intervals so that recovery happens within a test.
const (
	holdTTL         = 5 * time.Second
	holdMaxLifetime = 15 * time.Second
	paymentLease    = time.Second
	sweepInterval   = 500 * time.Millisecond
	tripLease       = 5 * time.Second
)

// cluster is one subtest's world: a database, proxies in front of every
// dependency, provider simulators, and reservd instances talking to all of
// them through the proxies.
type cluster struct {
	t       *testing.T
	toxi    *toxiclient.Client
	proxies map[string][]*toxiclient.Proxy // by target
	sims    *simset.Set
	gateway *payment.TestGateway
	// direct is an unproxied store for setup and the audit.
	direct *postgres.Store
	// dbURL and redisURL are the proxied addresses the instances use;
	// providerURLs are the proxied providers' base URLs.
	dbURL, redisURL string
	providerURLs    map[string]string
	prefix          string // Redis key prefix of this subtest
	errs            *errorLog
	nodes           []*node
}

// newCluster builds the world and starts n instances.
func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	ctx := t.Context()
	c := &cluster{t: t, gateway: payment.NewTestGateway(), proxies: map[string][]*toxiclient.Proxy{},
		providerURLs: map[string]string{}, errs: &errorLog{}}
	// Registered first, so torn down last: after the instances.
	c.toxi = startToxiproxy(t)

	direct := testdb.PostgresURL(t)
	st, err := postgres.Open(ctx, withParam(direct, "pool_max_conns", "2"))
	if err != nil {
		t.Fatalf("open the database directly: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	c.direct = st

	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	pg := proxy(t, c.toxi, "postgres", hostPort(u, "5432"))
	c.proxies[targetPostgres] = []*toxiclient.Proxy{pg}
	u.Host = pg.Listen
	// A pool of five connections per instance (production sizes it by
	// cores): enough for the storm and the jobs, and four subtests at once
	// stay well inside PostgreSQL's max_connections, which other tests share.
	c.dbURL = withParam(u.String(), "pool_max_conns", "5")

	ru, err := url.Parse(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rp := proxy(t, c.toxi, "redis", hostPort(ru, "6379"))
	c.proxies[targetRedis] = []*toxiclient.Proxy{rp}
	ru.Host = rp.Listen
	c.redisURL = ru.String()
	c.prefix = testdb.UniquePrefix(c.t)

	sims, err := simset.Start()
	if err != nil {
		t.Fatalf("start the provider simulators: %v", err)
	}
	t.Cleanup(func() { sims.Close() })
	c.sims = sims
	for _, name := range providerNames {
		su, err := url.Parse(sims.URLs[name])
		if err != nil {
			t.Fatal(err)
		}
		p := proxy(t, c.toxi, name, su.Host)
		c.proxies[targetProviders] = append(c.proxies[targetProviders], p)
		c.providerURLs[name] = "http://" + p.Listen
	}

	for i := range n {
		c.nodes = append(c.nodes, c.startNode(i))
	}
	t.Cleanup(c.stopNodes)
	return c
}

// withParam sets a query parameter of a database URL.
func withParam(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func hostPort(u *url.URL, defaultPort string) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), defaultPort)
	}
	return u.Host
}

// urls returns the instances' base URLs.
func (c *cluster) urls() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.url)
	}
	return out
}

// createKey makes an API key straight in the database, as `reservd keys
// create` does.
func (c *cluster) createKey(name string, admin bool) string {
	c.t.Helper()
	key, digest := apikey.Generate()
	if _, err := c.direct.APIKeyCreate(c.t.Context(), store.APIKeyCreateParams{Name: name, Digest: digest, Admin: admin}); err != nil {
		c.t.Fatalf("create API key: %v", err)
	}
	return key
}

// node is one reservd instance.
type node struct {
	name string
	url  string
	stop func()
}

// startNode builds an instance with app.New, as cmd/reservd's serve does,
// against the proxied database, Redis and providers.
func (c *cluster) startNode(i int) *node {
	t := c.t
	t.Helper()
	name := fmt.Sprintf("node%d", i)
	log := c.errs.logger(name).With("test", t.Name())

	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("default configuration: %v", err)
	}
	cfg.DatabaseURL, cfg.RedisURL, cfg.RedisPrefix = c.dbURL, c.redisURL, c.prefix
	cfg.HoldTTL, cfg.HoldMaxLifetime, cfg.PaymentLease = holdTTL, holdMaxLifetime, paymentLease
	cfg.SweepInterval, cfg.TripLease = sweepInterval, tripLease
	// As in production (RATE_LIMIT with REDIS_URL), a Redis limiter in
	// front of every request; high enough never to limit the storm.
	cfg.RateLimit, cfg.RateBurst = 1_000_000, 1_000_000
	a, err := app.New(t.Context(), cfg, app.Env{Log: log}, app.Overrides{
		Gateway: c.gateway,
		Providers: func(hc *http.Client) []aggregator.Source {
			var sources []aggregator.Source
			for _, p := range c.adapters(hc) {
				sources = append(sources, aggregator.Source{Provider: p, Simulated: true})
			}
			return sources
		},
		// Production's call timeout and search budget; an order call bounded
		// well inside the (short) trip lease, and a circuit that stays open
		// one second instead of thirty, so that a healed provider is back
		// within the test's bound on full service.
		Aggregator: func(acfg *aggregator.Config) {
			acfg.BookTimeout = 3 * time.Second
			acfg.BreakerOpenFor = time.Second
		},
	})
	if err != nil {
		t.Fatalf("%s: build the instance: %v", name, err)
	}

	jobsCtx, stopJobs := context.WithCancel(context.Background())
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); a.RunJobs(jobsCtx) }()

	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Config.ReadTimeout = 15 * time.Second
	srv.Config.WriteTimeout = 30 * time.Second
	srv.Config.IdleTimeout = 120 * time.Second
	srv.Config.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	srv.Start()

	var once sync.Once
	// Stop serving first, then the jobs, then close the clients.
	return &node{name: name, url: srv.URL, stop: func() {
		once.Do(func() {
			srv.Close()
			stopJobs()
			<-jobsDone
			a.Close()
		})
	}}
}

// adapters are the real provider adapters, built as simset.Providers builds
// them, but pointed at the proxies in front of the simulators.
func (c *cluster) adapters(hc *http.Client) []provider.Provider {
	var out []provider.Provider
	for _, p := range registry.All() {
		out = append(out, p.NewSimulated(c.providerURLs[p.Name], hc))
	}
	return out
}

// stopNodes stops every instance, in parallel (each may wait for a job
// pass in flight).
func (c *cluster) stopNodes() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
}

// errorLog keeps the instances' error lines, to explain a failure, and
// counts the lines that show recovery at work; with FAULTS_LOG=1 it also
// writes every line to stderr.
type errorLog struct {
	mu     sync.Mutex
	lines  map[string]int // error line → count
	order  []string
	events map[string]int // watched message → count
}

// watched are the log messages that show the service degrading and
// recovering, counted for the report.
var watched = []string{
	"seat fast path unavailable; using the database alone",
	"rate limiter unavailable; allowing the request",
	"recovered an interrupted booking",
	"refund deferred to recovery",
	"order outcome unknown; looking it up",
	"provider circuit changed",
}

// eventSummary reports how often each watched message was logged.
func (e *errorLog) eventSummary() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var parts []string
	for _, m := range watched {
		if n := e.events[m]; n > 0 {
			parts = append(parts, fmt.Sprintf("%q×%d", m, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (e *errorLog) logger(node string) *slog.Logger {
	var next slog.Handler = slog.DiscardHandler
	if os.Getenv("FAULTS_LOG") != "" {
		next = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return slog.New(&errorHandler{log: e, next: next}).With("node", node)
}

// summary returns the error lines, first seen first, with their counts.
func (e *errorLog) summary(limit int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for i, l := range e.order {
		if i == limit {
			fmt.Fprintf(&b, "  … %d more kinds\n", len(e.order)-limit)
			break
		}
		fmt.Fprintf(&b, "  %4d× %s\n", e.lines[l], l)
	}
	return b.String()
}

type errorHandler struct {
	log  *errorLog
	next slog.Handler
}

func (h *errorHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *errorHandler) Handle(ctx context.Context, r slog.Record) error {
	if slices.Contains(watched, r.Message) {
		h.log.mu.Lock()
		if h.log.events == nil {
			h.log.events = map[string]int{}
		}
		h.log.events[r.Message]++
		h.log.mu.Unlock()
	}
	if r.Level >= slog.LevelError {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" || a.Key == "job" || a.Key == "path" || a.Key == "method" {
				fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			}
			return true
		})
		line := b.String()
		if len(line) > 300 {
			line = line[:300] + "…"
		}
		h.log.mu.Lock()
		if h.log.lines == nil {
			h.log.lines = map[string]int{}
		}
		if h.log.lines[line] == 0 {
			h.log.order = append(h.log.order, line)
		}
		h.log.lines[line]++
		h.log.mu.Unlock()
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *errorHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &errorHandler{log: h.log, next: h.next.WithAttrs(attrs)}
}

func (h *errorHandler) WithGroup(name string) slog.Handler {
	return &errorHandler{log: h.log, next: h.next.WithGroup(name)}
}
