package apikey

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"
)

func TestUsageBatchesUsesUntilFlushed(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	u := NewUsage(func() time.Time { return clock })
	var writes []map[int64]time.Time
	write := func(_ context.Context, m map[int64]time.Time) error {
		writes = append(writes, maps.Clone(m))
		return nil
	}
	if n, err := u.Flush(t.Context(), write); n != 0 || err != nil || len(writes) != 0 {
		t.Fatalf("Flush with no use = %d, %v and %d writes; want no write", n, err, len(writes))
	}
	// A thousand requests with two keys are two rows in one write.
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() { u.Record(int64(1 + i%2)) })
	}
	wg.Wait()
	clock = clock.Add(time.Second)
	u.Record(1)
	n, err := u.Flush(t.Context(), write)
	want := map[int64]time.Time{1: clock, 2: clock.Add(-time.Second)}
	if n != 2 || err != nil || len(writes) != 1 || !maps.Equal(writes[0], want) {
		t.Fatalf("Flush = %d, %v, writes %v; want one write of %v", n, err, writes, want)
	}
	if n, _ := u.Flush(t.Context(), write); n != 0 || len(writes) != 1 {
		t.Errorf("a second Flush with no new use wrote again (%d keys, %d writes)", n, len(writes))
	}
}

func TestUsageKeepsUsesAFailedFlushCouldNotWrite(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	u := NewUsage(func() time.Time { return clock })
	u.Record(1)
	u.Record(2)
	down := errors.New("database down")
	if _, err := u.Flush(t.Context(), func(context.Context, map[int64]time.Time) error { return down }); !errors.Is(err, down) {
		t.Fatalf("Flush error = %v, want %v", err, down)
	}
	clock = clock.Add(time.Minute)
	u.Record(2)
	want := map[int64]time.Time{1: clock.Add(-time.Minute), 2: clock}
	if got := u.Pending(); !maps.Equal(got, want) {
		t.Errorf("after a failed flush and a new use: pending %v, want %v", got, want)
	}
}
