package store

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/flights"
)

// SeatEvent is one row of the append-only record of seat status changes.
type SeatEvent struct {
	FlightID  int64
	Seat      string
	Event     string // held, released, expired, booked, canceled
	HoldID    string
	BookingID string
	At        time.Time
}

// Seats reads seat maps and their history.
type Seats interface {
	// SeatList returns a flight's seat map ordered by row and letter, or flights.ErrNotFound.
	SeatList(ctx context.Context, flightID int64) ([]flights.Seat, error)
	// SeatEventList returns a flight's seat history, oldest first.
	SeatEventList(ctx context.Context, flightID int64) ([]SeatEvent, error)
}
