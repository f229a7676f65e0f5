package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

func testDeclinedPayment(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "11A")
	p, err := f.begin(t, h, "tok_chargeDeclined")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.PaymentDecline(f.ctx, p); err != nil {
		t.Fatalf("DeclinePayment: %v", err)
	}
	if got, _ := f.s.HoldGet(f.ctx, f.alice, h.ID); got.Status != holds.Active || !got.ExpiresAt.Equal(h.ExpiresAt) {
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
	if b, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch_1"}); !errors.Is(err, holds.ErrNotActive) {
		t.Errorf("BookingComplete with the superseded attempt = %+v, %v; want holds.ErrNotActive", b, err)
	}
	if _, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p2, ChargeID: "ch_2", Done: nil}); err != nil {
		t.Fatalf("CompleteBooking: %v", err)
	}
}

func testPaymentInProgress(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Minute, "11B")
	if _, err := f.s.PaymentBegin(f.ctx, store.PaymentBeginParams{KeyID: f.alice, HoldID: h.ID, Token: "tok_visa", BookingID: bookings.NewID(), Lease: time.Second, Pin: time.Minute}); err != nil {
		t.Fatal(err)
	}
	_, err := f.begin(t, h, "tok_visa")
	wantErr(t, err, bookings.ErrPaymentInProgress)
	_, err = f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: nil})
	wantErr(t, err, bookings.ErrPaymentInProgress)
	if claimed, err := f.s.PaymentClaimStale(f.ctx, time.Minute, 10); err != nil || len(claimed) != 0 {
		t.Errorf("ClaimStalePayments before the lease ran out = %v, %v; want none", claimed, err)
	}
	time.Sleep(1200 * time.Millisecond)
	claimed, err := f.s.PaymentClaimStale(f.ctx, time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].HoldID != h.ID || claimed[0].State != store.PaymentPending {
		t.Fatalf("ClaimStalePayments = %+v, %v; want the stale payment", claimed, err)
	}
	if again, _ := f.s.PaymentClaimStale(f.ctx, time.Minute, 10); len(again) != 0 {
		t.Errorf("a claimed payment was claimed again: %+v", again)
	}
	if _, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: claimed[0], ChargeID: "ch_rec", Done: nil}); err != nil {
		t.Fatalf("CompleteBooking of a recovered payment: %v", err)
	}

	// A retry with the same card takes over a stalled payment once its
	// lease is released: the same attempt, hence the same charge key.
	h2 := f.mustHold(t, f.alice, time.Minute, "11E")
	p, err := f.begin(t, h2, "tok_visa")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.PaymentRelease(f.ctx, p); err != nil {
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
	if got, _ := f.s.HoldGet(f.ctx, f.alice, h.ID); got.Status != holds.Active {
		t.Errorf("hold with a pending payment past expires_at = %s, want active", got.Status)
	}
	if _, err := f.hold(t, f.bob, time.Minute, "10C"); err == nil {
		t.Error("a seat pinned by a pending payment was granted")
	}
	if swept, err := f.s.HoldExpire(f.ctx, 10); err != nil || len(swept) != 0 {
		t.Errorf("ExpireHolds swept %v, %v; a pending payment must not be swept", swept, err)
	}
	if _, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch_pin", Done: nil}); err != nil {
		t.Fatalf("CompleteBooking after expires_at with a pinned seat: %v", err)
	}
}

func testChargedButSeatsLost(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Second, "10D")
	p, err := f.s.PaymentBegin(f.ctx, store.PaymentBeginParams{KeyID: f.alice, HoldID: h.ID, Token: "tok_visa", BookingID: bookings.NewID(), Lease: time.Millisecond, Pin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(h.ExpiresAt) + 50*time.Millisecond)
	f.mustHold(t, f.bob, time.Minute, "10D")
	_, err = f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch_lost", Done: nil})
	wantErr(t, err, holds.ErrExpired)
	pay, err := f.s.PaymentGet(f.ctx, h.ID)
	if err != nil || pay.State != store.PaymentRefunding || pay.ChargeID != "ch_lost" {
		t.Fatalf("payment = %+v, %v; want refunding with the charge", pay, err)
	}
	if st := f.seatStatus(t); st["10D"] != flights.Held {
		t.Errorf("bob's seat = %s, want held", st["10D"])
	}
	refunds, err := f.s.PaymentClaimRefunds(f.ctx, time.Minute, 10)
	if err != nil || len(refunds) != 1 || refunds[0].HoldID != h.ID || refunds[0].ChargeID != "ch_lost" {
		t.Fatalf("ClaimRefunds = %+v, %v", refunds, err)
	}
	if err := f.s.PaymentMarkRefunded(f.ctx, h.ID, "re_1"); err != nil {
		t.Fatal(err)
	}
	if pay, _ := f.s.PaymentGet(f.ctx, h.ID); pay.State != store.PaymentRefunded || pay.RefundID != "re_1" {
		t.Errorf("payment after refund = %+v", pay)
	}
	if all, _ := f.s.BookingListByFlight(f.ctx, f.flight.ID); len(all) != 0 {
		t.Errorf("a booking exists for a payment whose seats were lost: %v", all)
	}
}
