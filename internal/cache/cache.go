// Package cache is reservd's one cache interface and its implementations:
// Memory (in process, bounded by entries and bytes, least recently used
// first out), Redis (shared by every replica) and Near (a small per-process
// layer with one TTL, in front of a shared cache).
//
// A cache only ever spares work: the services read through it (flights and
// seat maps in reserve, offer searches in aggregator) and an error or a miss
// costs a database round trip or a provider search, never a wrong answer.
// Seat ownership is not cached here: that is internal/seatlock. Nor are
// the HTTP layer's two small per-replica lookups of typed values, API keys
// (httpapi's keyCache, whose revocation and negative-lookup rules are its
// own) and sales (httpapi's newSaleCache): they hold Go values, never
// bytes to share between replicas, and live beside the one code that
// reads them.
package cache

import (
	"context"
	"time"
)

// Cache is a byte cache with expiry and invalidation.
//
// A miss is (nil, false, nil). An error means the cache is unavailable: the
// caller does the work as if nothing was cached. Implementations are safe
// for concurrent use.
type Cache interface {
	// Get returns the value stored under key, if any.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores value under key for ttl (ttl <= 0 = no expiry; prefer a ttl).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys (missing keys are not an error).
	Delete(ctx context.Context, keys ...string) error
}

var (
	_ Cache = (*Memory)(nil)
	_ Cache = (*Redis)(nil)
	_ Cache = (*Near)(nil)
)

func expired(exp, now time.Time) bool {
	return !exp.IsZero() && !now.Before(exp)
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}
