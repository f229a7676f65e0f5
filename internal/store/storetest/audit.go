package storetest

import (
	"context"
	"testing"

	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/store"
)

// AuditSeats checks a flight after a storm, whatever the storm was: no seat
// is in two live (confirmed) bookings, and the seats that read booked are
// exactly the live bookings' seats. It returns the flight's bookings by id
// and how many of its seats are booked, for the caller's own checks against
// what its clients were told.
func AuditSeats(t testing.TB, ctx context.Context, st store.Store, flight int64) (byID map[string]bookings.Booking, booked, seatCount int) {
	t.Helper()
	all, err := st.BookingListByFlight(ctx, flight)
	if err != nil {
		t.Fatalf("FlightBookings: %v", err)
	}
	byID = map[string]bookings.Booking{}
	owner := map[string]string{}
	for _, b := range all {
		byID[b.ID] = b
		if b.Status != bookings.Confirmed {
			continue
		}
		for _, s := range b.Seats {
			if prev, ok := owner[s]; ok {
				t.Errorf("OVERSELL: seat %s is in two live bookings: %s and %s", s, prev, b.ID)
			}
			owner[s] = b.ID
		}
	}
	seats, err := st.SeatList(ctx, flight)
	if err != nil {
		t.Fatalf("Seats: %v", err)
	}
	for _, s := range seats {
		if _, live := owner[s.Label]; (s.Status == flights.Booked) != live {
			t.Errorf("seat %s reads %s, live booking %q", s.Label, s.Status, owner[s.Label])
		}
		if s.Status == flights.Booked {
			booked++
		}
	}
	return byID, booked, len(seats)
}
