package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestRedisLoggerIsStructured: go-redis's own messages become slog lines,
// dial failures at debug level.
func TestRedisLoggerIsStructured(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := redisLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.Printf(context.Background(), "redis: %s:%d: Conn has unread data\n", "pool.go", 1)
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %s", 5, "refused")
	got := buf.String()
	want := `level=WARN msg="pool.go:1: Conn has unread data" component=go-redis` + "\n"
	if !strings.HasSuffix(got, want) || strings.Count(got, "\n") != 1 {
		t.Errorf("go-redis messages logged as %q, want one line ending %q (dial failures at debug level)", got, want)
	}
}
