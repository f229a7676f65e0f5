package seatlock

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Default bounds of a Memory store.
const (
	DefaultMaxSeats        = 100_000
	DefaultMaxCacheEntries = 4096
	DefaultMaxCacheBytes   = 32 << 20 // 32 MiB of keys, values and per-entry overhead
)

// cacheEntryOverhead is what Memory counts for a cache entry beyond its key's
// and value's bytes: the entry, its list links and its map slot, roughly.
const cacheEntryOverhead = 128

// minPrune is the size below which Memory does not bother sweeping expired
// entries on writes.
const minPrune = 1024

// Memory implements Locker and Cache in process, with the same semantics as
// Redis: it is the embedded default's "in-process locks and caches", and only
// covers one replica.
//
// Expired entries are treated as absent and pruned lazily: on access, and by
// an amortised sweep on writes once a map has grown to twice its size after
// the previous sweep. The number of seat entries is capped (WithMaxSeats);
// when a write would exceed the cap after the sweep, arbitrary entries are
// evicted, which is safe because the database, not this store, decides who
// owns a seat (an evicted lock costs a database round trip, like a flushed
// Redis).
//
// The cache is bounded both by its number of entries (WithMaxCacheEntries)
// and by its bytes (WithMaxCacheBytes: keys, values and a fixed overhead per
// entry), so that a few large values cannot grow the process. A write that
// would exceed either bound evicts the least recently used entries, in
// constant time each; a value larger than the whole byte budget is not kept.
// An evicted entry is a miss, which costs its reader a database round trip or
// a new search, never a wrong answer.
type Memory struct {
	now           func() time.Time
	maxSeats      int
	maxCache      int
	maxCacheBytes int64

	mu             sync.Mutex
	seats          map[seatKey]seatEntry
	cache          map[string]*cacheEntry
	lru            cacheEntry // sentinel of the cache's recency list: lru.next is the most recent
	cacheBytes     int64      // the sum of the cache entries' sizes
	nextSeatPrune  int
	nextCachePrune int
}

type seatKey struct {
	flight int64
	label  string
}

type seatEntry struct {
	owner   string
	expires time.Time // zero: never
}

type cacheEntry struct {
	key        string
	value      []byte
	expires    time.Time // zero: never
	prev, next *cacheEntry
}

// size is what the entry counts against the byte budget.
func (e *cacheEntry) size() int64 {
	return cacheEntrySize(e.key, len(e.value))
}

func cacheEntrySize(key string, n int) int64 {
	return int64(len(key)) + int64(n) + cacheEntryOverhead
}

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithMaxSeats caps the number of seat entries (n <= 0 keeps DefaultMaxSeats).
func WithMaxSeats(n int) MemoryOption {
	return func(m *Memory) {
		if n > 0 {
			m.maxSeats = n
		}
	}
}

// WithMaxCacheEntries caps the number of cache entries (n <= 0 keeps
// DefaultMaxCacheEntries).
func WithMaxCacheEntries(n int) MemoryOption {
	return func(m *Memory) {
		if n > 0 {
			m.maxCache = n
		}
	}
}

// WithMaxCacheBytes caps the bytes of the cache's entries: their keys, their
// values and a fixed overhead each (n <= 0 keeps DefaultMaxCacheBytes).
func WithMaxCacheBytes(n int64) MemoryOption {
	return func(m *Memory) {
		if n > 0 {
			m.maxCacheBytes = n
		}
	}
}

// NewMemory returns an in-process Locker and Cache. clock is its time source
// (nil means time.Now); tests pass a fake clock to control expiry.
func NewMemory(clock func() time.Time, opts ...MemoryOption) *Memory {
	if clock == nil {
		clock = time.Now
	}
	m := &Memory{
		now:            clock,
		maxSeats:       DefaultMaxSeats,
		maxCache:       DefaultMaxCacheEntries,
		maxCacheBytes:  DefaultMaxCacheBytes,
		seats:          make(map[seatKey]seatEntry),
		cache:          make(map[string]*cacheEntry),
		nextSeatPrune:  minPrune,
		nextCachePrune: minPrune,
	}
	m.lru.prev, m.lru.next = &m.lru, &m.lru
	for _, o := range opts {
		o(m)
	}
	return m
}

func expired(exp, now time.Time) bool {
	return !exp.IsZero() && !now.Before(exp)
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

// owned returns the live owner of k, deleting it if expired. mu must be held.
func (m *Memory) owned(k seatKey, now time.Time) (string, bool) {
	e, ok := m.seats[k]
	if !ok {
		return "", false
	}
	if expired(e.expires, now) {
		delete(m.seats, k)
		return "", false
	}
	return e.owner, true
}

// roomForSeats makes room for n more seat entries. mu must be held.
func (m *Memory) roomForSeats(n int, now time.Time) {
	if len(m.seats)+n > m.nextSeatPrune || len(m.seats)+n > m.maxSeats {
		for k, e := range m.seats {
			if expired(e.expires, now) {
				delete(m.seats, k)
			}
		}
		m.nextSeatPrune = max(2*len(m.seats), minPrune)
	}
	for k := range m.seats {
		if len(m.seats)+n <= m.maxSeats {
			break
		}
		delete(m.seats, k)
	}
}

// roomForCache makes room for one more cache entry of size bytes, by
// dropping expired entries (an amortised sweep, as for seats) and then the
// least recently used ones. mu must be held.
//
// The sweep runs only when the cache has doubled since the previous one, not
// whenever it is full: at the bounds, eviction takes the least recently used
// entry, in constant time, instead of scanning every entry on every write.
func (m *Memory) roomForCache(size int64, now time.Time) {
	if len(m.cache)+1 > m.nextCachePrune {
		for _, e := range m.cache {
			if expired(e.expires, now) {
				m.removeCache(e)
			}
		}
		m.nextCachePrune = max(2*len(m.cache), minPrune)
	}
	for m.lru.prev != &m.lru && (len(m.cache)+1 > m.maxCache || m.cacheBytes+size > m.maxCacheBytes) {
		m.removeCache(m.lru.prev)
	}
}

// removeCache deletes e from the cache. mu must be held.
func (m *Memory) removeCache(e *cacheEntry) {
	delete(m.cache, e.key)
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	m.cacheBytes -= e.size()
}

// touchCache makes e the most recently used entry, adding it to the recency
// list if it is not on it. mu must be held.
func (m *Memory) touchCache(e *cacheEntry) {
	if e.prev != nil {
		e.prev.next, e.next.prev = e.next, e.prev
	}
	e.prev, e.next = &m.lru, m.lru.next
	m.lru.next.prev = e
	m.lru.next = e
}

// Acquire implements Locker.
func (m *Memory) Acquire(ctx context.Context, flightID int64, seats []string, owner string, ttl time.Duration) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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
	if len(seats) > m.maxSeats {
		return nil, fmt.Errorf("%w: %d seats exceed the in-process capacity %d", ErrInvalid, len(seats), m.maxSeats)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var taken []string
	for _, s := range seats {
		if cur, ok := m.owned(seatKey{flightID, s}, now); ok && cur != owner {
			taken = append(taken, s)
		}
	}
	if len(taken) > 0 {
		return taken, nil
	}
	// Room for all of them, as eviction may pick seats owner already holds.
	m.roomForSeats(len(seats), now)
	e := seatEntry{owner: owner, expires: expiry(now, ttl)}
	for _, s := range seats {
		m.seats[seatKey{flightID, s}] = e
	}
	return nil, nil
}

// Release implements Locker.
func (m *Memory) Release(ctx context.Context, flightID int64, seats []string, owner string) error {
	return m.eachOwned(ctx, flightID, seats, owner, func(k seatKey, _ time.Time) {
		delete(m.seats, k)
	})
}

// Extend implements Locker.
func (m *Memory) Extend(ctx context.Context, flightID int64, seats []string, owner string, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	return m.eachOwned(ctx, flightID, seats, owner, func(k seatKey, now time.Time) {
		m.seats[k] = seatEntry{owner: owner, expires: expiry(now, ttl)}
	})
}

// Transfer implements Locker.
func (m *Memory) Transfer(ctx context.Context, flightID int64, seats []string, from, to string, ttl time.Duration) error {
	if err := checkOwner("to", to); err != nil {
		return err
	}
	if ttl < 0 {
		return fmt.Errorf("%w: negative ttl %v", ErrInvalid, ttl)
	}
	return m.eachOwned(ctx, flightID, seats, from, func(k seatKey, now time.Time) {
		m.seats[k] = seatEntry{owner: to, expires: expiry(now, ttl)}
	})
}

// eachOwned calls fn, under the lock, for every seat still owned by owner.
func (m *Memory) eachOwned(ctx context.Context, flightID int64, seats []string, owner string, fn func(seatKey, time.Time)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	seats, err := normalizeSeats(seats)
	if err != nil {
		return err
	}
	if err := checkOwner("owner", owner); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, s := range seats {
		k := seatKey{flightID, s}
		if cur, ok := m.owned(k, now); ok && cur == owner {
			fn(k, now)
		}
	}
	return nil
}

// Get implements Cache. The returned slice is a copy.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.cache[key]
	if !ok {
		return nil, false, nil
	}
	if expired(e.expires, m.now()) {
		m.removeCache(e)
		return nil, false, nil
	}
	m.touchCache(e)
	return slices.Clone(e.value), true, nil
}

// Set implements Cache. The value is copied. A value that would not fit in
// the byte budget on its own is not kept (and replaces no stale value: the
// key is then absent).
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	size := cacheEntrySize(key, len(value))
	var v []byte
	if size <= m.maxCacheBytes {
		v = make([]byte, len(value))
		copy(v, value)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, exists := m.cache[key]; exists {
		m.removeCache(old)
	}
	if v == nil {
		return nil
	}
	now := m.now()
	m.roomForCache(size, now)
	e := &cacheEntry{key: key, value: v, expires: expiry(now, ttl)}
	m.cache[key] = e
	m.cacheBytes += size
	m.touchCache(e)
	return nil
}

// Delete implements Cache.
func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if e, ok := m.cache[k]; ok {
			m.removeCache(e)
		}
	}
	return nil
}

// Len reports the number of seat and cache entries currently stored,
// including expired ones not yet pruned (for tests and metrics).
func (m *Memory) Len() (seats, cache int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seats), len(m.cache)
}

// CacheBytes reports the bytes the cache's entries count against
// WithMaxCacheBytes, expired ones not yet pruned included (for tests and
// metrics).
func (m *Memory) CacheBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cacheBytes
}
