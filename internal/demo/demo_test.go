package demo

import (
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
)

func TestCatalogueIsValid(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)
	cat := Catalogue(now)
	if len(cat) != Days*len(routes) {
		t.Fatalf("catalogue has %d flights, want %d", len(cat), Days*len(routes))
	}
	for _, f := range cat {
		if err := f.Validate(); err != nil {
			t.Errorf("%s on %s: %v", f.Number, f.DepartsAt, err)
		}
		if !f.DepartsAt.After(now) {
			t.Errorf("%s departs %s, not after now %s", f.Number, f.DepartsAt, now)
		}
		if len(f.Seats) != 3*4+21*6 {
			t.Errorf("%s has %d seats, want %d", f.Number, len(f.Seats), 3*4+21*6)
		}
		// The layout is stated, not left to the default, and every cabin
		// with seats has one: best available keeps pairs off the aisle.
		if f.Layout[flights.Economy] != "ABC DEF" || f.Layout[flights.Business] != "AC DF" || len(f.Layout) != 2 {
			t.Errorf("%s layout = %v, want economy ABC DEF and business AC DF", f.Number, f.Layout)
		}
	}
}

// TestDemoPairsAreCheapAndSideBySide replays the report that started the
// layout: "two seats side by side" on the demo catalogue came back across
// the aisle, at prices ~20% apart between tries.
func TestDemoPairsAreCheapAndSideBySide(t *testing.T) {
	t.Parallel()
	st := storetest.Engines["sqlite"](t)
	ctx := t.Context()
	if _, err := Seed(ctx, st, time.Now()); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	fl, err := st.FlightGet(ctx, 1)
	if err != nil || fl.Number != routes[0].number {
		t.Fatalf("first demo flight = %+v, %v; want %s", fl, err, routes[0].number)
	}
	_, digest := apikey.Generate()
	key, err := st.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: "customer", Digest: digest})
	if err != nil {
		t.Fatalf("APIKeyCreate: %v", err)
	}
	for range 30 {
		h, err := st.HoldCreate(ctx, store.HoldCreateParams{
			ID: holds.NewID(), KeyID: key, TTL: time.Minute, MaxLifetime: time.Hour,
			Request: holds.Request{FlightID: fl.ID, Cabin: flights.Economy, Quantity: 2},
		}, nil)
		if err != nil {
			t.Fatalf("best-available pair: %v", err)
		}
		seats := flights.SortSeatLabels(h.Seats)
		ra, la, _ := flights.ParseSeatLabel(seats[0])
		rb, lb, _ := flights.ParseSeatLabel(seats[1])
		if ra != rb || lb != la+1 || la == 'C' || h.Total.Amount != 2*routes[0].economy {
			t.Fatalf("pair = %v for %d, want neighbours on one side of the aisle for %d", seats, h.Total.Amount, 2*routes[0].economy)
		}
		if _, err := st.HoldRelease(ctx, store.HoldReleaseParams{KeyID: key, ID: h.ID}); err != nil {
			t.Fatalf("release: %v", err)
		}
	}
}

// TestEnsureKeepsFlightsAhead plays a returning user on day 8: the demo
// week seeded a week ago has departed, and starting again must put a fresh
// week of flights on sale, on both engines, while a catalogue with flights
// still to depart is left alone.
func TestEnsureKeepsFlightsAhead(t *testing.T) {
	t.Parallel()
	for name, newStore := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := newStore(t)
			now := time.Now()
			upcoming := func() []flights.Flight {
				t.Helper()
				list, err := st.FlightList(ctx, store.FlightListParams{Limit: 200})
				if err != nil {
					t.Fatalf("FlightList: %v", err)
				}
				return list
			}

			// First start: an empty catalogue is seeded.
			if n, err := Ensure(ctx, st, now.AddDate(0, 0, -8)); err != nil || n != Days*len(routes) {
				t.Fatalf("Ensure on an empty catalogue = %d, %v; want %d", n, err, Days*len(routes))
			}
			// Day 8: that week (seeded as of eight days ago) has departed.
			if got := upcoming(); len(got) != 0 {
				t.Fatalf("%d flights of last week's demo catalogue still listed, want none: %v", len(got), got[0])
			}
			n, err := Ensure(ctx, st, now)
			if err != nil || n != Days*len(routes) {
				t.Fatalf("Ensure with every flight departed = %d, %v; want %d", n, err, Days*len(routes))
			}
			got := upcoming()
			if len(got) != Days*len(routes) {
				t.Fatalf("%d flights on sale after Ensure, want %d", len(got), Days*len(routes))
			}
			for _, f := range got {
				if !f.DepartsAt.After(now) || f.SeatsAvailable != f.SeatsTotal {
					t.Errorf("%s departs %s (now %s), %d of %d seats free: want a future flight, all free",
						f.Number, f.DepartsAt, now, f.SeatsAvailable, f.SeatsTotal)
				}
			}
			// The departed week stays as history.
			all, err := st.FlightList(ctx, store.FlightListParams{Filter: flights.Filter{IncludeDeparted: true}, Limit: 200})
			if err != nil || len(all) != 2*Days*len(routes) {
				t.Errorf("FlightList including departed = %d flights, %v; want %d", len(all), err, 2*Days*len(routes))
			}

			// Next start, flights still ahead: nothing is added.
			if n, err := Ensure(ctx, st, now); err != nil || n != 0 {
				t.Errorf("Ensure with flights ahead = %d, %v; want 0", n, err)
			}
			if got := upcoming(); len(got) != Days*len(routes) {
				t.Errorf("%d flights on sale after a second Ensure, want %d", len(got), Days*len(routes))
			}
		})
	}
}
