package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

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
	got, err := f.s.HoldGet(f.ctx, f.alice, h.ID)
	if err != nil || got.ID != h.ID || got.Status != holds.Active || !got.ExpiresAt.Equal(h.ExpiresAt) || !slices.Equal(got.Seats, h.Seats) {
		t.Errorf("Hold = %+v, %v; want %+v", got, err, h)
	}
	// Another customer sees no such hold.
	_, err = f.s.HoldGet(f.ctx, f.bob, h.ID)
	wantErr(t, err, holds.ErrNotFound)
	_, err = f.s.HoldGet(f.ctx, f.alice, holds.NewID())
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
	_, err = f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: f.bob, TTL: time.Minute, MaxLifetime: time.Hour,
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
		return f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: key, TTL: time.Minute, MaxLifetime: time.Hour,
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
	got, err := f.s.HoldGet(f.ctx, f.alice, h.ID)
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
	_, err = f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Minute, Done: nil})
	wantErr(t, err, holds.ErrExpired)
	_, err = f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: nil})
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
	h, err := f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: 90 * time.Second,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"11C"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Minute, Done: nil})
	if err != nil {
		t.Fatalf("ExtendHold: %v", err)
	}
	if !ext.ExpiresAt.After(h.ExpiresAt) || ext.Status != holds.Active {
		t.Errorf("extended expires_at %s, was %s", ext.ExpiresAt, h.ExpiresAt)
	}
	// Capped at created_at + max lifetime.
	ext, err = f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Hour, Done: nil})
	if err != nil || !ext.ExpiresAt.Equal(h.CreatedAt.Add(90*time.Second)) {
		t.Errorf("extend past the lifetime: expires_at %s, %v; want %s", ext.ExpiresAt, err, h.CreatedAt.Add(90*time.Second))
	}
	_, err = f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.bob, ID: h.ID, TTL: time.Minute, Done: nil})
	wantErr(t, err, holds.ErrNotFound)
	if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: nil}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Minute, Done: nil})
	wantErr(t, err, holds.ErrNotActive)
	b := f.mustBook(t, f.mustHold(t, f.alice, time.Minute, "11D"))
	_, err = f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: b.HoldID, TTL: time.Minute, Done: nil})
	wantErr(t, err, holds.ErrNotActive)
}

func testReleaseHold(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "12E", "12F")
	_, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.bob, ID: h.ID, Done: nil})
	wantErr(t, err, holds.ErrNotFound)
	rel, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: nil})
	if err != nil || rel.Status != holds.Released {
		t.Fatalf("ReleaseHold = %+v, %v", rel, err)
	}
	if st := f.seatStatus(t); st["12E"] != flights.Available || st["12F"] != flights.Available {
		t.Errorf("seats after release: %v", st)
	}
	again, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: nil})
	if err != nil || again.Status != holds.Released {
		t.Errorf("second release = %+v, %v; want released again", again, err)
	}
	if got, _ := f.s.HoldGet(f.ctx, f.alice, h.ID); got.Status != holds.Released {
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

func testSweeper(t *testing.T, f *fixture) {
	var short []holds.Hold
	for _, s := range []string{"10E", "10F", "11E"} {
		short = append(short, f.mustHold(t, f.alice, 200*time.Millisecond, s))
	}
	long := f.mustHold(t, f.alice, time.Minute, "11F")
	time.Sleep(400 * time.Millisecond)
	if lag, err := f.s.HoldExpiryLag(f.ctx); err != nil || lag < 150*time.Millisecond || lag > time.Minute {
		t.Errorf("ExpiryLag = %s, %v; want about 200ms", lag, err)
	}
	swept, err := f.s.HoldExpire(f.ctx, 2)
	if err != nil || len(swept) != 2 {
		t.Fatalf("ExpireHolds(2) = %d holds, %v", len(swept), err)
	}
	rest, err := f.s.HoldExpire(f.ctx, 10)
	if err != nil || len(rest) != 1 {
		t.Fatalf("ExpireHolds(10) = %d holds, %v; want the last one", len(rest), err)
	}
	for _, h := range append(swept, rest...) {
		if h.Status != holds.Expired || len(h.Seats) != 1 {
			t.Errorf("swept hold = %+v", h)
		}
	}
	if again, _ := f.s.HoldExpire(f.ctx, 10); len(again) != 0 {
		t.Errorf("swept twice: %v", again)
	}
	if lag, err := f.s.HoldExpiryLag(f.ctx); err != nil || lag != 0 {
		t.Errorf("ExpiryLag after sweeping = %s, %v; want 0", lag, err)
	}
	for _, h := range short {
		if got, _ := f.s.HoldGet(f.ctx, f.alice, h.ID); got.Status != holds.Expired {
			t.Errorf("swept hold reads %s", got.Status)
		}
	}
	if got, _ := f.s.HoldGet(f.ctx, f.alice, long.ID); got.Status != holds.Active {
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
		n, err := f.s.HoldCountActive(f.ctx)
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
	if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: released.ID, Done: nil}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Errorf("CountActiveHolds = %d, want 3 (the booked and the released are not active)", n)
	}
	if _, err := f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.bob, ID: canceled.ID, Done: nil}); err != nil {
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
