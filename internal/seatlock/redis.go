package seatlock

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/reservd/reservd/internal/redisclient"
)

// DefaultTimeout bounds every Redis call unless WithTimeout says otherwise.
// The fast path must never be slower than the database it is meant to spare.
const DefaultTimeout = 100 * time.Millisecond

// DefaultPrefix is the key prefix used unless WithPrefix says otherwise.
const DefaultPrefix = "reservd"

// Redis implements Locker on a Redis server or cluster shared by all
// replicas.
//
// Keys are <prefix>:seat:{<flightID>}:<label> (the hash tag keeps one
// flight's seats in one cluster slot, so the multi-key scripts work on a
// cluster; internal/cache keeps its entries beside them, under
// <prefix>:cache:); the default prefix is "reservd". Every
// seat operation is a single Lua script, so it is atomic across the seats of a
// request. Every call is bounded by the timeout (default 100 ms) derived from
// the caller's ctx; errors are returned for the caller to fall back to the
// database.
//
// The client must honour context deadlines on socket I/O
// (ContextTimeoutEnabled: true, as NewRedisClient sets); otherwise go-redis
// ignores the timeout while reading and a slow Redis would stall requests.
// NewRedis refuses the clients it can inspect (*redis.Client,
// *redis.ClusterClient, *redis.Ring) when that option is off.
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

// WithPrefix sets the key prefix (default "reservd"); useful to isolate tests
// or several deployments sharing one Redis. It must not contain '{' or '}'
// (that would break the per-flight hash tag).
func WithPrefix(prefix string) RedisOption {
	return func(r *Redis) { r.prefix = prefix }
}

// NewRedis returns a Redis-backed Locker using client, which the
// caller owns (and closes). See Redis for the requirements on client.
func NewRedis(client redis.UniversalClient, opts ...RedisOption) (*Redis, error) {
	if client == nil {
		return nil, errors.New("seatlock: nil redis client")
	}
	r := &Redis{client: client, prefix: DefaultPrefix, timeout: DefaultTimeout}
	for _, o := range opts {
		o(r)
	}
	if r.prefix == "" || strings.ContainsAny(r.prefix, "{}") {
		return nil, fmt.Errorf("seatlock: invalid key prefix %q (must be non-empty, without '{' or '}')", r.prefix)
	}
	if enabled, known := redisclient.ContextTimeoutEnabled(client); known && !enabled {
		return nil, errors.New("seatlock: redis client must be created with ContextTimeoutEnabled: true, " +
			"otherwise the per-call timeout does not bound socket I/O and a slow Redis stalls requests")
	}
	return r, nil
}

// NewRedisClient returns a client for a redis:// or rediss:// URL configured
// for use as a fast path: context deadlines are honoured on socket I/O, and
// the socket timeouts are short backstops.
func NewRedisClient(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("seatlock: parse redis url: %w", err)
	}
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = backstops(opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout)
	return redis.NewClient(opt), nil
}

// NewRedisClusterClient returns a Redis Cluster client for a redis:// or
// rediss:// URL naming one seed node, further seeds as addr parameters
// (redis://host1:7001?addr=host2:7002&addr=host3:7003; go-redis's
// ParseClusterURL), configured for use as a fast path like NewRedisClient.
// The client learns the slot map from any seed that answers and routes every
// command, each command of a pipeline included, to the master of its key's
// slot.
func NewRedisClusterClient(url string) (*redis.ClusterClient, error) {
	opt, err := redis.ParseClusterURL(url)
	if err != nil {
		return nil, fmt.Errorf("seatlock: parse redis cluster url: %w", err)
	}
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = backstops(opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout)
	return redis.NewClusterClient(opt), nil
}

// NewUniversalRedisClient returns NewRedisClusterClient(url) when cluster is
// set (REDIS_CLUSTER), else NewRedisClient(url).
func NewUniversalRedisClient(url string, cluster bool) (redis.UniversalClient, error) {
	if cluster {
		return NewRedisClusterClient(url)
	}
	return NewRedisClient(url)
}

// backstops caps the socket timeouts at a second: the per-call context
// deadline is what bounds a call, these only end a call stuck past it.
func backstops(dial, read, write time.Duration) (time.Duration, time.Duration, time.Duration) {
	if dial <= 0 || dial > time.Second {
		dial = time.Second
	}
	if read == 0 || read > time.Second {
		read = time.Second
	}
	if write == 0 || write > time.Second {
		write = time.Second
	}
	return dial, read, write
}

// SeatKey returns the Redis key of a seat.
func (r *Redis) SeatKey(flightID int64, label string) string {
	return r.prefix + ":seat:{" + strconv.FormatInt(flightID, 10) + "}:" + label
}

func (r *Redis) seatKeys(flightID int64, seats []string) []string {
	keys := make([]string, len(seats))
	for i, s := range seats {
		keys[i] = r.SeatKey(flightID, s)
	}
	return keys
}

func (r *Redis) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// millis rounds a positive duration up to whole milliseconds (at least 1).
func millis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// acquireScript: KEYS = seat keys, ARGV[1] = owner, ARGV[2] = ttl (ms).
// Returns the 1-based indices of the keys owned by someone else; if there are
// any, nothing is written.
var acquireScript = redis.NewScript(`
local taken = {}
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v and v ~= ARGV[1] then
    taken[#taken + 1] = i
  end
end
if #taken > 0 then
  return taken
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return taken
`)

// releaseScript: KEYS = seat keys, ARGV[1] = owner. Compare-and-delete.
var releaseScript = redis.NewScript(`
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    n = n + 1
  end
end
return n
`)

// extendScript: KEYS = seat keys, ARGV[1] = owner, ARGV[2] = ttl (ms).
// Compare-and-PEXPIRE.
var extendScript = redis.NewScript(`
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    n = n + 1
  end
end
return n
`)

// transferScript: KEYS = seat keys, ARGV[1] = from, ARGV[2] = to,
// ARGV[3] = ttl (ms, 0 = no expiry). Compare-and-SET; a plain SET drops any
// previous expiry.
var transferScript = redis.NewScript(`
local ttl = tonumber(ARGV[3])
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    if ttl > 0 then
      redis.call('SET', KEYS[i], ARGV[2], 'PX', ttl)
    else
      redis.call('SET', KEYS[i], ARGV[2])
    end
    n = n + 1
  end
end
return n
`)

// Acquire implements Locker.
func (r *Redis) Acquire(ctx context.Context, flightID int64, seats []string, owner string, ttl time.Duration) ([]string, error) {
	seats, err := normalizeSeats(seats)
	if err != nil {
		return nil, err
	}
	if err := checkOwner("owner", owner); err != nil {
		return nil, err
	}
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	if len(seats) == 0 {
		return nil, nil
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	idx, err := acquireScript.Run(ctx, r.client, r.seatKeys(flightID, seats), owner, millis(ttl)).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("seatlock: redis acquire: %w", err)
	}
	if len(idx) == 0 {
		return nil, nil
	}
	taken := make([]string, 0, len(idx))
	for _, i := range idx {
		if i < 1 || i > int64(len(seats)) {
			return nil, fmt.Errorf("seatlock: redis acquire: bad index %d in script reply", i)
		}
		taken = append(taken, seats[i-1])
	}
	return taken, nil
}

// Release implements Locker.
func (r *Redis) Release(ctx context.Context, flightID int64, seats []string, owner string) error {
	return r.runOwned(ctx, "release", releaseScript, flightID, seats, owner)
}

// Extend implements Locker.
func (r *Redis) Extend(ctx context.Context, flightID int64, seats []string, owner string, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	return r.runOwned(ctx, "extend", extendScript, flightID, seats, owner, millis(ttl))
}

// Transfer implements Locker.
func (r *Redis) Transfer(ctx context.Context, flightID int64, seats []string, from, to string, ttl time.Duration) error {
	if err := checkOwner("to", to); err != nil {
		return err
	}
	if ttl < 0 {
		return fmt.Errorf("%w: negative ttl %v", ErrInvalid, ttl)
	}
	var ms int64
	if ttl > 0 {
		ms = millis(ttl)
	}
	return r.runOwned(ctx, "transfer", transferScript, flightID, seats, from, to, ms)
}

// runOwned runs a compare-and-X script whose ARGV[1] is the current owner.
func (r *Redis) runOwned(ctx context.Context, op string, s *redis.Script, flightID int64, seats []string, owner string, args ...any) error {
	seats, err := normalizeSeats(seats)
	if err != nil {
		return err
	}
	if err := checkOwner("owner", owner); err != nil {
		return err
	}
	if len(seats) == 0 {
		return nil
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	if err := s.Run(ctx, r.client, r.seatKeys(flightID, seats), append([]any{owner}, args...)...).Err(); err != nil {
		return fmt.Errorf("seatlock: redis %s: %w", op, err)
	}
	return nil
}
