package httpapi

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/reservd/reservd/internal/apikey"
)

// keyCacheSize bounds how many API keys one replica remembers.
const keyCacheSize = 10_000

// keyCache remembers the API keys this replica has looked up for a few
// seconds, so that an authenticated request costs no database round trip.
// Only keys that exist are remembered: a key created a moment ago works at
// once, and a revoked one (revoked_at set) stops working within the TTL.
// (golang-lru's expirable cache is not used: it starts a goroutine that
// never ends.)
type keyCache struct {
	lookup func(ctx context.Context, digest []byte) (apikey.Principal, error)
	ttl    time.Duration
	now    func() time.Time
	lru    *lru.Cache[string, cachedKey] // nil: no cache
}

type cachedKey struct {
	p       apikey.Principal
	expires time.Time
}

func newKeyCache(ttl time.Duration, lookup func(context.Context, []byte) (apikey.Principal, error)) *keyCache {
	c := &keyCache{lookup: lookup, ttl: ttl, now: time.Now}
	if ttl > 0 {
		c.lru, _ = lru.New[string, cachedKey](keyCacheSize) // only fails for a size <= 0
	}
	return c
}

// principal returns the key whose digest this is, or apikey.ErrNotFound.
func (c *keyCache) principal(ctx context.Context, digest []byte) (apikey.Principal, error) {
	if c.lru != nil {
		if e, ok := c.lru.Get(string(digest)); ok && c.now().Before(e.expires) {
			return e.p, nil
		}
	}
	p, err := c.lookup(ctx, digest)
	if err == nil && c.lru != nil {
		c.lru.Add(string(digest), cachedKey{p: p, expires: c.now().Add(c.ttl)})
	}
	return p, err
}
