package store

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
)

// HoldCreateParams is a hold to grant: specific seats or a quantity of a cabin.
type HoldCreateParams struct {
	ID    string // holds.NewID(), chosen by the caller
	KeyID int64
	holds.Request
	TTL         time.Duration // expires_at = now() + TTL
	MaxLifetime time.Duration // extensions never pass created_at + MaxLifetime
	// Limits caps KeyID's live holds; the store checks them inside the
	// hold's transaction, so racing requests cannot both pass.
	Limits holds.Limits
}

// Holds grants, extends and frees holds. Every method that changes seats is
// one transaction whose writes are conditional on the seats' state, judged
// by the database clock, locking seat rows in label order.
type Holds interface {
	// HoldCreate grants all requested seats or none. Errors: flights.ErrNotFound,
	// *holds.UnknownSeatsError, *holds.SeatsUnavailableError, holds.ErrNotEnoughSeats,
	// *holds.LimitError.
	HoldCreate(ctx context.Context, h HoldCreateParams, done *idempotency.Completion[holds.Hold]) (holds.Hold, error)
	// HoldBatcher grants many holds in one transaction.
	HoldBatcher
	// HoldGet returns a hold of keyID with its derived status, or holds.ErrNotFound.
	HoldGet(ctx context.Context, keyID int64, id string) (holds.Hold, error)
	// HoldExtend moves expires_at to now()+ttl, capped at the hold's maximum
	// lifetime. Errors: holds.ErrNotFound, holds.ErrExpired, holds.ErrNotActive.
	HoldExtend(ctx context.Context, p HoldExtendParams) (holds.Hold, error)
	// HoldRelease frees an active hold's seats; releasing a released hold
	// returns it again. Errors: holds.ErrNotFound, holds.ErrAlreadyBooked,
	// holds.ErrExpired, bookings.ErrPaymentInProgress.
	HoldRelease(ctx context.Context, p HoldReleaseParams) (holds.Hold, error)

	// HoldExpire marks up to limit active holds past expires_at expired
	// (skipping those with a pending payment), frees their seats and records
	// the events. Safe to run on many replicas at once.
	HoldExpire(ctx context.Context, limit int) ([]holds.Hold, error)
	// HoldExpiryLag is how long the oldest expired-but-unswept hold has been expired.
	HoldExpiryLag(ctx context.Context) (time.Duration, error)
	// HoldCountActive counts the holds that are active now: status active
	// and expires_at still ahead by the database clock. It is cheap (the
	// sweeper's index answers it) and only for gauges: by the time a caller
	// reads it, holds may have come and gone.
	HoldCountActive(ctx context.Context) (int, error)
}

// HoldExtendParams asks to move a hold's expires_at to now()+TTL.
type HoldExtendParams struct {
	KeyID int64
	ID    string
	TTL   time.Duration
	Done  *idempotency.Completion[holds.Hold] // finalizes the request's idempotency key, if any
}

// HoldReleaseParams asks to free a hold's seats.
type HoldReleaseParams struct {
	KeyID int64
	ID    string
	Done  *idempotency.Completion[holds.Hold] // finalizes the request's idempotency key, if any
}
