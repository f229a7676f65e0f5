package store

import (
	"context"
	"errors"
	"time"

	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/trips"
)

// Trips keeps third-party bookings. A pending trip is work: TripClaim
// leases it to one worker at a time (any replica), and every step of the
// work is saved, so a restart resumes where it stopped.
type Trips interface {
	// TripCreate stores a new pending trip, claimable at once.
	TripCreate(ctx context.Context, t trips.Trip, done *idempotency.Completion[trips.Trip]) (trips.Trip, error)
	// TripGet returns a trip of keyID, or trips.ErrNotFound.
	TripGet(ctx context.Context, keyID int64, id string) (trips.Trip, error)
	// TripClaim leases up to limit pending trips whose lease has run out.
	TripClaim(ctx context.Context, lease time.Duration, limit int) ([]trips.Trip, error)
	// TripSave stores a trip's progress and renews its lease, as long as
	// t.Claim is still the trip's latest claim (else ErrLeaseLost); a trip
	// that is no longer pending is never changed again.
	TripSave(ctx context.Context, t trips.Trip, lease time.Duration) error
	// TripUpdate stores a settled trip's change (a cancellation) as long as
	// the trip is still in status from with claim t.Claim (else
	// ErrLeaseLost), bumping the claim so that of two racing updates one
	// loses; it returns the trip as stored.
	TripUpdate(ctx context.Context, t trips.Trip, from trips.Status) (trips.Trip, error)
	// TripCancelsWritten returns up to limit confirmed trips with a
	// cancellation written down (trips.Trip.Cancel), oldest first: work a
	// crash may have left.
	TripCancelsWritten(ctx context.Context, limit int) ([]trips.Trip, error)
}

// ErrLeaseLost reports a save by a worker whose claim on the work was taken over.
var ErrLeaseLost = errors.New("lease lost to another worker")
