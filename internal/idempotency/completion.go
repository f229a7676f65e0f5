package idempotency

import (
	"context"
	"sync/atomic"
)

// Completion finalizes an idempotency key inside the transaction of the
// effect it guards, so that the effect and its stored response commit or
// vanish together. T is the effect's result (a holds.Hold, a
// bookings.Booking, a trips.Trip); Render turns it into the response body
// that replays will send, so an engine stores bytes without knowing the API.
//
// A key is either claimed before the request runs (Store.IdempotencyKeyClaim),
// and then the transaction marks it done, or, with Claim set, claimed by the
// transaction itself: it inserts the key already done, and fails with
// ErrKeyTaken when the key exists, so that the request's effect rolls back
// and the caller looks at what the key holds. Claim saves a commit and two
// round trips, and suits requests whose only effect is that one transaction.
type Completion[T any] struct {
	KeyID       int64
	Key         string
	Fingerprint string // with Claim: the request's fingerprint to store
	Claim       bool
	// Secret derives the ids of what a claiming request creates (the API
	// key's digest, see HoldID).
	Secret string
	Status int
	Render func(result T) ([]byte, error)
}

// HoldID is the id of the hold this completion's request creates when its
// transaction claims the key (see HoldID).
func (c *Completion[T]) HoldID() string { return HoldID(c.Secret, c.Key) }

// Attempt is one request running under its idempotency key: what a
// Completion needs to know of the key, and whether an effect's transaction
// stored the answer.
type Attempt struct {
	keyID       int64
	secret      string
	key         string
	fingerprint string
	claim       bool
	// stored is set when an effect's transaction rendered the response to
	// store with it; a success then needs no second write. Atomic because an
	// engine may render in a goroutine of its own (a batch).
	stored atomic.Bool
}

type ctxKey struct{}

// NewContext returns ctx carrying a, for the handler to build completions.
func NewContext(ctx context.Context, a *Attempt) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// Complete returns the completion with which the effect's transaction of the
// request running in ctx stores its response, status with the body render
// makes of the result, or nil when the request runs under no key.
func Complete[T any](ctx context.Context, status int, render func(T) ([]byte, error)) *Completion[T] {
	a, ok := ctx.Value(ctxKey{}).(*Attempt)
	if !ok {
		return nil
	}
	return &Completion[T]{KeyID: a.keyID, Key: a.key, Fingerprint: a.fingerprint, Claim: a.claim, Secret: a.secret, Status: status,
		Render: func(v T) ([]byte, error) {
			a.stored.Store(true)
			return render(v)
		}}
}
