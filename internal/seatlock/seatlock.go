// Package seatlock is the fast path in front of the database for seat
// ownership, plus a small read cache.
//
// The database (PostgreSQL or SQLite) is the only arbiter of who owns a seat:
// every hold, booking and release is a conditional, all-or-nothing
// transaction judged by the database's clock. Nothing in this package decides
// ownership. A Locker only lets a replica refuse a seat that is obviously taken
// without a database round trip, and a Cache keeps hot reads (seat maps,
// flights) off the database.
//
// Redis-style locks cannot fence: a lock holder paused by GC, a network
// partition or a failover can lose its key while still believing it owns it,
// and Redlock does not change that (see Kleppmann, "How to do distributed
// locking", and docs/DESIGN.md, "Integrity"). So a Locker answer is advisory in one
// direction only:
//
//   - "taken" lets the caller refuse early (the seat is held by another hold
//     right now, the database would refuse too, modulo races it arbitrates);
//   - "acquired" means nothing: the caller still runs the database transaction,
//     which may refuse;
//   - an error means the fast path is unavailable (Redis down, slow, flushed,
//     misconfigured): the caller goes to the database as if nothing was known,
//     logs and counts the fallback, and never turns the error into a client
//     error. Losing keys (flush, eviction, expiry) can only cost a database
//     round trip, never an oversell.
//
// Two implementations are provided: Redis (shared by all replicas, see
// NewRedis) and Memory (in-process, the embedded default, see NewMemory). Both
// implement Locker and Cache (Store). The interfaces are small so that
// instrumentation (metrics, logging, fallback counting) can be added by
// wrapping them.
package seatlock

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Locker is the fast path in front of the database for seat ownership.
//
// A seat is identified by (flightID, label); its owner is an opaque string
// (a hold id, or a booking id after Transfer). Implementations are safe for
// concurrent use.
type Locker interface {
	// Acquire tries to mark every seat of flight as owned by owner (a hold id) for ttl, atomically, all or nothing.
	// It returns the labels already owned by someone else (nil when it acquired them all).
	// An error means the fast path is unavailable: the caller goes to the database as if nothing was known.
	//
	// Seats already owned by owner are re-acquired (their ttl is reset). ttl must be positive.
	Acquire(ctx context.Context, flightID int64, seats []string, owner string, ttl time.Duration) (taken []string, err error)
	// Release deletes the seats' keys only where they still belong to owner (compare-and-delete).
	// Seats owned by someone else, or by no one, are left alone.
	Release(ctx context.Context, flightID int64, seats []string, owner string) error
	// Extend sets a new ttl on the seats still owned by owner. ttl must be positive.
	Extend(ctx context.Context, flightID int64, seats []string, owner string, ttl time.Duration) error
	// Transfer hands seats owned by from to to (compare-and-set), with ttl (0 = no expiry), e.g. hold → booking.
	// Seats not owned by from (someone else's, expired, or lost) are left alone.
	Transfer(ctx context.Context, flightID int64, seats []string, from, to string, ttl time.Duration) error
}

// Cache is a small read cache with invalidation, for seat maps and flights.
//
// A miss is (nil, false, nil). An error means the cache is unavailable: the
// caller reads the database. Implementations are safe for concurrent use.
type Cache interface {
	// Get returns the value stored under key, if any.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores value under key for ttl (ttl <= 0 = no expiry; prefer a ttl).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys (missing keys are not an error).
	Delete(ctx context.Context, keys ...string) error
}

// Store is both a Locker and a Cache, as provided by Redis and Memory.
type Store interface {
	Locker
	Cache
}

// ErrInvalid is returned (wrapped) for invalid arguments: empty owner or
// label, or a non-positive ttl where one is required. Like any other error it
// only means "the fast path cannot help": callers fall back to the database.
var ErrInvalid = errors.New("seatlock: invalid argument")

var (
	_ Store = (*Redis)(nil)
	_ Store = (*Memory)(nil)
)

// normalizeSeats validates labels and removes duplicates, preserving order.
func normalizeSeats(seats []string) ([]string, error) {
	if len(seats) <= 1 {
		if len(seats) == 1 && seats[0] == "" {
			return nil, fmt.Errorf("%w: empty seat label", ErrInvalid)
		}
		return seats, nil
	}
	seen := make(map[string]struct{}, len(seats))
	out := make([]string, 0, len(seats))
	for _, s := range seats {
		if s == "" {
			return nil, fmt.Errorf("%w: empty seat label", ErrInvalid)
		}
		if _, dup := seen[s]; dup {
			continue
		}
		seen[s] = struct{}{}
		out = append(out, s)
	}
	return out, nil
}

func checkOwner(name, owner string) error {
	if owner == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalid, name)
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: ttl must be positive, got %v", ErrInvalid, ttl)
	}
	return nil
}
