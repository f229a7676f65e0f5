// Package provider is the seam to third-party flight APIs. Each provider
// (duffel, amadeus, kiwi) has a package of its own that speaks that
// provider's documented wire format and implements Provider, and a simulator
// of that format for tests, benchmarks and the embedded default. Adapters
// never import each other; the aggregator composes them. Package registry
// lists them: configuration, the embedded simulators (simset),
// cmd/providersim, the service's wiring and the fault suite read that list.
//
// # Adding a provider
//
// A new provider touches its own package (its simulator beneath it) and the
// registry, nothing else:
//
//  1. A package internal/provider/<name> whose Client implements Provider
//     in the provider's wire format, mapping its errors to this package's
//     (ErrUnavailable, ErrRejected, ErrNotFound, *PriceChangedError,
//     *RateLimitedError, *HTTPError), carrying OrderRequest.Reference so
//     that FindOrder can find an order after an ambiguous outcome, and
//     never retrying on its own (the aggregator retries the safe calls).
//  2. A simulator of that wire format, internal/provider/<name>/<name>sim,
//     built on simkit: simkit.Sim's knobs, counters and order register,
//     simkit.Inventory for the flights, and simkit's Wrap for the
//     request-level faults.
//  3. A TestConformance in the new package calling providertest.Run with a
//     Harness around the simulator: the shared scenarios (happy path, price
//     changes, sold out, errors mapped, bad credentials, no retries of its
//     own, an ambiguous order found by its reference, cancellation, and the
//     same through the aggregator). The package's other tests cover only its wire format.
//  4. An entry in registry's list: the name, the settings (environment
//     variables, which are secrets and required, their defaults), and the
//     constructors of the adapter (from its settings, or pointed at a
//     simulator) and of the simulator. Configuration reads and logs the
//     settings, the embedded default and cmd/providersim serve the
//     simulator (its flag is the provider's name), and the service builds
//     the adapter when its required settings are set; nothing else changes.
package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/money"
)

// Provider is one third-party flight API.
type Provider interface {
	// Name is the provider's public name: "duffel", "amadeus" or "kiwi".
	Name() string
	// Search returns the provider's offers for a one-way or round trip, for
	// every passenger of req. Safe to retry.
	Search(ctx context.Context, req SearchRequest) ([]Offer, error)
	// Price confirms an offer's current price before booking. Safe to retry.
	// Errors: ErrUnavailable (sold out, offer gone).
	Price(ctx context.Context, offer Offer) (Offer, error)
	// Book creates the order. It carries req.Reference, our own reference,
	// in the provider's own way, so that after an ambiguous outcome (the
	// call timed out) FindOrder can tell whether the order exists. A
	// success answer that names the order is never ambiguous, whatever
	// currency its amounts are in or whether they can be read: Book
	// returns that order. Book is NOT safe to retry blindly. Errors:
	// ErrUnavailable, *PriceChangedError.
	Book(ctx context.Context, req OrderRequest) (Order, error)
	// FindOrder looks an order up by our reference; ErrNotFound only when
	// the lookup proves that the provider has none (see ErrNotFound), and
	// ErrOrderPending for a booking not finished yet. Safe to retry.
	FindOrder(ctx context.Context, reference string) (Order, error)
	// Cancel cancels the order orderID (Order.ID) and returns the refund as
	// the provider reported it. Errors: ErrNotCancelable when the provider
	// refuses; any other error leaves the outcome unknown: the caller asks
	// CancelStatus before it ever calls Cancel again, so that one order is
	// never canceled twice. NOT safe to retry blindly.
	Cancel(ctx context.Context, orderID string) (Cancellation, error)
	// CancelStatus looks the order orderID up: Canceled reports whether it
	// has been canceled (with the refund, when the provider states it).
	// Safe to retry.
	CancelStatus(ctx context.Context, orderID string) (Cancellation, error)
}

// PriceStepNamer is a Provider that names its price confirmation (what
// Price does) for the records of a booking attempt: "offer re-fetch",
// "flight-offers pricing", "check_flights".
type PriceStepNamer interface {
	PriceStep() string
}

// Cancellation is an order's cancellation as the provider reported it.
type Cancellation struct {
	// Canceled is true once the provider has canceled the order.
	Canceled bool
	// Refund is what the provider refunds, in its own currency; nil when
	// the provider does not state an amount (Amadeus' order deletion).
	Refund *money.Money
}

// SearchRequest is a one-way or round-trip search.
type SearchRequest struct {
	Origin        string    // IATA airport code
	Destination   string    // IATA airport code
	DepartureDate time.Time // a calendar date (midnight UTC)
	// ReturnDate is the return's date (midnight UTC) of a round trip, from
	// Destination back to Origin; zero for a one-way trip.
	ReturnDate time.Time
	Adults     int
	// Children (2 to 11 on the departure date) take a seat; Infants (under
	// 2) travel on an adult's lap, without a seat: never more than Adults.
	Children int
	Infants  int
	// Ages are the children's then the infants' ages on the departure date,
	// when known (a trip's passengers); empty for a search by counts. A
	// provider that wants ages (Duffel) gets them when known.
	Ages     []int
	Currency string // the currency the caller wants; providers may quote another
}

// RoundTrip reports whether r has a return.
func (r SearchRequest) RoundTrip() bool { return !r.ReturnDate.IsZero() }

// Passenger types of a search and an order (the aggregator derives them
// with trips.PassengerType).
const (
	Adult  = "adult"
	Child  = "child"
	Infant = "infant" // under 2, on an adult's lap, no seat
)

// Segment is one flight of an offer. Times are UTC instants, converted from
// the provider's local times with the airport's time zone.
type Segment struct {
	// Slice is the journey the segment belongs to: 0 outbound, 1 the
	// return of a round trip.
	Slice        int
	Carrier      string // marketing carrier IATA code, "UA"
	FlightNumber string // the number alone, "123"
	Origin       string
	Destination  string
	DepartsAt    time.Time
	ArrivesAt    time.Time
}

// Offer is a priced itinerary as the provider quoted it.
type Offer struct {
	Provider string
	// ID is the provider's handle to book the offer: Duffel's offer id,
	// Kiwi's booking_token, or Amadeus's offer id.
	ID string
	// Price is the total for every passenger as the provider quoted it,
	// exact, in its currency.
	Price     money.Money
	Segments  []Segment
	ExpiresAt time.Time
	// Raw is the provider's own representation of the offer when booking
	// needs it back (Amadeus prices and books the whole flight-offer object).
	Raw []byte
	// Reference, set on an offer priced right before it is booked, is that
	// booking attempt's reference (OrderRequest.Reference). A provider whose
	// price confirmation opens a session bound to the booking (Kiwi's
	// check_flights, by visitor_uniqid) opens it under that reference, and
	// Book continues it instead of confirming the price a second time.
	Reference string
}

// Passenger is a traveller of an order.
type Passenger struct {
	GivenName   string
	FamilyName  string
	BornOn      string // YYYY-MM-DD
	Title       string // mr, ms, mrs, miss, dr; optional
	Gender      string // m or f; optional
	Email       string
	PhoneNumber string
	// Type is Adult, Child or Infant; Age is the age on the departure date.
	// An OrderRequest lists adults first, then children, then infants (the
	// order of the search's travellers), and its n-th infant travels on
	// its n-th adult's lap.
	Type string
	Age  int
}

// OrderRequest asks to book an offer.
type OrderRequest struct {
	Offer      Offer
	Passengers []Passenger
	// Reference is ours, unique per booking attempt (trip id and attempt):
	// the key to find the order again after an ambiguous outcome.
	Reference string
	// MaxPrice, when set, is the most the caller pays. An adapter whose
	// provider states the order's amount in another currency than the
	// offer's checks it against MaxPrice, converting with Rates, before it
	// commits to the order.
	MaxPrice *money.Money
	// Rates converts amounts between currencies (the shipped rates table).
	Rates Converter
}

// Converter converts money between currencies; *fx.Table is one.
type Converter interface {
	Convert(m money.Money, to string) (money.Money, error)
}

// Order is a booked order.
type Order struct {
	// ID is the provider's order id.
	ID string
	// BookingReference is what the traveller quotes to the airline (the PNR or
	// the provider's booking id).
	BookingReference string
	Price            money.Money
}

// Errors a provider call can end in. Anything else (transport errors,
// 5xx, timeouts) is transient: retried where safe, then an attempt outcome
// of "error" or "timeout".
var (
	// ErrUnavailable: the offer is sold out or no longer exists.
	ErrUnavailable = errors.New("offer no longer available")
	// ErrOfferExpired is ErrUnavailable because the offer's time ran out:
	// the same flights may well be on sale under a new offer, found by
	// searching again.
	ErrOfferExpired = fmt.Errorf("%w: the offer expired", ErrUnavailable)
	// ErrNotFound: FindOrder proved that no order exists with that
	// reference: a documented lookup answered, and listed none. A lookup
	// that cannot prove absence (a route the provider may not have, an
	// error, a timeout) never ends in ErrNotFound: a caller that took it
	// for absence would order a second time.
	ErrNotFound = errors.New("order not found")
	// ErrOrderPending: the provider holds something under the reference
	// that is not an order yet (Kiwi: a booking saved and not paid), so it
	// is neither found nor absent.
	ErrOrderPending = errors.New("the provider holds an unfinished booking under the reference")
	// ErrNoOrder: an order call failed before anything that could become
	// an order was sent (Kiwi: the booking was checked or saved, never
	// paid, and an unpaid booking lapses). Whatever else the error says
	// (a timeout, a cut connection), no order exists or ever will under
	// this attempt: the caller may book again under a new reference.
	ErrNoOrder = errors.New("no order was made")
	// ErrNotCancelable: the provider refuses to cancel the order (its fare
	// rules, the flight has left, the order is unknown to it).
	ErrNotCancelable = errors.New("the provider refuses to cancel the order")
	// ErrRejected: the provider refused the request as invalid (4xx); retrying will not help.
	ErrRejected = errors.New("request rejected by provider")
)

// PriceChangedError reports that the provider's price moved.
type PriceChangedError struct {
	Old, New money.Money
}

func (e *PriceChangedError) Error() string {
	return fmt.Sprintf("price changed from %s to %s", e.Old, e.New)
}

// RateLimitedError is a 429: wait RetryAfter before calling again.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited; retry after %s", e.RetryAfter)
}

// HTTPError is an unexpected status from a provider: 5xx are transient, 4xx not.
type HTTPError struct {
	Status int
	Code   string // the provider's own error code, when it sent one
	Detail string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("provider answered %d %s: %s", e.Status, e.Code, e.Detail)
}

// Temporary reports whether retrying the same call may succeed.
func (e *HTTPError) Temporary() bool { return e.Status >= 500 || e.Status == 408 }
