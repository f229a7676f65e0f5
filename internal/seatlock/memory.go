package seatlock

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultMaxSeats bounds a Memory store's seat entries.
const DefaultMaxSeats = 100_000

// minPrune is the size below which Memory does not bother sweeping expired
// entries on writes.
const minPrune = 1024

// Memory implements Locker in process, with the same semantics as Redis: it
// is the embedded default's "in-process locks", and only covers one replica.
//
// Expired entries are treated as absent and pruned lazily: on access, and by
// an amortised sweep on writes once the map has grown to twice its size after
// the previous sweep. The number of seat entries is capped (WithMaxSeats);
// when a write would exceed the cap after the sweep, arbitrary entries are
// evicted, which is safe because the database, not this store, decides who
// owns a seat (an evicted lock costs a database round trip, like a flushed
// Redis).
type Memory struct {
	now      func() time.Time
	maxSeats int

	mu            sync.Mutex
	seats         map[seatKey]seatEntry
	nextSeatPrune int
}

type seatKey struct {
	flight int64
	label  string
}

type seatEntry struct {
	owner   string
	expires time.Time // zero: never
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

// NewMemory returns an in-process Locker. clock is its time source
// (nil means time.Now); tests pass a fake clock to control expiry.
func NewMemory(clock func() time.Time, opts ...MemoryOption) *Memory {
	if clock == nil {
		clock = time.Now
	}
	m := &Memory{
		now:           clock,
		maxSeats:      DefaultMaxSeats,
		seats:         make(map[seatKey]seatEntry),
		nextSeatPrune: minPrune,
	}
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

// Len reports the number of seat entries currently stored, including
// expired ones not yet pruned (for tests and metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seats)
}
