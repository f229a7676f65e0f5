package cache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/cache"
)

// The cache halves of seatlock's former Memory tests: the bounds hold
// whatever is written, and the latest writes are kept.
func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := cache.NewMemory(nil, cache.WithMaxEntries(10))
	for i := range 1000 {
		if err := m.Set(ctx, fmt.Sprint("k", i), []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if n := m.Len(); n > 10 {
			t.Fatalf("after %d writes: %d cache entries; cap is 10", i+1, n)
		}
	}
	// The latest writes are always kept.
	if _, ok, _ := m.Get(ctx, "k999"); !ok {
		t.Error("latest cache entry evicted")
	}
}

func TestMemoryPrunesExpired(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := cache.NewMemory(clock.Now)
	write := func(round string) {
		for i := range 5000 {
			if err := m.Set(ctx, fmt.Sprint(round, i), []byte("v"), time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("a")
	clock.Advance(2 * time.Second)
	write("b")
	if n := m.Len(); n > cache.DefaultMaxEntries {
		t.Errorf("%d cache entries; want <= %d", n, cache.DefaultMaxEntries)
	}
}

func TestMemoryCancelledContext(t *testing.T) {
	t.Parallel()
	m := cache.NewMemory(nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Set(ctx, "k", []byte("v"), time.Minute); err == nil {
		t.Error("Set with a cancelled context succeeded")
	}
	if _, ok, err := m.Get(t.Context(), "k"); ok || err != nil {
		t.Errorf("a cancelled Set left state: %v, %v", ok, err)
	}
	if _, _, err := m.Get(ctx, "k"); err == nil {
		t.Error("Get with a cancelled context succeeded")
	}
}

func TestMemoryCopiesValues(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := cache.NewMemory(nil)
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

func TestMemoryCacheBytesBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const budget = 16 << 10
	m := cache.NewMemory(nil, cache.WithMaxBytes(budget))
	value := make([]byte, 1000)
	for i := range 200 {
		if err := m.Set(ctx, fmt.Sprint("k", i), value, time.Hour); err != nil {
			t.Fatal(err)
		}
		if b := m.Bytes(); b > budget {
			t.Fatalf("after %d writes: %d cache bytes, over the budget of %d", i+1, b, budget)
		}
	}
	// 16 KiB hold at least 14 entries of 1,000 bytes and their overhead.
	if n := m.Len(); n < 14 || n > 16 {
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
	m := cache.NewMemory(nil, cache.WithMaxEntries(3))
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
	m := cache.NewMemory(clock.Now, cache.WithMaxBytes(4096))
	m.Set(ctx, "k", make([]byte, 100), time.Minute)
	one := m.Bytes()
	if one < 101 {
		t.Fatalf("one entry of 100 bytes counts %d bytes", one)
	}
	m.Set(ctx, "k", make([]byte, 300), time.Minute)
	if got := m.Bytes(); got != one+200 {
		t.Errorf("after rewriting 100 bytes as 300: %d bytes, want %d", got, one+200)
	}
	m.Set(ctx, "k", make([]byte, 5000), time.Minute)
	if _, ok, _ := m.Get(ctx, "k"); ok {
		t.Error("a value larger than the budget was kept, or left the key's old value")
	}
	if got := m.Bytes(); got != 0 {
		t.Errorf("%d bytes with no entry", got)
	}
	m.Set(ctx, "x", make([]byte, 100), time.Second)
	m.Set(ctx, "y", make([]byte, 100), time.Minute)
	m.Delete(ctx, "y", "missing")
	clock.Advance(2 * time.Second)
	if _, ok, _ := m.Get(ctx, "x"); ok {
		t.Error("expired entry read")
	}
	if n := m.Len(); n != 0 || m.Bytes() != 0 {
		t.Errorf("after delete and expiry: %d cache entries, %d bytes, want none", n, m.Bytes())
	}
}

// A write into a full cache evicts in constant time: it does not scan every
// entry (it did, on every write at the cap, before the cache kept an LRU).
func BenchmarkMemorySetFull(b *testing.B) {
	ctx := context.Background()
	m := cache.NewMemory(nil)
	value := make([]byte, 4096)
	keys := make([]string, 4*cache.DefaultMaxEntries)
	for i := range keys {
		keys[i] = fmt.Sprint("offers:v2:search:", i)
	}
	for _, k := range keys[:cache.DefaultMaxEntries] {
		m.Set(ctx, k, value, time.Minute)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Set(ctx, keys[i%len(keys)], value, time.Minute)
	}
}
