// Package storetest is the conformance suite every store engine must pass.
// Each engine's tests call Run with a constructor for a fresh, migrated store
// backed by a real database (a PostgreSQL database, a SQLite file).
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

// NewStore returns a fresh, migrated, empty store and closes it on cleanup.
type NewStore func(t testing.TB) store.Store

// Run runs the whole conformance suite against the engine newStore builds.
func Run(t *testing.T, newStore NewStore) {
	t.Run("Migrate", func(t *testing.T) { t.Parallel(); testMigrate(t, newStore) })
	t.Run("Flights", func(t *testing.T) { t.Parallel(); testFlights(t, newStore) })
	t.Run("CreateFlightAtomic", func(t *testing.T) { t.Parallel(); testCreateFlightAtomic(t, newStore) })
	t.Run("ListFlights", func(t *testing.T) { t.Parallel(); testListFlights(t, newStore) })
	t.Run("APIKeys", func(t *testing.T) { t.Parallel(); testAPIKeys(t, newStore) })
	t.Run("Reservations", func(t *testing.T) { t.Parallel(); runReservations(t, newStore) })
	t.Run("HoldBatch", func(t *testing.T) { t.Parallel(); runHoldBatch(t, newStore) })
	t.Run("BestAvailable", func(t *testing.T) { t.Parallel(); runBestAvailable(t, newStore) })
	t.Run("HoldLimits", func(t *testing.T) { t.Parallel(); runHoldLimits(t, newStore) })
	t.Run("Trips", func(t *testing.T) { t.Parallel(); testTrips(t, newStore) })
	t.Run("Departed", func(t *testing.T) { t.Parallel(); testDeparted(t, newStore) })
	t.Run("Sales", func(t *testing.T) { t.Parallel(); runSales(t, newStore) })
	t.Run("Events", func(t *testing.T) { t.Parallel(); runEvents(t, newStore) })
	t.Run("Webhooks", func(t *testing.T) { t.Parallel(); runWebhooks(t, newStore) })
}

var base = time.Date(2036, 12, 24, 8, 30, 0, 0, time.UTC)

func testMigrate(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if has, err := s.FlightExists(ctx); err != nil || has {
		t.Fatalf("HasFlights on a fresh store = %v, %v; want false, nil", has, err)
	}
}

func runReservations(t *testing.T, newStore NewStore) {
	tests := map[string]func(t *testing.T, f *fixture){
		"HoldSpecificSeats":       testHoldSpecificSeats,
		"HoldQuantity":            testHoldQuantity,
		"ExpiryIsExactAndLazy":    testExpiryIsExactAndLazy,
		"ExtendHold":              testExtendHold,
		"ReleaseHold":             testReleaseHold,
		"BookHold":                testBookHold,
		"DeclinedPayment":         testDeclinedPayment,
		"PaymentInProgress":       testPaymentInProgress,
		"PaymentPinsSeats":        testPaymentPinsSeats,
		"ChargedButSeatsLost":     testChargedButSeatsLost,
		"CancelBooking":           testCancelBooking,
		"Sweeper":                 testSweeper,
		"Gauges":                  testGauges,
		"IdempotencyKeys":         testIdempotencyKeys,
		"IdempotencyRetention":    testIdempotencyRetention,
		"CompletionInTransaction": testCompletionInTransaction,
		"ClaimInTransaction":      testClaimInTransaction,
		"ListBookings":            testListBookings,
		"ConcurrentHolds":         testConcurrentHolds,
		"ConcurrentBookings":      testConcurrentBookings,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, newStore))
		})
	}
}

// fixture is a store with one flight (business rows 1–2 of A C D F, economy
// rows 10–12 of A–F: 26 seats) and two customers.
type fixture struct {
	s          store.Store
	ctx        context.Context
	flight     flights.Flight
	alice, bob int64
}

func newFixture(t *testing.T, newStore NewStore) *fixture {
	f := &fixture{s: newStore(t), ctx: t.Context()}
	var err error
	if f.flight, err = f.s.FlightCreate(f.ctx, Flight("RV1", "SFO", "JFK", base, 2, 3)); err != nil {
		t.Fatalf("CreateFlight: %v", err)
	}
	for _, p := range []*int64{&f.alice, &f.bob} {
		_, digest := apikey.Generate()
		if *p, err = f.s.APIKeyCreate(f.ctx, store.APIKeyCreateParams{Name: "customer", Digest: digest, Admin: false}); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
	}
	return f
}

func (f *fixture) hold(t testing.TB, key int64, ttl time.Duration, seats ...string) (holds.Hold, error) {
	t.Helper()
	return f.s.HoldCreate(f.ctx, store.HoldCreateParams{
		ID: holds.NewID(), KeyID: key, TTL: ttl, MaxLifetime: 3 * ttl,
		Request: holds.Request{FlightID: f.flight.ID, Seats: seats},
	}, nil)
}

func (f *fixture) mustHold(t testing.TB, key int64, ttl time.Duration, seats ...string) holds.Hold {
	t.Helper()
	h, err := f.hold(t, key, ttl, seats...)
	if err != nil {
		t.Fatalf("CreateHold %v: %v", seats, err)
	}
	return h
}

func (f *fixture) begin(t testing.TB, h holds.Hold, token string) (store.Payment, error) {
	t.Helper()
	return f.s.PaymentBegin(f.ctx, store.PaymentBeginParams{
		KeyID: h.KeyID, HoldID: h.ID, Token: token, BookingID: bookings.NewID(),
		Lease: time.Minute, Pin: time.Minute,
	})
}

func (f *fixture) mustBook(t testing.TB, h holds.Hold) bookings.Booking {
	t.Helper()
	p, err := f.begin(t, h, "tok_visa")
	if err != nil {
		t.Fatalf("BeginBooking: %v", err)
	}
	b, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch_test", Done: nil})
	if err != nil {
		t.Fatalf("CompleteBooking: %v", err)
	}
	return b
}

// seatStatus returns the status of each seat of the fixture's flight.
func (f *fixture) seatStatus(t testing.TB) map[string]flights.SeatStatus {
	t.Helper()
	seats, err := f.s.SeatList(f.ctx, f.flight.ID)
	if err != nil {
		t.Fatalf("Seats: %v", err)
	}
	out := map[string]flights.SeatStatus{}
	for _, s := range seats {
		out[s.Label] = s.Status
	}
	return out
}

func (f *fixture) available(t testing.TB) int {
	t.Helper()
	fl, err := f.s.FlightGet(f.ctx, f.flight.ID)
	if err != nil {
		t.Fatalf("Flight: %v", err)
	}
	return fl.SeatsAvailable
}

func (f *fixture) events(t testing.TB) []string {
	t.Helper()
	evs, err := f.s.SeatEventList(f.ctx, f.flight.ID)
	if err != nil {
		t.Fatalf("SeatEvents: %v", err)
	}
	var out []string
	for i, e := range evs {
		if e.FlightID != f.flight.ID || e.At.IsZero() || (i > 0 && e.At.Before(evs[i-1].At)) {
			t.Errorf("event %d = %+v: wrong flight, no time, or out of order", i, e)
		}
		who := e.HoldID
		if e.BookingID != "" {
			who += "/" + e.BookingID
		}
		out = append(out, e.Seat+" "+e.Event+" "+who)
	}
	return out
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}
