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
)

// Config is every setting of the service. The names of the environment
// variables are in spec/API.md ("Process and configuration").
type Config struct {
	// DebugAddr, when set, serves net/http/pprof there (DEBUG_ADDR; keep it
	// on loopback or a private network: profiles reveal internals).
	DebugAddr       string
	Addr            string        // ADDR
	DatabaseURL     string        // DATABASE_URL; empty selects the embedded SQLite engine
	DataDir         string        // DATA_DIR, where the embedded database lives
	RedisURL        string        // REDIS_URL; empty keeps locks, caches and limits in process
	RedisPrefix     string        // REDIS_PREFIX: namespace of every key, so deployments can share a Redis
	HoldTTL         time.Duration // HOLD_TTL
	HoldMaxLifetime time.Duration // HOLD_MAX_LIFETIME
	HoldMaxSeats    int           // HOLD_MAX_SEATS
	HoldBatch       HoldBatch     // HOLD_BATCH, HOLD_BATCH_WINDOW, HOLD_BATCH_MAX
	LogLevel        slog.Level    // LOG_LEVEL: debug, info, warn, error
	LogFormat       string        // LOG_FORMAT: text or json
	SeedDemo        bool          // SEED_DEMO
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: how long SIGTERM waits for in-flight work
	SweepInterval   time.Duration // SWEEP_INTERVAL: how often expired holds are tidied and stuck payments recovered
	TripLease       time.Duration // TRIP_LEASE: how long a worker owns a trip before another may take it over
	PaymentLease    time.Duration // PAYMENT_LEASE: how long a booking request owns its payment before recovery may take it over

	// APIKeyCacheTTL is how long a replica trusts an API key it has looked
	// up (API_KEY_CACHE_TTL; 0 looks every request up).
	APIKeyCacheTTL time.Duration

	RateLimit float64 // RATE_LIMIT: requests per second per API key (0: no limit)
	RateBurst int     // RATE_BURST: how many requests a key may send at once

	ProviderTimeout time.Duration // PROVIDER_TIMEOUT: one call to a flight provider
	SearchBudget    time.Duration // SEARCH_BUDGET: one whole offer search
	FXRatesFile     string        // FX_RATES_FILE: exchange rates; empty uses the shipped table
	Duffel          Duffel
	Amadeus         Amadeus
	Kiwi            Kiwi
}

// Duffel configures the Duffel API (DUFFEL_BASE_URL, DUFFEL_ACCESS_TOKEN).
type Duffel struct{ BaseURL, AccessToken string }

// Amadeus configures the Amadeus Self-Service API (AMADEUS_BASE_URL,
// AMADEUS_CLIENT_ID, AMADEUS_CLIENT_SECRET).
type Amadeus struct{ BaseURL, ClientID, ClientSecret string }

// Kiwi configures the Kiwi Tequila API (KIWI_BASE_URL, KIWI_API_KEY).
type Kiwi struct{ BaseURL, APIKey string }

// Configured reports whether a provider's credentials are set.
func (d Duffel) Configured() bool  { return d.AccessToken != "" }
func (a Amadeus) Configured() bool { return a.ClientID != "" && a.ClientSecret != "" }
func (k Kiwi) Configured() bool    { return k.APIKey != "" }

// SimulateProviders reports whether no provider is configured, so the
// built-in simulators stand in for all three.
func (c Config) SimulateProviders() bool {
	return !c.Duffel.Configured() && !c.Amadeus.Configured() && !c.Kiwi.Configured()
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
	c := Config{
		Addr:            env("ADDR", ":8080"),
		DebugAddr:       env("DEBUG_ADDR", ""),
		DatabaseURL:     env("DATABASE_URL", ""),
		DataDir:         env("DATA_DIR", "./data"),
		RedisURL:        env("REDIS_URL", ""),
		RedisPrefix:     env("REDIS_PREFIX", "reservd"),
		HoldTTL:         duration("HOLD_TTL", "10m"),
		HoldMaxLifetime: duration("HOLD_MAX_LIFETIME", "30m"),
		LogFormat:       strings.ToLower(env("LOG_FORMAT", "text")),
		ShutdownTimeout: duration("SHUTDOWN_TIMEOUT", "20s"),
		SweepInterval:   duration("SWEEP_INTERVAL", "5s"),
		TripLease:       duration("TRIP_LEASE", "30s"),
		PaymentLease:    duration("PAYMENT_LEASE", "30s"),
		ProviderTimeout: duration("PROVIDER_TIMEOUT", "2s"),
		SearchBudget:    duration("SEARCH_BUDGET", "3s"),
		FXRatesFile:     env("FX_RATES_FILE", ""),
		Duffel:          Duffel{BaseURL: env("DUFFEL_BASE_URL", ""), AccessToken: env("DUFFEL_ACCESS_TOKEN", "")},
		Amadeus: Amadeus{BaseURL: env("AMADEUS_BASE_URL", ""), ClientID: env("AMADEUS_CLIENT_ID", ""),
			ClientSecret: env("AMADEUS_CLIENT_SECRET", "")},
		Kiwi: Kiwi{BaseURL: env("KIWI_BASE_URL", ""), APIKey: env("KIWI_API_KEY", "")},
	}
	n, err := strconv.Atoi(env("HOLD_MAX_SEATS", "10"))
	if err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("HOLD_MAX_SEATS=%q: want a positive integer", getenv("HOLD_MAX_SEATS")))
	}
	c.HoldMaxSeats = n
	var batchErrs []error
	c.HoldBatch, batchErrs = loadHoldBatch(env)
	errs = append(errs, batchErrs...)
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
	seed, err := strconv.ParseBool(env("SEED_DEMO", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("SEED_DEMO=%q: want true or false", getenv("SEED_DEMO")))
	}
	c.SeedDemo = seed
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, fmt.Errorf("DATABASE_URL: want a postgres:// URL (leave it unset for the embedded database)"))
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		errs = append(errs, fmt.Errorf("REDIS_URL: want a redis:// or rediss:// URL"))
	}
	if c.HoldMaxLifetime < c.HoldTTL {
		errs = append(errs, fmt.Errorf("HOLD_MAX_LIFETIME (%s) must be at least HOLD_TTL (%s)", c.HoldMaxLifetime, c.HoldTTL))
	}
	return c, errors.Join(errs...)
}

// Embedded reports whether the embedded SQLite engine is in use.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// LogValue describes the configuration for the log, with passwords masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("debug_addr", c.DebugAddr),
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.String("data_dir", c.DataDir),
		slog.String("redis_url", maskURL(c.RedisURL)),
		slog.String("redis_prefix", c.RedisPrefix),
		slog.Duration("hold_ttl", c.HoldTTL),
		slog.Duration("hold_max_lifetime", c.HoldMaxLifetime),
		slog.Int("hold_max_seats", c.HoldMaxSeats),
		slog.Any("hold_batch", c.HoldBatch),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Bool("seed_demo", c.SeedDemo),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("sweep_interval", c.SweepInterval),
		slog.Duration("trip_lease", c.TripLease),
		slog.Duration("payment_lease", c.PaymentLease),
		slog.Duration("api_key_cache_ttl", c.APIKeyCacheTTL),
		slog.Float64("rate_limit", c.RateLimit),
		slog.Int("rate_burst", c.RateBurst),
		slog.Duration("provider_timeout", c.ProviderTimeout),
		slog.Duration("search_budget", c.SearchBudget),
		slog.String("fx_rates_file", c.FXRatesFile),
		slog.String("duffel", provider(c.Duffel.BaseURL, c.Duffel.Configured())),
		slog.String("amadeus", provider(c.Amadeus.BaseURL, c.Amadeus.Configured())),
		slog.String("kiwi", provider(c.Kiwi.BaseURL, c.Kiwi.Configured())),
	)
}

// provider describes a provider's configuration without its credentials.
func provider(baseURL string, configured bool) string {
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
