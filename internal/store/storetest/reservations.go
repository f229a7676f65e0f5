package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

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
	if f.flight, err = f.s.CreateFlight(f.ctx, Flight("RV1", "SFO", "JFK", base, 2, 3)); err != nil {
		t.Fatalf("CreateFlight: %v", err)
	}
	for _, p := range []*int64{&f.alice, &f.bob} {
		_, digest := apikey.Generate()
		if *p, err = f.s.CreateAPIKey(f.ctx, "customer", digest, false); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
	}
	return f
}

func (f *fixture) hold(t testing.TB, key int64, ttl time.Duration, seats ...string) (holds.Hold, error) {
	t.Helper()
	return f.s.CreateHold(f.ctx, store.NewHold{
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
	return f.s.BeginBooking(f.ctx, store.BeginBooking{
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
	b, err := f.s.CompleteBooking(f.ctx, p, "ch_test", nil)
	if err != nil {
		t.Fatalf("CompleteBooking: %v", err)
	}
	return b
}

// seatStatus returns the status of each seat of the fixture's flight.
func (f *fixture) seatStatus(t testing.TB) map[string]flights.SeatStatus {
	t.Helper()
	seats, err := f.s.Seats(f.ctx, f.flight.ID)
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
	fl, err := f.s.Flight(f.ctx, f.flight.ID)
	if err != nil {
		t.Fatalf("Flight: %v", err)
	}
	return fl.SeatsAvailable
}

func (f *fixture) events(t testing.TB) []string {
	t.Helper()
	evs, err := f.s.SeatEvents(f.ctx, f.flight.ID)
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

func testHoldSpecificSeats(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "12B", "1A", "12A")
	if !holds.ValidID(h.ID) || h.KeyID != f.alice || h.FlightID != f.flight.ID || h.Status != holds.Active {
		t.Errorf("hold = %+v", h)
	}
	if !slices.Equal(h.Seats, []string{"1A", "12A", "12B"}) {
		t.Errorf("hold seats = %v, want seat order 1A 12A 12B", h.Seats)
	}
	if want := int64(89900 + 12912 + 12912); h.Total.Amount != want || h.Total.Currency != "USD" {
		t.Errorf("total = %v, want %d USD", h.Total, want)
	}
	if ttl := h.ExpiresAt.Sub(h.CreatedAt); ttl < time.Minute-time.Millisecond || ttl > time.Minute+time.Millisecond {
		t.Errorf("expires_at - created_at = %s, want 1m", ttl)
	}
	if d := time.Since(h.CreatedAt); d < -5*time.Second || d > 5*time.Second || h.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at = %s, not a current UTC time", h.CreatedAt)
	}
	st := f.seatStatus(t)
	if st["1A"] != flights.Held || st["12A"] != flights.Held || st["12B"] != flights.Held || st["12C"] != flights.Available {
		t.Errorf("seat statuses after hold: %v", st)
	}
	if got := f.available(t); got != 23 {
		t.Errorf("seats_available = %d, want 23", got)
	}
	got, err := f.s.Hold(f.ctx, f.alice, h.ID)
	if err != nil || got.ID != h.ID || got.Status != holds.Active || !got.ExpiresAt.Equal(h.ExpiresAt) || !slices.Equal(got.Seats, h.Seats) {
		t.Errorf("Hold = %+v, %v; want %+v", got, err, h)
	}
	// Another customer sees no such hold.
	_, err = f.s.Hold(f.ctx, f.bob, h.ID)
	wantErr(t, err, holds.ErrNotFound)
	_, err = f.s.Hold(f.ctx, f.alice, holds.NewID())
	wantErr(t, err, holds.ErrNotFound)

	// All or nothing: 12B is taken, so 12C is not held either.
	_, err = f.hold(t, f.bob, time.Minute, "12C", "12B")
	var unavailable *holds.SeatsUnavailableError
	if !errors.As(err, &unavailable) || !slices.Equal(unavailable.Seats, []string{"12B"}) {
		t.Fatalf("hold of a taken seat: %v, want SeatsUnavailableError{12B}", err)
	}
	if st := f.seatStatus(t); st["12C"] != flights.Available {
		t.Errorf("12C = %s after a failed hold, want available", st["12C"])
	}
	_, err = f.hold(t, f.bob, time.Minute, "12C", "99Z", "40A")
	var unknown *holds.UnknownSeatsError
	if !errors.As(err, &unknown) || !slices.Equal(unknown.Seats, []string{"40A", "99Z"}) {
		t.Fatalf("hold of unknown seats: %v, want UnknownSeatsError{40A 99Z}", err)
	}
	_, err = f.s.CreateHold(f.ctx, store.NewHold{ID: holds.NewID(), KeyID: f.bob, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID + 1000, Seats: []string{"1A"}}}, nil)
	wantErr(t, err, flights.ErrNotFound)
	if got := f.available(t); got != 23 {
		t.Errorf("seats_available after failed holds = %d, want 23", got)
	}
	if evs := f.events(t); len(evs) != 3 || evs[0] != "1A held "+h.ID {
		t.Errorf("events = %v, want three held events for %s", evs, h.ID)
	}
}

func testHoldQuantity(t *testing.T, f *fixture) {
	quantity := func(key int64, cabin flights.Cabin, n int) (holds.Hold, error) {
		return f.s.CreateHold(f.ctx, store.NewHold{ID: holds.NewID(), KeyID: key, TTL: time.Minute, MaxLifetime: time.Hour,
			Request: holds.Request{FlightID: f.flight.ID, Cabin: cabin, Quantity: n}}, nil)
	}
	h, err := quantity(f.alice, flights.Economy, 3)
	if err != nil {
		t.Fatalf("hold 3 economy: %v", err)
	}
	rowOf := func(label string) int { r, _, _ := flights.ParseSeatLabel(label); return r }
	if len(h.Seats) != 3 || rowOf(h.Seats[0]) != rowOf(h.Seats[2]) {
		t.Errorf("3 economy seats = %v, want side by side in one row", h.Seats)
	}
	for _, s := range h.Seats {
		if rowOf(s) < 10 {
			t.Errorf("economy hold got seat %s", s)
		}
	}
	// Business has 8 seats: 6 then 3 more cannot fit.
	if _, err := quantity(f.bob, flights.Business, 6); err != nil {
		t.Fatalf("hold 6 business: %v", err)
	}
	_, err = quantity(f.bob, flights.Business, 3)
	wantErr(t, err, holds.ErrNotEnoughSeats)
	if h2, err := quantity(f.bob, flights.Business, 2); err != nil || len(h2.Seats) != 2 {
		t.Fatalf("hold the last 2 business: %+v, %v", h2, err)
	}
	_, err = quantity(f.bob, flights.Business, 1)
	wantErr(t, err, holds.ErrNotEnoughSeats)
	_, err = quantity(f.bob, flights.First, 1)
	wantErr(t, err, holds.ErrNotEnoughSeats)
	if got := f.available(t); got != 26-3-8 {
		t.Errorf("seats_available = %d, want %d", got, 26-3-8)
	}
}

func testExpiryIsExactAndLazy(t *testing.T, f *fixture) {
	ttl := time.Second
	h := f.mustHold(t, f.alice, ttl, "10A", "10B")
	if _, err := f.hold(t, f.bob, time.Minute, "10A"); err == nil {
		t.Fatal("a held seat was granted again before expiry")
	}
	time.Sleep(time.Until(h.ExpiresAt) + 50*time.Millisecond)
	// No sweeper has run: the hold reads expired and its seats are free.
	got, err := f.s.Hold(f.ctx, f.alice, h.ID)
	if err != nil || got.Status != holds.Expired {
		t.Fatalf("hold after expires_at = %+v, %v; want expired", got, err)
	}
	if st := f.seatStatus(t); st["10A"] != flights.Available || st["10B"] != flights.Available {
		t.Errorf("seats after expiry: 10A %s 10B %s, want available", st["10A"], st["10B"])
	}
	if got := f.available(t); got != 26 {
		t.Errorf("seats_available after expiry = %d, want 26", got)
	}
	h2 := f.mustHold(t, f.bob, time.Minute, "10A")
	_, err = f.s.ExtendHold(f.ctx, f.alice, h.ID, time.Minute, nil)
	wantErr(t, err, holds.ErrExpired)
	_, err = f.s.ReleaseHold(f.ctx, f.alice, h.ID, nil)
	wantErr(t, err, holds.ErrExpired)
	_, err = f.begin(t, h, "tok_visa")
	wantErr(t, err, holds.ErrExpired)
	// Bob's hold is intact; alice's expired hold never touches his seat.
	if st := f.seatStatus(t); st["10A"] != flights.Held {
		t.Errorf("10A = %s, want held by bob", st["10A"])
	}
	evs := f.events(t)
	want := []string{"10A held " + h.ID, "10B held " + h.ID, "10A expired " + h.ID, "10A held " + h2.ID}
	if !slices.Equal(evs, want) {
		t.Errorf("events = %v\nwant %v", evs, want)
	}
}

func testExtendHold(t *testing.T, f *fixture) {
	h, err := f.s.CreateHold(f.ctx, store.NewHold{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: 90 * time.Second,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"11C"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := f.s.ExtendHold(f.ctx, f.alice, h.ID, time.Minute, nil)
	if err != nil {
		t.Fatalf("ExtendHold: %v", err)
	}
	if !ext.ExpiresAt.After(h.ExpiresAt) || ext.Status != holds.Active {
		t.Errorf("extended expires_at %s, was %s", ext.ExpiresAt, h.ExpiresAt)
	}
	// Capped at created_at + max lifetime.
	ext, err = f.s.ExtendHold(f.ctx, f.alice, h.ID, time.Hour, nil)
	if err != nil || !ext.ExpiresAt.Equal(h.CreatedAt.Add(90*time.Second)) {
		t.Errorf("extend past the lifetime: expires_at %s, %v; want %s", ext.ExpiresAt, err, h.CreatedAt.Add(90*time.Second))
	}
	_, err = f.s.ExtendHold(f.ctx, f.bob, h.ID, time.Minute, nil)
	wantErr(t, err, holds.ErrNotFound)
	if _, err := f.s.ReleaseHold(f.ctx, f.alice, h.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.ExtendHold(f.ctx, f.alice, h.ID, time.Minute, nil)
	wantErr(t, err, holds.ErrNotActive)
	b := f.mustBook(t, f.mustHold(t, f.alice, time.Minute, "11D"))
	_, err = f.s.ExtendHold(f.ctx, f.alice, b.HoldID, time.Minute, nil)
	wantErr(t, err, holds.ErrNotActive)
}

func testReleaseHold(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "12E", "12F")
	_, err := f.s.ReleaseHold(f.ctx, f.bob, h.ID, nil)
	wantErr(t, err, holds.ErrNotFound)
	rel, err := f.s.ReleaseHold(f.ctx, f.alice, h.ID, nil)
	if err != nil || rel.Status != holds.Released {
		t.Fatalf("ReleaseHold = %+v, %v", rel, err)
	}
	if st := f.seatStatus(t); st["12E"] != flights.Available || st["12F"] != flights.Available {
		t.Errorf("seats after release: %v", st)
	}
	again, err := f.s.ReleaseHold(f.ctx, f.alice, h.ID, nil)
	if err != nil || again.Status != holds.Released {
		t.Errorf("second release = %+v, %v; want released again", again, err)
	}
	if got, _ := f.s.Hold(f.ctx, f.alice, h.ID); got.Status != holds.Released {
		t.Errorf("Hold after release = %s", got.Status)
	}
	_, err = f.begin(t, h, "tok_visa")
	wantErr(t, err, holds.ErrNotActive)
	f.mustHold(t, f.bob, time.Minute, "12E")
	want := []string{"12E held " + h.ID, "12F held " + h.ID, "12E released " + h.ID, "12F released " + h.ID}
	if evs := f.events(t); !slices.Equal(evs[:4], want) {
		t.Errorf("events = %v, want %v first", evs, want)
	}
}

func testBookHold(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "2A", "2C")
	bookingID := bookings.NewID()
	p, err := f.s.BeginBooking(f.ctx, store.BeginBooking{KeyID: f.alice, HoldID: h.ID, Token: "tok_visa", BookingID: bookingID, Lease: time.Minute, Pin: time.Minute})
	if err != nil {
		t.Fatalf("BeginBooking: %v", err)
	}
	if p.HoldID != h.ID || p.BookingID != bookingID || p.Attempt != 1 || p.State != store.PaymentPending || p.Amount != h.Total || p.Token != "tok_visa" || p.KeyID != f.alice {
		t.Errorf("payment = %+v", p)
	}
	_, err = f.s.BeginBooking(f.ctx, store.BeginBooking{KeyID: f.bob, HoldID: h.ID, Token: "tok_visa", BookingID: bookings.NewID(), Lease: time.Minute, Pin: time.Minute})
	wantErr(t, err, holds.ErrNotFound)
	b, err := f.s.CompleteBooking(f.ctx, p, "ch_1", nil)
	if err != nil {
		t.Fatalf("CompleteBooking: %v", err)
	}
	if b.ID != bookingID || b.HoldID != h.ID || b.KeyID != f.alice || b.FlightID != f.flight.ID || b.Status != bookings.Confirmed ||
		!slices.Equal(b.Seats, []string{"2A", "2C"}) || b.Total != h.Total || b.CreatedAt.IsZero() {
		t.Errorf("booking = %+v", b)
	}
	// Completing again (a recovered or retried request) returns the same booking.
	again, err := f.s.CompleteBooking(f.ctx, p, "ch_1", nil)
	if err != nil || again.ID != b.ID {
		t.Errorf("second CompleteBooking = %+v, %v; want %s", again, err, b.ID)
	}
	if got, _ := f.s.Hold(f.ctx, f.alice, h.ID); got.Status != holds.Booked || got.BookingID != b.ID {
		t.Errorf("hold after booking = %+v", got)
	}
	if pay, err := f.s.Payment(f.ctx, h.ID); err != nil || pay.State != store.PaymentCompleted || pay.ChargeID != "ch_1" {
		t.Errorf("payment after booking = %+v, %v", pay, err)
	}
	if st := f.seatStatus(t); st["2A"] != flights.Booked || st["2C"] != flights.Booked {
		t.Errorf("seats after booking: %v", st)
	}
	if got, err := f.s.Booking(f.ctx, f.alice, b.ID); err != nil || got.ID != b.ID || got.Status != bookings.Confirmed {
		t.Errorf("Booking = %+v, %v", got, err)
	}
	_, err = f.s.Booking(f.ctx, f.bob, b.ID)
	wantErr(t, err, bookings.ErrNotFound)
	_, err = f.s.ReleaseHold(f.ctx, f.alice, h.ID, nil)
	wantErr(t, err, holds.ErrAlreadyBooked)
	_, err = f.begin(t, h, "tok_visa")
	wantErr(t, err, holds.ErrNotActive)
	if _, err := f.hold(t, f.bob, time.Minute, "2A"); err == nil {
		t.Error("a booked seat was held again")
	}
	// Booked seats stay booked after the hold's expiry time.
	if all, err := f.s.FlightBookings(f.ctx, f.flight.ID); err != nil || len(all) != 1 || all[0].ID != b.ID {
		t.Errorf("FlightBookings = %v, %v", all, err)
	}
	evs := f.events(t)
	if !slices.Contains(evs, "2A booked "+h.ID+"/"+b.ID) && !slices.Contains(evs, "2A booked /"+b.ID) {
		t.Errorf("no booked event for 2A in %v", evs)
	}
}

func testDeclinedPayment(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "11A")
	p, err := f.begin(t, h, "tok_chargeDeclined")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeclinePayment(f.ctx, p); err != nil {
		t.Fatalf("DeclinePayment: %v", err)
	}
	if got, _ := f.s.Hold(f.ctx, f.alice, h.ID); got.Status != holds.Active || !got.ExpiresAt.Equal(h.ExpiresAt) {
		t.Errorf("hold after a decline = %+v, want active and unchanged", got)
	}
	if st := f.seatStatus(t); st["11A"] != flights.Held {
		t.Errorf("11A after a decline = %s, want held", st["11A"])
	}
	p2, err := f.begin(t, h, "tok_visa")
	if err != nil {
		t.Fatalf("BeginBooking after a decline: %v", err)
	}
	if p2.Attempt != 2 || p2.ChargeKey() == p.ChargeKey() || p2.BookingID != p.BookingID || p2.Token != "tok_visa" {
		t.Errorf("second attempt = %+v (first %+v)", p2, p)
	}
	// The fence: the superseded first attempt (a request still running
	// after the retry took over) can no longer book the hold.
	if b, err := f.s.CompleteBooking(f.ctx, p, "ch_1", nil); !errors.Is(err, holds.ErrNotActive) {
		t.Errorf("CompleteBooking with the superseded attempt = %+v, %v; want holds.ErrNotActive", b, err)
	}
	if _, err := f.s.CompleteBooking(f.ctx, p2, "ch_2", nil); err != nil {
		t.Fatalf("CompleteBooking: %v", err)
	}
}

func testPaymentInProgress(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "11B")
	if _, err := f.s.BeginBooking(f.ctx, store.BeginBooking{KeyID: f.alice, HoldID: h.ID, Token: "tok_visa", BookingID: bookings.NewID(), Lease: time.Second, Pin: time.Minute}); err != nil {
		t.Fatal(err)
	}
	_, err := f.begin(t, h, "tok_visa")
	wantErr(t, err, bookings.ErrPaymentInProgress)
	_, err = f.s.ReleaseHold(f.ctx, f.alice, h.ID, nil)
	wantErr(t, err, bookings.ErrPaymentInProgress)
	if claimed, err := f.s.ClaimStalePayments(f.ctx, time.Minute, 10); err != nil || len(claimed) != 0 {
		t.Errorf("ClaimStalePayments before the lease ran out = %v, %v; want none", claimed, err)
	}
	time.Sleep(1200 * time.Millisecond)
	claimed, err := f.s.ClaimStalePayments(f.ctx, time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].HoldID != h.ID || claimed[0].State != store.PaymentPending {
		t.Fatalf("ClaimStalePayments = %+v, %v; want the stale payment", claimed, err)
	}
	if again, _ := f.s.ClaimStalePayments(f.ctx, time.Minute, 10); len(again) != 0 {
		t.Errorf("a claimed payment was claimed again: %+v", again)
	}
	if _, err := f.s.CompleteBooking(f.ctx, claimed[0], "ch_rec", nil); err != nil {
		t.Fatalf("CompleteBooking of a recovered payment: %v", err)
	}

	// A retry with the same card takes over a stalled payment once its
	// lease is released: the same attempt, hence the same charge key.
	h2 := f.mustHold(t, f.alice, time.Minute, "11E")
	p, err := f.begin(t, h2, "tok_visa")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.ReleasePayment(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err = f.begin(t, h2, "tok_chargeDeclined")
	wantErr(t, err, bookings.ErrPaymentInProgress)
	again, err := f.begin(t, h2, "tok_visa")
	if err != nil || again.Attempt != p.Attempt || again.ChargeKey() != p.ChargeKey() || again.BookingID != p.BookingID {
		t.Fatalf("retry of a released payment = %+v, %v; want the same attempt %+v", again, err, p)
	}
	_, err = f.begin(t, h2, "tok_visa")
	wantErr(t, err, bookings.ErrPaymentInProgress)
}

func testPaymentPinsSeats(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Second, "10C")
	p, err := f.begin(t, h, "tok_visa") // pins the seat for a minute
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(h.ExpiresAt) + 50*time.Millisecond)
	if got, _ := f.s.Hold(f.ctx, f.alice, h.ID); got.Status != holds.Active {
		t.Errorf("hold with a pending payment past expires_at = %s, want active", got.Status)
	}
	if _, err := f.hold(t, f.bob, time.Minute, "10C"); err == nil {
		t.Error("a seat pinned by a pending payment was granted")
	}
	if swept, err := f.s.ExpireHolds(f.ctx, 10); err != nil || len(swept) != 0 {
		t.Errorf("ExpireHolds swept %v, %v; a pending payment must not be swept", swept, err)
	}
	if _, err := f.s.CompleteBooking(f.ctx, p, "ch_pin", nil); err != nil {
		t.Fatalf("CompleteBooking after expires_at with a pinned seat: %v", err)
	}
}

func testChargedButSeatsLost(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Second, "10D")
	p, err := f.s.BeginBooking(f.ctx, store.BeginBooking{KeyID: f.alice, HoldID: h.ID, Token: "tok_visa", BookingID: bookings.NewID(), Lease: time.Millisecond, Pin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(h.ExpiresAt) + 50*time.Millisecond)
	f.mustHold(t, f.bob, time.Minute, "10D")
	_, err = f.s.CompleteBooking(f.ctx, p, "ch_lost", nil)
	wantErr(t, err, holds.ErrExpired)
	pay, err := f.s.Payment(f.ctx, h.ID)
	if err != nil || pay.State != store.PaymentRefunding || pay.ChargeID != "ch_lost" {
		t.Fatalf("payment = %+v, %v; want refunding with the charge", pay, err)
	}
	if st := f.seatStatus(t); st["10D"] != flights.Held {
		t.Errorf("bob's seat = %s, want held", st["10D"])
	}
	refunds, err := f.s.ClaimRefunds(f.ctx, time.Minute, 10)
	if err != nil || len(refunds) != 1 || refunds[0].HoldID != h.ID || refunds[0].ChargeID != "ch_lost" {
		t.Fatalf("ClaimRefunds = %+v, %v", refunds, err)
	}
	if err := f.s.MarkRefunded(f.ctx, h.ID, "re_1"); err != nil {
		t.Fatal(err)
	}
	if pay, _ := f.s.Payment(f.ctx, h.ID); pay.State != store.PaymentRefunded || pay.RefundID != "re_1" {
		t.Errorf("payment after refund = %+v", pay)
	}
	if all, _ := f.s.FlightBookings(f.ctx, f.flight.ID); len(all) != 0 {
		t.Errorf("a booking exists for a payment whose seats were lost: %v", all)
	}
}

func testCancelBooking(t *testing.T, f *fixture) {
	b := f.mustBook(t, f.mustHold(t, f.alice, time.Minute, "1C", "1D"))
	_, err := f.s.CancelBooking(f.ctx, f.bob, b.ID, nil)
	wantErr(t, err, bookings.ErrNotFound)
	c, err := f.s.CancelBooking(f.ctx, f.alice, b.ID, nil)
	if err != nil || c.Status != bookings.Canceled || c.CanceledAt.IsZero() || c.ID != b.ID {
		t.Fatalf("CancelBooking = %+v, %v", c, err)
	}
	if st := f.seatStatus(t); st["1C"] != flights.Available || st["1D"] != flights.Available {
		t.Errorf("seats after cancel: %v", st)
	}
	if pay, _ := f.s.Payment(f.ctx, b.HoldID); pay.State != store.PaymentRefunding {
		t.Errorf("payment after cancel = %s, want refunding", pay.State)
	}
	again, err := f.s.CancelBooking(f.ctx, f.alice, b.ID, nil)
	if err != nil || again.Status != bookings.Canceled || !again.CanceledAt.Equal(c.CanceledAt) {
		t.Errorf("second cancel = %+v, %v", again, err)
	}
	b2 := f.mustBook(t, f.mustHold(t, f.bob, time.Minute, "1C"))
	if b2.Seats[0] != "1C" {
		t.Fatal(b2)
	}
	evs := f.events(t)
	if !slices.Contains(evs, "1C canceled "+b.HoldID+"/"+b.ID) && !slices.Contains(evs, "1C canceled /"+b.ID) {
		t.Errorf("no canceled event for 1C in %v", evs)
	}
}

func testSweeper(t *testing.T, f *fixture) {
	var short []holds.Hold
	for _, s := range []string{"10E", "10F", "11E"} {
		short = append(short, f.mustHold(t, f.alice, 200*time.Millisecond, s))
	}
	long := f.mustHold(t, f.alice, time.Minute, "11F")
	time.Sleep(400 * time.Millisecond)
	if lag, err := f.s.ExpiryLag(f.ctx); err != nil || lag < 150*time.Millisecond || lag > time.Minute {
		t.Errorf("ExpiryLag = %s, %v; want about 200ms", lag, err)
	}
	swept, err := f.s.ExpireHolds(f.ctx, 2)
	if err != nil || len(swept) != 2 {
		t.Fatalf("ExpireHolds(2) = %d holds, %v", len(swept), err)
	}
	rest, err := f.s.ExpireHolds(f.ctx, 10)
	if err != nil || len(rest) != 1 {
		t.Fatalf("ExpireHolds(10) = %d holds, %v; want the last one", len(rest), err)
	}
	for _, h := range append(swept, rest...) {
		if h.Status != holds.Expired || len(h.Seats) != 1 {
			t.Errorf("swept hold = %+v", h)
		}
	}
	if again, _ := f.s.ExpireHolds(f.ctx, 10); len(again) != 0 {
		t.Errorf("swept twice: %v", again)
	}
	if lag, err := f.s.ExpiryLag(f.ctx); err != nil || lag != 0 {
		t.Errorf("ExpiryLag after sweeping = %s, %v; want 0", lag, err)
	}
	for _, h := range short {
		if got, _ := f.s.Hold(f.ctx, f.alice, h.ID); got.Status != holds.Expired {
			t.Errorf("swept hold reads %s", got.Status)
		}
	}
	if got, _ := f.s.Hold(f.ctx, f.alice, long.ID); got.Status != holds.Active {
		t.Errorf("unexpired hold reads %s", got.Status)
	}
	expired := 0
	for _, e := range f.events(t) {
		if len(e) > 4 && e[4:11] == "expired" {
			expired++
		}
	}
	if expired != 3 {
		t.Errorf("%d expired events, want 3: %v", expired, f.events(t))
	}
}

// testGauges checks the counts behind the gauges: active holds (exact
// expiry, by the database clock) and the depth of each work queue.
func testGauges(t *testing.T, f *fixture) {
	count := func() int {
		t.Helper()
		n, err := f.s.CountActiveHolds(f.ctx)
		if err != nil {
			t.Fatalf("CountActiveHolds: %v", err)
		}
		return n
	}
	depth := func(want map[string]int) {
		t.Helper()
		got, err := f.s.WorkDepth(f.ctx)
		if err != nil {
			t.Fatalf("WorkDepth: %v", err)
		}
		for _, q := range store.WorkQueues {
			if _, ok := got[q]; !ok || got[q] != want[q] {
				t.Errorf("WorkDepth = %v, want %v (every queue present)", got, want)
				return
			}
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("CountActiveHolds on an empty store = %d", n)
	}
	depth(map[string]int{})

	short := f.mustHold(t, f.alice, 2*time.Second, "10A")
	f.mustHold(t, f.bob, time.Minute, "10B")
	pending := f.mustHold(t, f.alice, time.Minute, "10C")
	if _, err := f.begin(t, pending, "tok_visa"); err != nil {
		t.Fatalf("BeginBooking: %v", err)
	}
	canceled := f.mustBook(t, f.mustHold(t, f.bob, time.Minute, "10D"))
	released := f.mustHold(t, f.alice, time.Minute, "10E")
	if _, err := f.s.ReleaseHold(f.ctx, f.alice, released.ID, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Errorf("CountActiveHolds = %d, want 3 (the booked and the released are not active)", n)
	}
	if _, err := f.s.CancelBooking(f.ctx, f.bob, canceled.ID, nil); err != nil {
		t.Fatal(err)
	}
	depth(map[string]int{store.QueuePayments: 1, store.QueueRefunds: 1})

	// Expiry is exact: the short hold stops counting at its expires_at,
	// before any sweep.
	time.Sleep(time.Until(short.ExpiresAt) + 200*time.Millisecond)
	if n := count(); n != 2 {
		t.Errorf("CountActiveHolds after one hold lapsed = %d, want 2", n)
	}
}

func testIdempotencyKeys(t *testing.T, f *fixture) {
	claim := func(key, fp string, lease time.Duration) store.IdemClaim {
		t.Helper()
		c, err := f.s.ClaimIdempotencyKey(f.ctx, f.alice, key, fp, lease)
		if err != nil {
			t.Fatalf("ClaimIdempotencyKey: %v", err)
		}
		return c
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != store.IdemProceed {
		t.Fatalf("first claim = %v, want proceed", c.Outcome)
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != store.IdemInFlight {
		t.Errorf("claim while running = %v, want in flight", c.Outcome)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != store.IdemMismatch {
		t.Errorf("claim with another request = %v, want mismatch", c.Outcome)
	}
	// Keys are scoped to the API key.
	if c, err := f.s.ClaimIdempotencyKey(f.ctx, f.bob, "k1", "fp2", time.Minute); err != nil || c.Outcome != store.IdemProceed {
		t.Errorf("bob's claim of alice's key = %v, %v; want proceed", c.Outcome, err)
	}
	if err := f.s.CompleteIdempotencyKey(f.ctx, f.alice, "k1", 201, []byte(`{"data":1}`)); err != nil {
		t.Fatal(err)
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != store.IdemReplay || c.Status != 201 || string(c.Body) != `{"data":1}` {
		t.Errorf("claim after completion = %+v, want replay of 201", c)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != store.IdemMismatch {
		t.Errorf("completed key with another request = %v, want mismatch", c.Outcome)
	}
	// Completing again never overwrites a stored response.
	f.s.CompleteIdempotencyKey(f.ctx, f.alice, "k1", 500, []byte("x"))
	if c := claim("k1", "fp1", time.Minute); c.Status != 201 {
		t.Errorf("stored response overwritten: %+v", c)
	}
	// Released keys run again.
	claim("k2", "fp", time.Minute)
	if err := f.s.ReleaseIdempotencyKey(f.ctx, f.alice, "k2"); err != nil {
		t.Fatal(err)
	}
	if c := claim("k2", "fp", time.Minute); c.Outcome != store.IdemProceed {
		t.Errorf("claim after release = %v, want proceed", c.Outcome)
	}
	// A running key whose lease ran out (its request died) can be taken over.
	claim("k3", "fp", time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if c := claim("k3", "fp", time.Minute); c.Outcome != store.IdemProceed {
		t.Errorf("claim of an abandoned key = %v, want proceed", c.Outcome)
	}
	time.Sleep(10 * time.Millisecond)
	n, err := f.s.DeleteIdempotencyKeys(f.ctx, 0)
	if err != nil || n != 4 {
		t.Errorf("DeleteIdempotencyKeys = %d, %v; want 4", n, err)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != store.IdemProceed {
		t.Errorf("claim after cleanup = %v, want proceed", c.Outcome)
	}
}

// testClaimInTransaction covers Completion.Claim: the effect's transaction
// inserts its idempotency key already done, and an effect whose key exists
// rolls back entirely; IdempotencyKey only looks.
// renderResult stands for the API's rendering of a stored answer.
func renderResult(v any) ([]byte, error) {
	switch r := v.(type) {
	case holds.Hold:
		return json.Marshal(map[string]any{"id": r.ID, "status": r.Status, "seats": r.Seats})
	case bookings.Booking:
		return json.Marshal(map[string]any{"id": r.ID, "status": r.Status})
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

func testClaimInTransaction(t *testing.T, f *fixture) {
	done := func(key, fp string, status int) *store.Completion {
		return &store.Completion{KeyID: f.alice, Key: key, Fingerprint: fp, Claim: true, Status: status, Render: renderResult}
	}
	look := func(key, fp string) store.IdemClaim {
		t.Helper()
		c, err := f.s.IdempotencyKey(f.ctx, f.alice, key, fp)
		if err != nil {
			t.Fatalf("IdempotencyKey: %v", err)
		}
		return c
	}
	newHold := func(seats ...string) store.NewHold {
		return store.NewHold{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
			Request: holds.Request{FlightID: f.flight.ID, Seats: seats}}
	}
	if c := look("h1", "fp"); c.Outcome != store.IdemProceed {
		t.Fatalf("look at an unused key = %v, want proceed", c.Outcome)
	}
	h, err := f.s.CreateHold(f.ctx, newHold("11A"), done("h1", "fp", 201))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := renderResult(h)
	if c := look("h1", "fp"); c.Outcome != store.IdemReplay || c.Status != 201 || string(c.Body) != string(want) {
		t.Errorf("look after the claiming CreateHold = %+v %s, want replay of 201 %s", c, c.Body, want)
	}
	if c := look("h1", "other"); c.Outcome != store.IdemMismatch {
		t.Errorf("look with another fingerprint = %v, want mismatch", c.Outcome)
	}
	// Looking claims nothing and the classic claim sees the stored answer.
	if c, err := f.s.ClaimIdempotencyKey(f.ctx, f.alice, "h1", "fp", time.Minute); err != nil || c.Outcome != store.IdemReplay {
		t.Errorf("ClaimIdempotencyKey after a claiming CreateHold = %+v, %v; want replay", c, err)
	}
	before := f.available(t)
	events := len(f.events(t))

	// The same key again: nothing happens, whatever the seats.
	_, err = f.s.CreateHold(f.ctx, newHold("11B"), done("h1", "fp", 201))
	if !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Fatalf("CreateHold with a used key: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	if got := f.available(t); got != before {
		t.Errorf("available seats = %d after a refused claim, want %d", got, before)
	}
	if got := len(f.events(t)); got != events {
		t.Errorf("seat events = %d after a refused claim, want %d", got, events)
	}
	if st := f.seatStatus(t)["11B"]; st != flights.Available {
		t.Errorf("11B is %q after a refused claim, want available", st)
	}
	// A running key (claimed the classic way) also refuses the claim.
	if c, err := f.s.ClaimIdempotencyKey(f.ctx, f.alice, "run", "fp", time.Minute); err != nil || c.Outcome != store.IdemProceed {
		t.Fatalf("claim run: %+v %v", c, err)
	}
	if c := look("run", "fp"); c.Outcome != store.IdemInFlight {
		t.Errorf("look at a running key = %v, want in flight", c.Outcome)
	}
	if _, err := f.s.CreateHold(f.ctx, newHold("11C"), done("run", "fp", 201)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("CreateHold claiming a running key: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	// A failed effect claims nothing.
	if _, err := f.s.CreateHold(f.ctx, newHold("11A"), done("h2", "fp", 201)); err == nil {
		t.Fatal("held a held seat")
	}
	if c := look("h2", "fp"); c.Outcome != store.IdemProceed {
		t.Errorf("look after a failed claiming CreateHold = %v, want proceed", c.Outcome)
	}
	// Other single-transaction effects claim the same way.
	if _, err := f.s.ExtendHold(f.ctx, f.alice, h.ID, time.Minute, done("x1", "fp", 200)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ExtendHold(f.ctx, f.alice, h.ID, time.Minute, done("x1", "fp", 200)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("ExtendHold with a used key: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	rel, err := f.s.ReleaseHold(f.ctx, f.alice, h.ID, done("r1", "fp", 200))
	if err != nil {
		t.Fatal(err)
	}
	if c := look("r1", "fp"); c.Outcome != store.IdemReplay || c.Status != 200 {
		t.Errorf("look after a claiming ReleaseHold = %+v, want replay of 200", c)
	}
	if rel.Status != holds.Released {
		t.Errorf("released hold status = %q", rel.Status)
	}

	// A keyed hold id (holds.KeyedID) names the hold of a key: its twin, or
	// its retry after the hold was released, finds it instead of holding
	// again, even with the key itself gone (cleaned up).
	keyed := func(seats ...string) store.NewHold {
		nh := newHold(seats...)
		nh.ID = holds.KeyedID("alice's digest", "keyed")
		return nh
	}
	kh, err := f.s.CreateHold(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201))
	if err != nil {
		t.Fatal(err)
	}
	if kh.ID != holds.KeyedID("alice's digest", "keyed") {
		t.Fatalf("keyed hold id = %s", kh.ID)
	}
	if _, err := f.s.DeleteIdempotencyKeys(f.ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateHold(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("twin of a keyed hold on its seats: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	if _, err := f.s.CreateHold(f.ctx, keyed("12C"), done("keyed", "fp", 201)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("keyed hold id reused on other seats: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	if st := f.seatStatus(t)["12C"]; st != flights.Available {
		t.Errorf("12C is %q after a refused keyed hold, want available", st)
	}
	if _, err := f.s.ReleaseHold(f.ctx, f.alice, kh.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateHold(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("keyed hold again after its release: err = %v, want ErrIdempotencyKeyTaken", err)
	}
}

func testCompletionInTransaction(t *testing.T, f *fixture) {
	done := func(key string, status int) *store.Completion {
		if c, err := f.s.ClaimIdempotencyKey(f.ctx, f.alice, key, "fp", time.Minute); err != nil || c.Outcome != store.IdemProceed {
			t.Fatalf("claim %s: %+v %v", key, c, err)
		}
		return &store.Completion{KeyID: f.alice, Key: key, Status: status, Render: renderResult}
	}
	replay := func(key string) store.IdemClaim {
		c, err := f.s.ClaimIdempotencyKey(f.ctx, f.alice, key, "fp", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	h, err := f.s.CreateHold(f.ctx, store.NewHold{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"12C"}}}, done("hold", 201))
	if err != nil {
		t.Fatal(err)
	}
	c := replay("hold")
	want, _ := renderResult(h)
	if c.Outcome != store.IdemReplay || c.Status != 201 || string(c.Body) != string(want) {
		t.Errorf("replay after CreateHold = %+v %s, want 201 %s", c, c.Body, want)
	}
	// A failed effect stores nothing: the key stays running for the caller to settle.
	_, err = f.s.CreateHold(f.ctx, store.NewHold{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"12C"}}}, done("taken", 201))
	if err == nil {
		t.Fatal("held a taken seat")
	}
	if c := replay("taken"); c.Outcome != store.IdemInFlight {
		t.Errorf("key of a failed effect = %v, want still running", c.Outcome)
	}
	p, err := f.begin(t, h, "tok_visa")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.s.CompleteBooking(f.ctx, p, "ch", done("book", 201))
	if err != nil {
		t.Fatal(err)
	}
	want, _ = renderResult(b)
	if c := replay("book"); c.Outcome != store.IdemReplay || string(c.Body) != string(want) {
		t.Errorf("replay after CompleteBooking = %+v %s", c, c.Body)
	}
	for _, op := range []struct {
		key string
		run func(done *store.Completion) (any, error)
	}{
		{"cancel", func(d *store.Completion) (any, error) { return f.s.CancelBooking(f.ctx, f.alice, b.ID, d) }},
		{"extend", func(d *store.Completion) (any, error) {
			return f.s.ExtendHold(f.ctx, f.alice, f.mustHold(t, f.alice, time.Minute, "11F").ID, time.Minute, d)
		}},
		{"release", func(d *store.Completion) (any, error) {
			return f.s.ReleaseHold(f.ctx, f.alice, f.mustHold(t, f.alice, time.Minute, "12D").ID, d)
		}},
	} {
		res, err := op.run(done(op.key, 200))
		if err != nil {
			t.Fatalf("%s: %v", op.key, err)
		}
		want, _ := renderResult(res)
		if c := replay(op.key); c.Outcome != store.IdemReplay || c.Status != 200 || string(c.Body) != string(want) {
			t.Errorf("replay after %s = %+v %s, want %s", op.key, c, c.Body, want)
		}
	}
}

func testListBookings(t *testing.T, f *fixture) {
	var ids []string
	for _, s := range []string{"10A", "10B", "10C", "10D", "10E"} {
		ids = append(ids, f.mustBook(t, f.mustHold(t, f.alice, time.Minute, s)).ID)
		time.Sleep(3 * time.Millisecond) // SQLite keeps milliseconds: keep the bookings apart
	}
	f.mustBook(t, f.mustHold(t, f.bob, time.Minute, "10F"))
	var got []string
	var after *store.BookingCursor
	for range 10 {
		page, err := f.s.ListBookings(f.ctx, f.alice, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page {
			if b.KeyID != f.alice {
				t.Errorf("alice sees %+v", b)
			}
			got = append(got, b.ID)
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		after = &store.BookingCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	slices.Reverse(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("alice's bookings = %v, want newest first %v", got, ids)
	}
}

// testConcurrentHolds races many customers for few seats, then audits: no
// seat is granted to two live holds, and every live hold owns its seats.
func testConcurrentHolds(t *testing.T, f *fixture) {
	labels := []string{"10A", "10B", "10C", "10D", "10E", "10F", "11A", "11B", "11C", "11D"}
	var mu sync.Mutex
	var granted []holds.Hold
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for range 15 {
				var req holds.Request
				if rnd.IntN(3) == 0 {
					req = holds.Request{FlightID: f.flight.ID, Cabin: flights.Economy, Quantity: 1 + rnd.IntN(3)}
				} else {
					a, b := labels[rnd.IntN(len(labels))], labels[rnd.IntN(len(labels))]
					req = holds.Request{FlightID: f.flight.ID, Seats: []string{a}}
					if a != b {
						req.Seats = append(req.Seats, b)
					}
				}
				h, err := f.s.CreateHold(f.ctx, store.NewHold{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour, Request: req}, nil)
				var unavailable *holds.SeatsUnavailableError
				switch {
				case err == nil:
					mu.Lock()
					granted = append(granted, h)
					mu.Unlock()
					if rnd.IntN(2) == 0 {
						if _, err := f.s.ReleaseHold(f.ctx, f.alice, h.ID, nil); err != nil {
							t.Errorf("release: %v", err)
						}
					}
				case errors.As(err, &unavailable), errors.Is(err, holds.ErrNotEnoughSeats):
				default:
					t.Errorf("CreateHold: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	owner := map[string]string{}
	live := 0
	for _, h := range granted {
		got, err := f.s.Hold(f.ctx, f.alice, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != holds.Active {
			continue
		}
		live++
		for _, s := range got.Seats {
			if prev, ok := owner[s]; ok {
				t.Errorf("seat %s held by %s and %s", s, prev, h.ID)
			}
			owner[s] = h.ID
		}
	}
	st := f.seatStatus(t)
	held := 0
	for _, s := range st {
		if s == flights.Held {
			held++
		}
	}
	if held != len(owner) {
		t.Errorf("%d seats read held, live holds own %d (%d live holds of %d granted)", held, len(owner), live, len(granted))
	}
	if len(granted) == 0 {
		t.Error("no hold was ever granted")
	}
}

// testConcurrentBookings races requests to book one hold: one booking, ever.
func testConcurrentBookings(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "2D", "2F")
	var wg sync.WaitGroup
	results := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := f.begin(t, h, "tok_visa")
			if err != nil {
				if !errors.Is(err, bookings.ErrPaymentInProgress) && !errors.Is(err, holds.ErrNotActive) {
					t.Errorf("BeginBooking: %v", err)
				}
				return
			}
			b, err := f.s.CompleteBooking(f.ctx, p, "ch_race", nil)
			if err != nil {
				t.Errorf("CompleteBooking: %v", err)
				return
			}
			results <- b.ID
		}()
	}
	wg.Wait()
	close(results)
	var ids []string
	for id := range results {
		ids = append(ids, id)
	}
	if len(ids) != 1 {
		t.Errorf("%d bookings made of one hold: %v", len(ids), ids)
	}
	if all, _ := f.s.FlightBookings(f.ctx, f.flight.ID); len(all) != 1 {
		t.Errorf("flight has %d bookings, want 1", len(all))
	}
}
