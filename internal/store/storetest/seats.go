package storetest

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

// testConcurrentHolds races many customers for few seats, then audits: no
// seat is granted to two live holds, and every live hold owns its seats.
func testConcurrentHolds(t *testing.T, f *fixture) {
	labels := []string{"10A", "10B", "10C", "10D", "10E", "10F", "11A", "11B", "11C", "11D"}
	var mu sync.Mutex
	var granted []holds.Hold
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 7)) // #nosec G115 G404 -- w is a worker index from range (not negative) seeding a reproducible test workload; nothing secret
			for range 15 {
				var req holds.Request
				if rnd.IntN(3) == 0 {
					req = holds.Request{FlightID: f.flight.ID, Cabin: flights.Economy, Quantity: 1 + rnd.IntN(3)}
				} else {
					a, b := labels[rnd.IntN(len(labels))], labels[rnd.IntN(len(labels))]
					req = holds.Request{FlightID: f.flight.ID, Seats: []string{a}}
					if a != b {
						req.Seats = append(req.Seats, b)
					}
				}
				h, err := f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour, Request: req}, nil)
				var unavailable *holds.SeatsUnavailableError
				switch {
				case err == nil:
					mu.Lock()
					granted = append(granted, h)
					mu.Unlock()
					if rnd.IntN(2) == 0 {
						if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: nil}); err != nil {
							t.Errorf("release: %v", err)
						}
					}
				case errors.As(err, &unavailable), errors.Is(err, holds.ErrNotEnoughSeats):
				default:
					t.Errorf("CreateHold: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	owner := map[string]string{}
	live := 0
	for _, h := range granted {
		got, err := f.s.HoldGet(f.ctx, f.alice, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != holds.Active {
			continue
		}
		live++
		for _, s := range got.Seats {
			if prev, ok := owner[s]; ok {
				t.Errorf("seat %s held by %s and %s", s, prev, h.ID)
			}
			owner[s] = h.ID
		}
	}
	st := f.seatStatus(t)
	held := 0
	for _, s := range st {
		if s == flights.Held {
			held++
		}
	}
	if held != len(owner) {
		t.Errorf("%d seats read held, live holds own %d (%d live holds of %d granted)", held, len(owner), live, len(granted))
	}
	if len(granted) == 0 {
		t.Error("no hold was ever granted")
	}
}
