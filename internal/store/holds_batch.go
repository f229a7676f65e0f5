package store

import (
	"context"

	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
)

// BatchHold is one hold request of a batch (HoldBatcher.HoldCreateBatch):
// what CreateHold takes for one request. Ctx is the request's own context:
// a request whose client has gone by the time the batch runs is left out
// (its result is Ctx's error), while the batch itself runs on.
type BatchHold struct {
	Ctx context.Context
	HoldCreateParams
	Done *idempotency.Completion[holds.Hold]
}

// BatchResult is the answer to one request of a batch: the hold granted, or
// the error CreateHold would have returned for it alone.
type BatchResult struct {
	Hold holds.Hold
	Err  error
}

// HoldBatcher grants many holds in one transaction (group commit).
type HoldBatcher interface {
	// HoldCreateBatch decides reqs in their order, each all or nothing, as
	// CreateHold would one after another: a request whose seats are taken,
	// by an earlier request of the batch too, gets its own
	// *holds.SeatsUnavailableError and the others go on; requests that
	// claim one idempotency key or name one keyed hold id (twins) resolve
	// to one hold, the later ones getting ErrIdempotencyKeyTaken. It locks
	// every seat of the batch with one read in (flight_id, label) order,
	// writes every winner with set-based statements and commits once.
	//
	// results has one entry per request, in order, when err is nil. A
	// non-nil err means the batch's transaction failed and no result
	// stands: nothing was written, unless the answer to COMMIT itself was
	// lost. The caller retries the requests one by one (CreateHold) with
	// the same ids, so that a hold written after all is found by its own
	// id (ErrIdempotencyKeyTaken) and never granted twice.
	HoldCreateBatch(ctx context.Context, reqs []BatchHold) (results []BatchResult, err error)
}
