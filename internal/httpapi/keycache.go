package httpapi

import (
	"context"
	"errors"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/reservd/reservd/internal/apikey"
)

// keyCacheSize bounds how many API keys one replica remembers.
const keyCacheSize = 10_000

// keyCache remembers the API keys this replica has looked up for a few
// seconds, so that an authenticated request costs no database round trip.
// A key that exists is remembered for the TTL: a revoked one (revoked_at
// set) stops working within it. A key that does not exist is remembered
// for at most negativeTTL, apart, so that a client repeating a bad key
// costs one lookup a second rather than one per request, and a flood of
// bad keys cannot evict the good ones. (Remembering a miss cannot delay a
// new key: keys are random, so none was tried before it was made.)
// (golang-lru's expirable cache is not used: it starts a goroutine that
// never ends.)
type keyCache struct {
	lookup func(ctx context.Context, digest []byte) (apikey.Principal, error)
	ttl    time.Duration
	now    func() time.Time
	lru    *lru.Cache[string, cachedKey] // nil: no cache
	misses *lru.Cache[string, time.Time] // digest → until when it is known not to exist
}

// negativeTTL bounds how long a key found not to exist is remembered.
const negativeTTL = time.Second

type cachedKey struct {
	p       apikey.Principal
	expires time.Time
}

func newKeyCache(ttl time.Duration, lookup func(context.Context, []byte) (apikey.Principal, error)) *keyCache {
	c := &keyCache{lookup: lookup, ttl: ttl, now: time.Now}
	if ttl > 0 {
		c.lru, _ = lru.New[string, cachedKey](keyCacheSize) // only fails for a size <= 0
		c.misses, _ = lru.New[string, time.Time](keyCacheSize)
	}
	return c
}

// cached returns the key whose digest this is if the cache knows it.
func (c *keyCache) cached(digest []byte) (apikey.Principal, bool) {
	if c.lru == nil {
		return apikey.Principal{}, false
	}
	e, ok := c.lru.Get(string(digest))
	return e.p, ok && c.now().Before(e.expires)
}

// principal returns the key whose digest this is, or apikey.ErrNotFound.
func (c *keyCache) principal(ctx context.Context, digest []byte) (apikey.Principal, error) {
	if p, ok := c.cached(digest); ok {
		return p, nil
	}
	if c.misses != nil {
		if until, ok := c.misses.Get(string(digest)); ok && c.now().Before(until) {
			return apikey.Principal{}, apikey.ErrNotFound
		}
	}
	p, err := c.lookup(ctx, digest)
	switch {
	case c.lru == nil:
	case err == nil:
		c.lru.Add(string(digest), cachedKey{p: p, expires: c.now().Add(c.ttl)})
	case errors.Is(err, apikey.ErrNotFound):
		c.misses.Add(string(digest), c.now().Add(min(c.ttl, negativeTTL)))
	}
	return p, err
}
