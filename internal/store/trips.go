package store

import (
	"context"
	"errors"
	"time"

	"github.com/reservd/reservd/internal/trips"
)

// Trips keeps third-party bookings. A pending trip is work: ClaimTrips
// leases it to one worker at a time (any replica), and every step of the
// work is saved, so a restart resumes where it stopped.
type Trips interface {
	// CreateTrip stores a new pending trip, claimable at once.
	CreateTrip(ctx context.Context, t trips.Trip, done *Completion) (trips.Trip, error)
	// Trip returns a trip of keyID, or trips.ErrNotFound.
	Trip(ctx context.Context, keyID int64, id string) (trips.Trip, error)
	// ClaimTrips leases up to limit pending trips whose lease has run out.
	ClaimTrips(ctx context.Context, lease time.Duration, limit int) ([]trips.Trip, error)
	// SaveTrip stores a trip's progress and renews its lease, as long as
	// t.Claim is still the trip's latest claim (else ErrLeaseLost); a trip
	// that is no longer pending is never changed again.
	SaveTrip(ctx context.Context, t trips.Trip, lease time.Duration) error
}

// ErrLeaseLost reports a save by a worker whose claim on the work was taken over.
var ErrLeaseLost = errors.New("lease lost to another worker")
