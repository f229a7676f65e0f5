package store

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/events"
)

// Events reads the outbox. Events are written by the methods that make the
// changes, in their own transactions; these read them back in commit order
// (package events explains the sequencer).
type Events interface {
	// EventList returns sequenced events after p.AfterPos, oldest first.
	EventList(ctx context.Context, p EventListParams) ([]events.Event, error)
	// EventGet returns one of keyID's events, sequenced or not, or
	// events.ErrNotFound.
	EventGet(ctx context.Context, keyID int64, id string) (events.Event, error)
	// EventSequence gives positions, in commit order, to up to limit
	// events whose transactions are certainly over. One replica sequences
	// at a time; a replica that finds another at it returns at once with
	// nothing done.
	EventSequence(ctx context.Context, limit int) (Sequenced, error)
	// EventPrune deletes up to limit sequenced events older than age.
	EventPrune(ctx context.Context, age time.Duration, limit int) (int, error)
	// EventHead returns the highest position given so far (0 for none):
	// where a reader that wants only what happens from now on starts.
	EventHead(ctx context.Context) (int64, error)
}

// EventListParams selects events to read.
type EventListParams struct {
	// KeyID is the customer whose events to read; 0 reads every
	// customer's (the webhook fan-out and the seat streams).
	KeyID    int64
	AfterPos int64
	// Types keeps only events of these types; nil keeps all.
	Types []events.Type
	Limit int
}

// Sequenced is what one sequencer pass did.
type Sequenced struct {
	N       int   // events given a position
	LastPos int64 // the highest position given; 0 if N == 0
	// Flights are the flights whose seats those events changed, each once,
	// and (PostgreSQL) those of committed events left waiting for a
	// position behind an older open transaction: their seats have changed
	// already, and the seat streams need no order, only a wake-up.
	Flights []int64
	// Pending reports events left without a position after the pass:
	// another replica's pass was running, or (PostgreSQL) a transaction
	// older than them was still open anywhere on the server. A later pass
	// gives them theirs; a test waiting for "everything sequenced" loops
	// until a pass reports N == 0 and !Pending.
	Pending bool
}
