package seatlock_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/seatlock"
)

func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := seatlock.NewMemory(nil, seatlock.WithMaxSeats(100))
	for i := range 1000 {
		if taken, err := m.Acquire(ctx, 1, []string{fmt.Sprint(2 * i), fmt.Sprint(2*i + 1)}, fmt.Sprint("hold-", i), time.Hour); err != nil {
			t.Fatal(err)
		} else if taken != nil {
			t.Fatalf("taken %v", taken)
		}
		if seats := m.Len(); seats > 100 {
			t.Fatalf("after %d writes: %d seats; cap is 100", i+1, seats)
		}
	}
	// The latest writes are always kept (the cache's half of this test is
	// internal/cache's TestMemoryBounded).
	if taken, _ := m.Acquire(ctx, 1, []string{"1998", "1999"}, "other", time.Hour); len(taken) != 2 {
		t.Errorf("latest seats evicted: taken %v", taken)
	}
	if _, err := m.Acquire(ctx, 1, make([]string, 101), "x", time.Hour); err == nil {
		t.Error("acquiring more seats than the cap succeeded")
	}
}

func TestMemoryPrunesExpired(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	m := seatlock.NewMemory(clock.Now)
	write := func(round string) {
		for i := range 5000 {
			if _, err := m.Acquire(ctx, 1, []string{fmt.Sprint(round, i)}, "hold", time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("a")
	clock.Advance(2 * time.Second)
	write("b")
	// Without pruning there would be 10000; the first round expired.
	if seats := m.Len(); seats != 5000 {
		t.Errorf("%d seats; want 5000 live seats", seats)
	}
}

func TestMemoryCancelledContext(t *testing.T) {
	t.Parallel()
	m := seatlock.NewMemory(nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Acquire(ctx, 1, []string{"1A"}, "hold", time.Minute); err == nil {
		t.Error("Acquire with a cancelled context succeeded")
	}
	if taken, err := m.Acquire(t.Context(), 1, []string{"1A"}, "other", time.Minute); err != nil || taken != nil {
		t.Errorf("a cancelled Acquire left state: %v, %v", taken, err)
	}
}
