// Package bookings is the domain of bookings: a paid hold, converted once,
// whose seats stay sold until it is canceled and refunded.
package bookings

import (
	"errors"
	"time"

	"github.com/reservd/reservd/internal/id"
	"github.com/reservd/reservd/internal/money"
)

// Status of a booking.
type Status string

// Booking statuses.
const (
	Confirmed Status = "confirmed"
	Canceled  Status = "canceled"
)

// Errors a booking operation can end in.
var (
	ErrNotFound        = errors.New("booking not found")
	ErrPaymentDeclined = errors.New("payment declined")
	// ErrPaymentInProgress reports a hold whose payment another request is driving.
	ErrPaymentInProgress = errors.New("payment in progress")
)

// Booking is a confirmed (or later canceled) purchase of a hold's seats.
type Booking struct {
	ID         string
	HoldID     string
	KeyID      int64
	FlightID   int64
	Seats      []string
	Total      money.Money
	Status     Status
	CreatedAt  time.Time
	CanceledAt time.Time // zero unless canceled
}

// NewID returns a fresh booking id.
func NewID() string { return id.New("bkg") }

// ValidID reports whether s could be a booking id.
func ValidID(s string) bool { return id.Valid("bkg", s) }
