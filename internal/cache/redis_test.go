package cache_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/seatlock"
)

// TestRedisKeys pins the key layout and ttl in Redis itself, under the
// default prefix (a random key keeps it apart from other tests).
func TestRedisKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := newRedisClient(t)
	r, err := cache.NewRedis(c)
	if err != nil {
		t.Fatal(err)
	}
	key := "cache-test-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	raw := "reservd:cache:" + key
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Del(ctx, raw).Err()
	})
	if got := r.Key(key); got != raw {
		t.Errorf("Key = %q, want %q", got, raw)
	}
	if err := r.Set(ctx, key, []byte("map"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if v := c.Get(ctx, raw).Val(); v != "map" {
		t.Errorf("GET %s = %q", raw, v)
	}
	if ttl := c.PTTL(ctx, raw).Val(); ttl <= 9*time.Second || ttl > 10*time.Second {
		t.Errorf("PTTL %s = %v", raw, ttl)
	}
	// A wiped Redis is just a miss.
	c.Del(ctx, raw)
	if _, ok, err := r.Get(ctx, key); ok || err != nil {
		t.Errorf("Get after wipe: %v, %v", ok, err)
	}
}

func TestNewRedisValidation(t *testing.T) {
	t.Parallel()
	if _, err := cache.NewRedis(nil); err == nil {
		t.Error("NewRedis(nil) succeeded")
	}
	// go-redis ignores context deadlines on socket I/O unless told otherwise.
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = plain.Close() })
	if _, err := cache.NewRedis(plain); err == nil {
		t.Error("NewRedis accepted a client without ContextTimeoutEnabled")
	}
	good := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = good.Close() })
	if _, err := cache.NewRedis(good, cache.WithPrefix("")); err == nil {
		t.Error("NewRedis accepted an empty prefix")
	}
	if _, err := cache.NewRedis(good); err != nil {
		t.Errorf("NewRedis: %v", err)
	}
}

type result struct {
	err     error
	elapsed time.Duration
}

// ops calls every method once, returning each call's error and duration.
func ops(ctx context.Context, c cache.Cache) map[string]result {
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Get", func() error { _, _, err := c.Get(ctx, "k"); return err }},
		{"Set", func() error { return c.Set(ctx, "k", []byte("v"), time.Minute) }},
		{"Delete", func() error { return c.Delete(ctx, "k") }},
		{"DeleteMany", func() error { return c.Delete(ctx, "k1", "k2") }},
	}
	out := map[string]result{}
	for _, call := range calls {
		start := time.Now()
		err := call.fn()
		out[call.name] = result{err, time.Since(start)}
	}
	return out
}

// TestRedisClosedPort: with nothing listening, every call fails fast.
func TestRedisClosedPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := seatlock.NewRedisClient("redis://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	r, err := cache.NewRedis(c)
	if err != nil {
		t.Fatal(err)
	}
	for name, res := range ops(t.Context(), r) {
		if res.err == nil {
			t.Errorf("%s: no error against a closed port", name)
		}
		if res.elapsed > 500*time.Millisecond {
			t.Errorf("%s took %v against a closed port, want <= ~100ms", name, res.elapsed)
		}
	}
}

// blackhole accepts connections and never answers: a Redis that hangs.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(io.Discard, conn) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestRedisSlowServer: a Redis that accepts but never answers costs each call
// no more than the timeout (default 100 ms), or the caller's shorter deadline.
func TestRedisSlowServer(t *testing.T) {
	t.Parallel()
	addr := blackhole(t)
	c, err := seatlock.NewRedisClient("redis://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })

	t.Run("default timeout", func(t *testing.T) {
		r, err := cache.NewRedis(c)
		if err != nil {
			t.Fatal(err)
		}
		for name, res := range ops(t.Context(), r) {
			if res.err == nil {
				t.Errorf("%s: no error from a hung server", name)
			}
			if res.elapsed < 90*time.Millisecond || res.elapsed > 600*time.Millisecond {
				t.Errorf("%s took %v, want about %v", name, res.elapsed, cache.DefaultTimeout)
			}
		}
	})
	t.Run("caller deadline wins", func(t *testing.T) {
		r, err := cache.NewRedis(c, cache.WithTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err = r.Get(ctx, "k")
		if err == nil {
			t.Error("Get: no error from a hung server")
		}
		if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
			t.Errorf("Get took %v with a 30ms caller deadline", elapsed)
		}
		var ne net.Error
		if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
			t.Logf("error is neither a deadline nor a timeout (fine, but unexpected): %v", err)
		}
	})
}
