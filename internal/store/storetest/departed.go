package storetest

import (
	"testing"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

// testDeparted checks that the database's clock closes a flight at its
// departure: a flight created to leave a moment from now is held, paid for
// and booked while it is open, then, once it has left, nothing on it can be
// held, paid for, converted or canceled. A flight already gone is refused
// at once, and listings hide departed flights unless asked.
func testDeparted(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore)
	// The flight leaves lead from now; everything that must succeed runs
	// before then (a few statements), everything that must fail after.
	const lead = 2 * time.Second
	departs := time.Now().Add(lead).Truncate(time.Millisecond)
	soon, err := f.s.FlightCreate(f.ctx, Flight("RV9", "SFO", "LAX", departs, 1, 2))
	if err != nil {
		t.Fatalf("CreateFlight: %v", err)
	}
	gone, err := f.s.FlightCreate(f.ctx, Flight("RV8", "SFO", "LAX", time.Now().Add(-time.Hour), 1, 2))
	if err != nil {
		t.Fatalf("CreateFlight (departed): %v", err)
	}
	later := f.flight // departs at base, well ahead

	f.flight = soon
	booked := f.mustBook(t, f.mustHold(t, f.alice, time.Hour, "10A"))
	unpaid := f.mustHold(t, f.alice, time.Hour, "10B")
	charging := f.mustHold(t, f.bob, time.Hour, "10C")
	pay, err := f.begin(t, charging, "tok_visa")
	if err != nil {
		t.Fatalf("BeginBooking before departure: %v", err)
	}
	if time.Now().After(departs) {
		t.Fatalf("setting up took longer than %v: the machine is too slow for this test", lead)
	}
	time.Sleep(time.Until(departs) + 100*time.Millisecond)

	// Held: neither specific seats nor a quantity, neither here nor on the
	// flight that left an hour ago.
	_, err = f.hold(t, f.bob, time.Hour, "11A")
	wantErr(t, err, flights.ErrDeparted)
	_, err = f.s.HoldCreate(f.ctx, store.HoldCreateParams{
		ID: holds.NewID(), KeyID: f.bob, TTL: time.Hour, MaxLifetime: 3 * time.Hour,
		Request: holds.Request{FlightID: soon.ID, Cabin: flights.Economy, Quantity: 2},
	}, nil)
	wantErr(t, err, flights.ErrDeparted)
	f.flight = gone
	_, err = f.hold(t, f.bob, time.Hour, "10A")
	wantErr(t, err, flights.ErrDeparted)
	f.flight = soon

	// Booked: a payment cannot begin (nothing is charged)...
	_, err = f.begin(t, unpaid, "tok_visa")
	wantErr(t, err, flights.ErrDeparted)
	if p, err := f.s.PaymentGet(f.ctx, unpaid.ID); err == nil {
		t.Errorf("a payment was recorded for a departed flight: %+v", p)
	}
	// ...and one charged while the flight left is not converted: it is
	// committed as refunding, like lost seats (ErrExpired makes the caller
	// refund), and the error says why.
	_, err = f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: pay, ChargeID: "ch_late", Done: nil})
	wantErr(t, err, flights.ErrDeparted)
	wantErr(t, err, holds.ErrExpired)
	if p, err := f.s.PaymentGet(f.ctx, charging.ID); err != nil || p.State != store.PaymentRefunding || p.ChargeID != "ch_late" {
		t.Errorf("payment charged as the flight left = %+v, %v; want refunding with the charge", p, err)
	}

	// Canceled: the booking stays confirmed and its seat booked.
	_, err = f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.alice, ID: booked.ID})
	wantErr(t, err, flights.ErrDeparted)
	if b, err := f.s.BookingGet(f.ctx, f.alice, booked.ID); err != nil || b.Status != bookings.Confirmed {
		t.Errorf("booking after a refused cancel = %+v, %v; want confirmed", b, err)
	}
	if st := f.seatStatus(t); st["10A"] != flights.Booked {
		t.Errorf("seat 10A = %s, want booked", st["10A"])
	}
	all, err := f.s.BookingListByFlight(f.ctx, soon.ID)
	if err != nil || len(all) != 1 || all[0].ID != booked.ID {
		t.Errorf("bookings of the departed flight = %+v, %v; want only %s", all, err, booked.ID)
	}

	// Listed: hidden by default, shown when asked.
	ids := func(filter flights.Filter) []int64 {
		t.Helper()
		list, err := f.s.FlightList(f.ctx, store.FlightListParams{Filter: filter, Limit: 10})
		if err != nil {
			t.Fatalf("FlightList(%+v): %v", filter, err)
		}
		var out []int64
		for _, fl := range list {
			out = append(out, fl.ID)
		}
		return out
	}
	if got := ids(flights.Filter{}); !sameIDs(got, later.ID) {
		t.Errorf("FlightList = %v, want only the flight still to leave (%d)", got, later.ID)
	}
	if got := ids(flights.Filter{Origin: "SFO", Destination: "LAX"}); len(got) != 0 {
		t.Errorf("FlightList SFO-LAX = %v, want none (both departed)", got)
	}
	if got := ids(flights.Filter{IncludeDeparted: true}); !sameIDs(got, gone.ID, soon.ID, later.ID) {
		t.Errorf("FlightList including departed = %v, want %v", got, []int64{gone.ID, soon.ID, later.ID})
	}

	// The flight still to leave is untouched by all this.
	f.flight = later
	if _, err := f.hold(t, f.bob, time.Hour, "10A"); err != nil {
		t.Errorf("hold on a flight still to leave: %v", err)
	}
}

func sameIDs(got []int64, want ...int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] { // #nosec G602 -- len(got) == len(want) is checked just above
			return false
		}
	}
	return true
}
