package store

import (
	"context"
	"time"
)

// APIKey is what the store tells of an API key: never the key, nor its
// digest.
type APIKey struct {
	ID        int64
	Name      string
	Admin     bool
	CreatedAt time.Time
	// LastUsedAt is when a request last authenticated with the key, as
	// replicas last flushed it (see APIKeyTouch); zero if never.
	LastUsedAt time.Time
	// RevokedAt is when the key was revoked; zero while it is live.
	RevokedAt time.Time
}

// APIKeyLifecycle lists and revokes API keys and records their use, for
// `reservd keys list|revoke`; part of Store.
type APIKeyLifecycle interface {
	// APIKeyList returns every key, revoked ones included, by id.
	APIKeyList(ctx context.Context) ([]APIKey, error)
	// APIKeyRevoke revokes the key with this id and returns it; a key
	// revoked before keeps its first RevokedAt. Principal stops finding a
	// revoked key at once (caches above it within their TTL). Errors:
	// apikey.ErrNotFound.
	APIKeyRevoke(ctx context.Context, id int64) (APIKey, error)
	// APIKeyTouch records when keys were last used, by key id, in one
	// write: callers batch uses in memory so that a request costs no write.
	// A time older than the one stored, and an unknown id, change nothing.
	APIKeyTouch(ctx context.Context, used map[int64]time.Time) error
}
