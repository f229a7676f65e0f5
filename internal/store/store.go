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
)

// ErrConflict reports a write that collided with existing data (a unique key).
var ErrConflict = errors.New("conflict")

// Store is everything the service keeps.
type Store interface {
	// Engine names the engine: "postgres" or "sqlite".
	Engine() string
	// Migrate applies pending migrations; running it again changes nothing.
	Migrate(ctx context.Context) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error

	// WorkDepth counts the background work outstanding in each queue of
	// WorkQueues, for gauges.
	WorkDepth(ctx context.Context) (map[string]int, error)
	MigratorUp
	APIKeyLifecycle

	Flights
	Seats
	Holds
	Payments
	Bookings
	IdempotencyKeys
	APIKeys
	Trips
	Sales
	Events
	Webhooks
}

// The queues of background work WorkDepth counts.
const (
	QueuePayments = "payments" // payments still pending: a booking request is charging, or died and recovery will
	QueueRefunds  = "refunds"  // payments waiting for their refund
	QueueTrips    = "trips"    // trips not yet confirmed or failed
)

// WorkQueues lists every queue WorkDepth reports.
var WorkQueues = []string{QueuePayments, QueueRefunds, QueueTrips}
