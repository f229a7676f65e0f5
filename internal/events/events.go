// Package events is what reservd tells its customers happened: every change
// to a hold, a booking, a payment's outcome or a trip is an Event, written
// by the store in the transaction that makes the change (the outbox), so
// that nothing changes without its event and no event exists for a change
// that rolled back.
//
// # Order
//
// Events are read in commit order, by Pos. A transaction's events cannot get
// their position when they are written: on PostgreSQL two transactions may
// commit in the opposite order to the one in which they wrote, and a reader
// paging by a write-order number would step past an event that commits just
// after it looked. So the store writes events without a position, and the
// sequencer (store.Events.EventSequence, run by one replica at a time) gives
// positions, in order, only to events whose transaction is certainly over;
// a reader pages by position and never misses one. The feed, the streams
// and the webhook fan-out all read through it. An event is listed a
// sequencer pass after its commit (EVENT_SEQUENCE_INTERVAL).
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/id"
	"github.com/reservd/reservd/internal/trips"
	"github.com/reservd/reservd/internal/views"
)

// Type names what happened.
type Type string

// The event types. Data is the object after the change: a Hold for hold.*
// and payment.declined (the hold whose payment the card refused, still
// active), a Booking for booking.*, a Trip for trip.*.
const (
	HoldCreated      Type = "hold.created"
	HoldExtended     Type = "hold.extended"
	HoldReleased     Type = "hold.released"
	HoldExpired      Type = "hold.expired"
	BookingConfirmed Type = "booking.confirmed"
	BookingCanceled  Type = "booking.canceled"
	PaymentDeclined  Type = "payment.declined"
	TripConfirmed    Type = "trip.confirmed"
	TripFailed       Type = "trip.failed"
	TripCanceled     Type = "trip.canceled"
)

// Types lists every event type.
var Types = []Type{HoldCreated, HoldExtended, HoldReleased, HoldExpired, BookingConfirmed,
	BookingCanceled, PaymentDeclined, TripConfirmed, TripFailed, TripCanceled}

// All subscribes to every type.
const All = "*"

// ValidType reports whether s names an event type.
func ValidType(s string) bool { return slices.Contains(Types, Type(s)) }

// Matches reports whether a subscription to types (event types, or All)
// covers t.
func Matches(types []string, t Type) bool {
	return slices.Contains(types, All) || slices.Contains(types, string(t))
}

// ErrNotFound reports an event that does not exist or is another customer's.
var ErrNotFound = errors.New("event not found")

// Event is a change as the store keeps it.
type Event struct {
	ID       string
	KeyID    int64 // the customer whose object changed
	Type     Type
	FlightID int64 // the flight whose seats changed; 0 for trips
	// Data is the object after the change, as the API shows it (package views).
	Data      json.RawMessage
	CreatedAt time.Time // the database's clock in the writing transaction
	// Pos is the event's place in commit order, set by the sequencer; 0
	// until then. Readers page by it.
	Pos int64
}

// NewID returns a fresh event id.
func NewID() string { return id.New("evt") }

// ValidID reports whether s could be an event id.
func ValidID(s string) bool { return id.Valid("evt", s) }

// OfHold is the event t for a hold after its change.
func OfHold(t Type, h holds.Hold) Event {
	return Event{ID: NewID(), KeyID: h.KeyID, Type: t, FlightID: h.FlightID, Data: mustJSON(views.OfHold(h))}
}

// OfBooking is the event t for a booking after its change.
func OfBooking(t Type, b bookings.Booking) Event {
	return Event{ID: NewID(), KeyID: b.KeyID, Type: t, FlightID: b.FlightID, Data: mustJSON(views.OfBooking(b))}
}

// OfTrip is the event t for a trip after its change.
func OfTrip(t Type, tr trips.Trip) Event {
	return Event{ID: NewID(), KeyID: tr.KeyID, Type: t, Data: mustJSON(views.OfTrip(tr))}
}

// OfTripStatus is the event type of a trip reaching status s, and false for
// a status that has none (pending). The store writes it in the transaction
// in which the trip first reaches s.
func OfTripStatus(s trips.Status) (Type, bool) {
	switch s {
	case trips.Confirmed:
		return TripConfirmed, true
	case trips.Failed:
		return TripFailed, true
	case trips.Canceled:
		return TripCanceled, true
	}
	return "", false
}

// mustJSON encodes a view. Views are plain structs of strings, numbers,
// times and slices, which always encode; an error is a programming error.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("events: encode %T: %v", v, err))
	}
	return b
}

// wire is the public form of an event.
type wire struct {
	ID        string          `json:"id"`
	Type      Type            `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// MarshalJSON writes the public form, {"id", "type", "created_at", "data"},
// the same in the feed, the stream and a webhook's body.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(wire{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.UTC(), Data: e.Data})
}

// ParseTypes reads a comma-separated list of event types ("" is none).
func ParseTypes(s string) ([]Type, error) {
	if s == "" {
		return nil, nil
	}
	var out []Type
	for t := range strings.SplitSeq(s, ",") {
		if !ValidType(t) {
			return nil, fmt.Errorf("%q is not an event type", t)
		}
		out = append(out, Type(t))
	}
	return out, nil
}
