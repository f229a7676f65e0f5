package store

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/flights"
)

// FlightCursor is the position after which a flight listing continues.
// Listings are ordered by departure time, then id.
type FlightCursor struct {
	DepartsAt time.Time
	ID        int64
}

// Flights keeps the catalogue.
type Flights interface {
	// FlightExists reports whether any flight exists (the demo seed runs on an empty catalogue).
	FlightExists(ctx context.Context) (bool, error)
	// FlightCreate stores a validated flight and its seat map in one transaction.
	FlightCreate(ctx context.Context, f flights.NewFlight) (flights.Flight, error)
	// FlightGet returns one flight with its live availability, or flights.ErrNotFound.
	FlightGet(ctx context.Context, id int64) (flights.Flight, error)
	// FlightList returns up to limit flights matching filter that come after
	// the cursor (nil for the first page), ordered by departure time then id.
	FlightList(ctx context.Context, p FlightListParams) ([]flights.Flight, error)
}

// FlightListParams selects a page of FlightList: up to Limit flights
// matching Filter that come after the cursor (nil for the first page).
type FlightListParams struct {
	Filter flights.Filter
	After  *FlightCursor
	Limit  int
}
