// Package idempotency makes requests exactly-once (API.md, "Idempotency"):
// it owns the Idempotency-Key rules, the request fingerprint, the lease a
// running request holds its key for, how long answers are kept, which
// answers are stored and replayed, the ids derived from a key, and the typed
// Completion with which a store transaction stores its answer together with
// its effect. Store is the bookkeeping it needs; every engine implements it
// and storetest checks them alike.
package idempotency

import (
	"context"
	"errors"
	"time"
)

// Store is the bookkeeping of idempotency keys, scoped to an API key.
type Store interface {
	// IdempotencyKeyClaim claims a key for a request with this fingerprint.
	IdempotencyKeyClaim(ctx context.Context, p ClaimParams) (Claim, error)
	// IdempotencyKeyGet looks at a key without claiming it: Replay with the
	// stored response, Mismatch, InFlight, or Proceed when the key is free
	// (absent, or its request died).
	IdempotencyKeyGet(ctx context.Context, p GetParams) (Claim, error)
	// IdempotencyKeyComplete stores the response of a claimed key (a no-op if
	// the effect's transaction already did).
	IdempotencyKeyComplete(ctx context.Context, p CompleteParams) error
	// IdempotencyKeyRelease forgets a claimed key whose response is not stored
	// (409, 429, 5xx), so that a retry runs again.
	IdempotencyKeyRelease(ctx context.Context, keyID int64, key string) error
	// IdempotencyKeyDeleteOlderThan removes keys older than age and returns how many.
	IdempotencyKeyDeleteOlderThan(ctx context.Context, age time.Duration) (int64, error)
}

// Outcome is what claiming (or looking at) an idempotency key found.
type Outcome int

// Outcomes of Store.IdempotencyKeyClaim and Store.IdempotencyKeyGet.
const (
	Proceed  Outcome = iota // the key is ours (or free): run the request
	Replay                  // done before: send the stored response
	Mismatch                // the key was used for a different request
	InFlight                // another request with this key is running
)

func (o Outcome) String() string {
	switch o {
	case Proceed:
		return "proceed"
	case Replay:
		return "replay"
	case Mismatch:
		return "mismatch"
	case InFlight:
		return "in flight"
	}
	return "unknown"
}

// Claim is the result of claiming an idempotency key.
type Claim struct {
	Outcome Outcome
	Status  int    // stored response, for Replay
	Body    []byte // stored response, for Replay
}

// ClaimParams claims Key of KeyID for a request with this Fingerprint, for
// Lease (after which a retry may take it over).
type ClaimParams struct {
	KeyID       int64
	Key         string
	Fingerprint string
	Lease       time.Duration
}

// GetParams looks at Key of KeyID for a request with this Fingerprint.
type GetParams struct {
	KeyID       int64
	Key         string
	Fingerprint string
}

// CompleteParams is the response to store for a claimed key.
type CompleteParams struct {
	KeyID  int64
	Key    string
	Status int
	Body   []byte
}

// ErrKeyTaken reports a transaction that was to claim an idempotency key
// (Completion.Claim) which another request holds or has completed; the
// transaction rolled back.
var ErrKeyTaken = errors.New("idempotency key already claimed")

// DefaultLease is how long a request owns its key before another may take
// it over (its request died) when IDEMPOTENCY_LEASE is not set.
const DefaultLease = time.Minute

// MinLease is the shortest lease a Guard accepts: a request may run for
// half of it (RunLimit), and a change needs a second to commit.
const MinLease = 2 * time.Second

// RunLimit is how long a request may run under a key leased for lease: half
// the lease, so that a live request has finished, or been cut off, long
// before its lease runs out and a repeat may take the key over. Nothing can
// tell a replica that died holding a key from one still running it; this
// bound is what makes an expired lease mean a dead request.
func RunLimit(lease time.Duration) time.Duration { return lease / 2 }

// Storable says whether a response is kept for replays: 403, 409, 429 and
// 5xx are not, so that a retry runs again (a 403 queue_token_required
// followed, once admitted, by the same key with its Queue-Token).
func Storable(status int) bool {
	return status != 403 && status != 409 && status != 429 && status < 500
}
