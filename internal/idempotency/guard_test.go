package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/idempotency"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/sqlite"
)

// newStore returns the embedded engine on disk, the real bookkeeping, with
// an API key to scope idempotency keys to.
func newStore(t *testing.T) (*sqlite.Store, int64) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "reservd.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	keyID, err := s.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: "alice", Digest: []byte("alice's digest")})
	if err != nil {
		t.Fatalf("create API key: %v", err)
	}
	return s, keyID
}

// counted is a request handler that counts its runs and answers status.
type counted struct {
	runs   int
	status int
	body   string
}

func (c *counted) run(ctx context.Context) idempotency.Ran {
	c.runs++
	return idempotency.Ran{Status: c.status, Body: []byte(c.body)}
}

func wantRefusal(t *testing.T, err error, status int, code string, retryAfter int) {
	t.Helper()
	var e *idempotency.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code || e.RetryAfter != retryAfter {
		t.Fatalf("err = %v, want %d %s (Retry-After %d)", err, status, code, retryAfter)
	}
}

func TestGuardReplaysAndRefuses(t *testing.T) {
	t.Parallel()
	s, alice := newStore(t)
	g := idempotency.NewGuard(s, slog.New(slog.DiscardHandler), 0)
	req := idempotency.Request{KeyID: alice, Secret: "alice's digest", Key: "k1", Fingerprint: idempotency.Fingerprint("POST", "/bookings", []byte(`{}`))}
	h := &counted{status: 201, body: `{"data":{"id":"bkg_1"}}`}

	ans, err := g.Do(t.Context(), req, h.run)
	if err != nil || ans.Replayed || ans.Status != 201 || string(ans.Body) != h.body || h.runs != 1 {
		t.Fatalf("first Do = %+v, %v after %d runs; want the run's 201", ans, err, h.runs)
	}
	// The same request again: the stored status and body, not a second run.
	ans, err = g.Do(t.Context(), req, h.run)
	if err != nil || !ans.Replayed || ans.Status != 201 || string(ans.Body) != h.body || h.runs != 1 {
		t.Fatalf("repeat Do = %+v, %v after %d runs; want a replay of 201", ans, err, h.runs)
	}
	// The same key on another request: 422, nothing runs.
	other := req
	other.Fingerprint = idempotency.Fingerprint("POST", "/bookings", []byte(`{"other":1}`))
	_, err = g.Do(t.Context(), other, h.run)
	wantRefusal(t, err, 422, "idempotency_key_reused", 0)
	if h.runs != 1 {
		t.Errorf("a reused key ran the request (%d runs)", h.runs)
	}
}

func TestGuardInFlight(t *testing.T) {
	t.Parallel()
	s, alice := newStore(t)
	g := idempotency.NewGuard(s, slog.New(slog.DiscardHandler), 0)
	req := idempotency.Request{KeyID: alice, Key: "k1", Fingerprint: "fp"}
	var twinErr error
	twinRan := false
	ans, err := g.Do(t.Context(), req, func(ctx context.Context) idempotency.Ran {
		// A twin arrives while the first request runs.
		_, twinErr = g.Do(context.WithoutCancel(ctx), req, func(context.Context) idempotency.Ran {
			twinRan = true
			return idempotency.Ran{Status: 201}
		})
		return idempotency.Ran{Status: 201, Body: []byte("first")}
	})
	if err != nil || ans.Status != 201 || string(ans.Body) != "first" {
		t.Fatalf("first Do = %+v, %v", ans, err)
	}
	wantRefusal(t, twinErr, 409, "idempotency_key_in_use", 1)
	if twinRan {
		t.Error("the twin ran while the first request held the key")
	}
}

func TestGuardStoresOnlyStorableAnswers(t *testing.T) {
	t.Parallel()
	s, alice := newStore(t)
	g := idempotency.NewGuard(s, slog.New(slog.DiscardHandler), 0)
	for _, tc := range []struct {
		status int
		stored bool
	}{
		{200, true}, {201, true}, {400, true}, {402, true}, {404, true}, {422, true},
		{409, false}, {429, false}, {500, false}, {503, false},
	} {
		for _, inTx := range []bool{false, true} {
			req := idempotency.Request{KeyID: alice, Key: fmt.Sprintf("status-%d-%v", tc.status, inTx), Fingerprint: "fp", InTx: inTx}
			h := &counted{status: tc.status, body: "answer"}
			if ans, err := g.Do(t.Context(), req, h.run); err != nil || ans.Replayed || ans.Status != tc.status {
				t.Fatalf("%d (inTx %v): first Do = %+v, %v", tc.status, inTx, ans, err)
			}
			h.body = "second answer"
			ans, err := g.Do(t.Context(), req, h.run)
			if err != nil {
				t.Fatalf("%d (inTx %v): second Do: %v", tc.status, inTx, err)
			}
			// In a transaction the repeat runs (its transaction would find
			// the key taken, or fail as before without an effect), but the
			// stored answer is what is sent.
			wantRuns := 1
			if inTx {
				wantRuns = 2
			}
			if tc.stored && (!ans.Replayed || ans.Status != tc.status || string(ans.Body) != "answer" || h.runs != wantRuns) {
				t.Errorf("%d (inTx %v) should be stored: second Do = %+v after %d runs", tc.status, inTx, ans, h.runs)
			}
			if !tc.stored && (ans.Replayed || string(ans.Body) != "second answer" || h.runs != 2) {
				t.Errorf("%d (inTx %v) should not be stored: second Do = %+v after %d runs", tc.status, inTx, ans, h.runs)
			}
		}
	}
}

// txRun stands for a handler whose effect is one store transaction that
// claims its key (Completion.Claim): it stores its answer with the effect,
// or finds the key taken and rolls back. The engines do this in one
// statement; here a claim and a completion play it.
func txRun(t *testing.T, s idempotency.Store, runs *int, status int, body string) idempotency.RunFunc {
	return func(ctx context.Context) idempotency.Ran {
		*runs++
		done := idempotency.Complete(ctx, status, func(v string) ([]byte, error) { return []byte(v), nil })
		if done == nil {
			t.Fatal("Complete = nil inside Do")
		}
		if done.Claim {
			c, err := s.IdempotencyKeyClaim(ctx, idempotency.ClaimParams{KeyID: done.KeyID, Key: done.Key, Fingerprint: done.Fingerprint, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if c.Outcome != idempotency.Proceed {
				return idempotency.Ran{Taken: true}
			}
		}
		b, err := done.Render(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.IdempotencyKeyComplete(ctx, idempotency.CompleteParams{KeyID: done.KeyID, Key: done.Key, Status: done.Status, Body: b}); err != nil {
			t.Fatal(err)
		}
		return idempotency.Ran{Status: status, Body: b}
	}
}

func TestGuardInTransaction(t *testing.T) {
	t.Parallel()
	s, alice := newStore(t)
	g := idempotency.NewGuard(s, slog.New(slog.DiscardHandler), 0)
	req := idempotency.Request{KeyID: alice, Secret: "alice's digest", Key: "tx", Fingerprint: "fp", InTx: true}
	runs := 0
	ans, err := g.Do(t.Context(), req, txRun(t, s, &runs, 201, "hold"))
	if err != nil || ans.Replayed || ans.Status != 201 || string(ans.Body) != "hold" || runs != 1 {
		t.Fatalf("first Do = %+v, %v after %d runs", ans, err, runs)
	}
	// The twin's transaction finds the key taken; it is answered from storage.
	ans, err = g.Do(t.Context(), req, txRun(t, s, &runs, 201, "another hold"))
	if err != nil || !ans.Replayed || ans.Status != 201 || string(ans.Body) != "hold" {
		t.Fatalf("twin Do = %+v, %v; want a replay of the first hold", ans, err)
	}
	other := req
	other.Fingerprint = "other"
	_, err = g.Do(t.Context(), other, txRun(t, s, &runs, 201, "x"))
	wantRefusal(t, err, 422, "idempotency_key_reused", 0)
}

func TestCompleteOutsideDo(t *testing.T) {
	t.Parallel()
	if c := idempotency.Complete(t.Context(), 201, func(string) ([]byte, error) { return nil, nil }); c != nil {
		t.Errorf("Complete without a key = %+v, want nil", c)
	}
}

func TestRetentionKeepsThePromise(t *testing.T) {
	t.Parallel()
	if idempotency.Retention < idempotency.MinRetention {
		t.Errorf("Retention %v is under the promised %v", idempotency.Retention, idempotency.MinRetention)
	}
}

// TestGuardLease: a key whose request died (runtime.Goexit stands for
// kill -9: nothing after it runs, the key is never settled) is refused as in
// use until the Guard's lease runs out, then taken over by a repeat; and
// every run has half the lease to finish, so no live request outlives it.
func TestGuardLease(t *testing.T) {
	t.Parallel()
	s, alice := newStore(t)
	const lease = 2 * time.Second
	g := idempotency.NewGuard(s, slog.New(slog.DiscardHandler), lease)
	req := idempotency.Request{KeyID: alice, Key: "dies", Fingerprint: "fp"}
	claimed := time.Now()
	died := make(chan struct{})
	go func() {
		defer close(died)
		g.Do(t.Context(), req, func(ctx context.Context) idempotency.Ran {
			runtime.Goexit()
			return idempotency.Ran{}
		})
	}()
	<-died
	h := &counted{status: 201, body: "retried"}
	_, err := g.Do(t.Context(), req, h.run)
	wantRefusal(t, err, 409, "idempotency_key_in_use", 1)
	var ans idempotency.Answer
	for {
		ans, err = g.Do(t.Context(), req, h.run)
		if err == nil || time.Since(claimed) > 3*lease {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if waited := time.Since(claimed); err != nil || ans.Status != 201 || h.runs != 1 || waited < lease || waited > lease+time.Second {
		t.Fatalf("repeat after the lease = %+v, %v after %s and %d runs; want one run of 201 once %s passed", ans, err, waited, h.runs, lease)
	}

	for _, inTx := range []bool{false, true} {
		var left time.Duration
		var ok bool
		req := idempotency.Request{KeyID: alice, Key: fmt.Sprintf("limit-%v", inTx), Fingerprint: "fp", InTx: inTx}
		g.Do(t.Context(), req, func(ctx context.Context) idempotency.Ran {
			var deadline time.Time
			deadline, ok = ctx.Deadline()
			left = time.Until(deadline)
			return idempotency.Ran{Status: 404}
		})
		if limit := idempotency.RunLimit(lease); !ok || left > limit || left < limit/2 || limit >= lease {
			t.Errorf("inTx %v: run had %v left (deadline set %v), want at most RunLimit %s, under the lease %s", inTx, left, ok, limit, lease)
		}
	}
}
