package cache

import (
	"context"
	"sync"
	"time"
)

// Near keeps hot values in this process for a short TTL, in front of a
// shared cache (Redis), so that a popular flight costs no database or Redis
// round trip per request. It is deliberately simpler than Memory — a map
// under a read-write lock, for the many reads of a few hot keys — and
// bounded: past MaxNear entries a write drops what has expired, then
// everything. It never fails.
type Near struct {
	now func() time.Time

	mu sync.RWMutex
	m  map[string]nearEntry
}

type nearEntry struct {
	value   []byte
	expires time.Time // zero: never
}

// MaxNear bounds a Near cache's entries.
const MaxNear = 10_000

// NewNear returns an empty near cache on clock (nil means time.Now).
func NewNear(clock func() time.Time) *Near {
	if clock == nil {
		clock = time.Now
	}
	return &Near{now: clock, m: map[string]nearEntry{}}
}

// Get implements Cache. The value is shared, not copied: callers must not
// modify it.
func (c *Near) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || expired(e.expires, c.now()) {
		return nil, false, nil
	}
	return e.value, true, nil
}

// Set implements Cache. The value is kept as is, not copied.
func (c *Near) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= MaxNear {
		for k, e := range c.m {
			if expired(e.expires, now) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= MaxNear {
			clear(c.m)
		}
	}
	c.m[key] = nearEntry{value: value, expires: expiry(now, ttl)}
	return nil
}

// Delete implements Cache.
func (c *Near) Delete(_ context.Context, keys ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
	return nil
}

// Len reports the number of entries, expired ones not yet dropped included.
func (c *Near) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
