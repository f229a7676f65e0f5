package reserve

import (
	"sync"
	"time"
)

// nearCache keeps hot encoded reads in this process for a short TTL, so a
// popular flight costs no database or Redis round trip per request. It is
// bounded: past maxNear entries it drops what has expired, then everything.
type nearCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.RWMutex
	m  map[string]nearEntry
}

type nearEntry struct {
	value   []byte
	expires time.Time
}

const maxNear = 10_000

func newNearCache(ttl time.Duration, now func() time.Time) *nearCache {
	return &nearCache{ttl: ttl, now: now, m: map[string]nearEntry{}}
}

func (c *nearCache) get(key string) ([]byte, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return e.value, true
}

func (c *nearCache) set(key string, value []byte) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxNear {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxNear {
			clear(c.m)
		}
	}
	c.m[key] = nearEntry{value: value, expires: now.Add(c.ttl)}
}

func (c *nearCache) delete(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
}
