package jobs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/store"
)

// fakeEvents answers the event jobs' calls from scripted results.
type fakeEvents struct {
	store.Events
	sequenced []store.Sequenced // what successive EventSequence calls return
	pruned    []int             // what successive EventPrune calls return
	err       error             // returned once the script runs out
	ages      []time.Duration
	limits    []int
}

func (f *fakeEvents) EventSequence(_ context.Context, limit int) (store.Sequenced, error) {
	f.limits = append(f.limits, limit)
	if len(f.sequenced) == 0 {
		return store.Sequenced{}, f.err
	}
	sq := f.sequenced[0]
	f.sequenced = f.sequenced[1:]
	return sq, nil
}

func (f *fakeEvents) EventPrune(_ context.Context, age time.Duration, limit int) (int, error) {
	f.ages, f.limits = append(f.ages, age), append(f.limits, limit)
	if len(f.pruned) == 0 {
		return 0, f.err
	}
	n := f.pruned[0]
	f.pruned = f.pruned[1:]
	return n, nil
}

// TestEventsSequence: a pass runs the sequencer again while full batches
// come back, tells the hook about each pass that gave positions (and only
// those), and counts every event.
func TestEventsSequence(t *testing.T) {
	t.Parallel()
	ev := &fakeEvents{sequenced: []store.Sequenced{
		{N: sequenceBatch, LastPos: 1000, Flights: []int64{7}},
		{N: 3, LastPos: 1003},
		{N: 9, LastPos: 2000}, // the next pass's
	}}
	var told []store.Sequenced
	j := EventsSequence(ev, 100*time.Millisecond, func(_ context.Context, sq store.Sequenced) { told = append(told, sq) })
	if j.Name != "events_sequence" || j.Every != 100*time.Millisecond {
		t.Fatalf("job = %+v", j)
	}
	n, err := j.Run(t.Context())
	if err != nil || n != sequenceBatch+3 {
		t.Fatalf("pass = %d, %v", n, err)
	}
	if len(told) != 2 || told[0].LastPos != 1000 || !slices.Equal(told[0].Flights, []int64{7}) || told[1].LastPos != 1003 {
		t.Errorf("hook told %+v", told)
	}
	if n, err := j.Run(t.Context()); err != nil || n != 9 {
		t.Fatalf("second pass = %d, %v", n, err)
	}
	// A pass with nothing to do tells nobody; an error is the pass's.
	told = nil
	if n, err := j.Run(t.Context()); err != nil || n != 0 || len(told) != 0 {
		t.Errorf("idle pass = %d, %v, told %+v", n, err, told)
	}
	ev.err = errors.New("down")
	if _, err := j.Run(t.Context()); !errors.Is(err, ev.err) {
		t.Errorf("failing pass: %v", err)
	}
	// No hook is fine.
	ev.err, ev.sequenced = nil, []store.Sequenced{{N: 1, LastPos: 1}}
	if n, err := EventsSequence(ev, time.Second, nil).Run(t.Context()); n != 1 || err != nil {
		t.Errorf("pass without a hook = %d, %v", n, err)
	}
}

// TestEventsPrune: a pass deletes in batches until a short one, by the
// configured retention, hourly.
func TestEventsPrune(t *testing.T) {
	t.Parallel()
	ev := &fakeEvents{pruned: []int{pruneBatch, pruneBatch, 5}}
	j := EventsPrune(ev, 720*time.Hour)
	if j.Name != "events_prune" || j.Every != time.Hour {
		t.Fatalf("job = %+v", j)
	}
	n, err := j.Run(t.Context())
	if err != nil || n != 2*pruneBatch+5 || len(ev.ages) != 3 || ev.ages[0] != 720*time.Hour || ev.limits[0] != pruneBatch {
		t.Fatalf("pass = %d, %v (ages %v)", n, err, ev.ages)
	}
	ev.err = errors.New("down")
	if _, err := j.Run(t.Context()); !errors.Is(err, ev.err) {
		t.Errorf("failing pass: %v", err)
	}
}
