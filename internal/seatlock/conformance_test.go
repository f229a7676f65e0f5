package seatlock_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reservd/reservd/internal/seatlock"
)

// harness is one implementation under test.
type harness struct {
	store seatlock.Locker
	// short is a ttl that tests let elapse; long never elapses during a test.
	short, long time.Duration
	// pass lets d go by (fake clock for Memory, real time for Redis).
	pass func(d time.Duration)
	// eventually reports whether cond holds, now (Memory) or within a few
	// seconds of polling (Redis, whose expiry runs on its own clock).
	eventually func(cond func() bool) bool
	// raw, if set, reads a seat's owner straight from the backend.
	raw func(t *testing.T, flightID int64, label string) (string, bool)
}

var implementations = []struct {
	name string
	new  func(t *testing.T) *harness
}{
	{"memory", func(t *testing.T) *harness {
		clock := newFakeClock()
		return &harness{
			store:      seatlock.NewMemory(clock.Now),
			short:      150 * time.Millisecond,
			long:       time.Hour,
			pass:       clock.Advance,
			eventually: func(cond func() bool) bool { return cond() },
		}
	}},
	{"redis", func(t *testing.T) *harness {
		// A generous timeout: these tests check semantics, not latency
		// (TestRedisSlowServer checks the default bound), and run
		// alongside other packages' tests on the same Redis.
		r, c := newRedisStore(t, seatlock.WithTimeout(3*time.Second))
		return redisHarness(r, c)
	}},
}

// redisHarness is the harness of r, whose keys c reads (a server's or a
// cluster's client).
func redisHarness(r *seatlock.Redis, c redis.UniversalClient) *harness {
	return &harness{
		store: r,
		short: 150 * time.Millisecond,
		long:  time.Hour,
		pass:  time.Sleep,
		eventually: func(cond func() bool) bool {
			deadline := time.Now().Add(3 * time.Second)
			for {
				if cond() {
					return true
				}
				if time.Now().After(deadline) {
					return false
				}
				time.Sleep(20 * time.Millisecond)
			}
		},
		raw: func(t *testing.T, flightID int64, label string) (string, bool) {
			t.Helper()
			v, err := c.Get(context.Background(), r.SeatKey(flightID, label)).Result()
			if errors.Is(err, redis.Nil) {
				return "", false
			}
			if err != nil {
				t.Fatalf("raw GET: %v", err)
			}
			return v, true
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range conformanceTests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, impl.new(t))
				})
			}
		})
	}
}

// Helpers that fail the test on a fast-path error.

func acquire(t *testing.T, h *harness, flight int64, seats []string, owner string, ttl time.Duration) []string {
	t.Helper()
	taken, err := h.store.Acquire(t.Context(), flight, seats, owner, ttl)
	if err != nil {
		t.Fatalf("Acquire(%v, %q): %v", seats, owner, err)
	}
	return taken
}

func mustAcquire(t *testing.T, h *harness, flight int64, seats []string, owner string, ttl time.Duration) {
	t.Helper()
	if taken := acquire(t, h, flight, seats, owner, ttl); taken != nil {
		t.Fatalf("Acquire(%v, %q): taken %v, want nil", seats, owner, taken)
	}
}

func wantTaken(t *testing.T, h *harness, flight int64, seats []string, owner string, want []string) {
	t.Helper()
	got := acquire(t, h, flight, seats, owner, h.long)
	if !slices.Equal(got, want) {
		t.Fatalf("Acquire(%v, %q): taken %v, want %v", seats, owner, got, want)
	}
}

// free reports whether all seats can be acquired by a fresh owner, releasing
// them again if so.
func free(t *testing.T, h *harness, flight int64, seats ...string) bool {
	t.Helper()
	probe := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	if acquire(t, h, flight, seats, probe, h.long) != nil {
		return false
	}
	if err := h.store.Release(t.Context(), flight, seats, probe); err != nil {
		t.Fatalf("Release probe: %v", err)
	}
	return true
}

var conformanceTests = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"AcquireAllOrNothing", func(t *testing.T, h *harness) {
		f := randomFlight()
		mustAcquire(t, h, f, []string{"1A", "1B"}, "hold-a", h.long)
		// The second owner gets exactly the overlapping labels, in request order.
		wantTaken(t, h, f, []string{"1C", "1B", "1D", "1A"}, "hold-b", []string{"1B", "1A"})
		// None of hold-b's other seats were set.
		mustAcquire(t, h, f, []string{"1C", "1D"}, "hold-c", h.long)
		if h.raw != nil {
			for label, want := range map[string]string{"1A": "hold-a", "1B": "hold-a", "1C": "hold-c", "1D": "hold-c"} {
				if got, ok := h.raw(t, f, label); !ok || got != want {
					t.Errorf("raw %s = %q, %v; want %q", label, got, ok, want)
				}
			}
		}
		// Another flight's seats with the same labels are independent.
		mustAcquire(t, h, f+1, []string{"1A", "1B"}, "hold-b", h.long)
		// Duplicates in the request are harmless and reported once.
		wantTaken(t, h, f, []string{"1A", "1A", "1E"}, "hold-b", []string{"1A"})
		if !free(t, h, f, "1E") {
			t.Error("1E was set by a refused acquire")
		}
		// Nothing to acquire.
		mustAcquire(t, h, f, nil, "hold-b", h.long)
	}},
	{"ReacquireSameOwner", func(t *testing.T, h *harness) {
		f := randomFlight()
		mustAcquire(t, h, f, []string{"2A", "2B"}, "hold-a", h.short)
		mustAcquire(t, h, f, []string{"2A", "2B"}, "hold-a", h.long)
		mustAcquire(t, h, f, []string{"2B", "2C"}, "hold-a", h.long)
		// The re-acquire reset the ttl to long.
		h.pass(2 * h.short)
		wantTaken(t, h, f, []string{"2A", "2B", "2C"}, "hold-b", []string{"2A", "2B", "2C"})
	}},
	{"ReleaseOnlyByOwner", func(t *testing.T, h *harness) {
		f := randomFlight()
		ctx := t.Context()
		mustAcquire(t, h, f, []string{"3A", "3B"}, "hold-a", h.long)
		if err := h.store.Release(ctx, f, []string{"3A", "3B"}, "hold-b"); err != nil {
			t.Fatal(err)
		}
		wantTaken(t, h, f, []string{"3A", "3B"}, "hold-c", []string{"3A", "3B"})
		if err := h.store.Release(ctx, f, []string{"3A", "3Z"}, "hold-a"); err != nil {
			t.Fatal(err)
		}
		if !free(t, h, f, "3A") {
			t.Error("3A still taken after its owner released it")
		}
		wantTaken(t, h, f, []string{"3A", "3B"}, "hold-c", []string{"3B"})
		// Releasing nothing, or seats nobody holds, is fine.
		if err := h.store.Release(ctx, f, nil, "hold-a"); err != nil {
			t.Fatal(err)
		}
		if err := h.store.Release(ctx, f, []string{"3Y"}, "hold-a"); err != nil {
			t.Fatal(err)
		}
	}},
	{"Expiry", func(t *testing.T, h *harness) {
		f := randomFlight()
		mustAcquire(t, h, f, []string{"4A", "4B"}, "hold-a", h.short)
		wantTaken(t, h, f, []string{"4A"}, "hold-b", []string{"4A"})
		h.pass(h.short)
		if !h.eventually(func() bool { return acquire(t, h, f, []string{"4A", "4B"}, "hold-b", h.long) == nil }) {
			t.Fatal("seats still taken after their ttl")
		}
		wantTaken(t, h, f, []string{"4A", "4B"}, "hold-a", []string{"4A", "4B"})
	}},
	{"Extend", func(t *testing.T, h *harness) {
		f := randomFlight()
		ctx := t.Context()
		mustAcquire(t, h, f, []string{"5A", "5B"}, "hold-a", h.short)
		if err := h.store.Extend(ctx, f, []string{"5A", "5B"}, "hold-a", h.long); err != nil {
			t.Fatal(err)
		}
		// Extending someone else's seats does nothing.
		mustAcquire(t, h, f, []string{"5C"}, "hold-c", h.short)
		if err := h.store.Extend(ctx, f, []string{"5C"}, "hold-a", h.long); err != nil {
			t.Fatal(err)
		}
		h.pass(2 * h.short)
		wantTaken(t, h, f, []string{"5A", "5B"}, "hold-b", []string{"5A", "5B"})
		if !h.eventually(func() bool { return free(t, h, f, "5C") }) {
			t.Error("5C was extended by a non-owner")
		}
		// Extend can also shorten.
		if err := h.store.Extend(ctx, f, []string{"5A"}, "hold-a", h.short); err != nil {
			t.Fatal(err)
		}
		h.pass(h.short)
		if !h.eventually(func() bool { return free(t, h, f, "5A") }) {
			t.Error("5A still taken after its extended ttl")
		}
		wantTaken(t, h, f, []string{"5B"}, "hold-b", []string{"5B"})
		if err := h.store.Extend(ctx, f, []string{"5B"}, "hold-a", 0); !errors.Is(err, seatlock.ErrInvalid) {
			t.Errorf("Extend ttl 0: %v, want ErrInvalid", err)
		}
	}},
	{"Transfer", func(t *testing.T, h *harness) {
		f := randomFlight()
		ctx := t.Context()
		mustAcquire(t, h, f, []string{"6A", "6B"}, "hold-a", h.short)
		mustAcquire(t, h, f, []string{"6C"}, "hold-d", h.long)
		// Hand over to the booking with no expiry; 6C is not hold-a's and stays hold-d's.
		if err := h.store.Transfer(ctx, f, []string{"6A", "6B", "6C", "6Z"}, "hold-a", "booking-1", 0); err != nil {
			t.Fatal(err)
		}
		// The old owner can no longer release, nor re-acquire.
		if err := h.store.Release(ctx, f, []string{"6A", "6B"}, "hold-a"); err != nil {
			t.Fatal(err)
		}
		wantTaken(t, h, f, []string{"6A", "6B"}, "hold-a", []string{"6A", "6B"})
		// ttl 0 persists past the hold's ttl.
		h.pass(2 * h.short)
		wantTaken(t, h, f, []string{"6A", "6B", "6C", "6Z"}, "hold-x", []string{"6A", "6B", "6C"})
		if !free(t, h, f, "6Z") {
			t.Error("6Z was set by a transfer from a non-owner")
		}
		if h.raw != nil {
			for label, want := range map[string]string{"6A": "booking-1", "6B": "booking-1", "6C": "hold-d"} {
				if got, ok := h.raw(t, f, label); !ok || got != want {
					t.Errorf("raw %s = %q, %v; want %q", label, got, ok, want)
				}
			}
		}
		// The new owner can release.
		if err := h.store.Release(ctx, f, []string{"6A"}, "booking-1"); err != nil {
			t.Fatal(err)
		}
		if !free(t, h, f, "6A") {
			t.Error("6A still taken after the booking released it")
		}
		// A transfer with a ttl expires.
		if err := h.store.Transfer(ctx, f, []string{"6B"}, "booking-1", "booking-2", h.short); err != nil {
			t.Fatal(err)
		}
		wantTaken(t, h, f, []string{"6B"}, "hold-x", []string{"6B"})
		h.pass(h.short)
		if !h.eventually(func() bool { return free(t, h, f, "6B") }) {
			t.Error("6B still taken after the transfer ttl")
		}
		if err := h.store.Transfer(ctx, f, []string{"6C"}, "hold-d", "booking-3", -time.Second); !errors.Is(err, seatlock.ErrInvalid) {
			t.Errorf("Transfer negative ttl: %v, want ErrInvalid", err)
		}
	}},
	{"InvalidArguments", func(t *testing.T, h *harness) {
		f := randomFlight()
		ctx := t.Context()
		for name, err := range map[string]error{
			"empty owner": func() error { _, err := h.store.Acquire(ctx, f, []string{"7A"}, "", h.long); return err }(),
			"zero ttl":    func() error { _, err := h.store.Acquire(ctx, f, []string{"7A"}, "hold-a", 0); return err }(),
			"empty label": func() error { _, err := h.store.Acquire(ctx, f, []string{"7A", ""}, "hold-a", h.long); return err }(),
			"release":     h.store.Release(ctx, f, []string{"7A"}, ""),
			"transfer to": h.store.Transfer(ctx, f, []string{"7A"}, "hold-a", "", 0),
		} {
			if !errors.Is(err, seatlock.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if !free(t, h, f, "7A") {
			t.Error("an invalid call set 7A")
		}
	}},
	{"ConcurrentAcquire", func(t *testing.T, h *harness) {
		f := randomFlight()
		labels := []string{"8A", "8B", "8C", "8D", "8E", "8F", "8G", "8H", "8J", "8K"}
		const n = 50
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners = map[string][]string{}
			start   = make(chan struct{})
		)
		for i := range n {
			owner := fmt.Sprintf("hold-%d", i)
			seats := labels[i%8 : i%8+3]
			wg.Go(func() {
				<-start
				taken, err := h.store.Acquire(t.Context(), f, seats, owner, h.long)
				if err != nil {
					t.Errorf("Acquire %s: %v", owner, err)
					return
				}
				if taken == nil {
					mu.Lock()
					winners[owner] = seats
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) == 0 {
			t.Fatal("nobody acquired anything")
		}
		holder := map[string]string{}
		for owner, seats := range winners {
			for _, s := range seats {
				if other, dup := holder[s]; dup {
					t.Errorf("seat %s acquired by both %s and %s", s, other, owner)
				}
				holder[s] = owner
			}
		}
		for _, s := range labels {
			owner, claimed := holder[s]
			if h.raw != nil {
				got, ok := h.raw(t, f, s)
				if ok != claimed || got != owner {
					t.Errorf("raw %s = %q, %v; want %q, %v", s, got, ok, owner, claimed)
				}
			}
			if claimed {
				wantTaken(t, h, f, []string{s}, "probe", []string{s})
				mustAcquire(t, h, f, []string{s}, owner, h.long)
			} else if !free(t, h, f, s) {
				t.Errorf("seat %s is set but nobody won it", s)
			}
		}
	}},
}
