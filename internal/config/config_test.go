package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider/registry"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.HoldTTL != 10*time.Minute || c.HoldMaxLifetime != 30*time.Minute ||
		c.HoldMaxSeats != 10 || c.HoldMaxSeatsPerFlight != 10 || c.HoldMaxActive != 20 || c.LogFormat != "text" || c.LogLevel != slog.LevelInfo || !c.SeedDemo || !c.Embedded() ||
		!c.Webhooks.Deliver {
		t.Errorf("defaults = %+v", c)
	}
}

// TestLoadHoldLimits: the per-customer caps take 0 for no limit and
// refuse what is not a count.
func TestLoadHoldLimits(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"HOLD_MAX_SEATS_PER_FLIGHT": "0", "HOLD_MAX_ACTIVE": "3"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.HoldMaxSeatsPerFlight != 0 || c.HoldMaxActive != 3 {
		t.Errorf("HoldMaxSeatsPerFlight, HoldMaxActive = %d, %d; want 0, 3", c.HoldMaxSeatsPerFlight, c.HoldMaxActive)
	}
	for _, name := range []string{"HOLD_MAX_SEATS_PER_FLIGHT", "HOLD_MAX_ACTIVE"} {
		for _, bad := range []string{"-1", "many"} {
			_, err := Load(env(map[string]string{name: bad}))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: Load error = %v, want one naming %s", name, bad, err, name)
			}
		}
	}
}

// TestLoadAddr: the embedded demo listens on loopback unless ADDR says
// otherwise; with PostgreSQL the contract's :8080 stays the default.
func TestLoadAddr(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "127.0.0.1:8080"},
		{map[string]string{"ADDR": ":8080"}, ":8080"},
		{map[string]string{"ADDR": "0.0.0.0:9000"}, "0.0.0.0:9000"},
		{map[string]string{"DATABASE_URL": "postgres://localhost/reservd"}, ":8080"},
		{map[string]string{"DATABASE_URL": "postgres://localhost/reservd", "ADDR": "127.0.0.1:9000"}, "127.0.0.1:9000"},
	} {
		c, err := Load(env(tt.env))
		if err != nil {
			t.Fatalf("Load(%v): %v", tt.env, err)
		}
		if c.Addr != tt.want {
			t.Errorf("Load(%v).Addr = %q, want %q", tt.env, c.Addr, tt.want)
		}
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{
		"HOLD_TTL": "ten", "HOLD_MAX_SEATS": "0", "LOG_FORMAT": "xml", "LOG_LEVEL": "loud",
		"SEED_DEMO": "maybe", "DATABASE_URL": "mysql://x", "REDIS_URL": "http://x", "WEBHOOK_DELIVER": "sometimes",
	}))
	if err == nil {
		t.Fatal("Load accepted bad values")
	}
	for _, name := range []string{"HOLD_TTL", "HOLD_MAX_SEATS", "LOG_FORMAT", "LOG_LEVEL", "SEED_DEMO", "DATABASE_URL", "REDIS_URL", "WEBHOOK_DELIVER"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"DATABASE_URL":        "postgres://app:s3cret@db:5432/reservd?sslmode=disable",
		"REDIS_URL":           "redis://:hunter2@cache:6379/0",
		"DUFFEL_ACCESS_TOKEN": "duffel_test_tok3n", "AMADEUS_CLIENT_ID": "am-id", "AMADEUS_CLIENT_SECRET": "am-s3cret",
		"KIWI_API_KEY": "kiwi-k3y",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	out := b.String()
	if c.SimulateProviders() {
		t.Error("providers configured, yet SimulateProviders")
	}
	for _, secret := range []string{"s3cret", "hunter2", "duffel_test_tok3n", "am-s3cret", "kiwi-k3y"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line leaks %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "db:5432") || !strings.Contains(out, "cache:6379") {
		t.Errorf("log line lost the hosts: %s", out)
	}
}

// TestProvidersFromRegistry checks that every registered provider's
// settings are read, and that a provider is configured only with all its
// credentials.
func TestProvidersFromRegistry(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !c.SimulateProviders() {
		t.Error("no provider set, yet not SimulateProviders")
	}
	for _, p := range registry.All() {
		if _, ok := c.Providers[p.Name]; !ok || c.Configured(p.Name) {
			t.Errorf("provider %s: read %v, configured %v", p.Name, ok, c.Configured(p.Name))
		}
	}
	c, err = Load(env(map[string]string{"KIWI_BASE_URL": "https://kiwi.example/", "KIWI_API_KEY": " k ", "AMADEUS_CLIENT_ID": "id"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.SimulateProviders() || !c.Configured("kiwi") || c.Configured("amadeus") || c.Configured("duffel") || c.Configured("nosuch") {
		t.Errorf("configured: kiwi %v, amadeus %v (client id alone), duffel %v, simulate %v",
			c.Configured("kiwi"), c.Configured("amadeus"), c.Configured("duffel"), c.SimulateProviders())
	}
	if v := c.Providers["kiwi"]; v["KIWI_API_KEY"] != "k" || v["KIWI_BASE_URL"] != "https://kiwi.example/" {
		t.Errorf("kiwi settings = %v", v)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	for _, want := range []string{`config.kiwi="configured at https://kiwi.example/ (credentials hidden)"`,
		`config.amadeus="not configured"`, `config.duffel="not configured"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("log line lacks %s: %s", want, b.String())
		}
	}
}

// TestLogValueHidesEveryProviderSecret sets every registered provider's
// every setting and checks that no secret reaches the log line.
func TestLogValueHidesEveryProviderSecret(t *testing.T) {
	t.Parallel()
	vars := map[string]string{}
	var secrets []string
	for _, p := range registry.All() {
		for _, s := range p.Settings {
			vars[s.Env] = "value-of-" + s.Env
			if s.Secret {
				secrets = append(secrets, vars[s.Env])
			}
		}
		vars[p.BaseURLEnv] = "https://" + p.Name + ".example/"
	}
	c, err := Load(env(vars))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	if len(secrets) == 0 {
		t.Fatal("the registry declares no secret")
	}
	for _, secret := range secrets {
		if strings.Contains(b.String(), secret) {
			t.Errorf("log line leaks %q: %s", secret, b.String())
		}
	}
	for _, p := range registry.All() {
		if !c.Configured(p.Name) || !strings.Contains(b.String(), "https://"+p.Name+".example/") {
			t.Errorf("%s: configured %v; log line %s", p.Name, c.Configured(p.Name), b.String())
		}
	}
}

func TestLoadLimits(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.AuthFailureLimit != 1 || c.AuthFailureBurst != 20 {
		t.Errorf("defaults: AuthFailureLimit=%v AuthFailureBurst=%d, want 1 and 20", c.AuthFailureLimit, c.AuthFailureBurst)
	}
	if c.MaxInFlight != 512 || c.MaxInFlightPerKey != 64 || c.MaxConnections != 1024 {
		t.Errorf("defaults: MaxInFlight=%d MaxInFlightPerKey=%d MaxConnections=%d, want 512, 64, 1024", c.MaxInFlight, c.MaxInFlightPerKey, c.MaxConnections)
	}
	c, err = Load(env(map[string]string{"MAX_IN_FLIGHT": "0", "MAX_IN_FLIGHT_PER_KEY": "8"}))
	if err != nil || c.MaxInFlight != 0 || c.MaxInFlightPerKey != 8 {
		t.Errorf("MAX_IN_FLIGHT=0, MAX_IN_FLIGHT_PER_KEY=8: %d %d %v", c.MaxInFlight, c.MaxInFlightPerKey, err)
	}
	_, err = Load(env(map[string]string{"MAX_IN_FLIGHT": "-1", "MAX_IN_FLIGHT_PER_KEY": "lots", "MAX_CONNECTIONS": "-5",
		"AUTH_FAILURE_LIMIT": "-1", "AUTH_FAILURE_BURST": "0"}))
	for _, name := range []string{"MAX_IN_FLIGHT=", "MAX_IN_FLIGHT_PER_KEY=", "MAX_CONNECTIONS=", "AUTH_FAILURE_LIMIT=", "AUTH_FAILURE_BURST="} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("a bad %s was accepted or not named: %v", name, err)
		}
	}
}

func TestQueueTokenSecret(t *testing.T) {
	t.Parallel()
	if _, err := Load(env(map[string]string{"QUEUE_TOKEN_SECRET": "short"})); err == nil || !strings.Contains(err.Error(), "QUEUE_TOKEN_SECRET") {
		t.Errorf("a 5-byte QUEUE_TOKEN_SECRET: error %v, want one naming it", err)
	}
	secret := strings.Repeat("q7", 20)
	c, err := Load(env(map[string]string{"QUEUE_TOKEN_SECRET": secret}))
	if err != nil || c.QueueTokenSecret != secret {
		t.Fatalf("Load = %q, %v", c.QueueTokenSecret, err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	if strings.Contains(b.String(), secret) || !strings.Contains(b.String(), "queue_token_secret") {
		t.Errorf("log line leaks or omits the queue token secret: %s", b.String())
	}
}

// REDIS_CLUSTER reads REDIS_URL as a cluster's seed nodes; it needs a
// REDIS_URL and a boolean.
func TestLoadRedisCluster(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"REDIS_URL": "redis://r1:7001?addr=r2:7002&addr=r3:7003", "REDIS_CLUSTER": "true"}))
	if err != nil || !c.RedisCluster {
		t.Errorf("Load with REDIS_CLUSTER=true = %v, RedisCluster %v; want a cluster", err, c.RedisCluster)
	}
	if c, err := Load(env(map[string]string{"REDIS_URL": "redis://r1:6379"})); err != nil || c.RedisCluster {
		t.Errorf("Load without REDIS_CLUSTER = %v, RedisCluster %v; want a single server", err, c.RedisCluster)
	}
	for _, bad := range []map[string]string{{"REDIS_CLUSTER": "true"}, {"REDIS_URL": "redis://r1:7001", "REDIS_CLUSTER": "maybe"}} {
		if _, err := Load(env(bad)); err == nil || !strings.Contains(err.Error(), "REDIS_CLUSTER") {
			t.Errorf("Load(%v) = %v, want a REDIS_CLUSTER error", bad, err)
		}
	}
}

// TestLoadEvents: the sequencer's interval and the retention default to
// 100ms and 30 days; a retention under the promised 30 days is refused.
func TestLoadEvents(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil || c.EventSequenceInterval != 100*time.Millisecond || c.EventRetention != 720*time.Hour {
		t.Fatalf("defaults: %v, %v, %v", c.EventSequenceInterval, c.EventRetention, err)
	}
	c, err = Load(env(map[string]string{"EVENT_SEQUENCE_INTERVAL": "250ms", "EVENT_RETENTION": "2160h"}))
	if err != nil || c.EventSequenceInterval != 250*time.Millisecond || c.EventRetention != 2160*time.Hour {
		t.Fatalf("set: %v, %v, %v", c.EventSequenceInterval, c.EventRetention, err)
	}
	for _, bad := range []map[string]string{{"EVENT_RETENTION": "719h"}, {"EVENT_RETENTION": "24h"}, {"EVENT_RETENTION": "0"}, {"EVENT_SEQUENCE_INTERVAL": "0"}} {
		if _, err := Load(env(bad)); err == nil {
			t.Errorf("Load accepted %v", bad)
		} else if name := func() string {
			for k := range bad {
				return k
			}
			return ""
		}(); !strings.Contains(err.Error(), name) {
			t.Errorf("error for %v does not name it: %v", bad, err)
		}
	}
	if _, err := Load(env(map[string]string{"EVENT_RETENTION": "24h"})); err == nil || !strings.Contains(err.Error(), "30 days") {
		t.Errorf("a short retention's error does not say why: %v", err)
	}
}

func TestStreamSettings(t *testing.T) {
	c, err := Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := Streams{MaxPerKey: 5, MaxTotal: 2000, Heartbeat: 15 * time.Second, Poll: 500 * time.Millisecond}
	if c.Streams != want {
		t.Errorf("defaults = %+v, want %+v", c.Streams, want)
	}
	env := map[string]string{"STREAM_MAX_PER_KEY": "0", "STREAM_MAX_TOTAL": "10", "STREAM_HEARTBEAT": "2s", "STREAM_POLL_INTERVAL": "1s"}
	c, err = Load(func(k string) string { return env[k] })
	if err != nil || c.Streams != (Streams{MaxPerKey: 0, MaxTotal: 10, Heartbeat: 2 * time.Second, Poll: time.Second}) {
		t.Errorf("set: %+v %v", c.Streams, err)
	}
	for k, v := range map[string]string{"STREAM_MAX_PER_KEY": "-1", "STREAM_MAX_TOTAL": "x", "STREAM_HEARTBEAT": "16s",
		"STREAM_POLL_INTERVAL": "2s"} {
		if _, err := Load(func(n string) string {
			if n == k {
				return v
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: error %v, want one naming it", k, v, err)
		}
	}
}

// TestLoadIdempotencyLease: a minute by default; shorter is allowed down to
// idempotency.MinLease, since a keyed change may run for half of it.
func TestLoadIdempotencyLease(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", time.Minute, true},
		{"5s", 5 * time.Second, true},
		{"2s", 2 * time.Second, true},
		{"1500ms", 0, false},
		{"0s", 0, false},
		{"soon", 0, false},
	} {
		c, err := Load(env(map[string]string{"IDEMPOTENCY_LEASE": tt.value}))
		switch {
		case tt.ok && (err != nil || c.IdempotencyLease != tt.want):
			t.Errorf("IDEMPOTENCY_LEASE=%q: %s, %v; want %s", tt.value, c.IdempotencyLease, err, tt.want)
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), "IDEMPOTENCY_LEASE")):
			t.Errorf("IDEMPOTENCY_LEASE=%q: Load error = %v, want one naming IDEMPOTENCY_LEASE", tt.value, err)
		}
	}
}
