package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Addr != ":8080" || c.DataDir != "./data" || c.HoldTTL != 10*time.Minute || c.HoldMaxLifetime != 30*time.Minute ||
		c.HoldMaxSeats != 10 || c.LogFormat != "text" || c.LogLevel != slog.LevelInfo || !c.SeedDemo || !c.Embedded() {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{
		"HOLD_TTL": "ten", "HOLD_MAX_SEATS": "0", "LOG_FORMAT": "xml", "LOG_LEVEL": "loud",
		"SEED_DEMO": "maybe", "DATABASE_URL": "mysql://x", "REDIS_URL": "http://x",
	}))
	if err == nil {
		t.Fatal("Load accepted bad values")
	}
	for _, name := range []string{"HOLD_TTL", "HOLD_MAX_SEATS", "LOG_FORMAT", "LOG_LEVEL", "SEED_DEMO", "DATABASE_URL", "REDIS_URL"} {
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
