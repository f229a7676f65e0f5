package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

func runWebhooks(t *testing.T, newStore NewStore) {
	tests := map[string]func(t *testing.T, w *hooks){
		"Endpoints":          testWebhookEndpoints,
		"Stream":             testWebhookStream,
		"StreamTakenOver":    testWebhookStreamTakenOver,
		"ClaimAndRecord":     testWebhookClaimAndRecord,
		"ClaimPerEndpoint":   testWebhookClaimPerEndpoint,
		"RecordMany":         testWebhookRecordMany,
		"LeaseExpiry":        testWebhookLeaseExpiry,
		"DisableAfterWindow": testWebhookDisable,
		"ListAndRedeliver":   testWebhookListAndRedeliver,
		"ConcurrentStreams":  testWebhookConcurrentStreams,
		"ConcurrentClaims":   testWebhookConcurrentClaims,
		"Prune":              testWebhookPrune,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := &hooks{s: newStore(t), ctx: t.Context()}
			for _, p := range []*int64{&w.alice, &w.bob} {
				_, digest := apikey.Generate()
				var err error
				if *p, err = w.s.APIKeyCreate(w.ctx, store.APIKeyCreateParams{Name: "customer", Digest: digest}); err != nil {
					t.Fatalf("CreateAPIKey: %v", err)
				}
			}
			fn(t, w)
		})
	}
}

type hooks struct {
	s          store.Store
	ctx        context.Context
	alice, bob int64
	unqueued   []events.Event // written by events, not yet queued
}

func (w *hooks) endpoint(t *testing.T, key int64, types ...string) store.WebhookEndpoint {
	t.Helper()
	e, err := w.s.WebhookEndpointCreate(w.ctx, store.WebhookEndpoint{ID: store.NewWebhookEndpointID(), KeyID: key,
		URL: "https://example.com/hook", Events: types, Description: "test", Secret: "whsec_test"})
	if err != nil {
		t.Fatalf("WebhookEndpointCreate: %v", err)
	}
	return e
}

// events writes and sequences one event of each type for key.
func (w *hooks) events(t *testing.T, key int64, types ...events.Type) []events.Event {
	t.Helper()
	var evs []events.Event
	for _, typ := range types {
		evs = append(evs, NewEvent(key, typ))
	}
	WriteEvents(t, w.s, evs...)
	Sequence(t, w.s)
	w.unqueued = append(w.unqueued, evs...)
	return evs
}

// queued is what queue did.
type queued struct{ Events, Deliveries int }

// queue writes a pending first attempt of each event written since the
// last call to every endpoint subscribed to it (WebhookRedeliver's rows):
// the queue of the cases that claim rows, without streams.
func (w *hooks) queue(t *testing.T) queued {
	t.Helper()
	var r queued
	for _, ev := range w.unqueued {
		n, err := w.s.WebhookRedeliver(w.ctx, ev.KeyID, ev.ID)
		if err != nil {
			t.Fatalf("WebhookRedeliver: %v", err)
		}
		r.Events++
		r.Deliveries += n
	}
	w.unqueued = nil
	return r
}

func (w *hooks) claim(t *testing.T, lease time.Duration, full ...string) []store.WebhookClaim {
	t.Helper()
	busy := map[string]int{}
	for _, id := range full {
		busy[id] = 100
	}
	return w.claimP(t, store.WebhookClaimParams{PerEndpoint: 100, Busy: busy, Lease: lease})
}

func (w *hooks) claimP(t *testing.T, p store.WebhookClaimParams) []store.WebhookClaim {
	t.Helper()
	cs, err := w.s.WebhookClaim(w.ctx, p)
	if err != nil {
		t.Fatalf("WebhookClaim: %v", err)
	}
	return cs
}

func outcome(c store.WebhookClaim, delivered bool, retryIn, retryFor time.Duration) store.WebhookOutcome {
	return store.WebhookOutcome{ID: c.Delivery.ID, Claim: c.Claim, Delivered: delivered,
		ResponseStatus: map[bool]int{true: 200, false: 500}[delivered], Duration: 12 * time.Millisecond, RetryIn: retryIn, RetryFor: retryFor}
}

func (w *hooks) record(t *testing.T, c store.WebhookClaim, delivered bool, retryIn, retryFor time.Duration) store.WebhookRecorded {
	t.Helper()
	r, err := w.s.WebhookRecordMany(w.ctx, []store.WebhookOutcome{outcome(c, delivered, retryIn, retryFor)})
	if err != nil || len(r) != 1 {
		t.Fatalf("WebhookRecordMany = %+v, %v", r, err)
	}
	return r[0]
}

func testWebhookEndpoints(t *testing.T, w *hooks) {
	a1 := w.endpoint(t, w.alice, "*")
	a2 := w.endpoint(t, w.alice, string(events.HoldExpired), string(events.BookingConfirmed))
	b1 := w.endpoint(t, w.bob, "*")
	if a1.Status != store.WebhookEnabled || a1.CreatedAt.IsZero() || a1.Secret != "whsec_test" || !slices.Equal(a2.Events, []string{"hold.expired", "booking.confirmed"}) {
		t.Fatalf("created endpoint = %+v / %+v", a1, a2)
	}
	got, err := w.s.WebhookEndpointGet(w.ctx, w.alice, a2.ID)
	if err != nil || got.URL != a2.URL || !slices.Equal(got.Events, a2.Events) || !got.CreatedAt.Equal(a2.CreatedAt) {
		t.Fatalf("WebhookEndpointGet = %+v, %v; want %+v", got, err, a2)
	}
	if _, err := w.s.WebhookEndpointGet(w.ctx, w.bob, a1.ID); !errors.Is(err, store.ErrWebhookEndpointNotFound) {
		t.Fatalf("bob gets alice's endpoint: %v", err)
	}
	list, err := w.s.WebhookEndpointList(w.ctx, w.alice)
	if err != nil || len(list) != 2 || list[0].CreatedAt.Before(list[1].CreatedAt) {
		t.Fatalf("alice's endpoints = %+v, %v; want 2, newest first", list, err)
	}
	if err := w.s.WebhookEndpointDelete(w.ctx, w.bob, a1.ID); !errors.Is(err, store.ErrWebhookEndpointNotFound) {
		t.Fatalf("bob deletes alice's endpoint: %v", err)
	}
	// Deleting an endpoint takes its deliveries with it.
	w.events(t, w.alice, events.HoldCreated)
	if r := w.queue(t); r.Deliveries != 1 {
		t.Fatalf("queued %d deliveries, want 1", r.Deliveries)
	}
	if err := w.s.WebhookEndpointDelete(w.ctx, w.alice, a1.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := w.s.WebhookEndpointDelete(w.ctx, w.alice, a1.ID); !errors.Is(err, store.ErrWebhookEndpointNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if cs := w.claim(t, time.Minute); len(cs) != 0 {
		t.Fatalf("claimed %d deliveries of a deleted endpoint", len(cs))
	}
	if list, _ := w.s.WebhookEndpointList(w.ctx, w.bob); len(list) != 1 || list[0].ID != b1.ID {
		t.Fatalf("bob's endpoints = %+v", list)
	}
}

func testWebhookClaimAndRecord(t *testing.T, w *hooks) {
	e1 := w.endpoint(t, w.alice, "*")
	e2 := w.endpoint(t, w.alice, "*")
	w.events(t, w.alice, events.HoldCreated)
	w.queue(t)
	if cs := w.claim(t, time.Minute, e1.ID); len(cs) != 1 || cs[0].Delivery.EndpointID != e2.ID {
		t.Fatalf("claim excluding %s = %+v", e1.ID, cs)
	} else if err := w.s.WebhookRelease(w.ctx, cs); err != nil {
		t.Fatalf("release: %v", err)
	}
	cs := w.claim(t, time.Minute)
	if len(cs) != 2 {
		t.Fatalf("claimed %d after a release, want 2", len(cs))
	}
	if again := w.claim(t, time.Minute); len(again) != 0 {
		t.Fatalf("claimed %d leased deliveries again", len(again))
	}
	if r := w.record(t, cs[0], true, 0, time.Hour); r != (store.WebhookRecorded{}) {
		t.Fatalf("record delivered = %+v", r)
	}
	if r := w.record(t, cs[0], true, 0, time.Hour); !r.Stale {
		t.Fatalf("recording twice = %+v, want stale", r)
	}
	if r := w.record(t, cs[1], false, 0, time.Hour); !r.Retry || r.Disabled {
		t.Fatalf("record failed = %+v, want a retry", r)
	}
	retry := w.claim(t, time.Minute)
	if len(retry) != 1 || retry[0].Delivery.Attempt != 2 || retry[0].Delivery.EventID != cs[1].Delivery.EventID ||
		!retry[0].Delivery.FirstAttemptAt.Equal(cs[1].Delivery.FirstAttemptAt) {
		t.Fatalf("retry = %+v, want attempt 2 of %+v", retry, cs[1].Delivery)
	}
	// A retry is due only after its backoff.
	w.record(t, retry[0], false, time.Hour, 24*time.Hour)
	if later := w.claim(t, time.Minute); len(later) != 0 {
		t.Fatalf("claimed a retry before it was due: %+v", later)
	}
	if c, err := w.s.WebhookGauges(w.ctx); err != nil || c.Due != 0 || c.Waiting != 1 || c.Disabled != 0 {
		t.Fatalf("gauges = %+v, %v; want 1 waiting", c, err)
	}
}

func testWebhookLeaseExpiry(t *testing.T, w *hooks) {
	w.endpoint(t, w.alice, "*")
	w.events(t, w.alice, events.HoldCreated)
	w.queue(t)
	first := w.claim(t, 50*time.Millisecond)
	if len(first) != 1 {
		t.Fatalf("claimed %d, want 1", len(first))
	}
	time.Sleep(150 * time.Millisecond)
	second := w.claim(t, time.Minute)
	if len(second) != 1 || second[0].Delivery.ID != first[0].Delivery.ID || second[0].Claim == first[0].Claim {
		t.Fatalf("after the lease ran out claimed %+v, want %s under a new claim", second, first[0].Delivery.ID)
	}
	if r := w.record(t, first[0], true, 0, time.Hour); !r.Stale {
		t.Fatalf("the expired lease's outcome = %+v, want stale", r)
	}
	if r := w.record(t, second[0], true, 0, time.Hour); r.Stale {
		t.Fatalf("the current lease's outcome was stale")
	}
	// Waves: the first delivery's lease runs out, the second's (a minute
	// longer) does not.
	w.events(t, w.alice, events.HoldCreated)
	w.queue(t)
	time.Sleep(2 * time.Millisecond)
	w.events(t, w.alice, events.HoldCreated)
	w.queue(t)
	waves := w.claimP(t, store.WebhookClaimParams{PerEndpoint: 10, Lease: 50 * time.Millisecond, Wave: 1, Step: time.Minute})
	if len(waves) != 2 || waves[0].Lease != 50*time.Millisecond || waves[1].Lease != time.Minute+50*time.Millisecond {
		t.Fatalf("claimed %+v, want 2 in waves of 1", waves)
	}
	time.Sleep(150 * time.Millisecond)
	if again := w.claim(t, time.Minute); len(again) != 1 || again[0].Delivery.ID != waves[0].Delivery.ID {
		t.Fatalf("after the first wave's lease ran out claimed %+v, want %s", again, waves[0].Delivery.ID)
	}
}

func testWebhookDisable(t *testing.T, w *hooks) {
	e := w.endpoint(t, w.alice, "*")
	other := w.endpoint(t, w.alice, "*")
	w.events(t, w.alice, events.HoldCreated, events.HoldReleased)
	w.queue(t)
	mine := w.claim(t, time.Minute, other.ID)
	if len(mine) != 2 {
		t.Fatalf("claimed %d, want 2", len(mine))
	}
	time.Sleep(20 * time.Millisecond)
	if r := w.record(t, mine[0], false, 0, 10*time.Millisecond); !r.Disabled || r.Retry {
		t.Fatalf("a failure past the window = %+v, want the endpoint disabled", r)
	}
	got, err := w.s.WebhookEndpointGet(w.ctx, w.alice, e.ID)
	if err != nil || got.Status != store.WebhookDisabled || got.DisabledAt.IsZero() {
		t.Fatalf("endpoint after the window = %+v, %v", got, err)
	}
	w.record(t, mine[1], false, 0, time.Hour)
	for _, c := range w.claim(t, time.Minute) {
		if c.Delivery.EndpointID == e.ID {
			t.Fatalf("claimed a delivery of a disabled endpoint: %+v", c)
		}
	}
	if c, err := w.s.WebhookGauges(w.ctx); err != nil || c.Disabled != 1 {
		t.Fatalf("gauges = %+v, %v; want 1 disabled", c, err)
	}
	// A disabled endpoint gets no new deliveries.
	w.events(t, w.alice, events.HoldExpired)
	if r := w.queue(t); r.Deliveries != 1 {
		t.Fatalf("queued %d deliveries with one enabled endpoint, want 1", r.Deliveries)
	}
}

func testWebhookListAndRedeliver(t *testing.T, w *hooks) {
	e := w.endpoint(t, w.alice, string(events.HoldExpired))
	w.endpoint(t, w.alice, "*")
	evs := w.events(t, w.alice, events.HoldExpired, events.HoldExpired, events.HoldExpired)
	bobs := w.events(t, w.bob, events.HoldExpired)
	w.queue(t)
	for _, c := range w.claim(t, time.Minute) {
		if c.Delivery.EndpointID == e.ID && c.Delivery.EventID == evs[0].ID {
			w.record(t, c, true, 0, time.Hour)
		}
	}
	n, err := w.s.WebhookRedeliver(w.ctx, w.alice, evs[0].ID)
	if err != nil || n != 2 {
		t.Fatalf("redeliver = %d, %v; want 2", n, err)
	}
	if _, err := w.s.WebhookRedeliver(w.ctx, w.alice, bobs[0].ID); !errors.Is(err, events.ErrNotFound) {
		t.Fatalf("alice redelivers bob's event: %v", err)
	}
	var all []store.WebhookDelivery
	var after *store.WebhookDeliveryCursor
	for {
		page, err := w.s.WebhookDeliveryList(w.ctx, store.WebhookDeliveryListParams{KeyID: w.alice, EndpointID: e.ID, After: after, Limit: 2})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		all = append(all, page...)
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		after = &store.WebhookDeliveryCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if len(all) != 4 || all[0].EventID != evs[0].ID || all[0].Status != store.DeliveryPending || all[0].NextAttemptAt.IsZero() {
		t.Fatalf("deliveries = %+v; want 4, the redelivery first", all)
	}
	delivered := 0
	for i, d := range all {
		if i > 0 && (d.CreatedAt.After(all[i-1].CreatedAt) || d.CreatedAt.Equal(all[i-1].CreatedAt) && d.ID > all[i-1].ID) {
			t.Errorf("deliveries not newest first at %d", i)
		}
		if d.Status == store.DeliveryDelivered {
			delivered++
			if d.ResponseStatus != 200 || d.DurationMS != 12 || !d.NextAttemptAt.IsZero() {
				t.Errorf("delivered = %+v", d)
			}
		}
	}
	if delivered != 1 {
		t.Errorf("%d delivered, want 1", delivered)
	}
	if page, err := w.s.WebhookDeliveryList(w.ctx, store.WebhookDeliveryListParams{KeyID: w.bob, EndpointID: e.ID, Limit: 10}); err != nil || len(page) != 0 {
		t.Fatalf("bob lists alice's deliveries: %v, %v", page, err)
	}
}

// testWebhookConcurrentClaims claims from several goroutines at once: no
// delivery is leased to two of them.
func testWebhookConcurrentClaims(t *testing.T, w *hooks) {
	for range 4 {
		w.endpoint(t, w.alice, "*")
	}
	var types []events.Type
	for range 30 {
		types = append(types, events.HoldCreated)
	}
	w.events(t, w.alice, types...)
	w.queue(t)
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 6 {
		wg.Go(func() {
			for {
				cs, err := w.s.WebhookClaim(w.ctx, store.WebhookClaimParams{PerEndpoint: 2, Limit: 5, Lease: time.Minute})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.Delivery.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 120 {
		t.Errorf("claimed %d distinct deliveries, want 120", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times under live leases", id, n)
		}
	}
}

// testWebhookPrune deletes finished deliveries past the age, never pending ones.
func testWebhookPrune(t *testing.T, w *hooks) {
	e := w.endpoint(t, w.alice, "*")
	w.events(t, w.alice, events.HoldCreated, events.HoldReleased)
	w.queue(t)
	cs := w.claim(t, time.Minute)
	w.record(t, cs[0], true, 0, time.Hour)
	if err := w.s.WebhookRelease(w.ctx, cs[1:]); err != nil {
		t.Fatal(err)
	}
	if n, err := w.s.WebhookPrune(w.ctx, time.Hour, 100); err != nil || n != 0 {
		t.Fatalf("prune of fresh deliveries = %d, %v; want 0", n, err)
	}
	time.Sleep(20 * time.Millisecond)
	if n, err := w.s.WebhookPrune(w.ctx, 10*time.Millisecond, 100); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want the delivered one", n, err)
	}
	left, err := w.s.WebhookDeliveryList(w.ctx, store.WebhookDeliveryListParams{KeyID: w.alice, EndpointID: e.ID, Limit: 10})
	if err != nil || len(left) != 1 || left[0].Status != store.DeliveryPending {
		t.Fatalf("left after prune = %+v, %v; want the pending one", left, err)
	}
}

func byEndpoint(cs []store.WebhookClaim) map[string][]store.WebhookClaim {
	out := map[string][]store.WebhookClaim{}
	for _, c := range cs {
		out[c.Delivery.EndpointID] = append(out[c.Delivery.EndpointID], c)
	}
	return out
}

// testWebhookClaimPerEndpoint: a claim gives each enabled endpoint at most
// its room, oldest due first; an endpoint without room is skipped while
// another's deliveries are still claimed; leased deliveries are not
// claimed again and disabled endpoints get nothing; Limit caps the total.
func testWebhookClaimPerEndpoint(t *testing.T, w *hooks) {
	e1 := w.endpoint(t, w.alice, "*")
	e2 := w.endpoint(t, w.alice, "*")
	e3 := w.endpoint(t, w.alice, "*")
	var evs []events.Event
	for range 5 {
		evs = append(evs, w.events(t, w.alice, events.HoldCreated)...)
		w.queue(t) // one due time per event
		time.Sleep(2 * time.Millisecond)
	}
	order := map[string]int{}
	for i, ev := range evs {
		order[ev.ID] = i
	}
	oldestFirst := func(cs []store.WebhookClaim) bool {
		return slices.IsSortedFunc(cs, func(a, b store.WebhookClaim) int { return order[a.Delivery.EventID] - order[b.Delivery.EventID] })
	}
	// e1 has no room, e2 room for 2, e3 room for 3.
	got := byEndpoint(w.claimP(t, store.WebhookClaimParams{PerEndpoint: 3, Busy: map[string]int{e1.ID: 3, e2.ID: 1},
		Lease: time.Minute, Wave: 2, Step: time.Hour}))
	if len(got[e1.ID]) != 0 || len(got[e2.ID]) != 2 || len(got[e3.ID]) != 3 {
		t.Fatalf("claimed %d/%d/%d, want 0/2/3", len(got[e1.ID]), len(got[e2.ID]), len(got[e3.ID]))
	}
	// Each wave of 2 of an endpoint's batch is leased an hour longer.
	for _, cs := range got {
		for k, c := range cs {
			if want := time.Minute + time.Duration(k/2)*time.Hour; c.Lease != want {
				t.Errorf("claim %d of %s leased for %s, want %s", k, c.Delivery.EndpointID, c.Lease, want)
			}
		}
	}
	for _, cs := range got {
		if !oldestFirst(cs) || cs[0].Delivery.EventID != evs[0].ID {
			t.Errorf("claims of %s not the oldest first: %+v", cs[0].Delivery.EndpointID, cs)
		}
	}
	// The leased ones are not claimed again: the rest of e2's and e3's.
	again := byEndpoint(w.claimP(t, store.WebhookClaimParams{PerEndpoint: 10, Busy: map[string]int{e1.ID: 10}, Lease: time.Minute}))
	if len(again[e1.ID]) != 0 || len(again[e2.ID]) != 3 || len(again[e3.ID]) != 2 {
		t.Fatalf("second claim %d/%d/%d, want 0/3/2", len(again[e1.ID]), len(again[e2.ID]), len(again[e3.ID]))
	}
	for _, c := range again[e2.ID] {
		for _, old := range got[e2.ID] {
			if c.Delivery.ID == old.Delivery.ID {
				t.Fatalf("delivery %s claimed twice under a live lease", c.Delivery.ID)
			}
		}
	}
	// A disabled endpoint gets nothing; Limit caps the total, oldest due first.
	failed := w.claimP(t, store.WebhookClaimParams{PerEndpoint: 1, Lease: time.Minute})
	if len(failed) != 1 || failed[0].Delivery.EndpointID != e1.ID {
		t.Fatalf("claim with room for 1 each = %+v, want e1's oldest", failed)
	}
	if r := w.record(t, failed[0], false, 0, 0); !r.Disabled {
		t.Fatalf("failure past a zero window = %+v, want disabled", r)
	}
	if cs := w.claimP(t, store.WebhookClaimParams{PerEndpoint: 10, Lease: time.Minute}); len(cs) != 0 {
		t.Fatalf("claimed %d deliveries of a disabled endpoint", len(cs))
	}
	e4 := w.endpoint(t, w.bob, "*")
	e5 := w.endpoint(t, w.bob, "*")
	w.events(t, w.bob, events.HoldCreated, events.HoldCreated)
	w.queue(t)
	time.Sleep(2 * time.Millisecond)
	w.events(t, w.bob, events.HoldCreated)
	w.queue(t)
	capped := w.claimP(t, store.WebhookClaimParams{PerEndpoint: 10, Limit: 4, Lease: time.Minute})
	byEp := byEndpoint(capped)
	if len(capped) != 4 || len(byEp[e4.ID]) != 2 || len(byEp[e5.ID]) != 2 {
		t.Fatalf("claim limited to 4 = %d (%d/%d), want the 2 oldest of each", len(capped), len(byEp[e4.ID]), len(byEp[e5.ID]))
	}
}

// testWebhookRecordMany records a batch mixing delivered, failed with a
// retry, failed past the window (the endpoint disabled), given up and
// stale outcomes, in one call.
func testWebhookRecordMany(t *testing.T, w *hooks) {
	ok := w.endpoint(t, w.alice, "*")
	dying := w.endpoint(t, w.alice, "*")
	w.events(t, w.alice, events.HoldCreated, events.HoldReleased, events.HoldExpired)
	w.queue(t)
	short := w.claimP(t, store.WebhookClaimParams{PerEndpoint: 10, Busy: map[string]int{dying.ID: 10}, Lease: 50 * time.Millisecond})
	if len(short) != 3 {
		t.Fatalf("claimed %d, want 3", len(short))
	}
	time.Sleep(150 * time.Millisecond)
	cs := byEndpoint(w.claim(t, time.Minute))
	mine, theirs := cs[ok.ID], cs[dying.ID]
	if len(mine) != 3 || len(theirs) != 3 {
		t.Fatalf("claimed %d/%d, want 3/3", len(mine), len(theirs))
	}
	// mine[1] is the delivery short[1] leased first.
	i := slices.IndexFunc(mine, func(c store.WebhookClaim) bool { return c.Delivery.ID == short[1].Delivery.ID })
	if i < 0 {
		t.Fatalf("the expired lease's delivery %s was not claimed again", short[1].Delivery.ID)
	}
	mine[1], mine[i] = mine[i], mine[1]
	time.Sleep(20 * time.Millisecond)
	batch := []store.WebhookOutcome{
		outcome(mine[0], true, 0, time.Hour),
		outcome(short[1], true, 0, time.Hour), // its lease ran out and mine[1] took it over
		outcome(theirs[0], false, 0, 10*time.Millisecond),
		outcome(mine[1], false, time.Hour, time.Hour),
		outcome(mine[2], false, -1, time.Hour),
		outcome(theirs[1], true, 0, time.Hour),
	}
	got, err := w.s.WebhookRecordMany(w.ctx, batch)
	want := []store.WebhookRecorded{{}, {Stale: true}, {Disabled: true}, {Retry: true}, {}, {}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("WebhookRecordMany = %+v, %v; want %+v", got, err, want)
	}
	if again, err := w.s.WebhookRecordMany(w.ctx, batch[:1]); err != nil || !again[0].Stale {
		t.Fatalf("recording twice = %+v, %v; want stale", again, err)
	}
	if e, err := w.s.WebhookEndpointGet(w.ctx, w.alice, dying.ID); err != nil || e.Status != store.WebhookDisabled {
		t.Fatalf("endpoint past its window = %+v, %v; want disabled", e, err)
	}
	// Another failure past the window of the endpoint already disabled
	// writes no retry and does not disable it again.
	if r := w.record(t, theirs[2], false, 0, 10*time.Millisecond); r != (store.WebhookRecorded{}) {
		t.Fatalf("a failure of an endpoint already disabled = %+v, want nothing more", r)
	}
	log := map[string]store.WebhookDelivery{}
	var retries []store.WebhookDelivery
	for _, d := range append(w.list(t, ok.ID), w.list(t, dying.ID)...) {
		if d.Attempt == 2 {
			retries = append(retries, d)
		} else {
			log[d.ID] = d
		}
	}
	for id, st := range map[string]string{mine[0].Delivery.ID: store.DeliveryDelivered, mine[1].Delivery.ID: store.DeliveryFailed,
		mine[2].Delivery.ID: store.DeliveryFailed, theirs[0].Delivery.ID: store.DeliveryFailed, theirs[1].Delivery.ID: store.DeliveryDelivered,
		theirs[2].Delivery.ID: store.DeliveryFailed} {
		if log[id].Status != st {
			t.Errorf("delivery %s is %q, want %q", id, log[id].Status, st)
		}
	}
	if d := log[mine[0].Delivery.ID]; d.ResponseStatus != 200 || d.DurationMS != 12 || !d.NextAttemptAt.IsZero() {
		t.Errorf("delivered = %+v", d)
	}
	if len(retries) != 1 || retries[0].EventID != mine[1].Delivery.EventID || retries[0].Status != store.DeliveryPending ||
		!retries[0].FirstAttemptAt.Equal(mine[1].Delivery.FirstAttemptAt) {
		t.Errorf("retries = %+v, want one of %+v", retries, mine[1].Delivery)
	}
	if r, err := w.s.WebhookRecordMany(w.ctx, nil); err != nil || len(r) != 0 {
		t.Errorf("recording nothing = %+v, %v", r, err)
	}
}

func (w *hooks) list(t *testing.T, endpoint string) []store.WebhookDelivery {
	t.Helper()
	ds, err := w.s.WebhookDeliveryList(w.ctx, store.WebhookDeliveryListParams{KeyID: w.alice, EndpointID: endpoint, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
