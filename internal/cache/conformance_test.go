package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/testdb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is a controllable clock for the in-process caches.
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

// newRedisClient connects to the test Redis (TEST_REDIS_URL), failing the
// test, never skipping it, when it is unreachable; closed at cleanup.
func newRedisClient(t *testing.T) *redis.Client {
	t.Helper()
	c, err := seatlock.NewRedisClient(testdb.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newRedisCache returns a cache on the test Redis under a prefix of its
// own, whose keys are deleted at cleanup (never FLUSHDB: the Redis is shared).
func newRedisCache(t *testing.T, opts ...cache.RedisOption) (*cache.Redis, *redis.Client) {
	t.Helper()
	c := newRedisClient(t)
	var b [8]byte
	rand.Read(b[:])
	prefix := "reservdtest:" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+":*", 500).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("cleanup del %s: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleanup scan %s: %v", prefix, err)
		}
	})
	r, err := cache.NewRedis(c, append([]cache.RedisOption{cache.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	return r, c
}

// harness is one implementation under test.
type harness struct {
	cache cache.Cache
	// short is a ttl that tests let elapse; long never elapses during a test.
	short, long time.Duration
	// pass lets d go by (fake clock in process, real time for Redis).
	pass func(d time.Duration)
	// eventually reports whether cond holds, now (in process) or within a
	// few seconds of polling (Redis, whose expiry runs on its own clock).
	eventually func(cond func() bool) bool
}

func now(cond func() bool) bool { return cond() }

var implementations = []struct {
	name string
	new  func(t *testing.T) *harness
}{
	{"memory", func(t *testing.T) *harness {
		clock := newFakeClock()
		return &harness{cache: cache.NewMemory(clock.Now), short: 150 * time.Millisecond, long: time.Hour, pass: clock.Advance, eventually: now}
	}},
	{"near", func(t *testing.T) *harness {
		clock := newFakeClock()
		return &harness{cache: cache.NewNear(clock.Now), short: 150 * time.Millisecond, long: time.Hour, pass: clock.Advance, eventually: now}
	}},
	{"redis", func(t *testing.T) *harness {
		// A generous timeout: these tests check semantics, not latency
		// (TestRedisSlowServer checks the default bound).
		r, _ := newRedisCache(t, cache.WithTimeout(3*time.Second))
		return redisHarness(r)
	}},
}

// redisHarness is the harness of a cache on a Redis server or cluster,
// whose expiry runs on Redis's clock.
func redisHarness(r *cache.Redis) *harness {
	return &harness{
		cache: r,
		short: 150 * time.Millisecond,
		long:  time.Hour,
		pass:  time.Sleep,
		eventually: func(cond func() bool) bool {
			deadline := time.Now().Add(3 * time.Second)
			for {
				if cond() {
					return true
				}
				if time.Now().After(deadline) {
					return false
				}
				time.Sleep(20 * time.Millisecond)
			}
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range conformanceTests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, impl.new(t))
				})
			}
		})
	}
}

var conformanceTests = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"Cache", func(t *testing.T, h *harness) {
		ctx := t.Context()
		c := h.cache
		get := func(key string) ([]byte, bool) {
			t.Helper()
			v, ok, err := c.Get(ctx, key)
			if err != nil {
				t.Fatalf("Get(%q): %v", key, err)
			}
			return v, ok
		}
		if v, ok := get("seatmap:1"); ok {
			t.Fatalf("Get missing = %q, true", v)
		}
		if err := c.Set(ctx, "seatmap:1", []byte("v1"), h.long); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "seatmap:1", []byte("v2"), h.long); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "flight:1", []byte{}, h.long); err != nil {
			t.Fatal(err)
		}
		if v, ok := get("seatmap:1"); !ok || string(v) != "v2" {
			t.Fatalf("Get = %q, %v; want v2", v, ok)
		}
		if v, ok := get("flight:1"); !ok || len(v) != 0 {
			t.Fatalf("Get empty = %q, %v; want empty, true", v, ok)
		}
		if err := c.Delete(ctx, "seatmap:1", "flight:1", "missing"); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"seatmap:1", "flight:1"} {
			if _, ok := get(k); ok {
				t.Errorf("%s still cached after Delete", k)
			}
		}
		// Expiry, and ttl 0 = no expiry.
		if err := c.Set(ctx, "short", []byte("s"), h.short); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "forever", []byte("f"), 0); err != nil {
			t.Fatal(err)
		}
		if _, ok := get("short"); !ok {
			t.Fatal("short missing before its ttl")
		}
		h.pass(h.short)
		if !h.eventually(func() bool { _, ok := get("short"); return !ok }) {
			t.Error("short still cached after its ttl")
		}
		if v, ok := get("forever"); !ok || string(v) != "f" {
			t.Errorf("forever = %q, %v", v, ok)
		}
		if err := c.Delete(ctx, "forever"); err != nil {
			t.Fatal(err)
		}
	}},
}
