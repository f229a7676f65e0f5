package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/testdb"
)

// embedded is production's default configuration on an embedded database
// in a directory of the test's own.
func embedded(t *testing.T, dir string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(name string) string {
		if name == "DATA_DIR" {
			return dir
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// New on a fresh embedded database builds the whole service: the demo
// catalogue and its key, the API with live dependency checks and the
// metrics of every part.
func TestNewEmbedded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	a, err := app.New(t.Context(), embedded(t, dir), app.Env{Stdout: &out}, app.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	if !strings.Contains(out.String(), "Bearer rsv_") {
		t.Errorf("a fresh database printed no demo key:\n%s", out.String())
	}
	if code, body := get(t, srv.URL+"/flights/1"); code != 200 {
		t.Errorf("GET /flights/1 = %d %s, want the demo flight", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 {
		t.Errorf("GET /readyz = %d %s", code, body)
	}
	if n := len(a.Ready()); n != 2 || a.Ready()[0].Name != "database" || a.Ready()[1].Name != "draining" {
		t.Errorf("ready checks = %v, want the database and draining alone (no REDIS_URL)", a.Ready())
	}
	code, metrics := get(t, srv.URL+"/metrics")
	for _, m := range []string{"reservd_dependency_up", "reservd_db_pool_max_connections", "reservd_provider_circuit_state", "go_goroutines"} {
		if code != 200 || !strings.Contains(metrics, m) {
			t.Errorf("/metrics (%d) serves no %s", code, m)
		}
	}
	srv.Close()
	a.Close()

	// The same directory again: the catalogue is there, no new key.
	out.Reset()
	again, err := app.New(t.Context(), embedded(t, dir), app.Env{Stdout: &out}, app.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if out.Len() != 0 {
		t.Errorf("a second start printed %q", out.String())
	}
	if has, err := again.Store.FlightExists(t.Context()); err != nil || !has {
		t.Errorf("FlightExists after restart = %v, %v", has, err)
	}
}

// A configuration New cannot build is an error, not a half-built service.
func TestNewRefusesBadRedisURL(t *testing.T) {
	t.Parallel()
	cfg := embedded(t, t.TempDir())
	cfg.RedisURL = "http://not-redis"
	if a, err := app.New(t.Context(), cfg, app.Env{}, app.Overrides{}); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		if a != nil {
			a.Close()
		}
		t.Fatalf("New with REDIS_URL=%s = %v, want a REDIS_URL error", cfg.RedisURL, err)
	}
}

// With REDIS_URL, the seat locks and the shared cache are Redis under
// REDIS_PREFIX, and /readyz asks Redis too.
func TestNewWithRedis(t *testing.T) {
	t.Parallel()
	cfg := embedded(t, t.TempDir())
	cfg.RedisURL = testdb.RedisURL(t)
	cfg.RedisPrefix = testdb.UniquePrefix(t)
	rdb, err := seatlock.NewRedisClient(cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if keys, _ := rdb.Keys(ctx, cfg.RedisPrefix+":*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	a, err := app.New(t.Context(), cfg, app.Env{}, app.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	var names []string
	for _, c := range a.Ready() {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"database", "redis", "draining"}) {
		t.Errorf("ready checks = %v, want database, redis and draining", names)
	}
	if code, body := get(t, srv.URL+"/flights/1"); code != 200 {
		t.Fatalf("GET /flights/1 = %d %s", code, body)
	}
	if n := rdb.Exists(t.Context(), cfg.RedisPrefix+":cache:flight:1").Val(); n != 1 {
		t.Errorf("the flight read is not in the Redis cache (%s:cache:flight:1)", cfg.RedisPrefix)
	}
}
