// Package ratelimit limits requests per API key: a token bucket in process
// (golang.org/x/time/rate), or a GCRA shared by every replica in Redis
// (go-redis/redis_rate). Limits protect the service; they decide nothing
// about seats, so when Redis fails the caller lets the request through.
package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Limiter decides whether a request under key may go ahead now.
type Limiter interface {
	// Allow takes one token for key; when none is left it reports how long
	// until one is.
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// Unlimited allows every request: RATE_LIMIT=0 turns limits off. A limiter
// that says so, rather than a nil one, keeps every caller free of nil checks.
type Unlimited struct{}

var _ Limiter = Unlimited{}

// Allow implements Limiter.
func (Unlimited) Allow(context.Context, string) (bool, time.Duration, error) { return true, 0, nil }

// Memory is a token bucket per key in this process.
type Memory struct {
	perSecond float64
	burst     int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

var _ Limiter = (*Memory)(nil)

// maxIdleBuckets bounds the buckets kept for keys that have gone quiet.
const maxIdleBuckets = 10_000

// NewMemory allows perSecond requests per key on average, in bursts of burst.
func NewMemory(perSecond float64, burst int) *Memory {
	return &Memory{perSecond: perSecond, burst: burst, now: time.Now, buckets: map[string]*bucket{}}
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[key]
	if !ok {
		if len(m.buckets) >= maxIdleBuckets {
			m.prune(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(m.perSecond), m.burst)}
		m.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// prune drops buckets full again (idle long enough to have refilled).
func (m *Memory) prune(now time.Time) {
	refill := time.Duration(float64(m.burst) / m.perSecond * float64(time.Second))
	for k, b := range m.buckets {
		if now.Sub(b.seen) > refill {
			delete(m.buckets, k)
		}
	}
}

// redisTimeout bounds one limiter call, as the seat fast path's calls are.
const redisTimeout = 100 * time.Millisecond

// DefaultPrefix is the key prefix used unless WithPrefix says otherwise
// (REDIS_PREFIX's default).
const DefaultPrefix = "reservd"

// Redis is a GCRA limiter shared by every replica. Its keys are
// rate:<prefix>:rate:<key> (redis_rate puts the first "rate:" in front of
// every key it is given), so that deployments sharing one Redis under
// different REDIS_PREFIX values never spend each other's tokens.
type Redis struct {
	lim    *redis_rate.Limiter
	limit  redis_rate.Limit
	prefix string
}

var _ Limiter = (*Redis)(nil)

// RedisOption configures NewRedis.
type RedisOption func(*Redis)

// WithPrefix sets the key prefix (REDIS_PREFIX; default "reservd"); an
// empty prefix keeps the default.
func WithPrefix(prefix string) RedisOption {
	return func(r *Redis) {
		if prefix != "" {
			r.prefix = prefix
		}
	}
}

// NewRedis allows perSecond requests per key, in bursts of burst, across replicas.
func NewRedis(client redis.UniversalClient, perSecond float64, burst int, opts ...RedisOption) *Redis {
	period := time.Second
	rateN := int(perSecond)
	if perSecond < 1 {
		period, rateN = time.Duration(float64(time.Second)/perSecond), 1
	}
	r := &Redis{lim: redis_rate.NewLimiter(client), limit: redis_rate.Limit{Rate: rateN, Burst: burst, Period: period}, prefix: DefaultPrefix}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	// A slow Redis must not slow every request: past this, let it through.
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	res, err := r.lim.Allow(ctx, r.prefix+":rate:"+key, r.limit)
	if err != nil {
		return true, 0, err
	}
	return res.Allowed > 0, res.RetryAfter, nil
}
