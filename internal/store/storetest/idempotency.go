package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
)

func testIdempotencyKeys(t *testing.T, f *fixture) {
	claim := func(key, fp string, lease time.Duration) store.IdemClaim {
		t.Helper()
		c, err := f.s.IdempotencyKeyClaim(f.ctx, store.IdempotencyKeyClaimParams{KeyID: f.alice, Key: key, Fingerprint: fp, Lease: lease})
		if err != nil {
			t.Fatalf("ClaimIdempotencyKey: %v", err)
		}
		return c
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != store.IdemProceed {
		t.Fatalf("first claim = %v, want proceed", c.Outcome)
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != store.IdemInFlight {
		t.Errorf("claim while running = %v, want in flight", c.Outcome)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != store.IdemMismatch {
		t.Errorf("claim with another request = %v, want mismatch", c.Outcome)
	}
	// Keys are scoped to the API key.
	if c, err := f.s.IdempotencyKeyClaim(f.ctx, store.IdempotencyKeyClaimParams{KeyID: f.bob, Key: "k1", Fingerprint: "fp2", Lease: time.Minute}); err != nil || c.Outcome != store.IdemProceed {
		t.Errorf("bob's claim of alice's key = %v, %v; want proceed", c.Outcome, err)
	}
	if err := f.s.IdempotencyKeyComplete(f.ctx, store.IdempotencyKeyCompleteParams{KeyID: f.alice, Key: "k1", Status: 201, Body: []byte(`{"data":1}`)}); err != nil {
		t.Fatal(err)
	}
	if c := claim("k1", "fp1", time.Minute); c.Outcome != store.IdemReplay || c.Status != 201 || string(c.Body) != `{"data":1}` {
		t.Errorf("claim after completion = %+v, want replay of 201", c)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != store.IdemMismatch {
		t.Errorf("completed key with another request = %v, want mismatch", c.Outcome)
	}
	// Completing again never overwrites a stored response.
	f.s.IdempotencyKeyComplete(f.ctx, store.IdempotencyKeyCompleteParams{KeyID: f.alice, Key: "k1", Status: 500, Body: []byte("x")})
	if c := claim("k1", "fp1", time.Minute); c.Status != 201 {
		t.Errorf("stored response overwritten: %+v", c)
	}
	// Released keys run again.
	claim("k2", "fp", time.Minute)
	if err := f.s.IdempotencyKeyRelease(f.ctx, f.alice, "k2"); err != nil {
		t.Fatal(err)
	}
	if c := claim("k2", "fp", time.Minute); c.Outcome != store.IdemProceed {
		t.Errorf("claim after release = %v, want proceed", c.Outcome)
	}
	// A running key whose lease ran out (its request died) can be taken over.
	claim("k3", "fp", time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if c := claim("k3", "fp", time.Minute); c.Outcome != store.IdemProceed {
		t.Errorf("claim of an abandoned key = %v, want proceed", c.Outcome)
	}
	time.Sleep(10 * time.Millisecond)
	n, err := f.s.IdempotencyKeyDeleteOlderThan(f.ctx, 0)
	if err != nil || n != 4 {
		t.Errorf("DeleteIdempotencyKeys = %d, %v; want 4", n, err)
	}
	if c := claim("k1", "fp2", time.Minute); c.Outcome != store.IdemProceed {
		t.Errorf("claim after cleanup = %v, want proceed", c.Outcome)
	}
}

// testClaimInTransaction covers Completion.Claim: the effect's transaction
// inserts its idempotency key already done, and an effect whose key exists
// rolls back entirely; IdempotencyKey only looks.
// renderResult stands for the API's rendering of a stored answer.
func renderResult(v any) ([]byte, error) {
	switch r := v.(type) {
	case holds.Hold:
		return json.Marshal(map[string]any{"id": r.ID, "status": r.Status, "seats": r.Seats})
	case bookings.Booking:
		return json.Marshal(map[string]any{"id": r.ID, "status": r.Status})
	}
	return nil, fmt.Errorf("unexpected %T", v)
}

func testClaimInTransaction(t *testing.T, f *fixture) {
	done := func(key, fp string, status int) *store.Completion {
		return &store.Completion{KeyID: f.alice, Key: key, Fingerprint: fp, Claim: true, Status: status, Render: renderResult}
	}
	look := func(key, fp string) store.IdemClaim {
		t.Helper()
		c, err := f.s.IdempotencyKeyGet(f.ctx, store.IdempotencyKeyGetParams{KeyID: f.alice, Key: key, Fingerprint: fp})
		if err != nil {
			t.Fatalf("IdempotencyKey: %v", err)
		}
		return c
	}
	newHold := func(seats ...string) store.HoldCreateParams {
		return store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
			Request: holds.Request{FlightID: f.flight.ID, Seats: seats}}
	}
	if c := look("h1", "fp"); c.Outcome != store.IdemProceed {
		t.Fatalf("look at an unused key = %v, want proceed", c.Outcome)
	}
	h, err := f.s.HoldCreate(f.ctx, newHold("11A"), done("h1", "fp", 201))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := renderResult(h)
	if c := look("h1", "fp"); c.Outcome != store.IdemReplay || c.Status != 201 || string(c.Body) != string(want) {
		t.Errorf("look after the claiming CreateHold = %+v %s, want replay of 201 %s", c, c.Body, want)
	}
	if c := look("h1", "other"); c.Outcome != store.IdemMismatch {
		t.Errorf("look with another fingerprint = %v, want mismatch", c.Outcome)
	}
	// Looking claims nothing and the classic claim sees the stored answer.
	if c, err := f.s.IdempotencyKeyClaim(f.ctx, store.IdempotencyKeyClaimParams{KeyID: f.alice, Key: "h1", Fingerprint: "fp", Lease: time.Minute}); err != nil || c.Outcome != store.IdemReplay {
		t.Errorf("ClaimIdempotencyKey after a claiming CreateHold = %+v, %v; want replay", c, err)
	}
	before := f.available(t)
	events := len(f.events(t))

	// The same key again: nothing happens, whatever the seats.
	_, err = f.s.HoldCreate(f.ctx, newHold("11B"), done("h1", "fp", 201))
	if !errors.Is(err, store.ErrIdempotencyKeyTaken) {
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
	if c, err := f.s.IdempotencyKeyClaim(f.ctx, store.IdempotencyKeyClaimParams{KeyID: f.alice, Key: "run", Fingerprint: "fp", Lease: time.Minute}); err != nil || c.Outcome != store.IdemProceed {
		t.Fatalf("claim run: %+v %v", c, err)
	}
	if c := look("run", "fp"); c.Outcome != store.IdemInFlight {
		t.Errorf("look at a running key = %v, want in flight", c.Outcome)
	}
	if _, err := f.s.HoldCreate(f.ctx, newHold("11C"), done("run", "fp", 201)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("CreateHold claiming a running key: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	// A failed effect claims nothing.
	if _, err := f.s.HoldCreate(f.ctx, newHold("11A"), done("h2", "fp", 201)); err == nil {
		t.Fatal("held a held seat")
	}
	if c := look("h2", "fp"); c.Outcome != store.IdemProceed {
		t.Errorf("look after a failed claiming CreateHold = %v, want proceed", c.Outcome)
	}
	// Other single-transaction effects claim the same way.
	if _, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Minute, Done: done("x1", "fp", 200)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: h.ID, TTL: time.Minute, Done: done("x1", "fp", 200)}); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("ExtendHold with a used key: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	rel, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: h.ID, Done: done("r1", "fp", 200)})
	if err != nil {
		t.Fatal(err)
	}
	if c := look("r1", "fp"); c.Outcome != store.IdemReplay || c.Status != 200 {
		t.Errorf("look after a claiming ReleaseHold = %+v, want replay of 200", c)
	}
	if rel.Status != holds.Released {
		t.Errorf("released hold status = %q", rel.Status)
	}

	// A keyed hold id (holds.KeyedID) names the hold of a key: its twin, or
	// its retry after the hold was released, finds it instead of holding
	// again, even with the key itself gone (cleaned up).
	keyed := func(seats ...string) store.HoldCreateParams {
		nh := newHold(seats...)
		nh.ID = holds.KeyedID("alice's digest", "keyed")
		return nh
	}
	kh, err := f.s.HoldCreate(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201))
	if err != nil {
		t.Fatal(err)
	}
	if kh.ID != holds.KeyedID("alice's digest", "keyed") {
		t.Fatalf("keyed hold id = %s", kh.ID)
	}
	if _, err := f.s.IdempotencyKeyDeleteOlderThan(f.ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HoldCreate(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("twin of a keyed hold on its seats: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	if _, err := f.s.HoldCreate(f.ctx, keyed("12C"), done("keyed", "fp", 201)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("keyed hold id reused on other seats: err = %v, want ErrIdempotencyKeyTaken", err)
	}
	if st := f.seatStatus(t)["12C"]; st != flights.Available {
		t.Errorf("12C is %q after a refused keyed hold, want available", st)
	}
	if _, err := f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: kh.ID, Done: nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.HoldCreate(f.ctx, keyed("12A", "12B"), done("keyed", "fp", 201)); !errors.Is(err, store.ErrIdempotencyKeyTaken) {
		t.Errorf("keyed hold again after its release: err = %v, want ErrIdempotencyKeyTaken", err)
	}
}

func testCompletionInTransaction(t *testing.T, f *fixture) {
	done := func(key string, status int) *store.Completion {
		if c, err := f.s.IdempotencyKeyClaim(f.ctx, store.IdempotencyKeyClaimParams{KeyID: f.alice, Key: key, Fingerprint: "fp", Lease: time.Minute}); err != nil || c.Outcome != store.IdemProceed {
			t.Fatalf("claim %s: %+v %v", key, c, err)
		}
		return &store.Completion{KeyID: f.alice, Key: key, Status: status, Render: renderResult}
	}
	replay := func(key string) store.IdemClaim {
		c, err := f.s.IdempotencyKeyClaim(f.ctx, store.IdempotencyKeyClaimParams{KeyID: f.alice, Key: key, Fingerprint: "fp", Lease: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	h, err := f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"12C"}}}, done("hold", 201))
	if err != nil {
		t.Fatal(err)
	}
	c := replay("hold")
	want, _ := renderResult(h)
	if c.Outcome != store.IdemReplay || c.Status != 201 || string(c.Body) != string(want) {
		t.Errorf("replay after CreateHold = %+v %s, want 201 %s", c, c.Body, want)
	}
	// A failed effect stores nothing: the key stays running for the caller to settle.
	_, err = f.s.HoldCreate(f.ctx, store.HoldCreateParams{ID: holds.NewID(), KeyID: f.alice, TTL: time.Minute, MaxLifetime: time.Hour,
		Request: holds.Request{FlightID: f.flight.ID, Seats: []string{"12C"}}}, done("taken", 201))
	if err == nil {
		t.Fatal("held a taken seat")
	}
	if c := replay("taken"); c.Outcome != store.IdemInFlight {
		t.Errorf("key of a failed effect = %v, want still running", c.Outcome)
	}
	p, err := f.begin(t, h, "tok_visa")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.s.BookingComplete(f.ctx, store.BookingCompleteParams{Payment: p, ChargeID: "ch", Done: done("book", 201)})
	if err != nil {
		t.Fatal(err)
	}
	want, _ = renderResult(b)
	if c := replay("book"); c.Outcome != store.IdemReplay || string(c.Body) != string(want) {
		t.Errorf("replay after CompleteBooking = %+v %s", c, c.Body)
	}
	for _, op := range []struct {
		key string
		run func(done *store.Completion) (any, error)
	}{
		{"cancel", func(d *store.Completion) (any, error) {
			return f.s.BookingCancel(f.ctx, store.BookingCancelParams{KeyID: f.alice, ID: b.ID, Done: d})
		}},
		{"extend", func(d *store.Completion) (any, error) {
			return f.s.HoldExtend(f.ctx, store.HoldExtendParams{KeyID: f.alice, ID: f.mustHold(t, f.alice, time.Minute, "11F").ID, TTL: time.Minute, Done: d})
		}},
		{"release", func(d *store.Completion) (any, error) {
			return f.s.HoldRelease(f.ctx, store.HoldReleaseParams{KeyID: f.alice, ID: f.mustHold(t, f.alice, time.Minute, "12D").ID, Done: d})
		}},
	} {
		res, err := op.run(done(op.key, 200))
		if err != nil {
			t.Fatalf("%s: %v", op.key, err)
		}
		want, _ := renderResult(res)
		if c := replay(op.key); c.Outcome != store.IdemReplay || c.Status != 200 || string(c.Body) != string(want) {
			t.Errorf("replay after %s = %+v %s, want %s", op.key, c, c.Body, want)
		}
	}
}
