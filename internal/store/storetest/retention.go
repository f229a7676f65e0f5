package storetest

import (
	"testing"
	"time"

	"github.com/reservd/reservd/internal/idempotency"
)

// testIdempotencyRetention covers IdempotencyKeyDeleteOlderThan' age: keys older than
// it go, younger ones stay and still replay. A store that deleted every key
// regardless of age passed the older case, which cleans up with age 0.
func testIdempotencyRetention(t *testing.T, f *fixture) {
	claim := func(key string) {
		t.Helper()
		c, err := f.s.IdempotencyKeyClaim(f.ctx, idempotency.ClaimParams{KeyID: f.alice, Key: key, Fingerprint: "fp", Lease: time.Minute})
		if err != nil || c.Outcome != idempotency.Proceed {
			t.Fatalf("claim %s = %v, %v; want proceed", key, c.Outcome, err)
		}
	}
	claim("old-running")
	claim("old-done")
	if err := f.s.IdempotencyKeyComplete(f.ctx, idempotency.CompleteParams{KeyID: f.alice, Key: "old-done", Status: 201, Body: []byte(`{"old":1}`)}); err != nil {
		t.Fatal(err)
	}
	// Keys are aged by the database's clock; the margins either side of the
	// retention (600 ms) are wide enough for a loaded machine.
	time.Sleep(1200 * time.Millisecond)
	claim("young-running")
	claim("young-done")
	if err := f.s.IdempotencyKeyComplete(f.ctx, idempotency.CompleteParams{KeyID: f.alice, Key: "young-done", Status: 201, Body: []byte(`{"young":1}`)}); err != nil {
		t.Fatal(err)
	}

	n, err := f.s.IdempotencyKeyDeleteOlderThan(f.ctx, 600*time.Millisecond)
	if err != nil || n != 2 {
		t.Errorf("IdempotencyKeyDeleteOlderThan(600ms) = %d, %v; want the 2 keys older than that", n, err)
	}
	for key, want := range map[string]idempotency.Outcome{
		"old-running":   idempotency.Proceed, // forgotten: the key runs anew
		"old-done":      idempotency.Proceed,
		"young-running": idempotency.InFlight, // kept
		"young-done":    idempotency.Replay,
	} {
		c, err := f.s.IdempotencyKeyClaim(f.ctx, idempotency.ClaimParams{KeyID: f.alice, Key: key, Fingerprint: "fp", Lease: time.Minute})
		if err != nil || c.Outcome != want {
			t.Errorf("claim %s after cleanup = %v, %v; want %v", key, c.Outcome, err, want)
		}
		if key == "young-done" && string(c.Body) != `{"young":1}` {
			t.Errorf("young-done replays %q, want its stored body", c.Body)
		}
	}
	// A long retention keeps everything left.
	if n, err := f.s.IdempotencyKeyDeleteOlderThan(f.ctx, 25*time.Hour); err != nil || n != 0 {
		t.Errorf("IdempotencyKeyDeleteOlderThan(25h) = %d, %v; want 0", n, err)
	}
}
