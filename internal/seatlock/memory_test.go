package seatlock_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/seatlock"
)

func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := seatlock.NewMemory(nil, seatlock.WithMaxSeats(100), seatlock.WithMaxCacheEntries(10))
	for i := range 1000 {
		if taken, err := m.Acquire(ctx, 1, []string{fmt.Sprint(2 * i), fmt.Sprint(2*i + 1)}, fmt.Sprint("hold-", i), time.Hour); err != nil {
			t.Fatal(err)
		} else if taken != nil {
			t.Fatalf("taken %v", taken)
		}
		if err := m.Set(ctx, fmt.Sprint("k", i), []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if seats, cache := m.Len(); seats > 100 || cache > 10 {
			t.Fatalf("after %d writes: %d seats, %d cache entries; caps are 100, 10", i+1, seats, cache)
		}
	}
	// The latest writes are always kept.
	if _, ok, _ := m.Get(ctx, "k999"); !ok {
		t.Error("latest cache entry evicted")
	}
	if taken, _ := m.Acquire(ctx, 1, []string{"1998", "1999"}, "other", time.Hour); len(taken) != 2 {
		t.Errorf("latest seats evicted: taken %v", taken)
	}
	if _, err := m.Acquire(ctx, 1, make([]string, 101), "x", time.Hour); err == nil {
		t.Error("acquiring more seats than the cap succeeded")
	}
}

func TestMemoryPrunesExpired(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := seatlock.NewMemory(clock.Now)
	write := func(round string) {
		for i := range 5000 {
			if _, err := m.Acquire(ctx, 1, []string{fmt.Sprint(round, i)}, "hold", time.Second); err != nil {
				t.Fatal(err)
			}
			if err := m.Set(ctx, fmt.Sprint(round, i), []byte("v"), time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("a")
	clock.Advance(2 * time.Second)
	write("b")
	// Without pruning there would be 10000 of each; the first round expired.
	if seats, cache := m.Len(); seats != 5000 || cache > 4096 {
		t.Errorf("%d seats, %d cache entries; want 5000 live seats, <= 4096 cache entries", seats, cache)
	}
}

func TestMemoryCopiesValues(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := seatlock.NewMemory(nil)
	v := []byte("abc")
	if err := m.Set(ctx, "k", v, time.Minute); err != nil {
		t.Fatal(err)
	}
	v[0] = 'X'
	got, _, _ := m.Get(ctx, "k")
	got[1] = 'Y'
	if again, _, _ := m.Get(ctx, "k"); string(again) != "abc" {
		t.Errorf("stored value changed through caller slices: %q", again)
	}
}

func TestMemoryCancelledContext(t *testing.T) {
	t.Parallel()
	m := seatlock.NewMemory(nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Acquire(ctx, 1, []string{"1A"}, "hold", time.Minute); err == nil {
		t.Error("Acquire with a cancelled context succeeded")
	}
	if taken, err := m.Acquire(t.Context(), 1, []string{"1A"}, "other", time.Minute); err != nil || taken != nil {
		t.Errorf("a cancelled Acquire left state: %v, %v", taken, err)
	}
}

func TestMemoryCacheBytesBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const budget = 16 << 10
	m := seatlock.NewMemory(nil, seatlock.WithMaxCacheBytes(budget))
	value := make([]byte, 1000)
	for i := range 200 {
		if err := m.Set(ctx, fmt.Sprint("k", i), value, time.Hour); err != nil {
			t.Fatal(err)
		}
		if b := m.CacheBytes(); b > budget {
			t.Fatalf("after %d writes: %d cache bytes, over the budget of %d", i+1, b, budget)
		}
	}
	// 16 KiB hold at least 14 entries of 1,000 bytes and their overhead.
	if _, n := m.Len(); n < 14 || n > 16 {
		t.Errorf("%d cache entries of 1,000 bytes in a budget of %d", n, budget)
	}
	if _, ok, _ := m.Get(ctx, "k199"); !ok {
		t.Error("latest cache entry evicted")
	}
	if _, ok, _ := m.Get(ctx, "k0"); ok {
		t.Error("oldest cache entry kept past the byte budget")
	}
}

// Eviction takes the least recently used entries, reads counting as use.
func TestMemoryCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := seatlock.NewMemory(nil, seatlock.WithMaxCacheEntries(3))
	for _, k := range []string{"a", "b", "c"} {
		m.Set(ctx, k, []byte(k), time.Hour)
	}
	m.Get(ctx, "a") // b is now the least recently used
	m.Set(ctx, "d", []byte("d"), time.Hour)
	for _, c := range []struct {
		key  string
		kept bool
	}{{"b", false}, {"c", true}, {"a", true}, {"d", true}} { // reads, in this order
		if _, ok, _ := m.Get(ctx, c.key); ok != c.kept {
			t.Errorf("%s kept = %v, want %v", c.key, ok, c.kept)
		}
	}
	// Least recently used first: c, a, d. Rewriting c uses it too.
	m.Set(ctx, "c", []byte("cc"), time.Hour)
	m.Set(ctx, "e", []byte("e"), time.Hour)
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Error("a kept, though least recently used")
	}
	if v, ok, _ := m.Get(ctx, "c"); !ok || string(v) != "cc" {
		t.Errorf("c = %q, %v; want the rewritten cc", v, ok)
	}
}

// The byte count follows rewrites, deletes, expiry and refused values, and a
// value too large for the whole budget is not kept, nor is its key's old value.
func TestMemoryCacheBytesAccounting(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := seatlock.NewMemory(clock.Now, seatlock.WithMaxCacheBytes(4096))
	m.Set(ctx, "k", make([]byte, 100), time.Minute)
	one := m.CacheBytes()
	if one < 101 {
		t.Fatalf("one entry of 100 bytes counts %d bytes", one)
	}
	m.Set(ctx, "k", make([]byte, 300), time.Minute)
	if got := m.CacheBytes(); got != one+200 {
		t.Errorf("after rewriting 100 bytes as 300: %d bytes, want %d", got, one+200)
	}
	m.Set(ctx, "k", make([]byte, 5000), time.Minute)
	if _, ok, _ := m.Get(ctx, "k"); ok {
		t.Error("a value larger than the budget was kept, or left the key's old value")
	}
	if got := m.CacheBytes(); got != 0 {
		t.Errorf("%d bytes with no entry", got)
	}
	m.Set(ctx, "x", make([]byte, 100), time.Second)
	m.Set(ctx, "y", make([]byte, 100), time.Minute)
	m.Delete(ctx, "y", "missing")
	clock.Advance(2 * time.Second)
	if _, ok, _ := m.Get(ctx, "x"); ok {
		t.Error("expired entry read")
	}
	if seats, cache := m.Len(); seats != 0 || cache != 0 || m.CacheBytes() != 0 {
		t.Errorf("after delete and expiry: %d cache entries, %d bytes, want none", cache, m.CacheBytes())
	}
}

// A write into a full cache evicts in constant time: it does not scan every
// entry (it did, on every write at the cap, before the cache kept an LRU).
func BenchmarkMemorySetFull(b *testing.B) {
	ctx := context.Background()
	m := seatlock.NewMemory(nil)
	value := make([]byte, 4096)
	keys := make([]string, 4*seatlock.DefaultMaxCacheEntries)
	for i := range keys {
		keys[i] = fmt.Sprint("offers:v2:search:", i)
	}
	for _, k := range keys[:seatlock.DefaultMaxCacheEntries] {
		m.Set(ctx, k, value, time.Minute)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Set(ctx, keys[i%len(keys)], value, time.Minute)
	}
}
