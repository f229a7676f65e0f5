package idempotency

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Request is a request to run at most once under its Idempotency-Key.
type Request struct {
	KeyID  int64  // the API key the Idempotency-Key is scoped to
	Secret string // the API key's digest, for derived ids (HoldID)
	Key    string
	// Fingerprint of the request (see Fingerprint).
	Fingerprint string
	// InTx says the request's effect is one store transaction that can
	// claim the key itself (Completion.Claim).
	InTx bool
}

// Ran is the answer of one run of a request.
type Ran struct {
	Status int
	Body   []byte
	// Taken says the effect's transaction found its key claimed
	// (ErrKeyTaken); the answer is then not the request's.
	Taken bool
}

// RunFunc runs the request once, with ctx carrying its Attempt (see
// Complete), and returns its buffered answer.
type RunFunc func(ctx context.Context) Ran

// Answer is what to send: either the last run's answer (Replayed false:
// the caller sends what that run produced) or a stored one (Replayed true:
// Status and Body, with the header Idempotent-Replayed: true).
type Answer struct {
	Replayed bool
	Status   int
	Body     []byte
}

// Guard runs requests at most once per (API key, Idempotency-Key).
type Guard struct {
	store Store
	log   *slog.Logger
	lease time.Duration
}

// NewGuard returns a Guard keeping its keys in s, each leased for lease
// (DefaultLease when 0; at least MinLease); log reports keys that could not
// be settled after their request ran.
func NewGuard(s Store, log *slog.Logger, lease time.Duration) *Guard {
	if lease == 0 {
		lease = DefaultLease
	}
	return &Guard{store: s, log: log, lease: max(lease, MinLease)}
}

// Do runs req at most once: a repeat of the same request replays the stored
// response; the same key on another request is refused with ErrKeyReused; a
// repeat while the first runs, with ErrKeyInUse. Responses 409, 429 and 5xx
// are not stored (Storable).
//
// With req.InTx, run's effect is one store transaction that claims the key
// itself (see Completion): a success costs no idempotency round trip of its
// own. Only an answer that transaction did not store brings the key table
// in: a look at the key for an answer that is never stored, a claim for one
// that is (a 404, a validation error), or for a transaction that found the
// key taken. Otherwise the key is claimed first, as a request whose effects
// reach beyond one transaction (a payment) needs: a second request then
// finds it in flight. Either way an effect that succeeds stores its response
// in its own transaction, and everything else is stored here once the
// request has answered. When the answer is not Replayed, it is the answer
// of run's last call. Each call of run has RunLimit(lease) to finish: its
// context's deadline, so that it never outlives the key's lease.
func (g *Guard) Do(ctx context.Context, req Request, run RunFunc) (Answer, error) {
	a := &Attempt{keyID: req.KeyID, secret: req.Secret, key: req.Key, fingerprint: req.Fingerprint}
	var first *Ran // the answer of a run that did not hold the key
	if req.InTx {
		a.claim = true
		ran, stored := g.run(ctx, a, run)
		switch {
		case stored:
			return Answer{Status: ran.Status, Body: ran.Body}, nil
		case !ran.Taken && !Storable(ran.Status):
			// Never stored; unless the key holds an answer or a running
			// request, this answer stands.
			look, err := g.store.IdempotencyKeyGet(ctx, GetParams{KeyID: req.KeyID, Key: req.Key, Fingerprint: req.Fingerprint})
			if err != nil {
				return Answer{}, err
			}
			if look.Outcome == Proceed {
				return Answer{Status: ran.Status, Body: ran.Body}, nil
			}
			return answer(look)
		case !ran.Taken:
			first = &ran
		}
		a = &Attempt{keyID: req.KeyID, secret: req.Secret, key: req.Key, fingerprint: req.Fingerprint}
	}

	claim, err := g.store.IdempotencyKeyClaim(ctx, ClaimParams{KeyID: req.KeyID, Key: req.Key, Fingerprint: req.Fingerprint, Lease: g.lease})
	if err != nil {
		return Answer{}, err
	}
	if claim.Outcome != Proceed {
		return answer(claim)
	}
	stored := false
	if first == nil {
		var ran Ran
		ran, stored = g.run(ctx, a, run)
		first = &ran
	}
	ran := *first
	// Settle the key (the request runs on if its client has gone away).
	if !Storable(ran.Status) {
		err = g.store.IdempotencyKeyRelease(ctx, req.KeyID, req.Key)
	} else if !stored {
		// A success whose transaction stored the response is already settled.
		err = g.store.IdempotencyKeyComplete(ctx, CompleteParams{KeyID: req.KeyID, Key: req.Key, Status: ran.Status, Body: ran.Body})
	}
	if err != nil {
		g.log.ErrorContext(ctx, "settle idempotency key", "error", err.Error())
	}
	return Answer{Status: ran.Status, Body: ran.Body}, nil
}

// run runs the request under a and says whether the effect's transaction
// stored its answer: only a success's counts, as a transaction that rendered
// an answer and then failed stored nothing.
func (g *Guard) run(ctx context.Context, a *Attempt, run RunFunc) (Ran, bool) {
	ctx, cancel := context.WithTimeout(ctx, RunLimit(g.lease))
	defer cancel()
	ran := run(NewContext(ctx, a))
	if ran.Taken {
		return ran, false
	}
	return ran, a.stored.Load() && ran.Status < 300
}

// answer turns a key that is not the request's to run into its answer.
func answer(c Claim) (Answer, error) {
	switch c.Outcome {
	case Replay:
		return Answer{Replayed: true, Status: c.Status, Body: c.Body}, nil
	case Mismatch:
		return Answer{}, ErrKeyReused
	case InFlight:
		return Answer{}, ErrKeyInUse
	}
	return Answer{}, errors.New("idempotency: no answer for a free key")
}
