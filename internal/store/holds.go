package store

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/holds"
)

// NewHold is a hold to grant: specific seats or a quantity of a cabin.
type NewHold struct {
	ID    string // holds.NewID(), chosen by the caller
	KeyID int64
	holds.Request
	TTL         time.Duration // expires_at = now() + TTL
	MaxLifetime time.Duration // extensions never pass created_at + MaxLifetime
}

// Holds grants, extends and frees holds. Every method that changes seats is
// one transaction whose writes are conditional on the seats' state, judged
// by the database clock, locking seat rows in label order.
type Holds interface {
	// CreateHold grants all requested seats or none. Errors: flights.ErrNotFound,
	// *holds.UnknownSeatsError, *holds.SeatsUnavailableError, holds.ErrNotEnoughSeats.
	CreateHold(ctx context.Context, h NewHold, done *Completion) (holds.Hold, error)
	// Hold returns a hold of keyID with its derived status, or holds.ErrNotFound.
	Hold(ctx context.Context, keyID int64, id string) (holds.Hold, error)
	// ExtendHold moves expires_at to now()+ttl, capped at the hold's maximum
	// lifetime. Errors: holds.ErrNotFound, holds.ErrExpired, holds.ErrNotActive.
	ExtendHold(ctx context.Context, keyID int64, id string, ttl time.Duration, done *Completion) (holds.Hold, error)
	// ReleaseHold frees an active hold's seats; releasing a released hold
	// returns it again. Errors: holds.ErrNotFound, holds.ErrAlreadyBooked,
	// holds.ErrExpired, bookings.ErrPaymentInProgress.
	ReleaseHold(ctx context.Context, keyID int64, id string, done *Completion) (holds.Hold, error)

	// ExpireHolds marks up to limit active holds past expires_at expired
	// (skipping those with a pending payment), frees their seats and records
	// the events. Safe to run on many replicas at once.
	ExpireHolds(ctx context.Context, limit int) ([]holds.Hold, error)
	// ExpiryLag is how long the oldest expired-but-unswept hold has been expired.
	ExpiryLag(ctx context.Context) (time.Duration, error)
	// CountActiveHolds counts the holds that are active now: status active
	// and expires_at still ahead by the database clock. It is cheap (the
	// sweeper's index answers it) and only for gauges: by the time a caller
	// reads it, holds may have come and gone.
	CountActiveHolds(ctx context.Context) (int, error)
}
