// Package store is the storage seam: the one interface the service talks to,
// implemented by the PostgreSQL engine (production) and the SQLite engine
// (embedded default). Both engines pass the conformance suite in storetest.
//
// The database is the only arbiter of who owns a seat: every write that
// grants, converts or frees inventory is one conditional transaction inside
// an engine, judged by the database's clock.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/flights"
)

// ErrConflict reports a write that collided with existing data (a unique key).
var ErrConflict = errors.New("conflict")

// FlightCursor is the position after which a flight listing continues.
// Listings are ordered by departure time, then id.
type FlightCursor struct {
	DepartsAt time.Time
	ID        int64
}

// Store is everything the service keeps.
type Store interface {
	// Engine names the engine: "postgres" or "sqlite".
	Engine() string
	// Migrate applies pending migrations; running it again changes nothing.
	Migrate(ctx context.Context) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error

	// HasFlights reports whether any flight exists (the demo seed runs on an empty catalogue).
	HasFlights(ctx context.Context) (bool, error)
	// CreateFlight stores a validated flight and its seat map in one transaction.
	CreateFlight(ctx context.Context, f flights.NewFlight) (flights.Flight, error)
	// Flight returns one flight with its live availability, or flights.ErrNotFound.
	Flight(ctx context.Context, id int64) (flights.Flight, error)
	// ListFlights returns up to limit flights matching filter that come after
	// the cursor (nil for the first page), ordered by departure time then id.
	ListFlights(ctx context.Context, filter flights.Filter, after *FlightCursor, limit int) ([]flights.Flight, error)
	// Seats returns a flight's seat map ordered by row and letter, or flights.ErrNotFound.
	Seats(ctx context.Context, flightID int64) ([]flights.Seat, error)

	// CreateAPIKey stores the digest of a new key and returns its id.
	CreateAPIKey(ctx context.Context, name string, digest []byte, admin bool) (int64, error)
	// Principal returns who a key digest belongs to, or apikey.ErrNotFound.
	Principal(ctx context.Context, digest []byte) (apikey.Principal, error)

	// WorkDepth counts the background work outstanding in each queue of
	// WorkQueues, for gauges.
	WorkDepth(ctx context.Context) (map[string]int, error)

	Reservations
	Trips
}

// The queues of background work WorkDepth counts.
const (
	QueuePayments = "payments" // payments still pending: a booking request is charging, or died and recovery will
	QueueRefunds  = "refunds"  // payments waiting for their refund
	QueueTrips    = "trips"    // trips not yet confirmed or failed
)

// WorkQueues lists every queue WorkDepth reports.
var WorkQueues = []string{QueuePayments, QueueRefunds, QueueTrips}
