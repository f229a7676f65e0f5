package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/money"
)

// Completion finalizes an idempotency key inside the transaction of the
// effect it guards, so that the effect and its stored response commit or
// vanish together. Render turns the effect's result (a holds.Hold or a
// bookings.Booking) into the response body that replays will send.
//
// A key is either claimed before the request runs (ClaimIdempotencyKey),
// and then the transaction marks it done, or, with Claim set, claimed by the
// transaction itself: it inserts the key already done, and fails with
// ErrIdempotencyKeyTaken when the key exists, so that the request's effect
// rolls back and the caller looks at what the key holds. Claim saves a
// commit and two round trips, and suits requests whose only effect is that
// one transaction.
type Completion struct {
	KeyID       int64
	Key         string
	Fingerprint string // with Claim: the request's fingerprint to store
	Claim       bool
	// Secret derives the ids of what a claiming request creates (the API
	// key's digest, see holds.KeyedID).
	Secret string
	Status int
	Render func(result any) ([]byte, error)
}

// ErrIdempotencyKeyTaken reports a transaction that was to claim an
// idempotency key (Completion.Claim) which another request holds or has
// completed; the transaction rolled back.
var ErrIdempotencyKeyTaken = errors.New("idempotency key already claimed")

// NewHold is a hold to grant: specific seats or a quantity of a cabin.
type NewHold struct {
	ID    string // holds.NewID(), chosen by the caller
	KeyID int64
	holds.Request
	TTL         time.Duration // expires_at = now() + TTL
	MaxLifetime time.Duration // extensions never pass created_at + MaxLifetime
}

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

// BeginBooking asks to record the intent to pay for a hold.
type BeginBooking struct {
	KeyID     int64
	HoldID    string
	Token     string
	BookingID string        // bookings.NewID(), used if this is a new intent
	Lease     time.Duration // how long this request owns the payment before recovery may take it over
	Pin       time.Duration // how long the seats stay reserved for the payment, past expires_at if need be
}

// BookingCursor is the position after which a booking listing continues
// (newest first).
type BookingCursor struct {
	CreatedAt time.Time
	ID        string
}

// SeatEvent is one row of the append-only record of seat status changes.
type SeatEvent struct {
	FlightID  int64
	Seat      string
	Event     string // held, released, expired, booked, canceled
	HoldID    string
	BookingID string
	At        time.Time
}

// IdemOutcome is what claiming an idempotency key found.
type IdemOutcome int

// Outcomes of ClaimIdempotencyKey.
const (
	IdemProceed  IdemOutcome = iota // the key is ours: run the request
	IdemReplay                      // done before: send the stored response
	IdemMismatch                    // the key was used for a different request
	IdemInFlight                    // another request with this key is running
)

// IdemClaim is the result of claiming an idempotency key.
type IdemClaim struct {
	Outcome IdemOutcome
	Status  int    // stored response, for IdemReplay
	Body    []byte // stored response, for IdemReplay
}

// Reservations is the part of the store that grants, converts and frees
// seats, and the bookkeeping that makes those operations exactly-once.
// Every method that changes seats is one transaction whose writes are
// conditional on the seats' state, judged by the database clock, locking
// seat rows in label order.
type Reservations interface {
	// CreateHold grants all requested seats or none. Errors: flights.ErrNotFound,
	// *holds.UnknownSeatsError, *holds.SeatsUnavailableError, holds.ErrNotEnoughSeats.
	CreateHold(ctx context.Context, h NewHold, done *Completion) (holds.Hold, error)
	// HoldBatcher grants many holds in one transaction.
	HoldBatcher
	// Hold returns a hold of keyID with its derived status, or holds.ErrNotFound.
	Hold(ctx context.Context, keyID int64, id string) (holds.Hold, error)
	// ExtendHold moves expires_at to now()+ttl, capped at the hold's maximum
	// lifetime. Errors: holds.ErrNotFound, holds.ErrExpired, holds.ErrNotActive.
	ExtendHold(ctx context.Context, keyID int64, id string, ttl time.Duration, done *Completion) (holds.Hold, error)
	// ReleaseHold frees an active hold's seats; releasing a released hold
	// returns it again. Errors: holds.ErrNotFound, holds.ErrAlreadyBooked,
	// holds.ErrExpired, bookings.ErrPaymentInProgress.
	ReleaseHold(ctx context.Context, keyID int64, id string, done *Completion) (holds.Hold, error)

	// BeginBooking records the intent to pay for an active hold and pins its
	// seats for the payment. It returns the payment to charge. A pending
	// payment whose lease has run out is taken over by a retry with the same
	// token (the same attempt, so the same charge key). Errors:
	// holds.ErrNotFound, holds.ErrExpired, holds.ErrNotActive (released or
	// booked), bookings.ErrPaymentInProgress (another request owns the payment).
	BeginBooking(ctx context.Context, b BeginBooking) (Payment, error)
	// ReleasePayment ends a request's lease on a still-pending payment (the
	// gateway did not answer), so that a retry or recovery takes it over now.
	ReleasePayment(ctx context.Context, p Payment) error
	// CompleteBooking converts the hold of a charged payment into its booking.
	// Completing a completed payment returns its booking. When the seats could
	// not be kept, the payment turns refunding and holds.ErrExpired is returned.
	CompleteBooking(ctx context.Context, p Payment, chargeID string, done *Completion) (bookings.Booking, error)
	// DeclinePayment records a declined attempt; the hold stays active until it expires.
	DeclinePayment(ctx context.Context, p Payment) error
	// ClaimStalePayments leases up to limit pending payments whose lease has
	// run out (their request died) for recovery to drive to an end.
	ClaimStalePayments(ctx context.Context, lease time.Duration, limit int) ([]Payment, error)
	// ClaimRefunds leases up to limit refunding payments whose lease has run out.
	ClaimRefunds(ctx context.Context, lease time.Duration, limit int) ([]Payment, error)
	// MarkRefunded records a refund the gateway made.
	MarkRefunded(ctx context.Context, holdID, refundID string) error
	// Payment returns the payment of a hold, or bookings.ErrNotFound.
	Payment(ctx context.Context, holdID string) (Payment, error)

	// Booking returns a booking of keyID, or bookings.ErrNotFound.
	Booking(ctx context.Context, keyID int64, id string) (bookings.Booking, error)
	// ListBookings returns keyID's bookings newest first.
	ListBookings(ctx context.Context, keyID int64, after *BookingCursor, limit int) ([]bookings.Booking, error)
	// CancelBooking cancels a confirmed booking, frees its seats and marks its
	// payment refunding; canceling a canceled booking returns it again.
	CancelBooking(ctx context.Context, keyID int64, id string, done *Completion) (bookings.Booking, error)

	// ExpireHolds marks up to limit active holds past expires_at expired
	// (skipping those with a pending payment), frees their seats and records
	// the events. Safe to run on many replicas at once.
	ExpireHolds(ctx context.Context, limit int) ([]holds.Hold, error)
	// ExpiryLag is how long the oldest expired-but-unswept hold has been expired.
	ExpiryLag(ctx context.Context) (time.Duration, error)
	// CountActiveHolds counts the holds that are active now: status active
	// and expires_at still ahead by the database clock. It is cheap (the
	// sweeper's index answers it) and only for gauges: by the time a caller
	// reads it, holds may have come and gone.
	CountActiveHolds(ctx context.Context) (int, error)

	// ClaimIdempotencyKey claims key for a request with this fingerprint.
	ClaimIdempotencyKey(ctx context.Context, keyID int64, key, fingerprint string, lease time.Duration) (IdemClaim, error)
	// IdempotencyKey looks at a key without claiming it: IdemReplay with the
	// stored response, IdemMismatch, IdemInFlight, or IdemProceed when the key
	// is free (absent, or its request died).
	IdempotencyKey(ctx context.Context, keyID int64, key, fingerprint string) (IdemClaim, error)
	// CompleteIdempotencyKey stores the response of a claimed key (a no-op if
	// the effect's transaction already did).
	CompleteIdempotencyKey(ctx context.Context, keyID int64, key string, status int, body []byte) error
	// ReleaseIdempotencyKey forgets a claimed key whose response is not stored
	// (409, 429, 5xx), so that a retry runs again.
	ReleaseIdempotencyKey(ctx context.Context, keyID int64, key string) error
	// DeleteIdempotencyKeys removes keys older than age and returns how many.
	DeleteIdempotencyKeys(ctx context.Context, age time.Duration) (int64, error)

	// SeatEvents returns a flight's seat history, oldest first.
	SeatEvents(ctx context.Context, flightID int64) ([]SeatEvent, error)
	// FlightBookings returns every booking of a flight, for audits.
	FlightBookings(ctx context.Context, flightID int64) ([]bookings.Booking, error)
}
