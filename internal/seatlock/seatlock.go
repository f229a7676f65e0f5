// Package seatlock is the fast path in front of the database for seat
// ownership. (Caches are internal/cache.)
//
// The database (PostgreSQL or SQLite) is the only arbiter of who owns a seat:
// every hold, booking and release is a conditional, all-or-nothing
// transaction judged by the database's clock. Nothing in this package decides
// ownership. A Locker only lets a replica refuse a seat that is obviously taken
// without a database round trip.
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
// NewRedis) and Memory (in-process, the embedded default, see NewMemory). The
// interface is small so that instrumentation (metrics, logging, fallback
// counting) can be added by wrapping it.
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

// ErrInvalid is returned (wrapped) for invalid arguments: empty owner or
// label, or a non-positive ttl where one is required. Like any other error it
// only means "the fast path cannot help": callers fall back to the database.
var ErrInvalid = errors.New("seatlock: invalid argument")

var (
	_ Locker = (*Redis)(nil)
	_ Locker = (*Memory)(nil)
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
