package seatlock_test

import (
	"slices"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/seatlock"
)

// TestBatchCalls: AcquireMany answers as Acquire one op after another, and
// Settle releases, acquires and forgets in one call, on Redis (pipelined,
// also after Redis forgot its scripts) and on the in-process store.
func TestBatchCalls(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) seatlock.Locker{
		"memory": func(*testing.T) seatlock.Locker { return seatlock.NewMemory(nil) },
		"redis": func(t *testing.T) seatlock.Locker {
			r, c := newRedisStore(t)
			// Redis forgot every script (a restart): the pipeline sends them again.
			if err := c.ScriptFlush(t.Context()).Err(); err != nil {
				t.Fatalf("SCRIPT FLUSH: %v", err)
			}
			return r
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkBatchCalls(t, newStore(t))
		})
	}
}

// checkBatchCalls runs the batched calls on s and checks each answer.
func checkBatchCalls(t *testing.T, s seatlock.Locker) {
	t.Helper()
	ctx, fl := t.Context(), randomFlight()
	taken, err := seatlock.AcquireMany(ctx, s, []seatlock.SeatOp{
		{FlightID: fl, Seats: []string{"1A", "1B"}, Owner: "h1", TTL: time.Minute},
		{FlightID: fl, Seats: []string{"1B", "1C"}, Owner: "h2", TTL: time.Minute},
		{FlightID: fl, Seats: []string{"1B"}, Owner: "h1", TTL: time.Minute},
		{FlightID: fl + 1, Seats: []string{"1B"}, Owner: "h2", TTL: time.Minute},
	})
	if err != nil {
		t.Fatalf("AcquireMany: %v", err)
	}
	want := [][]string{nil, {"1B"}, nil, nil}
	if len(taken) != len(want) {
		t.Fatalf("AcquireMany = %v, want %v", taken, want)
	}
	for i := range want {
		if !slices.Equal(taken[i], want[i]) {
			t.Errorf("AcquireMany[%d] = %v, want %v", i, taken[i], want[i])
		}
	}
	if got, err := s.Acquire(ctx, fl, []string{"1C"}, "h9", time.Minute); err != nil || got != nil {
		t.Errorf("1C after a refused op = %v, %v; want free (all or nothing)", got, err)
	}
	err = seatlock.Settle(ctx, s,
		[]seatlock.SeatOp{{FlightID: fl, Seats: []string{"1A", "1B"}, Owner: "h1"}, {FlightID: fl + 1, Seats: []string{"1B"}, Owner: "nobody"}},
		[]seatlock.SeatOp{{FlightID: fl, Seats: []string{"1A"}, Owner: "h3", TTL: time.Minute}})
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if got, err := s.Acquire(ctx, fl, []string{"1A", "1B"}, "h4", time.Minute); err != nil || !slices.Equal(got, []string{"1A"}) {
		t.Errorf("after Settle: Acquire 1A 1B = %v, %v; want 1A taken (h3's), 1B free", got, err)
	}
	if got, err := s.Acquire(ctx, fl+1, []string{"1B"}, "h4", time.Minute); err != nil || !slices.Equal(got, []string{"1B"}) {
		t.Errorf("another owner's release took h2's key: Acquire = %v, %v", got, err)
	}
}

// TestOff: the seat fast path is off: nothing is ever taken.
func TestOff(t *testing.T) {
	t.Parallel()
	s, ctx := seatlock.Off{}, t.Context()
	for _, owner := range []string{"a", "b"} {
		if got, err := s.Acquire(ctx, 1, []string{"1A"}, owner, time.Minute); err != nil || got != nil {
			t.Fatalf("Off Acquire = %v, %v; want nothing taken, ever", got, err)
		}
	}
	if taken, err := seatlock.AcquireMany(ctx, s, []seatlock.SeatOp{{FlightID: 1, Seats: []string{"1A"}, Owner: "a", TTL: time.Minute},
		{FlightID: 1, Seats: []string{"1A"}, Owner: "b", TTL: time.Minute}}); err != nil || taken[0] != nil || taken[1] != nil {
		t.Fatalf("Off AcquireMany = %v, %v; want nothing taken", taken, err)
	}
}
