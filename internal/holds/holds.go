// Package holds is the domain of seat holds: a customer's temporary claim on
// seats of one flight, which expires by itself at expires_at unless it is
// booked first. The rules that decide who gets a seat live in the store's
// conditional transactions; this package holds the types, request rules and
// the best-available seat picker.
//
// # The liveness rule
//
// A hold is live while it is active and expires_at > the database's now().
// A seat is free unless held by a live hold or booked. (A seat's held_until
// is its hold's expires_at, pushed later while a pending payment pins the
// seats, so on the seat side the rule reads held_until.) Time is always the
// database's clock, never a replica's.
//
// Each engine states the rule once, as named SQL fragments every query uses:
// internal/store/postgres/holds.go (holdLive, holdLapsed, seatHeld,
// seatLapsed, freeSeat) and internal/store/sqlite/holds.go (the functions of
// the same names, over the clock the statement judges by). Live is the only
// Go copy, for the SQLite engine's status derivation; change the three
// together.
package holds

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/id"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/validate"
)

// Status is where a hold is in its life.
type Status string

// Hold statuses. Expired is derived: an active hold whose expires_at has
// passed reads expired at once, whether or not the sweeper has run.
const (
	Active   Status = "active"
	Booked   Status = "booked"
	Released Status = "released"
	Expired  Status = "expired"
)

// Live reports whether a hold with this status and expiry is live at now:
// active, and expires_at after now. T is a time.Time-free instant so that an
// engine may compare its clock's own fixed-width UTC text (which orders as
// time does) without parsing it.
func Live[T cmp.Ordered](status Status, expiresAt, now T) bool {
	return status == Active && expiresAt > now
}

// Errors a hold operation can end in.
var (
	ErrNotFound       = errors.New("hold not found")
	ErrExpired        = errors.New("hold expired")
	ErrNotActive      = errors.New("hold not active")
	ErrAlreadyBooked  = errors.New("hold already booked")
	ErrNotEnoughSeats = errors.New("not enough seats available")
)

// SeatsUnavailableError lists the requested seats someone else has.
type SeatsUnavailableError struct{ Seats []string }

func (e *SeatsUnavailableError) Error() string {
	return "seats unavailable: " + strings.Join(e.Seats, ", ")
}

// UnknownSeatsError lists requested labels the flight does not have.
type UnknownSeatsError struct{ Seats []string }

func (e *UnknownSeatsError) Error() string {
	return "unknown seats: " + strings.Join(e.Seats, ", ")
}

// LimitError refuses a hold that would take its customer past a cap:
// Limit is the cap (HOLD_MAX_SEATS_PER_FLIGHT or HOLD_MAX_ACTIVE) and Held
// what the customer's live holds already have against it (seats on the
// flight, or active holds).
type LimitError struct {
	Limit int
	Held  int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("hold limit reached: %d held, limit %d", e.Held, e.Limit)
}

// Limits caps what one customer may hold at once; 0 means no cap.
type Limits struct {
	SeatsPerFlight int // seats on one flight across the customer's live holds
	Active         int // live holds in all
}

// Check refuses a new hold of seats seats when the customer already has
// active live holds with flightSeats seats on its flight. The seat cap is
// checked first: it is the one a hoarder meets.
func (l Limits) Check(seats, flightSeats, active int) error {
	if l.SeatsPerFlight > 0 && flightSeats+seats > l.SeatsPerFlight {
		return &LimitError{Limit: l.SeatsPerFlight, Held: flightSeats}
	}
	if l.Active > 0 && active+1 > l.Active {
		return &LimitError{Limit: l.Active, Held: active}
	}
	return nil
}

// Hold is a customer's claim on seats of one flight.
type Hold struct {
	ID        string
	KeyID     int64 // the API key that owns it
	FlightID  int64
	Seats     []string
	Status    Status
	Total     money.Money
	CreatedAt time.Time
	ExpiresAt time.Time
	BookingID string
}

// NewID returns a fresh hold id.
func NewID() string { return id.New("hld") }

// ValidID reports whether s could be a hold id.
func ValidID(s string) bool { return id.Valid("hld", s) }

// Request asks for specific seats or for a quantity of the best available
// seats of a cabin; exactly one of the two forms.
type Request struct {
	FlightID int64
	Seats    []string
	Cabin    flights.Cabin
	Quantity int
}

// ByQuantity reports whether the request is for best-available seats.
func (r Request) ByQuantity() bool { return len(r.Seats) == 0 }

// Validate checks the request's shape; maxSeats is HOLD_MAX_SEATS.
// Seat labels are upper-cased in place.
func (r *Request) Validate(maxSeats int) error {
	var errs validate.Errors
	if r.FlightID <= 0 {
		errs.Add("flight_id", "is required: a positive integer")
	}
	switch {
	case len(r.Seats) > 0 && (r.Quantity != 0 || r.Cabin != ""):
		errs.Add("seats", "give either seats, or cabin and quantity, not both")
	case len(r.Seats) > 0:
		if len(r.Seats) > maxSeats {
			errs.Add("seats", fmt.Sprintf("at most %d seats per hold", maxSeats))
		}
		seen := map[string]bool{}
		for i, s := range r.Seats {
			s = strings.ToUpper(strings.TrimSpace(s))
			r.Seats[i] = s
			if _, _, err := flights.ParseSeatLabel(s); err != nil {
				errs.Add("seats", err.Error())
			} else if seen[s] {
				errs.Add("seats", "duplicate label "+s)
			}
			seen[s] = true
		}
	case r.Quantity == 0 && r.Cabin == "":
		errs.Add("seats", "give either seats, or cabin and quantity")
	default:
		if !r.Cabin.Valid() {
			errs.Add("cabin", "must be one of economy, premium_economy, business, first")
		}
		if r.Quantity < 1 || r.Quantity > maxSeats {
			errs.Add("quantity", fmt.Sprintf("must be from 1 to %d", maxSeats))
		}
	}
	return errs.Err()
}
