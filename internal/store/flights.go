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
	// HasFlights reports whether any flight exists (the demo seed runs on an empty catalogue).
	HasFlights(ctx context.Context) (bool, error)
	// CreateFlight stores a validated flight and its seat map in one transaction.
	CreateFlight(ctx context.Context, f flights.NewFlight) (flights.Flight, error)
	// Flight returns one flight with its live availability, or flights.ErrNotFound.
	Flight(ctx context.Context, id int64) (flights.Flight, error)
	// ListFlights returns up to limit flights matching filter that come after
	// the cursor (nil for the first page), ordered by departure time then id.
	ListFlights(ctx context.Context, filter flights.Filter, after *FlightCursor, limit int) ([]flights.Flight, error)
}
