package store

import (
	"context"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/money"
)

// PaymentState is where a booking's payment is.
type PaymentState string

// Payment states. A payment is pending from the booking's intent until the
// gateway answers; refunding when money must go back (a cancellation, or a
// charge whose hold could not be converted).
const (
	PaymentPending   PaymentState = "pending"
	PaymentDeclined  PaymentState = "declined"
	PaymentCompleted PaymentState = "completed"
	PaymentRefunding PaymentState = "refunding"
	PaymentRefunded  PaymentState = "refunded"
)

// Payment is the durable record of a phased booking: intent, charge, booking.
// There is one per hold; a declined payment may be attempted again.
type Payment struct {
	HoldID    string
	KeyID     int64
	BookingID string // reserved at intent, so a recovered booking gets the same id
	Attempt   int
	Amount    money.Money
	Token     string
	State     PaymentState
	ChargeID  string
	RefundID  string
}

// ChargeKey is the gateway idempotency key of this payment attempt.
func (p Payment) ChargeKey() string { return fmt.Sprintf("charge_%s_%d", p.HoldID, p.Attempt) }

// RefundKey is the gateway idempotency key of this payment's refund.
func (p Payment) RefundKey() string { return "refund_" + p.HoldID }

// PaymentBeginParams asks to record the intent to pay for a hold.
type PaymentBeginParams struct {
	KeyID     int64
	HoldID    string
	Token     string
	BookingID string        // bookings.NewID(), used if this is a new intent
	Lease     time.Duration // how long this request owns the payment before recovery may take it over
	Pin       time.Duration // how long the seats stay reserved for the payment, past expires_at if need be
}

// Payments keeps the durable record of phased bookings: the intent to pay,
// the charge's outcome and the refunds recovery drives to an end.
type Payments interface {
	// PaymentBegin records the intent to pay for an active hold and pins its
	// seats for the payment. It returns the payment to charge. A pending
	// payment whose lease has run out is taken over by a retry with the same
	// token (the same attempt, so the same charge key). Errors:
	// holds.ErrNotFound, holds.ErrExpired, holds.ErrNotActive (released or
	// booked), bookings.ErrPaymentInProgress (another request owns the payment).
	PaymentBegin(ctx context.Context, b PaymentBeginParams) (Payment, error)
	// PaymentRelease ends a request's lease on a still-pending payment (the
	// gateway did not answer), so that a retry or recovery takes it over now.
	PaymentRelease(ctx context.Context, p Payment) error
	// PaymentDecline records a declined attempt; the hold stays active until it expires.
	PaymentDecline(ctx context.Context, p Payment) error
	// PaymentClaimStale leases up to limit pending payments whose lease has
	// run out (their request died) for recovery to drive to an end.
	PaymentClaimStale(ctx context.Context, lease time.Duration, limit int) ([]Payment, error)
	// PaymentClaimRefunds leases up to limit refunding payments whose lease has run out.
	PaymentClaimRefunds(ctx context.Context, lease time.Duration, limit int) ([]Payment, error)
	// PaymentMarkRefunded records a refund the gateway made.
	PaymentMarkRefunded(ctx context.Context, holdID, refundID string) error
	// PaymentGet returns the payment of a hold, or bookings.ErrNotFound.
	PaymentGet(ctx context.Context, holdID string) (Payment, error)
}
