package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/store"
)

// The webhook streams' cases (WebhookStreamClaim, WebhookStreamRecord):
// run by runWebhooks beside the queue's.

// streams claims every stream with work, leased for lease.
func (w *hooks) streams(t *testing.T, lease time.Duration, skip ...string) []store.WebhookStream {
	t.Helper()
	ss, err := w.s.WebhookStreamClaim(w.ctx, store.WebhookStreamClaimParams{Endpoints: 100, Events: 100, Lease: lease, Skip: skip})
	if err != nil {
		t.Fatalf("WebhookStreamClaim: %v", err)
	}
	return ss
}

// deliveredAll records every event of st as delivered.
func (w *hooks) deliveredAll(t *testing.T, st store.WebhookStream) bool {
	t.Helper()
	var os []store.WebhookStreamOutcome
	for _, ev := range st.Events {
		os = append(os, store.WebhookStreamOutcome{EventID: ev.ID, Delivered: true, ResponseStatus: 200, Duration: time.Millisecond})
	}
	stale, err := w.s.WebhookStreamRecord(w.ctx, st, os)
	if err != nil {
		t.Fatalf("WebhookStreamRecord: %v", err)
	}
	return stale
}

// claim leases up to 100 deliveries of each endpoint, but none of full's.
// testWebhookStream: an endpoint's stream starts at the events sequenced
// when it was created; a claim gives each endpoint with events past its
// position the ones it subscribes to and the position through the last
// one read; recording writes a row per attempt (a failure's next attempt
// pending, for the row claims) and moves the position, and then there is
// nothing more to claim until new events are sequenced.
func testWebhookStream(t *testing.T, w *hooks) {
	before := w.events(t, w.alice, events.HoldCreated)
	all := w.endpoint(t, w.alice, "*")
	expired := w.endpoint(t, w.alice, string(events.HoldExpired))
	bobs := w.endpoint(t, w.bob, "*")
	if ss := w.streams(t, time.Minute); len(ss) != 0 {
		t.Fatalf("streams before any event after the endpoints = %+v, want none (%s came before them)", ss, before[0].ID)
	}
	evs := w.events(t, w.alice, events.HoldCreated, events.HoldExpired)
	evs = append(evs, w.events(t, w.bob, events.BookingConfirmed)...)
	late := NewEvent(w.alice, events.HoldReleased)
	WriteEvents(t, w.s, late) // written, not sequenced: not streamed yet
	if c, err := w.s.WebhookGauges(w.ctx); err != nil || c.Unsent != 5 {
		t.Errorf("gauges = %+v, %v; want 5 unsent (2 to each of alice's endpoints, 1 to bob's)", c, err)
	}
	ss := w.streams(t, time.Minute)
	got := map[string][]string{}
	byEndpoint := map[string]store.WebhookStream{}
	for _, st := range ss {
		if st.URL == "" || st.Secret == "" || st.Claim < 1 || st.Through <= st.From {
			t.Errorf("stream = %+v", st)
		}
		byEndpoint[st.EndpointID] = st
		for _, ev := range st.Events {
			if ev.KeyID != st.KeyID || len(ev.Data) == 0 {
				t.Errorf("stream %s event %+v", st.EndpointID, ev)
			}
			got[st.EndpointID] = append(got[st.EndpointID], ev.ID)
		}
	}
	want := map[string][]string{all.ID: {evs[0].ID, evs[1].ID}, expired.ID: {evs[1].ID}, bobs.ID: {evs[2].ID}}
	for ep, ids := range want {
		if g := got[ep]; !slices.Equal(g, ids) {
			t.Errorf("endpoint %s streams %v, want %v in order", ep, g, ids)
		}
	}
	if x := byEndpoint[expired.ID]; len(x.Events) != 1 || x.Through != x.Events[0].Pos || x.Through != byEndpoint[all.ID].Through {
		t.Errorf("hold.expired stream %+v: want it through its event, the last of alice's", x)
	}
	if again := w.streams(t, time.Minute); len(again) != 0 {
		t.Errorf("leased streams claimed again: %+v", again)
	}
	// all: the first delivered, the second failed.
	st := byEndpoint[all.ID]
	stale, err := w.s.WebhookStreamRecord(w.ctx, st, []store.WebhookStreamOutcome{
		{EventID: evs[0].ID, Delivered: true, ResponseStatus: 204, Duration: 3 * time.Millisecond},
		{EventID: evs[1].ID, ResponseStatus: 500, Duration: 4 * time.Millisecond, RetryIn: -time.Second},
	})
	if err != nil || stale {
		t.Fatalf("record = %v, %v", stale, err)
	}
	for _, id := range []string{expired.ID, bobs.ID} {
		if w.deliveredAll(t, byEndpoint[id]) {
			t.Fatalf("record of %s stale", id)
		}
	}
	log, err := w.s.WebhookDeliveryList(w.ctx, store.WebhookDeliveryListParams{KeyID: w.alice, EndpointID: all.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[string][]store.WebhookDelivery{}
	for _, d := range log {
		byStatus[d.Status] = append(byStatus[d.Status], d)
	}
	if d := byStatus[store.DeliveryDelivered]; len(d) != 1 || d[0].EventID != evs[0].ID || d[0].Attempt != 1 || d[0].ResponseStatus != 204 || d[0].DurationMS != 3 {
		t.Errorf("delivered rows %+v", d)
	}
	if d := byStatus[store.DeliveryFailed]; len(d) != 1 || d[0].EventID != evs[1].ID || d[0].Attempt != 1 || d[0].ResponseStatus != 500 {
		t.Errorf("failed rows %+v", d)
	}
	if d := byStatus[store.DeliveryPending]; len(d) != 1 || d[0].EventID != evs[1].ID || d[0].Attempt != 2 {
		t.Errorf("pending rows %+v, want the failed event's second attempt", d)
	}
	// The retry is a row, claimed as rows are, at attempt 2 of its chain.
	if cs := w.claim(t, time.Minute); len(cs) != 1 || cs[0].Delivery.EventID != evs[1].ID || cs[0].Delivery.Attempt != 2 || !cs[0].EventOK {
		t.Errorf("retry claims = %+v", cs)
	}
	if ss := w.streams(t, time.Minute); len(ss) != 0 {
		t.Errorf("streams after recording = %+v, want none", ss)
	}
	// The late event, once sequenced, is streamed to alice's "*" only; a
	// stream claimed with Events: 0 reads nothing and moves nothing.
	Sequence(t, w.s)
	ss, err = w.s.WebhookStreamClaim(w.ctx, store.WebhookStreamClaimParams{Endpoints: 10, Events: 10, Lease: time.Minute, Skip: []string{all.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].EndpointID != expired.ID || len(ss[0].Events) != 0 || ss[0].Through <= ss[0].From {
		t.Errorf("claim skipping %s = %+v, want the hold.expired endpoint with nothing it wants", all.ID, ss)
	}
	for _, st := range ss {
		w.deliveredAll(t, st) // moves it past the event it does not want
	}
	ss = w.streams(t, time.Minute)
	if len(ss) != 1 || ss[0].EndpointID != all.ID || len(ss[0].Events) != 1 || ss[0].Events[0].ID != late.ID {
		t.Fatalf("streams = %+v, want %s with %s", ss, all.ID, late.ID)
	}
	// Given back unrecorded, it is claimed again with the same event.
	if stale, err := w.s.WebhookStreamRecord(w.ctx, ss[0].Released(), nil); err != nil || stale {
		t.Fatalf("release = %v, %v", stale, err)
	}
	again := w.streams(t, time.Minute)
	if len(again) != 1 || len(again[0].Events) != 1 || again[0].Events[0].ID != late.ID || again[0].Claim != ss[0].Claim+1 {
		t.Fatalf("after the release: %+v", again)
	}
	// A disabled endpoint's stream is not claimed.
	w.deliveredAll(t, again[0])
	w.unqueued = nil
	w.events(t, w.bob, events.HoldCreated)
	w.queue(t)
	cs := w.claim(t, time.Minute)
	if len(cs) != 1 || cs[0].Delivery.EndpointID != bobs.ID {
		t.Fatalf("claims = %+v, want bob's endpoint's", cs)
	}
	if r := w.record(t, cs[0], false, time.Second, 0); !r.Disabled {
		t.Fatalf("record past the retry window = %+v, want the endpoint disabled", r)
	}
	if ss := w.streams(t, time.Minute); len(ss) != 0 {
		t.Errorf("streams with bob's endpoint disabled = %+v", ss)
	}
	if c, err := w.s.WebhookGauges(w.ctx); err != nil || c.Unsent != 0 {
		t.Errorf("gauges = %+v, %v; want nothing unsent to enabled endpoints", c, err)
	}
}

// testWebhookStreamTakenOver: a stream whose lease ran out is claimed by
// another dispatcher with the same events; the first one's record is then
// stale and writes nothing, and the second one's counts.
func testWebhookStreamTakenOver(t *testing.T, w *hooks) {
	ep := w.endpoint(t, w.alice, "*")
	evs := w.events(t, w.alice, events.HoldCreated, events.HoldReleased)
	first := w.streams(t, 50*time.Millisecond)
	if len(first) != 1 || len(first[0].Events) != 2 {
		t.Fatalf("streams = %+v", first)
	}
	time.Sleep(100 * time.Millisecond)
	second := w.streams(t, time.Minute)
	if len(second) != 1 || len(second[0].Events) != 2 || second[0].Claim <= first[0].Claim || second[0].From != first[0].From {
		t.Fatalf("after the lease ran out: %+v, want the same events under a newer claim", second)
	}
	if !w.deliveredAll(t, first[0]) {
		t.Error("the overtaken claim recorded")
	}
	if w.deliveredAll(t, second[0]) {
		t.Error("the latest claim's record was stale")
	}
	if !w.deliveredAll(t, second[0]) {
		t.Error("the same claim recorded twice")
	}
	log, err := w.s.WebhookDeliveryList(w.ctx, store.WebhookDeliveryListParams{KeyID: w.alice, EndpointID: ep.ID, Limit: 10})
	if err != nil || len(log) != len(evs) {
		t.Fatalf("log = %+v, %v; want one row per event", log, err)
	}
}

// testWebhookConcurrentStreams runs stream dispatchers on several
// goroutines while events are written and sequenced: every event reaches
// every subscribed endpoint exactly once (no lease runs out), and no two
// dispatchers hold one stream at once.
func testWebhookConcurrentStreams(t *testing.T, w *hooks) {
	e1 := w.endpoint(t, w.alice, "*")
	e2 := w.endpoint(t, w.bob, "*")
	const writers, each = 4, 25
	var (
		mu      sync.Mutex
		seen    = map[string]int{}
		holding = map[string]bool{}
	)
	dispatch := func() (int, error) {
		ss, err := w.s.WebhookStreamClaim(w.ctx, store.WebhookStreamClaimParams{Endpoints: 1, Events: 7, Lease: time.Minute})
		if err != nil {
			return 0, err
		}
		for _, st := range ss {
			mu.Lock()
			if holding[st.EndpointID] {
				t.Errorf("stream %s leased twice at once", st.EndpointID)
			}
			holding[st.EndpointID] = true
			mu.Unlock()
			var os []store.WebhookStreamOutcome
			for _, ev := range st.Events {
				os = append(os, store.WebhookStreamOutcome{EventID: ev.ID, Delivered: true, ResponseStatus: 200})
			}
			mu.Lock()
			holding[st.EndpointID] = false
			mu.Unlock()
			stale, err := w.s.WebhookStreamRecord(w.ctx, st, os)
			if err != nil || stale {
				return 0, fmt.Errorf("record: stale %v, %w", stale, err)
			}
			mu.Lock()
			for _, ev := range st.Events {
				seen[st.EndpointID+" "+ev.ID]++
			}
			mu.Unlock()
		}
		return len(ss), nil
	}
	done := make(chan struct{})
	var dispatchers, wg sync.WaitGroup
	for range 3 {
		dispatchers.Go(func() {
			for {
				if _, err := dispatch(); err != nil {
					t.Errorf("dispatch: %v", err)
					return
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	var written []events.Event
	for i := range writers {
		wg.Go(func() {
			for range each {
				ev := NewEvent([]int64{w.alice, w.bob}[i%2], events.HoldCreated)
				if err := writeEvents(w.ctx, w.s, []events.Event{ev}); err != nil {
					t.Errorf("write: %v", err)
					return
				}
				if _, err := w.s.EventSequence(w.ctx, 10); err != nil {
					t.Errorf("sequence: %v", err)
				}
				mu.Lock()
				written = append(written, ev)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(done)
	dispatchers.Wait()
	Sequence(t, w.s)
	for {
		n, err := dispatch()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if len(written) != writers*each {
		t.Fatalf("wrote %d events", len(written))
	}
	for _, ev := range written {
		ep := map[int64]string{w.alice: e1.ID, w.bob: e2.ID}[ev.KeyID]
		if n := seen[ep+" "+ev.ID]; n != 1 {
			t.Errorf("event %s sent %d times to its endpoint, want 1", ev.ID, n)
		}
	}
	if len(seen) != len(written) {
		t.Errorf("%d sends for %d events", len(seen), len(written))
	}
}
