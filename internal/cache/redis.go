package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/reservd/reservd/internal/redisclient"
)

// DefaultTimeout bounds every Redis call unless WithTimeout says otherwise.
// A cache must never be slower than the work it is meant to spare.
const DefaultTimeout = 100 * time.Millisecond

// DefaultPrefix is the key prefix used unless WithPrefix says otherwise.
const DefaultPrefix = "reservd"

// Redis is a Cache on a Redis server or cluster shared by every replica.
//
// Keys are <prefix>:cache:<key>; the default prefix is "reservd" (the seat
// locks of internal/seatlock share the prefix, under :seat:). Every call is
// bounded by the timeout (default 100 ms) derived from the caller's ctx;
// errors are returned for the caller to do the work uncached.
//
// The client must honour context deadlines on socket I/O
// (ContextTimeoutEnabled: true, as seatlock.NewRedisClient sets); otherwise
// go-redis ignores the timeout while reading and a slow Redis would stall
// requests. NewRedis refuses the clients it can inspect when that option is
// off.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// RedisOption configures NewRedis.
type RedisOption func(*Redis)

// WithTimeout sets the bound on each Redis call (d <= 0 keeps DefaultTimeout).
// A shorter deadline already on the caller's ctx still wins.
func WithTimeout(d time.Duration) RedisOption {
	return func(r *Redis) {
		if d > 0 {
			r.timeout = d
		}
	}
}

// WithPrefix sets the key prefix (default "reservd"); useful to isolate
// tests or several deployments sharing one Redis.
func WithPrefix(prefix string) RedisOption {
	return func(r *Redis) { r.prefix = prefix }
}

// NewRedis returns a Redis-backed cache using client, which the caller owns
// (and closes).
func NewRedis(client redis.UniversalClient, opts ...RedisOption) (*Redis, error) {
	if client == nil {
		return nil, errors.New("cache: nil redis client")
	}
	r := &Redis{client: client, prefix: DefaultPrefix, timeout: DefaultTimeout}
	for _, o := range opts {
		o(r)
	}
	if r.prefix == "" {
		return nil, errors.New("cache: empty key prefix")
	}
	if enabled, known := redisclient.ContextTimeoutEnabled(client); known && !enabled {
		return nil, errors.New("cache: redis client must be created with ContextTimeoutEnabled: true, " +
			"otherwise the per-call timeout does not bound socket I/O and a slow Redis stalls requests")
	}
	return r, nil
}

// Key returns the Redis key of a cache entry.
func (r *Redis) Key(key string) string {
	return r.prefix + ":cache:" + key
}

func (r *Redis) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// Get implements Cache.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	v, err := r.client.Get(ctx, r.Key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: redis get: %w", err)
	}
	return v, true, nil
}

// Set implements Cache. A ttl is rounded up to whole milliseconds.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	var exp time.Duration
	if ttl > 0 {
		exp = (ttl + time.Millisecond - 1) / time.Millisecond * time.Millisecond
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	if err := r.client.Set(ctx, r.Key(key), value, exp).Err(); err != nil {
		return fmt.Errorf("cache: redis set: %w", err)
	}
	return nil
}

// Delete implements Cache. Keys are deleted one command each (pipelined), so
// it also works on a cluster where they live in different slots.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	var err error
	if len(keys) == 1 {
		err = r.client.Del(ctx, r.Key(keys[0])).Err()
	} else {
		_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, r.Key(k))
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("cache: redis delete: %w", err)
	}
	return nil
}
