package store

import (
	"context"
	"errors"
	"time"
)

// Completion finalizes an idempotency key inside the transaction of the
// effect it guards, so that the effect and its stored response commit or
// vanish together. Render turns the effect's result (a holds.Hold or a
// bookings.Booking) into the response body that replays will send.
//
// A key is either claimed before the request runs (IdempotencyKeyClaim),
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

// IdemOutcome is what claiming an idempotency key found.
type IdemOutcome int

// Outcomes of IdempotencyKeyClaim.
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

// IdempotencyKeys is the bookkeeping that makes requests exactly-once.
type IdempotencyKeys interface {
	// IdempotencyKeyClaim claims key for a request with this fingerprint.
	IdempotencyKeyClaim(ctx context.Context, p IdempotencyKeyClaimParams) (IdemClaim, error)
	// IdempotencyKeyGet looks at a key without claiming it: IdemReplay with the
	// stored response, IdemMismatch, IdemInFlight, or IdemProceed when the key
	// is free (absent, or its request died).
	IdempotencyKeyGet(ctx context.Context, p IdempotencyKeyGetParams) (IdemClaim, error)
	// IdempotencyKeyComplete stores the response of a claimed key (a no-op if
	// the effect's transaction already did).
	IdempotencyKeyComplete(ctx context.Context, p IdempotencyKeyCompleteParams) error
	// IdempotencyKeyRelease forgets a claimed key whose response is not stored
	// (409, 429, 5xx), so that a retry runs again.
	IdempotencyKeyRelease(ctx context.Context, keyID int64, key string) error
	// IdempotencyKeyDeleteOlderThan removes keys older than age and returns how many.
	IdempotencyKeyDeleteOlderThan(ctx context.Context, age time.Duration) (int64, error)
}

// IdempotencyKeyClaimParams claims Key of KeyID for a request with this
// Fingerprint, for Lease (after which a retry may take it over).
type IdempotencyKeyClaimParams struct {
	KeyID       int64
	Key         string
	Fingerprint string
	Lease       time.Duration
}

// IdempotencyKeyGetParams looks at Key of KeyID for a request with this Fingerprint.
type IdempotencyKeyGetParams struct {
	KeyID       int64
	Key         string
	Fingerprint string
}

// IdempotencyKeyCompleteParams is the response to store for a claimed key.
type IdempotencyKeyCompleteParams struct {
	KeyID  int64
	Key    string
	Status int
	Body   []byte
}
