package storetest

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

// testEventsRaceFeed races writers of events (holds made one by one and in
// batches, over few seats so that many are refused, and released again)
// against a reader that sequences and pages the feed with its cursor, as
// GET /events and the streams do, and a second sequencer (another replica).
// Then it audits: the reader saw every committed change's event exactly
// once, nothing for a refused one, at strictly increasing positions. On
// PostgreSQL, where transactions commit in another order than they write,
// a sequencer that gave positions in write order would let the reader's
// cursor pass an event that commits just after it looked: it would be
// missed here.
func testEventsRaceFeed(t *testing.T, f *fixture) {
	const (
		writers = 8
		rounds  = 25
	)
	seats := []string{"10A", "10B", "10C", "10D", "10E", "10F", "11A", "11B", "11C", "11D", "11E", "11F"}
	var (
		mu        sync.Mutex
		committed = map[change]int{} // changes whose call succeeded
		refused   atomic.Int64
	)
	record := func(c change) {
		mu.Lock()
		committed[c]++
		mu.Unlock()
	}
	var writing sync.WaitGroup
	for w := range writers {
		writing.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 12)) // #nosec G115 G404 -- w counts writers from 0; a reproducible test schedule, nothing secret
			key := []int64{f.alice, f.bob}[w%2]
			for range rounds {
				var made []holds.Hold
				if w%4 == 3 {
					reqs := []store.BatchHold{
						batchReq(f.ctx, key, f.flight.ID, seats[rnd.IntN(len(seats))]),
						batchReq(f.ctx, key, f.flight.ID, seats[rnd.IntN(len(seats))]),
					}
					out, err := f.s.HoldCreateBatch(f.ctx, reqs)
					if err != nil {
						t.Errorf("HoldCreateBatch: %v", err)
						return
					}
					for _, r := range out {
						if r.Err == nil {
							made = append(made, r.Hold)
						} else {
							refused.Add(1)
						}
					}
				} else {
					h, err := f.hold(t, key, time.Minute, seats[rnd.IntN(len(seats))])
					if err == nil {
						made = append(made, h)
					} else {
						refused.Add(1)
					}
				}
				for _, h := range made {
					record(change{events.HoldCreated, h.ID})
				}
				for _, h := range made {
					if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: key, ID: h.ID}); err != nil {
						t.Errorf("HoldRelease: %v", err)
						return
					}
					record(change{events.HoldReleased, h.ID})
				}
			}
		})
	}

	// Another replica's sequencer, racing the reader's own passes.
	done := make(chan struct{})
	var other sync.WaitGroup
	other.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := f.s.EventSequence(f.ctx, 7); err != nil {
				t.Errorf("EventSequence: %v", err)
				return
			}
		}
	})
	var (
		seen   []events.Event
		cursor int64
	)
	readPage := func() (int, error) {
		if _, err := f.s.EventSequence(f.ctx, 13); err != nil {
			return 0, err
		}
		page, err := f.s.EventList(f.ctx, store.EventListParams{AfterPos: cursor, Limit: 17})
		if err != nil {
			return 0, err
		}
		if len(page) > 0 {
			seen, cursor = append(seen, page...), page[len(page)-1].Pos
		}
		return len(page), nil
	}
	writersDone := make(chan struct{})
	go func() { writing.Wait(); close(writersDone) }()
	for reading := true; reading; {
		select {
		case <-writersDone:
			reading = false
		default:
		}
		if _, err := readPage(); err != nil {
			t.Fatalf("reader: %v", err)
		}
	}
	close(done)
	other.Wait()
	// Drain: every writer has returned, so every event is committed; a few
	// passes give the last ones their positions.
	for deadline, want := time.Now().Add(10*time.Second), sum(committed); len(seen) < want && time.Now().Before(deadline); {
		if n, err := readPage(); err != nil {
			t.Fatalf("reader: %v", err)
		} else if n == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}

	got := map[change]int{}
	ids := map[string]bool{}
	for i, e := range seen {
		if i > 0 && e.Pos <= seen[i-1].Pos {
			t.Errorf("position %d after %d", e.Pos, seen[i-1].Pos)
		}
		if ids[e.ID] {
			t.Errorf("event %s seen twice", e.ID)
		}
		ids[e.ID] = true
		var h struct{ ID string }
		if err := json.Unmarshal(e.Data, &h); err != nil {
			t.Fatal(err)
		}
		got[change{e.Type, h.ID}]++
	}
	for c, n := range committed {
		if got[c] != n {
			t.Errorf("%s of %s: seen %d times, committed %d", c.typ, c.hold, got[c], n)
		}
	}
	for c, n := range got {
		if committed[c] == 0 {
			t.Errorf("%s of %s seen %d times, never committed", c.typ, c.hold, n)
		}
	}
	if refused.Load() == 0 || len(committed) == 0 {
		t.Errorf("the race was not one: %d refused, %d committed", refused.Load(), len(committed))
	}
	t.Logf("%d events seen, %d holds refused", len(seen), refused.Load())
}

// change is an event the race expects: its type and its hold.
type change struct {
	typ  events.Type
	hold string
}

func sum(m map[change]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
