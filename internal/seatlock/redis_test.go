package seatlock_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reservd/reservd/internal/seatlock"
)

// TestRedisKeys checks the documented key layout and expiries with the
// default prefix (random flight ids keep it apart from other tests).
func TestRedisKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := newRedisClient(t)
	r, err := seatlock.NewRedis(c)
	if err != nil {
		t.Fatal(err)
	}
	f := randomFlight()
	seatA := fmt.Sprintf("reservd:seat:{%d}:1A", f)
	seatB := fmt.Sprintf("reservd:seat:{%d}:1B", f)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, k := range []string{seatA, seatB} {
			_ = c.Del(ctx, k).Err()
		}
	})
	if got := r.SeatKey(f, "1A"); got != seatA {
		t.Errorf("SeatKey = %q, want %q", got, seatA)
	}
	if taken, err := r.Acquire(ctx, f, []string{"1A", "1B"}, "hold-1", 10*time.Second); err != nil || taken != nil {
		t.Fatalf("Acquire: %v, %v", taken, err)
	}
	for _, k := range []string{seatA, seatB} {
		if v := c.Get(ctx, k).Val(); v != "hold-1" {
			t.Errorf("GET %s = %q, want hold-1", k, v)
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl <= 9*time.Second || ttl > 10*time.Second {
			t.Errorf("PTTL %s = %v, want about 10s", k, ttl)
		}
	}
	if err := r.Extend(ctx, f, []string{"1A"}, "hold-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx, seatA).Val(); ttl <= 50*time.Second {
		t.Errorf("PTTL after Extend = %v, want about 1m", ttl)
	}
	if err := r.Transfer(ctx, f, []string{"1A"}, "hold-1", "booking-1", 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Transfer(ctx, f, []string{"1B"}, "hold-1", "booking-1", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if v, ttl := c.Get(ctx, seatA).Val(), c.PTTL(ctx, seatA).Val(); v != "booking-1" || ttl != -1 {
		t.Errorf("after Transfer ttl 0: %q, PTTL %v; want booking-1, no expiry", v, ttl)
	}
	if v, ttl := c.Get(ctx, seatB).Val(), c.PTTL(ctx, seatB).Val(); v != "booking-1" || ttl <= 25*time.Second || ttl > 30*time.Second {
		t.Errorf("after Transfer ttl 30s: %q, PTTL %v", v, ttl)
	}
	if err := r.Release(ctx, f, []string{"1A", "1B"}, "booking-1"); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, seatA, seatB).Val(); n != 0 {
		t.Errorf("%d seat keys left after Release", n)
	}
}

func TestNewRedisValidation(t *testing.T) {
	t.Parallel()
	if _, err := seatlock.NewRedis(nil); err == nil {
		t.Error("NewRedis(nil) succeeded")
	}
	// go-redis ignores context deadlines on socket I/O unless told otherwise.
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = plain.Close() })
	if _, err := seatlock.NewRedis(plain); err == nil {
		t.Error("NewRedis accepted a client without ContextTimeoutEnabled")
	}
	good := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = good.Close() })
	for _, p := range []string{"", "a{b", "x}"} {
		if _, err := seatlock.NewRedis(good, seatlock.WithPrefix(p)); err == nil {
			t.Errorf("NewRedis accepted prefix %q", p)
		}
	}
	if _, err := seatlock.NewRedis(good); err != nil {
		t.Errorf("NewRedis: %v", err)
	}
	if _, err := seatlock.NewRedisClient("http://nope"); err == nil {
		t.Error("NewRedisClient accepted a non-redis URL")
	}
}

// ops calls every method once, returning each call's error and duration.
func ops(ctx context.Context, s seatlock.Locker) map[string]struct {
	err     error
	elapsed time.Duration
} {
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Acquire", func() error {
			_, err := s.Acquire(ctx, 1, []string{"1A", "1B"}, "hold", time.Minute)
			return err
		}},
		{"Release", func() error { return s.Release(ctx, 1, []string{"1A"}, "hold") }},
		{"Extend", func() error { return s.Extend(ctx, 1, []string{"1A"}, "hold", time.Minute) }},
		{"Transfer", func() error { return s.Transfer(ctx, 1, []string{"1A"}, "hold", "booking", 0) }},
	}
	out := map[string]struct {
		err     error
		elapsed time.Duration
	}{}
	for _, c := range calls {
		start := time.Now()
		err := c.fn()
		out[c.name] = struct {
			err     error
			elapsed time.Duration
		}{err, time.Since(start)}
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
	r, err := seatlock.NewRedis(c)
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
		r, err := seatlock.NewRedis(c)
		if err != nil {
			t.Fatal(err)
		}
		for name, res := range ops(t.Context(), r) {
			if res.err == nil {
				t.Errorf("%s: no error from a hung server", name)
			}
			if res.elapsed < 90*time.Millisecond || res.elapsed > 600*time.Millisecond {
				t.Errorf("%s took %v, want about %v", name, res.elapsed, seatlock.DefaultTimeout)
			}
		}
	})
	t.Run("caller deadline wins", func(t *testing.T) {
		r, err := seatlock.NewRedis(c, seatlock.WithTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = r.Acquire(ctx, 1, []string{"1A"}, "hold", time.Minute)
		if err == nil {
			t.Error("Acquire: no error from a hung server")
		}
		if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
			t.Errorf("Acquire took %v with a 30ms caller deadline", elapsed)
		}
		if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
			t.Logf("error is neither a deadline nor a timeout (fine, but unexpected): %v", err)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
