package reserve_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/reserve"
	"github.com/reservd/reservd/internal/store/storetest"
)

// Concurrent misses of one key share one load; what it loaded is served
// until the service itself changes the flight's seats, which forgets it at
// once (no waiting for ReadCacheTTL).
func TestCachedSharesLoadsAndForgetsOwnWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Engines["sqlite"], nil, nil)
	key := reserve.SeatsCacheKey(e.flight)
	var loads atomic.Int32
	release := make(chan struct{})
	load := func() ([]byte, error) {
		loads.Add(1)
		<-release
		return []byte("seat map"), nil
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			b, err := e.svc.Cached(t.Context(), key, load)
			if err != nil || string(b) != "seat map" {
				t.Errorf("Cached = %q, %v", b, err)
			}
		})
	}
	// Every caller is in flight by now (and without single flight each
	// would be loading); the one load answers them all.
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("10 concurrent misses ran %d loads, want 1", n)
	}
	if _, err := e.svc.Cached(t.Context(), key, load); err != nil || loads.Load() != 1 {
		t.Errorf("a cached key was loaded again (%d loads, %v)", loads.Load(), err)
	}
	e.hold(t, "10A")
	if _, err := e.svc.Cached(t.Context(), key, load); err != nil || loads.Load() != 2 {
		t.Errorf("after a hold on the flight: %d loads, %v; want the seat map loaded again", loads.Load(), err)
	}
}

// With ReadCacheTTL 0 every read loads.
func TestCachedOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Engines["sqlite"], nil, func(c *reserve.Config) { c.ReadCacheTTL = 0 })
	n := 0
	for range 3 {
		if _, err := e.svc.Cached(t.Context(), reserve.FlightCacheKey(e.flight), func() ([]byte, error) { n++; return nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n != 3 {
		t.Errorf("3 reads with the cache off ran %d loads", n)
	}
}
