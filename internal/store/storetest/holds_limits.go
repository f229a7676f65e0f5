package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

// runHoldLimits is the conformance suite of the per-customer caps
// (holds.Limits): counted over the customer's live holds inside the hold's
// transaction, on the single and the batched path.
func runHoldLimits(t *testing.T, newStore NewStore) {
	tests := map[string]func(t *testing.T, f *fixture){
		"SeatsPerFlight":           testLimitSeatsPerFlight,
		"ActiveHolds":              testLimitActiveHolds,
		"ExpiredDoNotCount":        testLimitExpiredDoNotCount,
		"ReleasedBookedDoNotCount": testLimitReleasedBookedDoNotCount,
		"WithinBatch":              testLimitWithinBatch,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, newStore))
		})
	}
}

// capped is a hold request of key under lim, on flight.
func capped(key, flight int64, lim holds.Limits, ttl time.Duration, req holds.Request) store.HoldCreateParams {
	req.FlightID = flight
	return store.HoldCreateParams{ID: holds.NewID(), KeyID: key, TTL: ttl, MaxLifetime: 3 * ttl, Limits: lim, Request: req}
}

func (f *fixture) holdCapped(t testing.TB, key int64, lim holds.Limits, ttl time.Duration, seats ...string) (holds.Hold, error) {
	t.Helper()
	return f.s.HoldCreate(f.ctx, capped(key, f.flight.ID, lim, ttl, holds.Request{Seats: seats}), nil)
}

func (f *fixture) mustHoldCapped(t testing.TB, key int64, lim holds.Limits, ttl time.Duration, seats ...string) holds.Hold {
	t.Helper()
	h, err := f.holdCapped(t, key, lim, ttl, seats...)
	if err != nil {
		t.Fatalf("CreateHold %v under %+v: %v", seats, lim, err)
	}
	return h
}

// wantLimit fails unless err is a *holds.LimitError of limit and held.
func wantLimit(t testing.TB, err error, limit, held int) {
	t.Helper()
	var le *holds.LimitError
	if !errors.As(err, &le) || le.Limit != limit || le.Held != held {
		t.Fatalf("error = %v, want hold limit %d reached with %d held", err, limit, held)
	}
}

// testLimitSeatsPerFlight: a customer's seats on one flight, across its
// live holds, stop at the cap; named and best-available requests alike;
// other customers and extensions change nothing; nothing is held by a
// refused request.
func testLimitSeatsPerFlight(t *testing.T, f *fixture) {
	lim := holds.Limits{SeatsPerFlight: 3}
	_, err := f.holdCapped(t, f.alice, lim, time.Minute, "10A", "10B", "10C", "10D")
	wantLimit(t, err, 3, 0) // one request alone over the cap
	h := f.mustHoldCapped(t, f.alice, lim, time.Minute, "10A", "10B")
	_, err = f.holdCapped(t, f.alice, lim, time.Minute, "10C", "10D")
	wantLimit(t, err, 3, 2)
	f.mustHoldCapped(t, f.alice, lim, time.Minute, "10C")
	_, err = f.holdCapped(t, f.alice, lim, time.Minute, "10D")
	wantLimit(t, err, 3, 3)
	_, err = f.s.HoldCreate(f.ctx, capped(f.alice, f.flight.ID, lim, time.Minute, holds.Request{Cabin: "economy", Quantity: 1}), nil)
	wantLimit(t, err, 3, 3)
	// Extending a hold keeps its seats: the count stays 3, not 5.
	if _, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: 2 * time.Minute}); err != nil {
		t.Fatalf("HoldExtend: %v", err)
	}
	_, err = f.holdCapped(t, f.alice, lim, time.Minute, "10D")
	wantLimit(t, err, 3, 3)
	// Bob has caps of his own.
	f.mustHoldCapped(t, f.bob, lim, time.Minute, "11A", "11B", "11C")
	// The refused requests held nothing: 26 seats less the 6 granted.
	if got := f.available(t); got != 20 {
		t.Errorf("seats_available = %d, want 20", got)
	}
	// Seats on another flight count against that flight's cap.
	other, err := f.s.FlightCreate(f.ctx, Flight("RV2", "SFO", "JFK", base, 2, 3))
	if err != nil {
		t.Fatalf("CreateFlight: %v", err)
	}
	if _, err := f.s.HoldCreate(f.ctx, capped(f.alice, other.ID, lim, time.Minute, holds.Request{Seats: []string{"10A", "10B", "10C"}}), nil); err != nil {
		t.Fatalf("three seats on another flight: %v", err)
	}
}

// testLimitActiveHolds: a customer's live holds, on every flight, stop at
// the cap.
func testLimitActiveHolds(t *testing.T, f *fixture) {
	lim := holds.Limits{Active: 2}
	other, err := f.s.FlightCreate(f.ctx, Flight("RV2", "SFO", "JFK", base, 2, 3))
	if err != nil {
		t.Fatalf("CreateFlight: %v", err)
	}
	f.mustHoldCapped(t, f.alice, lim, time.Minute, "10A")
	if _, err := f.s.HoldCreate(f.ctx, capped(f.alice, other.ID, lim, time.Minute, holds.Request{Seats: []string{"10A"}}), nil); err != nil {
		t.Fatalf("second hold, on another flight: %v", err)
	}
	_, err = f.holdCapped(t, f.alice, lim, time.Minute, "10B")
	wantLimit(t, err, 2, 2)
	_, err = f.s.HoldCreate(f.ctx, capped(f.alice, other.ID, lim, time.Minute, holds.Request{Cabin: "business", Quantity: 1}), nil)
	wantLimit(t, err, 2, 2)
	f.mustHoldCapped(t, f.bob, lim, time.Minute, "10B")
	// Both caps at once: the seat cap is reported first.
	_, err = f.holdCapped(t, f.alice, holds.Limits{SeatsPerFlight: 1, Active: 2}, time.Minute, "10C")
	wantLimit(t, err, 1, 1)
}

// testLimitExpiredDoNotCount: a hold past expires_at stops counting at
// once, by the database clock, before any sweeper runs.
func testLimitExpiredDoNotCount(t *testing.T, f *fixture) {
	lim := holds.Limits{SeatsPerFlight: 2, Active: 1}
	h := f.mustHoldCapped(t, f.alice, lim, time.Second, "10A", "10B")
	_, err := f.holdCapped(t, f.alice, lim, time.Minute, "10C")
	wantLimit(t, err, 2, 2)
	time.Sleep(time.Until(h.ExpiresAt) + 50*time.Millisecond)
	f.mustHoldCapped(t, f.alice, lim, time.Minute, "10C", "10D")
}

// testLimitReleasedBookedDoNotCount: releasing frees a hold's place and
// seats; booked seats are no longer held.
func testLimitReleasedBookedDoNotCount(t *testing.T, f *fixture) {
	lim := holds.Limits{SeatsPerFlight: 2, Active: 1}
	h := f.mustHoldCapped(t, f.alice, lim, time.Minute, "10A", "10B")
	_, err := f.holdCapped(t, f.alice, lim, time.Minute, "10C")
	wantLimit(t, err, 2, 2)
	if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID}); err != nil {
		t.Fatalf("HoldRelease: %v", err)
	}
	h = f.mustHoldCapped(t, f.alice, lim, time.Minute, "10C", "10D")
	_, err = f.holdCapped(t, f.alice, lim, time.Minute, "10E")
	wantLimit(t, err, 2, 2)
	f.mustBook(t, h)
	f.mustHoldCapped(t, f.alice, lim, time.Minute, "10E", "10F")
}

// testLimitWithinBatch: a batch decides in arrival order, so its earlier
// winners of a customer count toward the cap of that customer's later
// requests, and a refused request counts for nothing.
func testLimitWithinBatch(t *testing.T, f *fixture) {
	lim := holds.Limits{SeatsPerFlight: 3, Active: 3}
	f.mustHoldCapped(t, f.alice, lim, time.Minute, "10A")
	req := func(key int64, seats ...string) store.BatchHold {
		return store.BatchHold{Ctx: f.ctx, HoldCreateParams: capped(key, f.flight.ID, lim, time.Minute, holds.Request{Seats: seats})}
	}
	r := f.batch(t,
		req(f.alice, "10B", "10C"), // 3 seats: granted
		req(f.bob, "11A", "11B", "11C"),
		req(f.alice, "10D"),        // 4 seats: refused
		req(f.bob, "11D"),          // bob's 4th: refused
		req(f.alice, "10E", "10F"), // refused with the same count
	)
	if r[0].Err != nil || r[1].Err != nil {
		t.Fatalf("first requests: %v, %v; want both granted", r[0].Err, r[1].Err)
	}
	wantLimit(t, r[2].Err, 3, 3)
	wantLimit(t, r[3].Err, 3, 3)
	wantLimit(t, r[4].Err, 3, 3)
	if got := f.available(t); got != 26-6 {
		t.Errorf("seats_available = %d, want %d", got, 26-6)
	}

	// The active cap across flights, within one batch.
	other, err := f.s.FlightCreate(f.ctx, Flight("RV2", "SFO", "JFK", base, 2, 3))
	if err != nil {
		t.Fatalf("CreateFlight: %v", err)
	}
	on := func(seat string) store.BatchHold {
		return store.BatchHold{Ctx: f.ctx, HoldCreateParams: capped(f.bob, other.ID, holds.Limits{Active: 3}, time.Minute, holds.Request{Seats: []string{seat}})}
	}
	r = f.batch(t, on("10A"), on("10B"), on("10C"))
	if r[0].Err != nil || r[1].Err != nil {
		t.Fatalf("bob's second and third holds: %v, %v; want granted", r[0].Err, r[1].Err)
	}
	wantLimit(t, r[2].Err, 3, 3)
}
