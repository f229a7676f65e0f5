package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/events"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/trips"
	"github.com/reservd/reservd/internal/views"
)

func runEvents(t *testing.T, newStore NewStore) {
	tests := map[string]func(t *testing.T, f *fixture){
		"HoldEvents":     testHoldEvents,
		"BookingEvents":  testBookingEvents,
		"ExpiredEvents":  testExpiredEvents,
		"BatchEvents":    testBatchEvents,
		"TripEvents":     testTripEvents,
		"EventList":      testEventList,
		"EventSequence":  testEventSequence,
		"EventPrune":     testEventPrune,
		"EventsRaceFeed": testEventsRaceFeed,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, newStore))
		})
	}
}

// feed reads one customer's events (every customer's when key is 0) as a
// client of the feed would: sequencing, then paging on from its cursor.
type feed struct {
	f   *fixture
	key int64
	pos int64
}

// sequenceAll runs sequencer passes until one gives nothing.
func (f *fixture) sequenceAll(t testing.TB) {
	t.Helper()
	for {
		sq, err := f.s.EventSequence(f.ctx, 1000)
		if err != nil {
			t.Fatalf("EventSequence: %v", err)
		}
		if sq.N == 0 && !sq.Pending {
			return
		}
		if sq.N == 0 { // an older transaction elsewhere on the server is still open
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// read returns the feed's events after its cursor and moves the cursor.
func (fd *feed) read(t testing.TB) []events.Event {
	t.Helper()
	fd.f.sequenceAll(t)
	evs, err := fd.f.s.EventList(fd.f.ctx, store.EventListParams{KeyID: fd.key, AfterPos: fd.pos, Limit: 1000})
	if err != nil {
		t.Fatalf("EventList: %v", err)
	}
	if len(evs) > 0 {
		fd.pos = evs[len(evs)-1].Pos
	}
	return evs
}

// expect reads the feed until it has len(want) new events (a pass gives a
// position only to events whose transactions are certainly over, so a
// commit may take a pass or two to show) and checks their types, in order.
func (fd *feed) expect(t testing.TB, want ...events.Type) []events.Event {
	t.Helper()
	var got []events.Event
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got = append(got, fd.read(t)...)
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	types := make([]events.Type, len(got))
	for i, e := range got {
		types[i] = e.Type
		if e.KeyID != fd.key && fd.key != 0 {
			t.Errorf("event %s of key %d in key %d's feed", e.ID, e.KeyID, fd.key)
		}
	}
	if !slices.Equal(types, want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
	return got
}

// wantData checks that an event's data is the object's view after the change.
func wantData(t testing.TB, e events.Event, view any) {
	t.Helper()
	b, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(e.Data, &got); err != nil {
		t.Fatalf("event %s data %s: %v", e.Type, e.Data, err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s data = %s\nwant %s", e.Type, e.Data, b)
	}
}

func testHoldEvents(t *testing.T, f *fixture) {
	alice := &feed{f: f, key: f.alice}
	h := f.mustHold(t, f.alice, time.Minute, "10A", "10B")
	e := alice.expect(t, events.HoldCreated)[0]
	wantData(t, e, views.OfHold(h))
	if !events.ValidID(e.ID) || e.FlightID != f.flight.ID || e.Pos == 0 || e.CreatedAt.IsZero() {
		t.Errorf("event = %+v", e)
	}
	if got, err := f.s.EventGet(f.ctx, f.alice, e.ID); err != nil || got.ID != e.ID || got.Type != events.HoldCreated {
		t.Errorf("EventGet = %+v, %v", got, err)
	}
	if _, err := f.s.EventGet(f.ctx, f.bob, e.ID); !errors.Is(err, events.ErrNotFound) {
		t.Errorf("EventGet of another key's event: %v, want ErrNotFound", err)
	}

	// A refused hold (409, seats taken) writes nothing: the next change's
	// event is the next in the feed.
	if _, err := f.hold(t, f.alice, time.Minute, "10B", "10C"); err == nil {
		t.Fatal("a taken seat was held again")
	}
	ext, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	wantData(t, alice.expect(t, events.HoldExtended)[0], views.OfHold(ext))

	rel, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID})
	if err != nil {
		t.Fatal(err)
	}
	wantData(t, alice.expect(t, events.HoldReleased)[0], views.OfHold(rel))
	// Releasing again answers the released hold and changes nothing; so
	// do a refused extension and an idempotent replay of a hold.
	if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Minute}); !errors.Is(err, holds.ErrNotActive) {
		t.Fatalf("extending a released hold: %v", err)
	}
	claim := func() *idempotency.Completion[holds.Hold] {
		return &idempotency.Completion[holds.Hold]{KeyID: f.alice, Key: "k1", Fingerprint: "fp", Claim: true, Status: 201, Render: renderHold}
	}
	p := store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"11A"}}}
	keyed, err := f.s.HoldCreate(f.ctx, p, claim())
	if err != nil {
		t.Fatal(err)
	}
	p.ID, p.Seats = holds.NewID(), []string{"11B"}
	if _, err := f.s.HoldCreate(f.ctx, p, claim()); !errors.Is(err, idempotency.ErrKeyTaken) {
		t.Fatalf("replayed key: %v, want ErrKeyTaken", err)
	}
	bobs := f.mustHold(t, f.bob, time.Minute, "11C")
	evs := alice.expect(t, events.HoldCreated)
	wantData(t, evs[0], views.OfHold(keyed))
	wantData(t, (&feed{f: f, key: f.bob}).expect(t, events.HoldCreated)[0], views.OfHold(bobs))
}

func testBookingEvents(t *testing.T, f *fixture) {
	alice := &feed{f: f, key: f.alice}
	h := f.mustHold(t, f.alice, time.Minute, "10A")
	alice.expect(t, events.HoldCreated)
	p, err := f.begin(t, h, "tok_chargeDeclined")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.PaymentDecline(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	// A second decline of the same attempt changes nothing.
	if err := f.s.PaymentDecline(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	e := alice.expect(t, events.PaymentDeclined)[0]
	wantData(t, e, views.OfHold(h)) // the hold, still active

	p2, err := f.begin(t, h, "tok_visa")
	if err != nil {
		t.Fatal(err)
	}
	bk, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p2, ChargeID: "ch_1"})
	if err != nil {
		t.Fatal(err)
	}
	// Recovery completing the same payment again answers the booking and
	// writes nothing.
	if again, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p2, ChargeID: "ch_1"}); err != nil || again.ID != bk.ID {
		t.Fatalf("BookingComplete again = %+v, %v", again, err)
	}
	wantData(t, alice.expect(t, events.BookingConfirmed)[0], views.OfBooking(bk))

	c, err := f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.alice, ID: bk.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.alice, ID: bk.ID}); err != nil {
		t.Fatal(err)
	}
	e = alice.expect(t, events.BookingCanceled)[0]
	wantData(t, e, views.OfBooking(c))
	if c.Status != bookings.Canceled {
		t.Errorf("canceled booking = %+v", c)
	}
}

func testExpiredEvents(t *testing.T, f *fixture) {
	alice, bob := &feed{f: f, key: f.alice}, &feed{f: f, key: f.bob}
	h1 := f.mustHold(t, f.alice, 50*time.Millisecond, "10A")
	h2 := f.mustHold(t, f.bob, 50*time.Millisecond, "10B", "10C")
	live := f.mustHold(t, f.alice, time.Minute, "11A")
	alice.expect(t, events.HoldCreated, events.HoldCreated)
	bob.expect(t, events.HoldCreated)
	time.Sleep(100 * time.Millisecond)
	expired, err := f.s.HoldExpire(f.ctx, 10)
	if err != nil || len(expired) != 2 {
		t.Fatalf("HoldExpire = %+v, %v", expired, err)
	}
	if again, err := f.s.HoldExpire(f.ctx, 10); err != nil || len(again) != 0 {
		t.Fatalf("HoldExpire again = %+v, %v", again, err)
	}
	byID := map[string]holds.Hold{}
	for _, h := range expired {
		byID[h.ID] = h
	}
	wantData(t, alice.expect(t, events.HoldExpired)[0], views.OfHold(byID[h1.ID]))
	wantData(t, bob.expect(t, events.HoldExpired)[0], views.OfHold(byID[h2.ID]))
	if byID[h1.ID].Status != holds.Expired || live.Status != holds.Active {
		t.Errorf("expired %+v", byID[h1.ID])
	}
}

func testBatchEvents(t *testing.T, f *fixture) {
	all := &feed{f: f}
	claimed := &idempotency.Completion[holds.Hold]{KeyID: f.alice, Key: "taken", Fingerprint: "fp", Claim: true, Status: 201, Render: renderHold}
	if _, err := f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"12A"}}}, claimed); err != nil {
		t.Fatal(err)
	}
	all.expect(t, events.HoldCreated)
	replay := batchReq(f.ctx, f.alice, f.flight.ID, "12B")
	replay.Done = &idempotency.Completion[holds.Hold]{KeyID: f.alice, Key: "taken", Fingerprint: "fp", Claim: true, Status: 201, Render: renderHold}
	out := f.batch(t,
		batchReq(f.ctx, f.alice, f.flight.ID, "10A", "10B"),
		batchReq(f.ctx, f.bob, f.flight.ID, "10B"), // taken by the first
		batchReq(f.ctx, f.bob, f.flight.ID, "11C"),
		replay, // an idempotent replay: no hold, no event
	)
	if out[0].Err != nil || out[1].Err == nil || out[2].Err != nil || !errors.Is(out[3].Err, idempotency.ErrKeyTaken) {
		t.Fatalf("batch = %+v", out)
	}
	evs := all.expect(t, events.HoldCreated, events.HoldCreated)
	got := map[int64]events.Event{}
	for _, e := range evs {
		got[e.KeyID] = e
	}
	wantData(t, got[f.alice], views.OfHold(out[0].Hold))
	wantData(t, got[f.bob], views.OfHold(out[2].Hold))
}

func testTripEvents(t *testing.T, f *fixture) {
	alice := &feed{f: f, key: f.alice}
	req := trips.Request{Origin: "SFO", Destination: "JFK", DepartureDate: "2036-12-24", Currency: "USD",
		Passengers: []trips.Passenger{{GivenName: "Ada", FamilyName: "Lovelace", BornOn: "1990-12-10"}}}
	a, err := f.s.TripCreate(f.ctx, trips.Trip{ID: trips.NewID(), KeyID: f.alice, Request: req}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.s.TripCreate(f.ctx, trips.Trip{ID: trips.NewID(), KeyID: f.alice, Request: req}, nil)
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := f.s.TripClaim(f.ctx, time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("TripClaim = %+v, %v", claimed, err)
	}
	for _, tr := range claimed {
		// Progress saves write nothing.
		tr.Attempts = append(tr.Attempts, trips.Attempt{Provider: "kiwi", OfferID: "off", Outcome: trips.OutcomeUnavailable, Reference: tr.ID + "-1"})
		if err := f.s.TripSave(f.ctx, tr, time.Minute); err != nil {
			t.Fatal(err)
		}
		if tr.ID == a.ID {
			tr.Status, tr.Provider, tr.ProviderBookingReference = trips.Confirmed, "duffel", "PNR1"
			tr.Price = &money.Money{Amount: 100, Currency: "USD"}
		} else {
			tr.Status = trips.Failed
		}
		if err := f.s.TripSave(f.ctx, tr, time.Minute); err != nil {
			t.Fatal(err)
		}
		// A racing worker with the same claim loses, and writes nothing.
		if err := f.s.TripSave(f.ctx, tr, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("second settling save: %v", err)
		}
	}
	// Settled in claim order: the events follow it.
	want := []events.Type{events.TripConfirmed, events.TripFailed}
	if claimed[0].ID != a.ID {
		want = []events.Type{events.TripFailed, events.TripConfirmed}
	}
	evs := alice.expect(t, want...)
	if claimed[0].ID != a.ID {
		evs[0], evs[1] = evs[1], evs[0]
	}
	ga, _ := f.s.TripGet(f.ctx, f.alice, a.ID)
	gb, _ := f.s.TripGet(f.ctx, f.alice, b.ID)
	wantData(t, evs[0], views.OfTrip(ga))
	wantData(t, evs[1], views.OfTrip(gb))

	// Writing the cancellation down changes no status: no event; the
	// outcome does, once.
	started := ga
	started.OrderID = "ord_1"
	started.Cancel = &trips.Cancellation{StartedAt: time.Now().UTC().Truncate(time.Millisecond)}
	owned, err := f.s.TripUpdate(f.ctx, started, trips.Confirmed)
	if err != nil {
		t.Fatal(err)
	}
	done := owned
	done.Status = trips.Canceled
	canceled, err := f.s.TripUpdate(f.ctx, done, trips.Confirmed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.TripUpdate(f.ctx, done, trips.Confirmed); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("racing cancel: %v", err)
	}
	wantData(t, alice.expect(t, events.TripCanceled)[0], views.OfTrip(canceled))
}

func testEventList(t *testing.T, f *fixture) {
	ha := f.mustHold(t, f.alice, time.Minute, "10A")
	hb := f.mustHold(t, f.bob, time.Minute, "10B")
	if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: ha.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.bob, ID: hb.ID, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	all := (&feed{f: f}).expect(t, events.HoldCreated, events.HoldCreated, events.HoldReleased, events.HoldExtended)
	list := func(p store.EventListParams) []events.Event {
		t.Helper()
		evs, err := f.s.EventList(f.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	ids := func(evs []events.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	if got := ids(list(store.EventListParams{KeyID: f.alice, Limit: 10})); !slices.Equal(got, []string{all[0].ID, all[2].ID}) {
		t.Errorf("alice's events = %v", got)
	}
	if got := ids(list(store.EventListParams{KeyID: f.bob, Types: []events.Type{events.HoldExtended}, Limit: 10})); !slices.Equal(got, []string{all[3].ID}) {
		t.Errorf("bob's extensions = %v", got)
	}
	if got := ids(list(store.EventListParams{Types: []events.Type{events.HoldCreated, events.HoldReleased}, Limit: 10})); !slices.Equal(got, ids(all[:3])) {
		t.Errorf("every key's created and released = %v", got)
	}
	// Paging by position: strictly after, Limit at a time.
	var paged []events.Event
	for after := int64(0); ; {
		page := list(store.EventListParams{AfterPos: after, Limit: 3})
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			t.Fatalf("page of %d with Limit 3", len(page))
		}
		paged, after = append(paged, page...), page[len(page)-1].Pos
	}
	if !slices.Equal(ids(paged), ids(all)) {
		t.Errorf("paged = %v, want %v", ids(paged), ids(all))
	}
	if got := list(store.EventListParams{KeyID: f.alice, AfterPos: all[2].Pos, Limit: 10}); len(got) != 0 {
		t.Errorf("after alice's last = %v", ids(got))
	}
}

func testEventSequence(t *testing.T, f *fixture) {
	// Nothing is listed before a pass gives it a position.
	f.mustHold(t, f.alice, time.Minute, "10A")
	if evs, err := f.s.EventList(f.ctx, store.EventListParams{Limit: 10}); err != nil || len(evs) != 0 {
		t.Fatalf("unsequenced events listed: %+v, %v", evs, err)
	}
	// Positions follow commit order across passes, and a pass reports what
	// it did.
	var (
		n       int
		last    int64
		flights []int64
	)
	for deadline := time.Now().Add(10 * time.Second); n < 1 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		sq, err := f.s.EventSequence(f.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		n, last = n+sq.N, max(last, sq.LastPos)
		// A pass held back by a transaction elsewhere names the flight of
		// the event waiting for its position too (Sequenced.Flights).
		for _, fl := range sq.Flights {
			if !slices.Contains(flights, fl) {
				flights = append(flights, fl)
			}
		}
	}
	if n != 1 || last == 0 || !slices.Equal(flights, []int64{f.flight.ID}) {
		t.Fatalf("sequenced %d, last %d, flights %v", n, last, flights)
	}
	f.mustHold(t, f.alice, time.Minute, "10B")
	f.mustHold(t, f.alice, time.Minute, "10C")
	evs := (&feed{f: f, key: f.alice}).expect(t, events.HoldCreated, events.HoldCreated, events.HoldCreated)
	for i := 1; i < len(evs); i++ {
		if evs[i].Pos <= evs[i-1].Pos {
			t.Errorf("positions %d then %d", evs[i-1].Pos, evs[i].Pos)
		}
	}
	if evs[0].Pos != last {
		t.Errorf("first event at %d, the pass reported %d", evs[0].Pos, last)
	}
	if sq, err := f.s.EventSequence(f.ctx, 100); err != nil || sq.N != 0 || sq.LastPos != 0 || len(sq.Flights) != 0 {
		t.Errorf("a pass with nothing to do = %+v, %v", sq, err)
	}
}

func testEventPrune(t *testing.T, f *fixture) {
	f.mustHold(t, f.alice, time.Minute, "10A")
	f.mustHold(t, f.alice, time.Minute, "10B")
	f.mustHold(t, f.alice, time.Minute, "10C")
	old := (&feed{f: f, key: f.alice}).expect(t, events.HoldCreated, events.HoldCreated, events.HoldCreated)
	time.Sleep(20 * time.Millisecond)
	// Written after the sleep, and never sequenced.
	fresh := f.mustHold(t, f.bob, time.Minute, "11A")
	if n, err := f.s.EventPrune(f.ctx, time.Hour, 10); err != nil || n != 0 {
		t.Fatalf("EventPrune of events younger than the age = %d, %v", n, err)
	}
	if n, err := f.s.EventPrune(f.ctx, 10*time.Millisecond, 2); err != nil || n != 2 {
		t.Fatalf("EventPrune limit 2 = %d, %v", n, err)
	}
	if n, err := f.s.EventPrune(f.ctx, 10*time.Millisecond, 10); err != nil || n != 1 {
		t.Fatalf("EventPrune of the rest = %d, %v", n, err)
	}
	for _, e := range old {
		if _, err := f.s.EventGet(f.ctx, f.alice, e.ID); !errors.Is(err, events.ErrNotFound) {
			t.Errorf("pruned event %s: %v", e.ID, err)
		}
	}
	// The unsequenced event is kept however old, and the feed still gets it.
	time.Sleep(20 * time.Millisecond)
	if n, err := f.s.EventPrune(f.ctx, 10*time.Millisecond, 10); err != nil || n != 0 {
		t.Fatalf("EventPrune with only an unsequenced event = %d, %v", n, err)
	}
	wantData(t, (&feed{f: f, key: f.bob}).expect(t, events.HoldCreated)[0], views.OfHold(fresh))
}
