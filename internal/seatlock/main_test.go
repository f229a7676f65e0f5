package seatlock_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/seatlock"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is a controllable clock for Memory.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func redisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// newRedisClient connects to the test Redis, failing the test (never
// skipping) when it is unreachable. The client is closed at cleanup.
func newRedisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := redisURL()
	c, err := seatlock.NewRedisClient(url)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL %q: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis is not reachable at %s (set TEST_REDIS_URL or start redis): %v", url, err)
	}
	return c
}

// uniquePrefix returns a key prefix no other test (or package) uses.
func uniquePrefix(t *testing.T) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "reservdtest:" + hex.EncodeToString(b[:])
}

// deleteKeys removes every key matching pattern at cleanup (never FLUSHDB:
// the Redis is shared with other tests).
func deleteKeys(t *testing.T, c *redis.Client, pattern string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleanup scan %s: %v", pattern, err)
			return
		}
		for _, k := range keys {
			if err := c.Del(ctx, k).Err(); err != nil {
				t.Errorf("cleanup del %s: %v", k, err)
			}
		}
	})
}

// newRedisStore returns a Redis store on the test Redis with a unique key
// prefix, whose keys are deleted at cleanup.
func newRedisStore(t *testing.T, opts ...seatlock.RedisOption) (*seatlock.Redis, *redis.Client) {
	t.Helper()
	c := newRedisClient(t)
	prefix := uniquePrefix(t)
	deleteKeys(t, c, prefix+":*")
	r, err := seatlock.NewRedis(c, append([]seatlock.RedisOption{seatlock.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	return r, c
}

func randomFlight() int64 {
	return mrand.Int64N(1<<52) + 1
}
