package reserve_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/cache"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/reserve"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
)

// histogram returns the sample count and sum of a histogram in reg.
func histogram(t *testing.T, reg *prometheus.Registry, name string) (count uint64, sum float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0, 0
}

// holdAll sends reqs at once and returns their answers in order.
func holdAll(t *testing.T, svc *reserve.Service, e *env, reqs []holds.Request) ([]holds.Hold, []error) {
	t.Helper()
	hs, errs := make([]holds.Hold, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { hs[i], errs[i] = svc.Hold(t.Context(), e.alice, r, nil) })
	}
	wg.Wait()
	return hs, errs
}

// TestBatchGroupsConcurrentHolds: concurrent holds run as one batch, the
// second request for a seat loses it, and every answer stands.
func TestBatchGroupsConcurrentHolds(t *testing.T) {
	for name, newStore := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, newStore, nil, func(c *reserve.Config) {
				c.Batch = reserve.BatchConfig{Enabled: true, Window: time.Minute, MaxSize: 6}
			})
			reqs := []holds.Request{
				{FlightID: e.flight, Seats: []string{"10A"}}, {FlightID: e.flight, Seats: []string{"10B"}},
				{FlightID: e.flight, Seats: []string{"10C"}}, {FlightID: e.flight, Seats: []string{"10D", "10E"}},
				{FlightID: e.flight, Seats: []string{"10E", "10F"}}, {FlightID: e.flight, Cabin: flights.Business, Quantity: 2},
			}
			// The best-available request asks for business seats, none of
			// which is named: arrival order among the goroutines is random,
			// and an economy pick arriving before a named request may
			// rightly take its seats (a batch decides in arrival order, as
			// serial transactions would), so the answers below would
			// depend on that order.
			// A window of a minute: only the sixth request can start the batch.
			hs, errs := holdAll(t, e.svc, e, reqs)
			if n, sum := histogram(t, e.reg, "reservd_hold_batch_size"); n != 1 || sum != 6 {
				t.Fatalf("batches = %d of %v requests, want one of 6", n, sum)
			}
			var won, lost int
			seen := map[string]string{}
			for i, err := range errs {
				var unavailable *holds.SeatsUnavailableError
				switch {
				case err == nil:
					won++
					for _, s := range hs[i].Seats {
						if prev, ok := seen[s]; ok {
							t.Errorf("seat %s granted to %s and %s", s, prev, hs[i].ID)
						}
						seen[s] = hs[i].ID
					}
				case errors.As(err, &unavailable) && slices.Equal(unavailable.Seats, []string{"10E"}):
					lost++
				default:
					t.Errorf("request %d: %v", i, err)
				}
			}
			if won != 5 || lost != 1 {
				t.Errorf("%d granted and %d refused, want 5 and 1 (10E was asked for twice)", won, lost)
			}
			if errs[5] == nil && (len(hs[5].Seats) != 2 || hs[5].Seats[0][0] > '2') {
				t.Errorf("best 2 business seats = %v, want two in rows 1-2", hs[5].Seats)
			}
			for i, h := range hs {
				if errs[i] != nil {
					continue
				}
				if got, err := e.svc.GetHold(t.Context(), e.alice, h.ID); err != nil || !slices.Equal(got.Seats, h.Seats) {
					t.Errorf("hold %s reads %+v, %v; want seats %v", h.ID, got, err, h.Seats)
				}
			}
		})
	}
}

// TestBatchFastPathKeysOfUndecidedRequests: a fast-path key set by an
// earlier request of the same batch does not refuse a later request, for
// the database may still refuse the earlier one; the batch then answers as
// serial transactions would. Here 10E is held with no key on this replica
// (another replica's hold), so the request for 10D+10E loses in the
// database, and the later request for 10D alone must get 10D.
func TestBatchFastPathKeysOfUndecidedRequests(t *testing.T) {
	for name, newStore := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, newStore, nil, func(c *reserve.Config) {
				c.Batch = reserve.BatchConfig{Enabled: true, Window: time.Minute, MaxSize: 2}
			})
			cfg := e.cfg
			cfg.Batch.Enabled = false
			other := reserve.New(e.st, seatlock.NewMemory(nil), cache.NewMemory(nil), e.gw, nil, nil, cfg)
			if _, err := other.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{"10E"}}, nil); err != nil {
				t.Fatalf("hold 10E on the other replica: %v", err)
			}
			var errPair error
			pairDone := make(chan struct{})
			go func() {
				defer close(pairDone)
				_, errPair = e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{"10D", "10E"}}, nil)
			}()
			// The pair arrives first: the second request starts the batch.
			for deadline := time.Now().Add(10 * time.Second); reserve.QueuedHolds(e.svc) == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the first hold never reached the batch queue")
				}
			}
			h, err := e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{"10D"}}, nil)
			<-pairDone
			var unavailable *holds.SeatsUnavailableError
			if !errors.As(errPair, &unavailable) || !slices.Equal(unavailable.Seats, []string{"10E"}) {
				t.Errorf("hold of 10D+10E: err = %v, want seats unavailable: 10E", errPair)
			}
			if err != nil || !slices.Equal(h.Seats, []string{"10D"}) {
				t.Fatalf("hold of 10D after a refused 10D+10E in its batch = %+v, %v; want 10D granted", h, err)
			}
			if got, err := e.svc.GetHold(t.Context(), e.alice, h.ID); err != nil || !slices.Equal(got.Seats, []string{"10D"}) {
				t.Errorf("hold %s reads %+v, %v; want seats [10D]", h.ID, got, err)
			}
		})
	}
}

// gatedBatches is a store whose first batch transaction waits for open to
// close; it records every batch's size.
type gatedBatches struct {
	store.Store
	open  chan struct{}
	mu    *sync.Mutex
	sizes *[]int
}

func (g gatedBatches) HoldCreateBatch(ctx context.Context, reqs []store.BatchHold) ([]store.BatchResult, error) {
	g.mu.Lock()
	*g.sizes = append(*g.sizes, len(reqs))
	first := len(*g.sizes) == 1
	g.mu.Unlock()
	if first {
		<-g.open
	}
	return g.Store.HoldCreateBatch(ctx, reqs)
}

// TestBatchGroupCommit: with no window, a hold that finds a slot free runs
// at once, alone; the holds that arrive while every slot is busy queue and
// run together as the next batch as soon as a slot frees.
func TestBatchGroupCommit(t *testing.T) {
	for name, newStore := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := gatedBatches{open: make(chan struct{}), mu: &sync.Mutex{}, sizes: &[]int{}}
			e := newEnv(t, func(t testing.TB) store.Store { g.Store = newStore(t); return g }, nil,
				func(c *reserve.Config) { c.Batch = reserve.BatchConfig{Enabled: true, Slots: 1, MaxSize: 64} })
			first := make(chan error, 1)
			go func() {
				_, err := e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{"13A"}}, nil)
				first <- err
			}()
			// The first hold's batch starts with it alone, at once.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				g.mu.Lock()
				n := len(*g.sizes)
				g.mu.Unlock()
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the first hold's batch never started")
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 5)
			for i := range errs {
				wg.Go(func() {
					_, errs[i] = e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{fmt.Sprintf("13%c", 'B'+i)}}, nil)
				})
			}
			for deadline := time.Now().Add(10 * time.Second); reserve.QueuedHolds(e.svc) < 5; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d holds queued behind the running batch, want 5", reserve.QueuedHolds(e.svc))
				}
			}
			close(g.open)
			wg.Wait()
			if err := <-first; err != nil {
				t.Fatalf("first hold: %v", err)
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("queued hold %d: %v", i, err)
				}
			}
			if !slices.Equal(*g.sizes, []int{1, 5}) {
				t.Errorf("batch sizes = %v, want [1 5]", *g.sizes)
			}
		})
	}
}

// failingBatches is a store whose batch transactions fail; with commit, the
// batch commits first and only its answer is lost.
type failingBatches struct {
	store.Store
	commit bool
}

func (f failingBatches) HoldCreateBatch(ctx context.Context, reqs []store.BatchHold) ([]store.BatchResult, error) {
	if f.commit {
		if _, err := f.Store.HoldCreateBatch(ctx, reqs); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("connection reset by peer")
}

// TestFailedBatchRunsRequestsAlone: a batch whose transaction fails, before
// or after its commit, never becomes a wrong answer: its requests run again
// one by one and get what they would have got, and no seat is granted twice.
func TestFailedBatchRunsRequestsAlone(t *testing.T) {
	for name, newStore := range storetest.Engines {
		for _, commit := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/committed=%v", name, commit), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, func(t testing.TB) store.Store { return failingBatches{Store: newStore(t), commit: commit} }, nil,
					func(c *reserve.Config) { c.Batch = reserve.BatchConfig{Enabled: true, Window: time.Minute, MaxSize: 3} })
				hs, errs := holdAll(t, e.svc, e, []holds.Request{
					{FlightID: e.flight, Seats: []string{"11A", "11B"}},
					{FlightID: e.flight, Seats: []string{"11B"}},
					{FlightID: e.flight, Seats: []string{"11C"}},
				})
				if errs[2] != nil {
					t.Fatalf("11C: %v", errs[2])
				}
				// Of the two requests for 11B exactly one has it, whichever
				// the batch, or the retries after it, let through.
				if (errs[0] == nil) == (errs[1] == nil) {
					t.Fatalf("requests for 11B: %v and %v, want exactly one granted", errs[0], errs[1])
				}
				if n := counterValue(t, e.reg, "reservd_hold_batch_failures_total"); n != 1 {
					t.Errorf("batch failures = %v, want 1", n)
				}
				seats, err := e.st.SeatList(t.Context(), e.flight)
				if err != nil {
					t.Fatal(err)
				}
				held := 0
				for _, s := range seats {
					if s.Status == flights.Held {
						held++
					}
				}
				want := 1 + len(hs[0].Seats) + len(hs[1].Seats)
				if held != want {
					t.Errorf("%d seats held, want %d (the granted holds' seats)", held, want)
				}
				for i, h := range hs {
					if errs[i] == nil {
						if got, err := e.st.HoldGet(t.Context(), e.alice.KeyID, h.ID); err != nil || got.Status != holds.Active {
							t.Errorf("granted hold %s reads %+v, %v", h.ID, got, err)
						}
					}
				}
			})
		}
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s", name)
	return 0
}

// TestHoldBatchOff: with batching off every hold is its own transaction.
func TestHoldBatchOff(t *testing.T) {
	e := newEnv(t, storetest.Engines["sqlite"], nil, func(c *reserve.Config) { c.Batch.Enabled = false })
	_, errs := holdAll(t, e.svc, e, []holds.Request{{FlightID: e.flight, Seats: []string{"12A"}}, {FlightID: e.flight, Seats: []string{"12B"}}})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("holds: %v, %v", errs[0], errs[1])
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "reservd_hold_batch_size" {
			t.Fatal("batch metrics registered with batching off")
		}
	}
}

// TestInProcessFastPathAcrossReplicas: replicas on one PostgreSQL database
// without Redis must not keep seat keys of their own (internal/app gives them
// seatlock.Off): a key one replica set lives on
// after another replica releases the hold, and would refuse a free seat.
func TestInProcessFastPathAcrossReplicas(t *testing.T) {
	for _, tc := range []struct {
		name    string
		locks   func() seatlock.Locker
		refused bool
	}{
		{"in-process keys", func() seatlock.Locker { return seatlock.NewMemory(nil) }, true},
		{"off", func() seatlock.Locker { return seatlock.Off{} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, storetest.Engines["postgres"], tc.locks(), nil)
			other := reserve.New(e.st, tc.locks(), cache.NewMemory(nil), e.gw, nil, nil, e.cfg)
			h := e.hold(t, "12C")
			if _, err := other.Release(t.Context(), e.alice, h.ID, nil); err != nil {
				t.Fatalf("release on the other replica: %v", err)
			}
			_, err := e.svc.Hold(t.Context(), e.alice, holds.Request{FlightID: e.flight, Seats: []string{"12C"}}, nil)
			if refused := err != nil; refused != tc.refused {
				t.Errorf("hold of a seat the other replica freed: err = %v, want refused = %v", err, tc.refused)
			}
		})
	}
}
