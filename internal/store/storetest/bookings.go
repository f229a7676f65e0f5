package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

func testBookHold(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "2A", "2C")
	bookingID := bookings.NewID()
	p, err := f.s.PaymentBegin(f.ctx, store.PaymentBeginParams{KeyID: f.alice, HoldID: h.ID, Token: "tok_visa", BookingID: bookingID, Lease: time.Minute, Pin: time.Minute})
	if err != nil {
		t.Fatalf("BeginBooking: %v", err)
	}
	if p.HoldID != h.ID || p.BookingID != bookingID || p.Attempt != 1 || p.State != store.PaymentPending || p.Amount != h.Total || p.Token != "tok_visa" || p.KeyID != f.alice {
		t.Errorf("payment = %+v", p)
	}
	_, err = f.s.PaymentBegin(f.ctx, store.PaymentBeginParams{KeyID: f.bob, HoldID: h.ID, Token: "tok_visa", BookingID: bookings.NewID(), Lease: time.Minute, Pin: time.Minute})
	wantErr(t, err, holds.ErrNotFound)
	b, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch_1", Done: nil})
	if err != nil {
		t.Fatalf("CompleteBooking: %v", err)
	}
	if b.ID != bookingID || b.HoldID != h.ID || b.KeyID != f.alice || b.FlightID != f.flight.ID || b.Status != bookings.Confirmed ||
		!slices.Equal(b.Seats, []string{"2A", "2C"}) || b.Total != h.Total || b.CreatedAt.IsZero() {
		t.Errorf("booking = %+v", b)
	}
	// Completing again (a recovered or retried request) returns the same booking.
	again, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch_1", Done: nil})
	if err != nil || again.ID != b.ID {
		t.Errorf("second CompleteBooking = %+v, %v; want %s", again, err, b.ID)
	}
	if got, _ := f.s.HoldGet(f.ctx, f.alice, h.ID); got.Status != holds.Booked || got.BookingID != b.ID {
		t.Errorf("hold after booking = %+v", got)
	}
	if pay, err := f.s.PaymentGet(f.ctx, h.ID); err != nil || pay.State != store.PaymentCompleted || pay.ChargeID != "ch_1" {
		t.Errorf("payment after booking = %+v, %v", pay, err)
	}
	if st := f.seatStatus(t); st["2A"] != flights.Booked || st["2C"] != flights.Booked {
		t.Errorf("seats after booking: %v", st)
	}
	if got, err := f.s.BookingGet(f.ctx, f.alice, b.ID); err != nil || got.ID != b.ID || got.Status != bookings.Confirmed {
		t.Errorf("Booking = %+v, %v", got, err)
	}
	_, err = f.s.BookingGet(f.ctx, f.bob, b.ID)
	wantErr(t, err, bookings.ErrNotFound)
	_, err = f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: nil})
	wantErr(t, err, holds.ErrAlreadyBooked)
	_, err = f.begin(t, h, "tok_visa")
	wantErr(t, err, holds.ErrNotActive)
	if _, err := f.hold(t, f.bob, time.Minute, "2A"); err == nil {
		t.Error("a booked seat was held again")
	}
	// Booked seats stay booked after the hold's expiry time.
	if all, err := f.s.BookingListByFlight(f.ctx, f.flight.ID); err != nil || len(all) != 1 || all[0].ID != b.ID {
		t.Errorf("FlightBookings = %v, %v", all, err)
	}
	evs := f.events(t)
	if !slices.Contains(evs, "2A booked "+h.ID+"/"+b.ID) && !slices.Contains(evs, "2A booked /"+b.ID) {
		t.Errorf("no booked event for 2A in %v", evs)
	}
}

func testCancelBooking(t *testing.T, f *fixture) {
	b := f.mustBook(t, f.mustHold(t, f.alice, time.Minute, "1C", "1D"))
	_, err := f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.bob, ID: b.ID, Done: nil})
	wantErr(t, err, bookings.ErrNotFound)
	c, err := f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.alice, ID: b.ID, Done: nil})
	if err != nil || c.Status != bookings.Canceled || c.CanceledAt.IsZero() || c.ID != b.ID {
		t.Fatalf("CancelBooking = %+v, %v", c, err)
	}
	if st := f.seatStatus(t); st["1C"] != flights.Available || st["1D"] != flights.Available {
		t.Errorf("seats after cancel: %v", st)
	}
	if pay, _ := f.s.PaymentGet(f.ctx, b.HoldID); pay.State != store.PaymentRefunding {
		t.Errorf("payment after cancel = %s, want refunding", pay.State)
	}
	again, err := f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.alice, ID: b.ID, Done: nil})
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
		page, err := f.s.BookingList(f.ctx, store.BookingListParams{KeyID: f.alice, After: after, Limit: 2})
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
			b, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch_race", Done: nil})
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
	if all, _ := f.s.BookingListByFlight(f.ctx, f.flight.ID); len(all) != 1 {
		t.Errorf("flight has %d bookings, want 1", len(all))
	}
}
