package aggregator

import (
	"context"
	"errors"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/trips"
)

// TripService accepts trips and works them off in the background.
type TripService struct {
	store store.Trips
	agg   *Aggregator
	// Lease is how long a worker owns a trip between saves.
	Lease time.Duration
	// GiveUp fails a trip that could not move for this long since it was created.
	GiveUp time.Duration
	now    func() time.Time
}

// NewTripService returns a trip service over st and agg.
func NewTripService(st store.Trips, agg *Aggregator) *TripService {
	return &TripService{store: st, agg: agg, Lease: 30 * time.Second, GiveUp: 15 * time.Minute, now: time.Now}
}

// Create validates and stores a trip for p; a worker books it.
func (s *TripService) Create(ctx context.Context, p apikey.Principal, req trips.Request, done *store.Completion) (trips.Trip, error) {
	if err := req.Validate(s.now()); err != nil {
		return trips.Trip{}, err
	}
	return s.store.CreateTrip(ctx, trips.Trip{ID: trips.NewID(), KeyID: p.KeyID, Status: trips.Pending, Request: req}, done)
}

// Get returns p's trip.
func (s *TripService) Get(ctx context.Context, p apikey.Principal, id string) (trips.Trip, error) {
	if !trips.ValidID(id) {
		return trips.Trip{}, trips.ErrNotFound
	}
	return s.store.Trip(ctx, p.KeyID, id)
}

// Work claims pending trips and drives each as far as it goes.
func (s *TripService) Work(ctx context.Context) (int, error) {
	claimed, err := s.store.ClaimTrips(ctx, s.Lease, 10)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range claimed {
		save := func(ctx context.Context, t trips.Trip) error {
			return s.store.SaveTrip(context.WithoutCancel(ctx), t, s.Lease)
		}
		// Stop before the lease runs out, so that no other worker takes the
		// trip while this one still calls providers for it.
		tripCtx, cancel := context.WithTimeout(ctx, s.Lease*9/10)
		t, err := s.agg.Book(tripCtx, t, save)
		cancel()
		switch {
		case err == nil:
			n++
		case errors.Is(err, ErrRetryLater) && t.InFlight == nil && s.now().Sub(t.CreatedAt) > s.GiveUp:
			// Nothing is in flight, so failing cannot hide an order.
			if _, err := s.agg.fail(ctx, t, save); err != nil {
				return n, err
			}
			n++
		default:
			s.agg.log.Warn("trip will be retried", "trip_id", t.ID, "error", err.Error())
		}
	}
	return n, nil
}
