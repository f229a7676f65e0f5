package jobs

import (
	"context"
	"time"

	"github.com/reservd/reservd/internal/store"
)

// Event jobs' batch sizes: a sequencer pass gives at most sequenceBatch
// positions in one transaction and runs again at once while a full batch
// came back (a backlog after a pause), up to sequenceRounds times; a prune
// pass deletes pruneBatch events a statement, up to pruneRounds times.
const (
	sequenceBatch  = 1000
	sequenceRounds = 20
	pruneBatch     = 1000
	pruneRounds    = 100
)

// EventsSequence returns the job, named events_sequence, that runs the
// events' sequencer every interval (package events explains why it exists).
// Every replica runs it; the store lets one pass at a time do the work and
// the others return at once. After each pass that gave events positions,
// or found committed events' flights waiting for theirs (Sequenced.Flights),
// it calls onSequenced (if not nil) with what the pass did, so that whatever
// serves the feed live (streams, webhook fan-out) can read on from its
// cursor; onSequenced runs in the job's loop and must not block.
func EventsSequence(ev store.Events, every time.Duration, onSequenced func(context.Context, store.Sequenced)) Job {
	return Job{Name: "events_sequence", Every: every, Run: func(ctx context.Context) (int, error) {
		total := 0
		for range sequenceRounds {
			sq, err := ev.EventSequence(ctx, sequenceBatch)
			if err != nil {
				return total, err
			}
			total += sq.N
			if (sq.N > 0 || len(sq.Flights) > 0) && onSequenced != nil {
				onSequenced(ctx, sq)
			}
			if sq.N < sequenceBatch {
				break
			}
		}
		return total, nil
	}}
}

// EventsPrune returns the job, named events_prune, that deletes sequenced
// events older than retention, hourly.
func EventsPrune(ev store.Events, retention time.Duration) Job {
	return Job{Name: "events_prune", Every: time.Hour, Run: func(ctx context.Context) (int, error) {
		total := 0
		for range pruneRounds {
			n, err := ev.EventPrune(ctx, retention, pruneBatch)
			total += n
			if err != nil || n < pruneBatch {
				return total, err
			}
		}
		return total, nil
	}}
}
