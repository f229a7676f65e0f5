package cache

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Default bounds of a Memory cache.
const (
	DefaultMaxEntries = 4096
	DefaultMaxBytes   = 32 << 20 // 32 MiB of keys, values and per-entry overhead
)

// entryOverhead is what Memory counts for an entry beyond its key's and
// value's bytes: the entry, its list links and its map slot, roughly.
const entryOverhead = 128

// minPrune is the size below which Memory does not bother sweeping expired
// entries on writes.
const minPrune = 1024

// Memory is a Cache in process: the embedded default's cache, covering one
// replica.
//
// It is bounded both by its number of entries (WithMaxEntries) and by its
// bytes (WithMaxBytes: keys, values and a fixed overhead per entry), so that
// a few large values cannot grow the process. A write that would exceed
// either bound evicts the least recently used entries, in constant time
// each; a value larger than the whole byte budget is not kept. Expired
// entries are treated as absent and pruned lazily: on access, and by an
// amortised sweep on writes once the cache has doubled since the previous
// sweep. An evicted entry is a miss, which costs its reader a database round
// trip or a new search, never a wrong answer.
type Memory struct {
	now        func() time.Time
	maxEntries int
	maxBytes   int64

	mu        sync.Mutex
	entries   map[string]*entry
	lru       entry // sentinel of the recency list: lru.next is the most recent
	bytes     int64 // the sum of the entries' sizes
	nextPrune int
}

type entry struct {
	key        string
	value      []byte
	expires    time.Time // zero: never
	prev, next *entry
}

// size is what the entry counts against the byte budget.
func (e *entry) size() int64 {
	return entrySize(e.key, len(e.value))
}

func entrySize(key string, n int) int64 {
	return int64(len(key)) + int64(n) + entryOverhead
}

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithMaxEntries caps the number of entries (n <= 0 keeps DefaultMaxEntries).
func WithMaxEntries(n int) MemoryOption {
	return func(m *Memory) {
		if n > 0 {
			m.maxEntries = n
		}
	}
}

// WithMaxBytes caps the bytes of the entries: their keys, their values and
// a fixed overhead each (n <= 0 keeps DefaultMaxBytes).
func WithMaxBytes(n int64) MemoryOption {
	return func(m *Memory) {
		if n > 0 {
			m.maxBytes = n
		}
	}
}

// NewMemory returns an in-process cache. clock is its time source (nil means
// time.Now); tests pass a fake clock to control expiry.
func NewMemory(clock func() time.Time, opts ...MemoryOption) *Memory {
	if clock == nil {
		clock = time.Now
	}
	m := &Memory{
		now:        clock,
		maxEntries: DefaultMaxEntries,
		maxBytes:   DefaultMaxBytes,
		entries:    make(map[string]*entry),
		nextPrune:  minPrune,
	}
	m.lru.prev, m.lru.next = &m.lru, &m.lru
	for _, o := range opts {
		o(m)
	}
	return m
}

// roomFor makes room for one more entry of size bytes, by dropping expired
// entries (an amortised sweep) and then the least recently used ones. mu
// must be held.
//
// The sweep runs only when the cache has doubled since the previous one, not
// whenever it is full: at the bounds, eviction takes the least recently used
// entry, in constant time, instead of scanning every entry on every write.
func (m *Memory) roomFor(size int64, now time.Time) {
	if len(m.entries)+1 > m.nextPrune {
		for _, e := range m.entries {
			if expired(e.expires, now) {
				m.remove(e)
			}
		}
		m.nextPrune = max(2*len(m.entries), minPrune)
	}
	for m.lru.prev != &m.lru && (len(m.entries)+1 > m.maxEntries || m.bytes+size > m.maxBytes) {
		m.remove(m.lru.prev)
	}
}

// remove deletes e. mu must be held.
func (m *Memory) remove(e *entry) {
	delete(m.entries, e.key)
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	m.bytes -= e.size()
}

// touch makes e the most recently used entry, adding it to the recency list
// if it is not on it. mu must be held.
func (m *Memory) touch(e *entry) {
	if e.prev != nil {
		e.prev.next, e.next.prev = e.next, e.prev
	}
	e.prev, e.next = &m.lru, m.lru.next
	m.lru.next.prev = e
	m.lru.next = e
}

// Get implements Cache. The returned slice is a copy.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, false, nil
	}
	if expired(e.expires, m.now()) {
		m.remove(e)
		return nil, false, nil
	}
	m.touch(e)
	return slices.Clone(e.value), true, nil
}

// Set implements Cache. The value is copied. A value that would not fit in
// the byte budget on its own is not kept (and replaces no stale value: the
// key is then absent).
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	size := entrySize(key, len(value))
	var v []byte
	if size <= m.maxBytes {
		v = make([]byte, len(value))
		copy(v, value)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, exists := m.entries[key]; exists {
		m.remove(old)
	}
	if v == nil {
		return nil
	}
	now := m.now()
	m.roomFor(size, now)
	e := &entry{key: key, value: v, expires: expiry(now, ttl)}
	m.entries[key] = e
	m.bytes += size
	m.touch(e)
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
		if e, ok := m.entries[k]; ok {
			m.remove(e)
		}
	}
	return nil
}

// Len reports the number of entries currently stored, including expired
// ones not yet pruned (for tests and metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Bytes reports the bytes the entries count against WithMaxBytes, expired
// ones not yet pruned included (for tests and metrics).
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}
