package store

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/idempotency"
)

// BookingCursor is the position after which a booking listing continues
// (newest first).
type BookingCursor struct {
	CreatedAt time.Time
	ID        string
}

// Bookings converts charged holds into bookings and reads and cancels them.
type Bookings interface {
	// BookingComplete converts the hold of a charged payment into its booking.
	// Completing a completed payment returns its booking. When the seats could
	// not be kept, the payment turns refunding and holds.ErrExpired is returned.
	BookingComplete(ctx context.Context, p BookingCompleteParams) (bookings.Booking, error)
	// BookingGet returns a booking of keyID, or bookings.ErrNotFound.
	BookingGet(ctx context.Context, keyID int64, id string) (bookings.Booking, error)
	// BookingList returns keyID's bookings newest first.
	BookingList(ctx context.Context, p BookingListParams) ([]bookings.Booking, error)
	// BookingCancel cancels a confirmed booking, frees its seats and marks its
	// payment refunding; canceling a canceled booking returns it again.
	BookingCancel(ctx context.Context, p BookingCancelParams) (bookings.Booking, error)
	// BookingListByFlight returns every booking of a flight, for audits.
	BookingListByFlight(ctx context.Context, flightID int64) ([]bookings.Booking, error)
}

// BookingCompleteParams converts the hold of a charged payment.
type BookingCompleteParams struct {
	Payment  Payment
	ChargeID string
	Done     *idempotency.Completion[bookings.Booking] // finalizes the request's idempotency key, if any
}

// BookingListParams selects a page of a key's bookings, newest first.
type BookingListParams struct {
	KeyID int64
	After *BookingCursor // nil for the first page
	Limit int
}

// BookingCancelParams asks to cancel a confirmed booking.
type BookingCancelParams struct {
	KeyID int64
	ID    string
	Done  *idempotency.Completion[bookings.Booking] // finalizes the request's idempotency key, if any
}
