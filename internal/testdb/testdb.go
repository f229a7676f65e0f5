// Package testdb holds helpers for tests that need a real PostgreSQL or Redis.
// They never skip: a missing server fails the test loudly, because a suite
// that silently skips its database tests proves nothing.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Defaults match the servers `make test` starts.
const (
	defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
)

const connectTimeout = 5 * time.Second

// PostgresURL creates a fresh, empty database on the server named by
// TEST_DATABASE_URL (an admin URL), drops it when the test ends, and returns
// a URL for it with the same host, user and parameters.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := env("TEST_DATABASE_URL", defaultPostgresURL)
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("TEST_DATABASE_URL %q must be a postgres:// URL", redact(admin))
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("PostgreSQL is required at %s: run `make test`, which starts it, or set TEST_DATABASE_URL (%v)", redact(admin), err)
	}
	defer conn.Close(context.Background())

	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [8]byte
	rand.Read(b[:]) // never fails
	name := "reservd_test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// RedisURL returns the Redis named by TEST_REDIS_URL after checking that it
// answers PING.
func RedisURL(t testing.TB) string {
	t.Helper()
	raw := env("TEST_REDIS_URL", defaultRedisURL)
	if err := pingRedis(raw); err != nil {
		t.Fatalf("Redis is required at %s: run `make test`, which starts it, or set TEST_REDIS_URL (%v)", redact(raw), err)
	}
	return raw
}

// pingRedis connects with go-redis, as the service does, and PINGs.
func pingRedis(raw string) error {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return err
	}
	opts.DialTimeout, opts.MaxRetries = connectTimeout, -1
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	return rdb.Ping(ctx).Err()
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// redact hides a password in a URL so that it stays out of test logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// UniquePrefix is a Redis key prefix of the test's own, so that tests
// sharing one Redis (whose flights all start at id 1) never see each
// other's seat locks or cached reads.
//
// When the test ends, every key under the prefix is deleted (seat locks,
// cached reads, and the rate limiter's keys, which go-redis/redis_rate puts
// under "rate:<prefix>"), so that test runs leave the shared Redis as they
// found it.
func UniquePrefix(t testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	prefix := "reservd-test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if err := deleteKeys(env("TEST_REDIS_URL", defaultRedisURL), prefix+"*", "rate:"+prefix+"*"); err != nil {
			t.Errorf("delete the test's Redis keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

// deleteKeys deletes every key matching one of patterns.
func deleteKeys(raw string, patterns ...string) error {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, pattern := range patterns {
		iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 1000 {
				if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}
