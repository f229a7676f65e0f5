package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store"
)

func testIdempotencyKeys(t *testing.T, f *fixture) {
	claim := func(key, fp string, lease time.Duration) idempotency.Claim {
		t.Helper()
		c, err := f.s.IdempotencyKeyClaim(f.ctx, idempotency.ClaimParams{KeyID: f.alice, Key: key, Fingerprint: fp, Lease: lease})
		if err != nil {
			t.Fatalf("ClaimIdempotencyKey: %v", err)
		}
		return c
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != idempotency.Proceed {
		t.Fatalf("first claim = %v, want proceed", c.Outcome)
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != idempotency.InFlight {
		t.Errorf("claim while running = %v, want in flight", c.Outcome)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != idempotency.Mismatch {
		t.Errorf("claim with another request = %v, want mismatch", c.Outcome)
	}
	// Keys are scoped to the API key.
	if c, err := f.s.IdempotencyKeyClaim(f.ctx, idempotency.ClaimParams{KeyID: f.bob, Key: "k1", Fingerprint: "fp2", Lease: time.Minute}); err != nil || c.Outcome != idempotency.Proceed {
		t.Errorf("bob's claim of alice's key = %v, %v; want proceed", c.Outcome, err)
	}
	if err := f.s.IdempotencyKeyComplete(f.ctx, idempotency.CompleteParams{KeyID: f.alice, Key: "k1", Status: 201, Body: []byte(`{"data":1}`)}); err != nil {
		t.Fatal(err)
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != idempotency.Replay || c.Status != 201 || string(c.Body) != `{"data":1}` {
		t.Errorf("claim after completion = %+v, want replay of 201", c)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != idempotency.Mismatch {
		t.Errorf("completed key with another request = %v, want mismatch", c.Outcome)
	}
	// Completing again never overwrites a stored response.
	if err := f.s.IdempotencyKeyComplete(f.ctx, idempotency.CompleteParams{KeyID: f.alice, Key: "k1", Status: 500, Body: []byte("x")}); err != nil {
		t.Errorf("completing a completed key again = %v, want nil (a no-op)", err)
	}
	if c := claim("k1", "fp1", time.Minute); c.Status != 201 {
		t.Errorf("stored response overwritten: %+v", c)
	}
	// Released keys run again.
	claim("k2", "fp", time.Minute)
	if err := f.s.IdempotencyKeyRelease(f.ctx, f.alice, "k2"); err != nil {
		t.Fatal(err)
	}
	if c := claim("k2", "fp", time.Minute); c.Outcome != idempotency.Proceed {
		t.Errorf("claim after release = %v, want proceed", c.Outcome)
	}
	// A running key whose lease ran out (its request died) can be taken over.
	claim("k3", "fp", time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if c := claim("k3", "fp", time.Minute); c.Outcome != idempotency.Proceed {
		t.Errorf("claim of an abandoned key = %v, want proceed", c.Outcome)
	}
	time.Sleep(10 * time.Millisecond)
	n, err := f.s.IdempotencyKeyDeleteOlderThan(f.ctx, 0)
	if err != nil || n != 4 {
		t.Errorf("DeleteIdempotencyKeys = %d, %v; want 4", n, err)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != idempotency.Proceed {
		t.Errorf("claim after cleanup = %v, want proceed", c.Outcome)
	}
}

// testClaimInTransaction covers Completion.Claim: the effect's transaction
// inserts its idempotency key already done, and an effect whose key exists
// rolls back entirely; IdempotencyKey only looks.
// renderHold and renderBooking stand for the API's rendering of a stored answer.
func renderHold(h holds.Hold) ([]byte, error) {
	return json.Marshal(map[string]any{"id": h.ID, "status": h.Status, "seats": h.Seats})
}

func renderBooking(b bookings.Booking) ([]byte, error) {
	return json.Marshal(map[string]any{"id": b.ID, "status": b.Status})
}

func testClaimInTransaction(t *testing.T, f *fixture) {
	done := func(key, fp string, status int) *idempotency.Completion[holds.Hold] {
		return &idempotency.Completion[holds.Hold]{KeyID: f.alice, Key: key, Fingerprint: fp, Claim: true, Status: status, Render: renderHold}
	}
	look := func(key, fp string) idempotency.Claim {
		t.Helper()
		c, err := f.s.IdempotencyKeyGet(f.ctx, idempotency.GetParams{KeyID: f.alice, Key: key, Fingerprint: fp})
		if err != nil {
			t.Fatalf("IdempotencyKey: %v", err)
		}
		return c
	}
	newHold := func(seats ...string) store.HoldCreateParams {
		return store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
			Request: holds.Request{FlightID: f.flight.ID, Seats: seats}}
	}
	if c := look("h1", "fp"); c.Outcome != idempotency.Proceed {
		t.Fatalf("look at an unused key = %v, want proceed", c.Outcome)
	}
	h, err := f.s.HoldCreate(f.ctx, newHold("11A"), done("h1", "fp", 201))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := renderHold(h)
	if c := look("h1", "fp"); c.Outcome != idempotency.Replay || c.Status != 201 || string(c.Body) != string(want) {
		t.Errorf("look after the claiming CreateHold = %+v %s, want replay of 201 %s", c, c.Body, want)
	}
	if c := look("h1", "other"); c.Outcome != idempotency.Mismatch {
		t.Errorf("look with another fingerprint = %v, want mismatch", c.Outcome)
	}
	// Looking claims nothing and the classic claim sees the stored answer.
	if c, err := f.s.IdempotencyKeyClaim(f.ctx, idempotency.ClaimParams{KeyID: f.alice, Key: "h1", Fingerprint: "fp", Lease: time.Minute}); err != nil || c.Outcome != idempotency.Replay {
		t.Errorf("ClaimIdempotencyKey after a claiming CreateHold = %+v, %v; want replay", c, err)
	}
	before := f.available(t)
	events := len(f.events(t))

	// The same key again: nothing happens, whatever the seats.
	_, err = f.s.HoldCreate(f.ctx, newHold("11B"), done("h1", "fp", 201))
	if !errors.Is(err, idempotency.ErrKeyTaken) {
		t.Fatalf("CreateHold with a used key: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	if got := f.available(t); got != before {
		t.Errorf("available seats = %d after a refused claim, want %d", got, before)
	}
	if got := len(f.events(t)); got != events {
		t.Errorf("seat events = %d after a refused claim, want %d", got, events)
	}
	if st := f.seatStatus(t)["11B"]; st != flights.Available {
		t.Errorf("11B is %q after a refused claim, want available", st)
	}
	// A running key (claimed the classic way) also refuses the claim.
	if c, err := f.s.IdempotencyKeyClaim(f.ctx, idempotency.ClaimParams{KeyID: f.alice, Key: "run", Fingerprint: "fp", Lease: time.Minute}); err != nil || c.Outcome != idempotency.Proceed {
		t.Fatalf("claim run: %+v %v", c, err)
	}
	if c := look("run", "fp"); c.Outcome != idempotency.InFlight {
		t.Errorf("look at a running key = %v, want in flight", c.Outcome)
	}
	if _, err := f.s.HoldCreate(f.ctx, newHold("11C"), done("run", "fp", 201)); !errors.Is(err, idempotency.ErrKeyTaken) {
		t.Errorf("CreateHold claiming a running key: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	// A failed effect claims nothing.
	if _, err := f.s.HoldCreate(f.ctx, newHold("11A"), done("h2", "fp", 201)); err == nil {
		t.Fatal("held a held seat")
	}
	if c := look("h2", "fp"); c.Outcome != idempotency.Proceed {
		t.Errorf("look after a failed claiming CreateHold = %v, want proceed", c.Outcome)
	}
	// Other single-transaction effects claim the same way.
	if _, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Minute, Done: done("x1", "fp", 200)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Minute, Done: done("x1", "fp", 200)}); !errors.Is(err, idempotency.ErrKeyTaken) {
		t.Errorf("ExtendHold with a used key: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	rel, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: done("r1", "fp", 200)})
	if err != nil {
		t.Fatal(err)
	}
	if c := look("r1", "fp"); c.Outcome != idempotency.Replay || c.Status != 200 {
		t.Errorf("look after a claiming ReleaseHold = %+v, want replay of 200", c)
	}
	if rel.Status != holds.Released {
		t.Errorf("released hold status = %q", rel.Status)
	}

	// A keyed hold id (idempotency.HoldID) names the hold of a key: its twin, or
	// its retry after the hold was released, finds it instead of holding
	// again, even with the key itself gone (cleaned up).
	keyed := func(seats ...string) store.HoldCreateParams {
		nh := newHold(seats...)
		nh.ID = idempotency.HoldID("alice's digest", "keyed")
		return nh
	}
	kh, err := f.s.HoldCreate(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201))
	if err != nil {
		t.Fatal(err)
	}
	if kh.ID != idempotency.HoldID("alice's digest", "keyed") {
		t.Fatalf("keyed hold id = %s", kh.ID)
	}
	if _, err := f.s.IdempotencyKeyDeleteOlderThan(f.ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HoldCreate(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201)); !errors.Is(err, idempotency.ErrKeyTaken) {
		t.Errorf("twin of a keyed hold on its seats: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	if _, err := f.s.HoldCreate(f.ctx, keyed("12C"), done("keyed", "fp", 201)); !errors.Is(err, idempotency.ErrKeyTaken) {
		t.Errorf("keyed hold id reused on other seats: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	if st := f.seatStatus(t)["12C"]; st != flights.Available {
		t.Errorf("12C is %q after a refused keyed hold, want available", st)
	}
	if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: kh.ID, Done: nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HoldCreate(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201)); !errors.Is(err, idempotency.ErrKeyTaken) {
		t.Errorf("keyed hold again after its release: err = %v, want ErrIdempotencyKeyTaken", err)
	}
}

func testCompletionInTransaction(t *testing.T, f *fixture) {
	claimed := func(key string) {
		t.Helper()
		if c, err := f.s.IdempotencyKeyClaim(f.ctx, idempotency.ClaimParams{KeyID: f.alice, Key: key, Fingerprint: "fp", Lease: time.Minute}); err != nil || c.Outcome != idempotency.Proceed {
			t.Fatalf("claim %s: %+v %v", key, c, err)
		}
	}
	holdDone := func(key string, status int) *idempotency.Completion[holds.Hold] {
		claimed(key)
		return &idempotency.Completion[holds.Hold]{KeyID: f.alice, Key: key, Status: status, Render: renderHold}
	}
	bookingDone := func(key string, status int) *idempotency.Completion[bookings.Booking] {
		claimed(key)
		return &idempotency.Completion[bookings.Booking]{KeyID: f.alice, Key: key, Status: status, Render: renderBooking}
	}
	replay := func(key string) idempotency.Claim {
		c, err := f.s.IdempotencyKeyClaim(f.ctx, idempotency.ClaimParams{KeyID: f.alice, Key: key, Fingerprint: "fp", Lease: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	h, err := f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"12C"}}}, holdDone("hold", 201))
	if err != nil {
		t.Fatal(err)
	}
	c := replay("hold")
	want, _ := renderHold(h)
	if c.Outcome != idempotency.Replay || c.Status != 201 || string(c.Body) != string(want) {
		t.Errorf("replay after CreateHold = %+v %s, want 201 %s", c, c.Body, want)
	}
	// A failed effect stores nothing: the key stays running for the caller to settle.
	_, err = f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"12C"}}}, holdDone("taken", 201))
	if err == nil {
		t.Fatal("held a taken seat")
	}
	if c := replay("taken"); c.Outcome != idempotency.InFlight {
		t.Errorf("key of a failed effect = %v, want still running", c.Outcome)
	}
	p, err := f.begin(t, h, "tok_visa")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch", Done: bookingDone("book", 201)})
	if err != nil {
		t.Fatal(err)
	}
	want, _ = renderBooking(b)
	if c := replay("book"); c.Outcome != idempotency.Replay || string(c.Body) != string(want) {
		t.Errorf("replay after CompleteBooking = %+v %s", c, c.Body)
	}
	// Each op runs its effect under a completion of the key op.key and
	// returns the body a replay must send.
	for _, op := range []struct {
		key string
		run func(key string) ([]byte, error)
	}{
		{"cancel", func(key string) ([]byte, error) {
			b, err := f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.alice, ID: b.ID, Done: bookingDone(key, 200)})
			if err != nil {
				return nil, err
			}
			return renderBooking(b)
		}},
		{"extend", func(key string) ([]byte, error) {
			id := f.mustHold(t, f.alice, time.Minute, "11F").ID
			h, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: id, TTL: time.Minute, Done: holdDone(key, 200)})
			if err != nil {
				return nil, err
			}
			return renderHold(h)
		}},
		{"release", func(key string) ([]byte, error) {
			id := f.mustHold(t, f.alice, time.Minute, "12D").ID
			h, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: id, Done: holdDone(key, 200)})
			if err != nil {
				return nil, err
			}
			return renderHold(h)
		}},
	} {
		want, err := op.run(op.key)
		if err != nil {
			t.Fatalf("%s: %v", op.key, err)
		}
		if c := replay(op.key); c.Outcome != idempotency.Replay || c.Status != 200 || string(c.Body) != string(want) {
			t.Errorf("replay after %s = %+v %s, want %s", op.key, c, c.Body, want)
		}
	}
}
