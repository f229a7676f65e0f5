package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store"
)

// runHoldBatch is the conformance suite of HoldCreateBatch: a batch decides
// exactly as its requests would one after another, in one transaction.
func runHoldBatch(t *testing.T, newStore NewStore) {
	tests := map[string]func(t *testing.T, f *fixture){
		"SameSeatTwice":   testBatchSameSeatTwice,
		"Twins":           testBatchTwins,
		"MixedFlights":    testBatchMixedFlights,
		"LapsedHold":      testBatchLapsedHold,
		"FailsMidway":     testBatchFailsMidway,
		"ConcurrentRaces": testBatchConcurrentRaces,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, newStore))
		})
	}
}

// batchReq is a request of key for seats of flight with a fresh id.
func batchReq(ctx context.Context, key, flight int64, seats ...string) store.BatchHold {
	return store.BatchHold{Ctx: ctx, HoldCreateParams: store.HoldCreateParams{ID: holds.NewID(), KeyID: key, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: flight, Seats: seats}}}
}

func (f *fixture) batch(t testing.TB, reqs ...store.BatchHold) []store.BatchResult {
	t.Helper()
	out, err := f.s.HoldCreateBatch(f.ctx, reqs)
	if err != nil {
		t.Fatalf("HoldCreateBatch: %v", err)
	}
	if len(out) != len(reqs) {
		t.Fatalf("HoldCreateBatch answered %d results for %d requests", len(out), len(reqs))
	}
	return out
}

func wantUnavailable(t testing.TB, err error, seats ...string) {
	t.Helper()
	var unavailable *holds.SeatsUnavailableError
	if !errors.As(err, &unavailable) || !slices.Equal(unavailable.Seats, seats) {
		t.Fatalf("error = %v, want seats unavailable %v", err, seats)
	}
}

// testBatchSameSeatTwice: the second request for a seat in one batch loses
// it, whole (its other seat stays free), and the batch goes on.
func testBatchSameSeatTwice(t *testing.T, f *fixture) {
	f.mustHold(t, f.bob, time.Minute, "12F")
	r := f.batch(t,
		batchReq(f.ctx, f.alice, f.flight.ID, "11B", "11A"),
		batchReq(f.ctx, f.bob, f.flight.ID, "11C", "11B"),
		batchReq(f.ctx, f.bob, f.flight.ID, "12A"),
		batchReq(f.ctx, f.alice, f.flight.ID, "12F", "12E"),
	)
	if r[0].Err != nil || !slices.Equal(r[0].Hold.Seats, []string{"11A", "11B"}) || r[0].Hold.Status != holds.Active ||
		r[0].Hold.Total.Amount != 2*12911 || r[0].Hold.Total.Currency != "USD" {
		t.Fatalf("first request = %+v, %v; want 11A 11B active for 2×12911 USD", r[0].Hold, r[0].Err)
	}
	wantUnavailable(t, r[1].Err, "11B")
	if r[2].Err != nil || !slices.Equal(r[2].Hold.Seats, []string{"12A"}) {
		t.Fatalf("third request = %+v, %v; want 12A", r[2].Hold, r[2].Err)
	}
	wantUnavailable(t, r[3].Err, "12F")
	if got := r[0].Hold.ExpiresAt.Sub(r[0].Hold.CreatedAt); got != time.Minute {
		t.Errorf("expires_at - created_at = %v, want 1m", got)
	}
	st := f.seatStatus(t)
	for l, want := range map[string]flights.SeatStatus{"11A": flights.Held, "11B": flights.Held, "11C": flights.Available,
		"12A": flights.Held, "12E": flights.Available, "12F": flights.Held} {
		if st[l] != want {
			t.Errorf("%s is %s, want %s", l, st[l], want)
		}
	}
	for _, i := range []int{0, 2} {
		got, err := f.s.HoldGet(f.ctx, r[i].Hold.KeyID, r[i].Hold.ID)
		if err != nil || !slices.Equal(got.Seats, r[i].Hold.Seats) || !got.ExpiresAt.Equal(r[i].Hold.ExpiresAt) || got.Total != r[i].Hold.Total {
			t.Errorf("stored hold %d = %+v, %v; want %+v", i, got, err, r[i].Hold)
		}
	}
	evs := f.events(t)[1:] // after bob's 12F
	want := []string{"11A held " + r[0].Hold.ID, "11B held " + r[0].Hold.ID, "12A held " + r[2].Hold.ID}
	if !slices.Equal(evs, want) {
		t.Errorf("events = %v\nwant %v", evs, want)
	}
}

// testBatchTwins: two requests with one Idempotency-Key (and so one keyed
// hold id) in one batch make one hold; the twin is told the key is taken,
// whatever seats it asks for, and the key replays the first one's answer.
func testBatchTwins(t *testing.T, f *fixture) {
	claim := func(key string) *idempotency.Completion[holds.Hold] {
		return &idempotency.Completion[holds.Hold]{KeyID: f.alice, Key: key, Fingerprint: "fp", Claim: true, Secret: "s", Status: 201, Render: renderHold}
	}
	twin := func(key string, seats ...string) store.BatchHold {
		r := batchReq(f.ctx, f.alice, f.flight.ID, seats...)
		r.ID, r.Done = idempotency.HoldID("s", key), claim(key)
		return r
	}
	earlier, err := f.s.HoldCreate(f.ctx, twin("old", "12D").HoldCreateParams, claim("old"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.batch(t,
		twin("k1", "10A", "10B"),
		twin("k1", "10A", "10B"), // a retry sent while the first runs
		twin("k1", "10C"),        // the same key, other seats
		twin("old", "10D"),       // a key used before the batch
		twin("k2", "10E"),
	)
	if r[0].Err != nil || r[4].Err != nil {
		t.Fatalf("first of the twins, other key = %v, %v; want holds", r[0].Err, r[4].Err)
	}
	for _, i := range []int{1, 2, 3} {
		if !errors.Is(r[i].Err, idempotency.ErrKeyTaken) {
			t.Errorf("request %d: err = %v, want ErrIdempotencyKeyTaken", i, r[i].Err)
		}
	}
	want, _ := renderHold(r[0].Hold)
	if c, err := f.s.IdempotencyKeyGet(f.ctx, idempotency.GetParams{KeyID: f.alice, Key: "k1", Fingerprint: "fp"}); err != nil || c.Outcome != idempotency.Replay || string(c.Body) != string(want) {
		t.Errorf("key k1 = %+v %s, %v; want a replay of %s", c, c.Body, err, want)
	}
	st := f.seatStatus(t)
	for l, want := range map[string]flights.SeatStatus{"10A": flights.Held, "10B": flights.Held, "10C": flights.Available,
		"10D": flights.Available, "10E": flights.Held, "12D": flights.Held} {
		if st[l] != want {
			t.Errorf("%s is %s, want %s", l, st[l], want)
		}
	}
	if got := f.available(t); got != 26-4 {
		t.Errorf("available = %d, want 22 (12D, 10A, 10B, 10E held)", got)
	}
	if h, err := f.s.HoldGet(f.ctx, f.alice, earlier.ID); err != nil || !slices.Equal(h.Seats, []string{"12D"}) {
		t.Errorf("earlier keyed hold = %+v, %v; want it untouched on 12D", h, err)
	}
}

// testBatchMixedFlights: one batch serves several flights, best-available
// requests included, each judged on its own flight.
func testBatchMixedFlights(t *testing.T, f *fixture) {
	other, err := f.s.FlightCreate(f.ctx, Flight("RV2", "JFK", "SFO", base.Add(24*time.Hour), 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	best := func(flight int64, cabin flights.Cabin, n int) store.BatchHold {
		r := batchReq(f.ctx, f.bob, flight)
		r.Seats, r.Cabin, r.Quantity = nil, cabin, n
		return r
	}
	r := f.batch(t,
		batchReq(f.ctx, f.alice, f.flight.ID, "1A"),
		batchReq(f.ctx, f.alice, other.ID, "1A"),
		best(other.ID, flights.Business, 3),
		best(other.ID, flights.Business, 2), // 4 business seats: only one is left
		batchReq(f.ctx, f.alice, other.ID+1000, "1A"),
		batchReq(f.ctx, f.alice, other.ID, "1A", "30A"),
		best(f.flight.ID, flights.Economy, 2),
	)
	for _, i := range []int{0, 1, 2, 6} {
		if r[i].Err != nil {
			t.Fatalf("request %d: %v", i, r[i].Err)
		}
	}
	if r[0].Hold.FlightID != f.flight.ID || r[1].Hold.FlightID != other.ID {
		t.Errorf("flights of 1A holds = %d, %d; want %d, %d", r[0].Hold.FlightID, r[1].Hold.FlightID, f.flight.ID, other.ID)
	}
	if got := r[2].Hold.Seats; len(got) != 3 || slices.Contains(got, "1A") {
		t.Errorf("best 3 business seats on RV2 = %v, want 3 seats besides 1A", got)
	}
	if !errors.Is(r[3].Err, holds.ErrNotEnoughSeats) {
		t.Errorf("best 2 business seats when 0 are left: err = %v, want ErrNotEnoughSeats", r[3].Err)
	}
	if !errors.Is(r[4].Err, flights.ErrNotFound) {
		t.Errorf("unknown flight: err = %v, want flights.ErrNotFound", r[4].Err)
	}
	var unknown *holds.UnknownSeatsError
	if !errors.As(r[5].Err, &unknown) || !slices.Equal(unknown.Seats, []string{"30A"}) {
		t.Errorf("unknown seat: err = %v, want unknown seats [30A]", r[5].Err)
	}
	if got := r[6].Hold.Seats; len(got) != 2 {
		t.Errorf("best 2 economy seats on RV1 = %v", got)
	}
	if got := f.available(t); got != 26-3 {
		t.Errorf("RV1 available = %d, want 23", got)
	}
	if fl, err := f.s.FlightGet(f.ctx, other.ID); err != nil || fl.SeatsAvailable != 16-4 {
		t.Errorf("RV2 available = %d, %v; want 12", fl.SeatsAvailable, err)
	}
}

// testBatchLapsedHold: expiry stays exact inside a batch: a seat of a hold
// past its expires_at is free, and its expiry is recorded first.
func testBatchLapsedHold(t *testing.T, f *fixture) {
	h := f.mustHold(t, f.alice, time.Second, "10A")
	live := f.mustHold(t, f.alice, time.Minute, "10C")
	time.Sleep(time.Until(h.ExpiresAt) + 50*time.Millisecond)
	// The same batch grants the lapsed hold's seat and refuses the live one's.
	r := f.batch(t, batchReq(f.ctx, f.bob, f.flight.ID, "10A", "10B"), batchReq(f.ctx, f.bob, f.flight.ID, "10C"))
	if r[0].Err != nil {
		t.Fatalf("seat of an expired hold: %v", r[0].Err)
	}
	wantUnavailable(t, r[1].Err, "10C")
	want := []string{"10A held " + h.ID, "10C held " + live.ID, "10A expired " + h.ID, "10A held " + r[0].Hold.ID, "10B held " + r[0].Hold.ID}
	if evs := f.events(t); !slices.Equal(evs, want) {
		t.Errorf("events = %v\nwant %v", evs, want)
	}
}

// testBatchFailsMidway: a batch whose transaction fails after some of its
// requests were decided writes nothing at all, and the same requests run
// one by one afterwards get what they asked for.
func testBatchFailsMidway(t *testing.T, f *fixture) {
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	failing := func(v holds.Hold) ([]byte, error) {
		cancel() // the connection drops while the batch is deciding
		return renderHold(v)
	}
	reqs := []store.BatchHold{
		batchReq(f.ctx, f.alice, f.flight.ID, "11A"),
		batchReq(f.ctx, f.alice, f.flight.ID, "11B"),
		batchReq(f.ctx, f.alice, f.flight.ID, "11C"),
	}
	reqs[0].Done = &idempotency.Completion[holds.Hold]{KeyID: f.alice, Key: "a", Fingerprint: "fp", Claim: true, Status: 201, Render: renderHold}
	reqs[1].Done = &idempotency.Completion[holds.Hold]{KeyID: f.alice, Key: "b", Fingerprint: "fp", Claim: true, Status: 201, Render: failing}
	if out, err := f.s.HoldCreateBatch(ctx, reqs); err == nil {
		t.Fatalf("HoldCreateBatch on a dropped connection = %+v, want an error", out)
	}
	if got := f.available(t); got != 26 {
		t.Errorf("available = %d after a failed batch, want 26", got)
	}
	if evs := f.events(t); len(evs) != 0 {
		t.Errorf("events after a failed batch = %v, want none", evs)
	}
	for _, key := range []string{"a", "b"} {
		if c, err := f.s.IdempotencyKeyGet(f.ctx, idempotency.GetParams{KeyID: f.alice, Key: key, Fingerprint: "fp"}); err != nil || c.Outcome != idempotency.Proceed {
			t.Errorf("key %s after a failed batch = %+v, %v; want free", key, c, err)
		}
	}
	reqs[1].Done.Render = renderHold
	for i, r := range reqs {
		h, err := f.s.HoldCreate(f.ctx, r.HoldCreateParams, r.Done)
		if err != nil || h.ID != r.ID {
			t.Errorf("request %d alone = %+v, %v; want hold %s", i, h, err, r.ID)
		}
	}
}

// testBatchConcurrentRaces races batches against each other and against
// single holds and releases on overlapping seats: no seat is ever held by
// two live holds, and the seat map agrees with the holds.
func testBatchConcurrentRaces(t *testing.T, f *fixture) {
	labels := []string{"10A", "10B", "10C", "10D", "10E", "10F", "11A", "11B", "11C", "11D"}
	var mu sync.Mutex
	var granted []holds.Hold
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 11)) // #nosec G115 G404 -- w is a worker index from range (not negative) seeding a reproducible test workload; nothing secret
			for range 10 {
				var reqs []store.BatchHold
				for range 1 + rnd.IntN(6) {
					r := batchReq(f.ctx, f.alice, f.flight.ID, labels[rnd.IntN(len(labels))])
					if rnd.IntN(4) == 0 {
						r.Seats, r.Cabin, r.Quantity = nil, flights.Economy, 1+rnd.IntN(2)
					} else if b := labels[rnd.IntN(len(labels))]; b != r.Seats[0] {
						r.Seats = append(r.Seats, b)
					}
					reqs = append(reqs, r)
				}
				var results []store.BatchResult
				if w%4 == 0 && len(reqs) == 1 {
					h, err := f.s.HoldCreate(f.ctx, reqs[0].HoldCreateParams, nil)
					results = []store.BatchResult{{Hold: h, Err: err}}
				} else {
					var err error
					if results, err = f.s.HoldCreateBatch(f.ctx, reqs); err != nil {
						t.Errorf("HoldCreateBatch: %v", err)
						return
					}
				}
				for _, res := range results {
					var unavailable *holds.SeatsUnavailableError
					switch {
					case res.Err == nil:
						mu.Lock()
						granted = append(granted, res.Hold)
						mu.Unlock()
						if rnd.IntN(2) == 0 {
							if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: res.Hold.ID}); err != nil {
								t.Errorf("release: %v", err)
							}
						}
					case errors.As(res.Err, &unavailable), errors.Is(res.Err, holds.ErrNotEnoughSeats):
					default:
						t.Errorf("hold: %v", res.Err)
					}
				}
			}
		})
	}
	wg.Wait()
	owner := map[string]string{}
	for _, h := range granted {
		got, err := f.s.HoldGet(f.ctx, f.alice, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != holds.Active {
			continue
		}
		for _, s := range got.Seats {
			if prev, ok := owner[s]; ok {
				t.Errorf("seat %s held by %s and %s", s, prev, h.ID)
			}
			owner[s] = h.ID
		}
	}
	held := 0
	for _, s := range f.seatStatus(t) {
		if s == flights.Held {
			held++
		}
	}
	if held != len(owner) {
		t.Errorf("%d seats read held, live holds own %d", held, len(owner))
	}
	if len(granted) < 10 {
		t.Errorf("only %d holds granted", len(granted))
	}
}
