// Package views is how the API shows each of a customer's objects as
// JSON: the answers of its endpoints and the data of the events that report
// their changes, so that an event carries exactly what a GET would show.
package views

import (
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/trips"
)

// Hold is a hold as the API shows it.
type Hold struct {
	ID        string      `json:"id"`
	FlightID  int64       `json:"flight_id"`
	Seats     []string    `json:"seats"`
	Status    string      `json:"status"`
	Total     money.Money `json:"total"`
	CreatedAt time.Time   `json:"created_at"`
	ExpiresAt time.Time   `json:"expires_at"`
}

// Booking is a booking as the API shows it.
type Booking struct {
	ID        string      `json:"id"`
	HoldID    string      `json:"hold_id"`
	FlightID  int64       `json:"flight_id"`
	Seats     []string    `json:"seats"`
	Total     money.Money `json:"total"`
	Status    string      `json:"status"`
	CreatedAt time.Time   `json:"created_at"`
}

// OfHold is how the API shows a hold.
func OfHold(h holds.Hold) Hold {
	return Hold{ID: h.ID, FlightID: h.FlightID, Seats: h.Seats, Status: string(h.Status), Total: h.Total,
		CreatedAt: h.CreatedAt.UTC(), ExpiresAt: h.ExpiresAt.UTC()}
}

// OfBooking is how the API shows a booking.
func OfBooking(b bookings.Booking) Booking {
	return Booking{ID: b.ID, HoldID: b.HoldID, FlightID: b.FlightID, Seats: b.Seats, Total: b.Total,
		Status: string(b.Status), CreatedAt: b.CreatedAt.UTC()}
}

// Attempt is one provider a trip tried, and how it went.
type Attempt struct {
	Provider string      `json:"provider"`
	OfferID  string      `json:"offer_id"`
	Price    money.Money `json:"price"`
	Outcome  string      `json:"outcome"`
	Detail   string      `json:"detail"`
}

// Trip is a third-party trip as the API shows it.
type Trip struct {
	ID                       string       `json:"id"`
	Status                   string       `json:"status"`
	Price                    *money.Money `json:"price"`
	Provider                 *string      `json:"provider"`
	ProviderBookingReference *string      `json:"provider_booking_reference"`
	Attempts                 []Attempt    `json:"attempts"`
	// Refund is present once the trip is canceled, and only then: a
	// *money.Money, null when the provider (Amadeus) states no amount. An
	// interface, so that omitempty drops it while unset but a nil
	// *money.Money in it is still written out as null.
	Refund    any       `json:"refund,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// OfTrip is how the API shows a trip.
func OfTrip(t trips.Trip) Trip {
	v := Trip{ID: t.ID, Status: string(t.Status), Price: t.Price, Attempts: make([]Attempt, len(t.Attempts)), CreatedAt: t.CreatedAt.UTC()}
	if t.Provider != "" {
		v.Provider, v.ProviderBookingReference = &t.Provider, &t.ProviderBookingReference
	}
	if t.Status == trips.Canceled {
		v.Refund = t.Refund
	}
	for i, a := range t.Attempts {
		v.Attempts[i] = Attempt{Provider: a.Provider, OfferID: a.OfferID, Price: a.Price, Outcome: a.Outcome, Detail: a.Detail}
	}
	return v
}
