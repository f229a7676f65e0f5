package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/bookings"
	"github.com/reservd/reservd/internal/holds"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/sqlite"
	"github.com/reservd/reservd/internal/store/storetest"
)

func TestTmpLatency(t *testing.T) {
	s, _ := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x.db"))
	defer s.Close()
	s.Migrate(t.Context())
	f, _ := s.CreateFlight(t.Context(), storetest.Flight("RV1", "SFO", "JFK", time.Now().Add(time.Hour), 2, 30))
	_, d := apikey.Generate()
	k, _ := s.CreateAPIKey(t.Context(), "a", d, false)
	var th, tb, tc, tr, tcl, tf time.Duration
	n := 0
	for r := 10; r < 20; r++ {
		for _, l := range "ABCDEF" {
			t0 := time.Now()
			h, err := s.CreateHold(t.Context(), store.NewHold{ID: holds.NewID(), KeyID: k, TTL: time.Minute, MaxLifetime: time.Hour, Request: holds.Request{FlightID: f.ID, Seats: []string{fmt.Sprintf("%d%c", r, l)}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t1 := time.Now()
			p, err := s.BeginBooking(t.Context(), store.BeginBooking{KeyID: k, HoldID: h.ID, Token: "t", BookingID: bookings.NewID(), Lease: time.Minute, Pin: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			t2 := time.Now()
			s.ReleaseHold(t.Context(), k, h.ID, nil)
			t3 := time.Now()
			s.ClaimStalePayments(t.Context(), time.Minute, 10)
			t4 := time.Now()
			_, err = s.CompleteBooking(t.Context(), p, "ch", nil)
			if err != nil {
				t.Fatal(err)
			}
			t5 := time.Now()
			s.Flight(t.Context(), f.ID)
			t6 := time.Now()
			th += t1.Sub(t0); tb += t2.Sub(t1); tr += t3.Sub(t2); tcl += t4.Sub(t3); tc += t5.Sub(t4); tf += t6.Sub(t5)
			n++
		}
	}
	d_ := time.Duration(n)
	t.Logf("hold %s begin %s release %s claim %s complete %s flight %s", th/d_, tb/d_, tr/d_, tcl/d_, tc/d_, tf/d_)
}
