package store

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/bookings"
)

// BookingCursor is the position after which a booking listing continues
// (newest first).
type BookingCursor struct {
	CreatedAt time.Time
	ID        string
}

// Bookings converts charged holds into bookings and reads and cancels them.
type Bookings interface {
	// CompleteBooking converts the hold of a charged payment into its booking.
	// Completing a completed payment returns its booking. When the seats could
	// not be kept, the payment turns refunding and holds.ErrExpired is returned.
	CompleteBooking(ctx context.Context, p Payment, chargeID string, done *Completion) (bookings.Booking, error)
	// Booking returns a booking of keyID, or bookings.ErrNotFound.
	Booking(ctx context.Context, keyID int64, id string) (bookings.Booking, error)
	// ListBookings returns keyID's bookings newest first.
	ListBookings(ctx context.Context, keyID int64, after *BookingCursor, limit int) ([]bookings.Booking, error)
	// CancelBooking cancels a confirmed booking, frees its seats and marks its
	// payment refunding; canceling a canceled booking returns it again.
	CancelBooking(ctx context.Context, keyID int64, id string, done *Completion) (bookings.Booking, error)
	// FlightBookings returns every booking of a flight, for audits.
	FlightBookings(ctx context.Context, flightID int64) ([]bookings.Booking, error)
}
