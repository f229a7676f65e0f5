// Package testdb holds helpers for tests that need a real PostgreSQL or Redis.
// They never skip: a missing server fails the test loudly, because a suite
// that silently skips its database tests proves nothing.
package testdb

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// pingRedis dials the server and speaks just enough RESP to authenticate
// (when the URL carries credentials) and PING it.
func pingRedis(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "redis" {
		return fmt.Errorf("scheme %q: want redis://", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "6379")
	}
	conn, err := net.DialTimeout("tcp", addr, connectTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(connectTimeout))
	r := bufio.NewReader(conn)
	if pw, ok := u.User.Password(); ok {
		args := []string{"AUTH", pw}
		if user := u.User.Username(); user != "" {
			args = []string{"AUTH", user, pw}
		}
		if err := command(conn, r, "+OK", args...); err != nil {
			return err
		}
	}
	return command(conn, r, "+PONG", "PING")
}

func command(conn net.Conn, r *bufio.Reader, want string, args ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimRight(line, "\r\n"); line != want {
		return fmt.Errorf("%s: got %q, want %q", args[0], line, want)
	}
	return nil
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
func UniquePrefix(t testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	return "reservd-test-" + hex.EncodeToString(b[:])
}
