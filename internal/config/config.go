// Package config reads reservd's configuration from the environment once, at
// start, validates it, and describes it for the log with secrets masked.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/provider/registry"
)

// Config is every setting of the service. The names of the environment
// variables are in README.md ("Configuration").
type Config struct {
	// DebugAddr, when set, serves net/http/pprof there (DEBUG_ADDR; keep it
	// on loopback or a private network: profiles reveal internals).
	DebugAddr   string
	Addr        string // ADDR
	DatabaseURL string // DATABASE_URL; empty selects the embedded SQLite engine
	// DatabaseDirectURL reaches PostgreSQL without a transaction pooler
	// (DATABASE_DIRECT_URL), for what needs a session of its own: the
	// migrations' advisory lock. Empty: DATABASE_URL is direct.
	DatabaseDirectURL string
	DataDir           string        // DATA_DIR, where the embedded database lives
	RedisURL          string        // REDIS_URL; empty keeps locks, caches and limits in process
	RedisPrefix       string        // REDIS_PREFIX: namespace of every key, so deployments can share a Redis
	RedisCluster      bool          // REDIS_CLUSTER: REDIS_URL names Redis Cluster seed nodes (redis://h1:7001?addr=h2:7002)
	HoldTTL           time.Duration // HOLD_TTL
	HoldMaxLifetime   time.Duration // HOLD_MAX_LIFETIME
	HoldMaxSeats      int           // HOLD_MAX_SEATS
	// HoldMaxSeatsPerFlight and HoldMaxActive cap one customer's live holds
	// (seats on one flight, holds in all) so one key cannot hoard a flight;
	// 0 is no cap.
	HoldMaxSeatsPerFlight int           // HOLD_MAX_SEATS_PER_FLIGHT
	HoldMaxActive         int           // HOLD_MAX_ACTIVE
	HoldBatch             HoldBatch     // HOLD_BATCH, HOLD_BATCH_WINDOW, HOLD_BATCH_MAX
	Streams               Streams       // STREAM_MAX_PER_KEY, STREAM_MAX_TOTAL, STREAM_HEARTBEAT, STREAM_POLL_INTERVAL
	Webhooks              Webhooks      // WEBHOOK_*
	LogLevel              slog.Level    // LOG_LEVEL: debug, info, warn, error
	LogFormat             string        // LOG_FORMAT: text or json
	SeedDemo              bool          // SEED_DEMO
	ShutdownTimeout       time.Duration // SHUTDOWN_TIMEOUT: how long SIGTERM waits for in-flight work
	// DrainDelay is how long, after SIGTERM, /readyz answers 503 while
	// requests are still served, so that a load balancer stops sending
	// new ones before the listener closes (DRAIN_DELAY; 0: none).
	DrainDelay    time.Duration
	SweepInterval time.Duration // SWEEP_INTERVAL: how often expired holds are tidied and stuck payments recovered
	TripLease     time.Duration // TRIP_LEASE: how long a worker owns a trip before another may take it over
	PaymentLease  time.Duration // PAYMENT_LEASE: how long a booking request owns its payment before recovery may take it over
	// IdempotencyLease is how long a keyed change owns its Idempotency-Key
	// before a repeat may take it over, its replica having died
	// (IDEMPOTENCY_LEASE); a keyed change may run for half of it.
	IdempotencyLease time.Duration
	// EventSequenceInterval is how often the sequencer puts committed
	// events in order (EVENT_SEQUENCE_INTERVAL); EventRetention how long
	// events are kept (EVENT_RETENTION, at least MinEventRetention).
	EventSequenceInterval time.Duration
	EventRetention        time.Duration

	// APIKeyCacheTTL is how long a replica trusts an API key it has looked
	// up (API_KEY_CACHE_TTL; 0 looks every request up).
	APIKeyCacheTTL time.Duration

	RateLimit float64 // RATE_LIMIT: requests per second per API key (0: no limit)
	RateBurst int     // RATE_BURST: how many requests a key may send at once

	// MaxInFlight caps the requests served at once (MAX_IN_FLIGHT; past it
	// 503 overloaded) and MaxInFlightPerKey those of one API key
	// (MAX_IN_FLIGHT_PER_KEY; past it 429 rate_limited); 0 turns a cap off.
	MaxInFlight, MaxInFlightPerKey int

	// AuthFailureLimit and AuthFailureBurst limit the invalid API keys one
	// client address may present (AUTH_FAILURE_LIMIT per second,
	// AUTH_FAILURE_BURST at once; 0 turns the limit off).
	AuthFailureLimit float64
	AuthFailureBurst int

	// QueueTokenSecret signs waiting-room Queue-Tokens (QUEUE_TOKEN_SECRET,
	// at least 32 bytes, the same on every replica). Empty: a secret is
	// generated once and kept in the database, which replicas share.
	QueueTokenSecret string

	// MaxConnections caps the connections the listener holds open at once
	// (MAX_CONNECTIONS; 0: no cap); each costs a file descriptor.
	MaxConnections int

	ProviderTimeout time.Duration // PROVIDER_TIMEOUT: one call to a flight provider
	SearchBudget    time.Duration // SEARCH_BUDGET: one whole offer search
	FXRatesFile     string        // FX_RATES_FILE: exchange rates; empty uses the shipped table
	// Providers are the flight providers' settings by provider name, for
	// every provider of the registry (the variables are each entry's
	// Settings: DUFFEL_ACCESS_TOKEN and so on).
	Providers map[string]registry.Values
}

// Configured reports whether the provider named name has its credentials set.
func (c Config) Configured(name string) bool {
	p, ok := registry.Lookup(name)
	return ok && p.Configured(c.Providers[name])
}

// SimulateProviders reports whether no provider is configured, so the
// built-in simulators stand in for all of them.
func (c Config) SimulateProviders() bool {
	for _, p := range registry.All() {
		if p.Configured(c.Providers[p.Name]) {
			return false
		}
	}
	return true
}

// Load reads the configuration through getenv and reports every bad value.
func Load(getenv func(string) string) (Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	duration := func(name, def string) time.Duration {
		d, err := time.ParseDuration(env(name, def))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as %s", name, getenv(name), def))
		}
		return d
	}
	// limit reads a cap: a count, 0 for none.
	limit := func(name, def string) int {
		n, err := strconv.Atoi(env(name, def))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a count, 0 for no limit", name, getenv(name)))
		}
		return n
	}
	c := Config{
		Addr:                  env("ADDR", DefaultAddr),
		DebugAddr:             env("DEBUG_ADDR", ""),
		DatabaseURL:           env("DATABASE_URL", ""),
		DatabaseDirectURL:     env("DATABASE_DIRECT_URL", ""),
		DataDir:               env("DATA_DIR", "./data"),
		RedisURL:              env("REDIS_URL", ""),
		RedisPrefix:           env("REDIS_PREFIX", "reservd"),
		HoldTTL:               duration("HOLD_TTL", "10m"),
		HoldMaxLifetime:       duration("HOLD_MAX_LIFETIME", "30m"),
		LogFormat:             strings.ToLower(env("LOG_FORMAT", "text")),
		ShutdownTimeout:       duration("SHUTDOWN_TIMEOUT", "20s"),
		SweepInterval:         duration("SWEEP_INTERVAL", "5s"),
		TripLease:             duration("TRIP_LEASE", "30s"),
		PaymentLease:          duration("PAYMENT_LEASE", "30s"),
		IdempotencyLease:      duration("IDEMPOTENCY_LEASE", "1m"),
		EventSequenceInterval: duration("EVENT_SEQUENCE_INTERVAL", "100ms"),
		EventRetention:        duration("EVENT_RETENTION", "720h"),
		ProviderTimeout:       duration("PROVIDER_TIMEOUT", "2s"),
		SearchBudget:          duration("SEARCH_BUDGET", "3s"),
		FXRatesFile:           env("FX_RATES_FILE", ""),
		Providers:             map[string]registry.Values{},
	}
	for _, p := range registry.All() {
		c.Providers[p.Name] = p.Load(getenv)
	}
	n, err := strconv.Atoi(env("HOLD_MAX_SEATS", "10"))
	if err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("HOLD_MAX_SEATS=%q: want a positive integer", getenv("HOLD_MAX_SEATS")))
	}
	c.HoldMaxSeats = n
	c.HoldMaxSeatsPerFlight = limit("HOLD_MAX_SEATS_PER_FLIGHT", "10")
	c.HoldMaxActive = limit("HOLD_MAX_ACTIVE", "20")
	var batchErrs []error
	c.HoldBatch, batchErrs = loadHoldBatch(env)
	errs = append(errs, batchErrs...)
	var streamErrs []error
	c.Streams, streamErrs = loadStreams(env)
	errs = append(errs, streamErrs...)
	var webhookErrs []error
	c.Webhooks, webhookErrs = loadWebhooks(env)
	errs = append(errs, webhookErrs...)
	if err := c.LogLevel.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", getenv("LOG_LEVEL")))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want text or json", getenv("LOG_FORMAT")))
	}
	if c.APIKeyCacheTTL, err = time.ParseDuration(env("API_KEY_CACHE_TTL", "5s")); err != nil || c.APIKeyCacheTTL < 0 {
		errs = append(errs, fmt.Errorf("API_KEY_CACHE_TTL=%q: want a duration such as 5s, 0 for none", getenv("API_KEY_CACHE_TTL")))
	}
	if c.RateLimit, err = strconv.ParseFloat(env("RATE_LIMIT", "50"), 64); err != nil || c.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("RATE_LIMIT=%q: want requests per second, 0 for none", getenv("RATE_LIMIT")))
	}
	if c.RateBurst, err = strconv.Atoi(env("RATE_BURST", "100")); err != nil || c.RateBurst < 1 {
		errs = append(errs, fmt.Errorf("RATE_BURST=%q: want a positive integer", getenv("RATE_BURST")))
	}
	count := func(name, def string) int {
		n, err := strconv.Atoi(env(name, def))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number such as %s, 0 for no limit", name, getenv(name), def))
		}
		return n
	}
	c.MaxInFlight = count("MAX_IN_FLIGHT", "512")
	c.MaxInFlightPerKey = count("MAX_IN_FLIGHT_PER_KEY", "64")
	c.MaxConnections = count("MAX_CONNECTIONS", "1024")
	if c.AuthFailureLimit, err = strconv.ParseFloat(env("AUTH_FAILURE_LIMIT", "1"), 64); err != nil || c.AuthFailureLimit < 0 {
		errs = append(errs, fmt.Errorf("AUTH_FAILURE_LIMIT=%q: want failures per second, 0 for none", getenv("AUTH_FAILURE_LIMIT")))
	}
	if c.AuthFailureBurst, err = strconv.Atoi(env("AUTH_FAILURE_BURST", "20")); err != nil || c.AuthFailureBurst < 1 {
		errs = append(errs, fmt.Errorf("AUTH_FAILURE_BURST=%q: want a positive integer", getenv("AUTH_FAILURE_BURST")))
	}
	if c.DrainDelay, err = time.ParseDuration(env("DRAIN_DELAY", "0s")); err != nil || c.DrainDelay < 0 {
		errs = append(errs, fmt.Errorf("DRAIN_DELAY=%q: want a duration such as 5s, 0 for none", getenv("DRAIN_DELAY")))
	}
	if c.RedisCluster, err = strconv.ParseBool(env("REDIS_CLUSTER", "false")); err != nil {
		errs = append(errs, fmt.Errorf("REDIS_CLUSTER=%q: want true or false", getenv("REDIS_CLUSTER")))
	}
	if c.RedisCluster && c.RedisURL == "" {
		errs = append(errs, fmt.Errorf("REDIS_CLUSTER=true: set REDIS_URL to the cluster's seed nodes"))
	}
	seed, err := strconv.ParseBool(env("SEED_DEMO", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("SEED_DEMO=%q: want true or false", getenv("SEED_DEMO")))
	}
	c.SeedDemo = seed
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, fmt.Errorf("DATABASE_URL: want a postgres:// URL (leave it unset for the embedded database)"))
	}
	if c.DatabaseDirectURL != "" && (c.DatabaseURL == "" || !strings.HasPrefix(c.DatabaseDirectURL, "postgres://") && !strings.HasPrefix(c.DatabaseDirectURL, "postgresql://")) {
		errs = append(errs, fmt.Errorf("DATABASE_DIRECT_URL: want a postgres:// URL, and DATABASE_URL set"))
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		errs = append(errs, fmt.Errorf("REDIS_URL: want a redis:// or rediss:// URL"))
	}
	if c.QueueTokenSecret = getenv("QUEUE_TOKEN_SECRET"); c.QueueTokenSecret != "" && len(c.QueueTokenSecret) < 32 {
		errs = append(errs, fmt.Errorf("QUEUE_TOKEN_SECRET: want at least 32 bytes (or leave it unset to keep one in the database)"))
	}
	if c.IdempotencyLease > 0 && c.IdempotencyLease < idempotency.MinLease {
		errs = append(errs, fmt.Errorf("IDEMPOTENCY_LEASE=%q: want at least %s (a keyed change may run for half of it)", getenv("IDEMPOTENCY_LEASE"), idempotency.MinLease))
	}
	if c.EventRetention > 0 && c.EventRetention < MinEventRetention {
		errs = append(errs, fmt.Errorf("EVENT_RETENTION=%q: events are kept at least 30 days, want %s or more", getenv("EVENT_RETENTION"), MinEventRetention))
	}
	if c.HoldMaxLifetime < c.HoldTTL {
		errs = append(errs, fmt.Errorf("HOLD_MAX_LIFETIME (%s) must be at least HOLD_TTL (%s)", c.HoldMaxLifetime, c.HoldTTL))
	}
	if c.Embedded() && strings.TrimSpace(getenv("ADDR")) == "" {
		c.Addr = DemoAddr
	}
	return c, errors.Join(errs...)
}

// MinEventRetention is the least EVENT_RETENTION: the API promises that
// events are kept at least 30 days.
const MinEventRetention = 30 * 24 * time.Hour

// DefaultAddr is where reservd listens with DATABASE_URL set and ADDR
// unset: every interface, as a service in a container must.
const DefaultAddr = ":8080"

// DemoAddr is where the embedded database listens with ADDR unset: a demo
// that prints a working API key stays on this machine unless ADDR opens it.
const DemoAddr = "127.0.0.1:8080"

// Embedded reports whether the embedded SQLite engine is in use.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// LogValue describes the configuration for the log, with passwords masked.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("addr", c.Addr),
		slog.String("debug_addr", c.DebugAddr),
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.String("database_direct_url", maskURL(c.DatabaseDirectURL)),
		slog.String("data_dir", c.DataDir),
		slog.String("redis_url", maskURL(c.RedisURL)),
		slog.String("redis_prefix", c.RedisPrefix),
		slog.Bool("redis_cluster", c.RedisCluster),
		slog.Duration("hold_ttl", c.HoldTTL),
		slog.Duration("hold_max_lifetime", c.HoldMaxLifetime),
		slog.Int("hold_max_seats", c.HoldMaxSeats),
		slog.Int("hold_max_seats_per_flight", c.HoldMaxSeatsPerFlight),
		slog.Int("hold_max_active", c.HoldMaxActive),
		slog.Any("hold_batch", c.HoldBatch),
		slog.Any("streams", c.Streams),
		slog.Any("webhooks", c.Webhooks),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Bool("seed_demo", c.SeedDemo),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("drain_delay", c.DrainDelay),
		slog.Duration("sweep_interval", c.SweepInterval),
		slog.Duration("trip_lease", c.TripLease),
		slog.Duration("payment_lease", c.PaymentLease),
		slog.Duration("idempotency_lease", c.IdempotencyLease),
		slog.Duration("event_sequence_interval", c.EventSequenceInterval),
		slog.Duration("event_retention", c.EventRetention),
		slog.Duration("api_key_cache_ttl", c.APIKeyCacheTTL),
		slog.Float64("rate_limit", c.RateLimit),
		slog.Int("rate_burst", c.RateBurst),
		slog.Int("max_in_flight", c.MaxInFlight),
		slog.Int("max_in_flight_per_key", c.MaxInFlightPerKey),
		slog.Int("max_connections", c.MaxConnections),
		slog.String("queue_token_secret", map[bool]string{true: "set (hidden)", false: "kept in the database"}[c.QueueTokenSecret != ""]),
		slog.Float64("auth_failure_limit", c.AuthFailureLimit),
		slog.Int("auth_failure_burst", c.AuthFailureBurst),
		slog.Duration("provider_timeout", c.ProviderTimeout),
		slog.Duration("search_budget", c.SearchBudget),
		slog.String("fx_rates_file", c.FXRatesFile),
	}
	// Providers show only their base URL and whether they are configured:
	// every other setting may be a credential.
	for _, p := range registry.All() {
		v := c.Providers[p.Name]
		attrs = append(attrs, slog.String(p.Name, describeProvider(v.Get(p.BaseURLEnv), p.Configured(v))))
	}
	return slog.GroupValue(attrs...)
}

// describeProvider describes a provider's configuration without its credentials.
func describeProvider(baseURL string, configured bool) string {
	switch {
	case !configured:
		return "not configured"
	case baseURL == "":
		return "configured (default base URL, credentials hidden)"
	}
	return "configured at " + maskURL(baseURL) + " (credentials hidden)"
}

// maskURL hides the password of a URL and any secret-looking query parameter.
func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable, hidden)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "pass") || strings.Contains(strings.ToLower(k), "secret") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
