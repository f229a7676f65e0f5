package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/store"
)

// Flight builds a valid new flight with rows business rows of 4 seats and
// economy rows of 6 seats, priced per cabin.
func Flight(number, origin, destination string, departs time.Time, business, economy int) flights.NewFlight {
	f := flights.NewFlight{
		Number: number, Origin: origin, Destination: destination,
		DepartsAt: departs, ArrivesAt: departs.Add(5*time.Hour + 20*time.Minute),
	}
	for r := 1; r <= business; r++ {
		for _, l := range "ACDF" {
			f.Seats = append(f.Seats, flights.NewSeat{Label: fmt.Sprintf("%d%c", r, l), Cabin: flights.Business, Price: money.Money{Amount: 89900, Currency: "USD"}})
		}
	}
	for r := 10; r < 10+economy; r++ {
		for _, l := range "ABCDEF" {
			f.Seats = append(f.Seats, flights.NewSeat{Label: fmt.Sprintf("%d%c", r, l), Cabin: flights.Economy, Price: money.Money{Amount: 12900 + int64(r), Currency: "USD"}})
		}
	}
	return f
}

func testFlights(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := t.Context()
	nf := Flight("UA123", "SFO", "JFK", base, 2, 3)
	// Seats arrive out of order; the store orders them by row then letter.
	nf.Seats[0], nf.Seats[len(nf.Seats)-1] = nf.Seats[len(nf.Seats)-1], nf.Seats[0]
	created, err := s.FlightCreate(ctx, nf)
	if err != nil {
		t.Fatalf("CreateFlight: %v", err)
	}
	if created.ID <= 0 {
		t.Fatalf("created flight id = %d, want > 0", created.ID)
	}
	got, err := s.FlightGet(ctx, created.ID)
	if err != nil {
		t.Fatalf("Flight(%d): %v", created.ID, err)
	}
	want := flights.Flight{
		ID: created.ID, Number: "UA123", Origin: "SFO", Destination: "JFK",
		DepartsAt: base, ArrivesAt: base.Add(5*time.Hour + 20*time.Minute),
		SeatsTotal: 26, SeatsAvailable: 26,
		LowestPrice: &money.Money{Amount: 12910, Currency: "USD"},
	}
	assertFlight(t, got, want)
	assertFlight(t, created, want)
	if has, err := s.FlightExists(ctx); err != nil || !has {
		t.Fatalf("HasFlights after create = %v, %v; want true, nil", has, err)
	}

	seats, err := s.SeatList(ctx, created.ID)
	if err != nil {
		t.Fatalf("Seats: %v", err)
	}
	if len(seats) != 26 {
		t.Fatalf("len(Seats) = %d, want 26", len(seats))
	}
	wantFirst := flights.Seat{Label: "1A", Cabin: flights.Business, Price: money.Money{Amount: 89900, Currency: "USD"}, Status: flights.Available}
	if seats[0] != wantFirst {
		t.Errorf("Seats[0] = %+v, want %+v", seats[0], wantFirst)
	}
	// Row 2 sorts before row 10 (numeric, not lexical), and letters in order.
	order := []string{"1A", "1C", "1D", "1F", "2A", "2C", "2D", "2F", "10A", "10B"}
	for i, l := range order {
		if seats[i].Label != l {
			t.Fatalf("Seats[%d] = %s, want %s (seat order)", i, seats[i].Label, l)
		}
	}
	last := seats[len(seats)-1]
	if last.Label != "12F" || last.Cabin != flights.Economy || last.Price.Amount != 12912 || last.Status != flights.Available {
		t.Errorf("last seat = %+v, want 12F economy 12912 available", last)
	}

	if _, err := s.FlightGet(ctx, created.ID+1000); !errors.Is(err, flights.ErrNotFound) {
		t.Errorf("Flight(unknown) error = %v, want flights.ErrNotFound", err)
	}
	if _, err := s.SeatList(ctx, created.ID+1000); !errors.Is(err, flights.ErrNotFound) {
		t.Errorf("Seats(unknown) error = %v, want flights.ErrNotFound", err)
	}
}

func testCreateFlightAtomic(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := t.Context()
	nf := Flight("UA9", "SFO", "JFK", base, 1, 1)
	nf.Seats = append(nf.Seats, nf.Seats[0]) // a duplicate label slipped past validation
	if _, err := s.FlightCreate(ctx, nf); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateFlight with a duplicate seat: error = %v, want store.ErrConflict", err)
	}
	if has, err := s.FlightExists(ctx); err != nil || has {
		t.Fatalf("HasFlights after a failed create = %v, %v; want false, nil (nothing written)", has, err)
	}
}

func testListFlights(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := t.Context()
	var all []int64
	routes := [][2]string{{"SFO", "JFK"}, {"JFK", "SFO"}, {"SFO", "LAX"}}
	for day := range 3 {
		for i, r := range routes {
			// Same departure time on purpose for two routes: ties break by id.
			dep := base.AddDate(0, 0, day).Add(time.Duration(i/2) * time.Hour)
			f, err := s.FlightCreate(ctx, Flight(fmt.Sprintf("RV%d", 100+day*10+i), r[0], r[1], dep, 1, 1))
			if err != nil {
				t.Fatalf("CreateFlight: %v", err)
			}
			all = append(all, f.ID)
		}
	}

	tests := []struct {
		name   string
		filter flights.Filter
		want   int
	}{
		{"all", flights.Filter{}, 9},
		{"origin", flights.Filter{Origin: "SFO"}, 6},
		{"route", flights.Filter{Origin: "SFO", Destination: "JFK"}, 3},
		{"destination", flights.Filter{Destination: "SFO"}, 3},
		{"date", flights.Filter{Date: time.Date(2036, 12, 25, 0, 0, 0, 0, time.UTC)}, 3},
		{"route and date", flights.Filter{Origin: "SFO", Destination: "LAX", Date: time.Date(2036, 12, 26, 0, 0, 0, 0, time.UTC)}, 1},
		{"no match", flights.Filter{Origin: "LHR"}, 0},
		{"no date match", flights.Filter{Date: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Walk the listing two at a time: the pages must join up without gaps or repeats.
			var got []flights.Flight
			var after *store.FlightCursor
			for range 20 {
				page, err := s.FlightList(ctx, store.FlightListParams{Filter: tt.filter, After: after, Limit: 2})
				if err != nil {
					t.Fatalf("ListFlights: %v", err)
				}
				if len(page) > 2 {
					t.Fatalf("page of %d flights, limit 2", len(page))
				}
				got = append(got, page...)
				if len(page) < 2 {
					break
				}
				lastF := page[len(page)-1]
				after = &store.FlightCursor{DepartsAt: lastF.DepartsAt, ID: lastF.ID}
			}
			if len(got) != tt.want {
				t.Fatalf("got %d flights, want %d", len(got), tt.want)
			}
			// The flights were created in listing order (by departure, ties
			// by id), so the whole unfiltered walk is exactly that order.
			if tt.name == "all" {
				var ids []int64
				for _, f := range got {
					ids = append(ids, f.ID)
				}
				if !slices.Equal(ids, all) {
					t.Errorf("unfiltered listing %v, want every flight in creation order %v", ids, all)
				}
			}
			seen := map[int64]bool{}
			for i, f := range got {
				if seen[f.ID] {
					t.Fatalf("flight %d listed twice", f.ID)
				}
				seen[f.ID] = true
				if tt.filter.Origin != "" && f.Origin != tt.filter.Origin {
					t.Errorf("flight %d origin %s, filter %s", f.ID, f.Origin, tt.filter.Origin)
				}
				if tt.filter.Destination != "" && f.Destination != tt.filter.Destination {
					t.Errorf("flight %d destination %s, filter %s", f.ID, f.Destination, tt.filter.Destination)
				}
				if !tt.filter.Date.IsZero() && f.DepartsAt.Format(time.DateOnly) != tt.filter.Date.Format(time.DateOnly) {
					t.Errorf("flight %d departs %s, filter date %s", f.ID, f.DepartsAt, tt.filter.Date)
				}
				if f.SeatsTotal != 10 || f.SeatsAvailable != 10 || f.LowestPrice == nil {
					t.Errorf("flight %d availability = %d/%d lowest %v", f.ID, f.SeatsAvailable, f.SeatsTotal, f.LowestPrice)
				}
				if i > 0 {
					p := got[i-1]
					if f.DepartsAt.Before(p.DepartsAt) || (f.DepartsAt.Equal(p.DepartsAt) && f.ID < p.ID) {
						t.Errorf("flights out of order: %d (%s) after %d (%s)", f.ID, f.DepartsAt, p.ID, p.DepartsAt)
					}
				}
			}
		})
	}
}

func assertFlight(t testing.TB, got, want flights.Flight) {
	t.Helper()
	if got.ID != want.ID || got.Number != want.Number || got.Origin != want.Origin ||
		got.Destination != want.Destination || !got.DepartsAt.Equal(want.DepartsAt) ||
		!got.ArrivesAt.Equal(want.ArrivesAt) || got.SeatsTotal != want.SeatsTotal ||
		got.SeatsAvailable != want.SeatsAvailable || got.DepartsAt.Location() != time.UTC {
		t.Errorf("flight = %+v, want %+v (times in UTC)", got, want)
	}
	switch {
	case (got.LowestPrice == nil) != (want.LowestPrice == nil):
		t.Errorf("lowest price = %v, want %v", got.LowestPrice, want.LowestPrice)
	case got.LowestPrice != nil && *got.LowestPrice != *want.LowestPrice:
		t.Errorf("lowest price = %v, want %v", *got.LowestPrice, *want.LowestPrice)
	}
}
