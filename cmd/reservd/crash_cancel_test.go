package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/provider/simset"
	"github.com/reservd/reservd/internal/testdb"
	"github.com/reservd/reservd/internal/trips"
)

// TestKill9MidTripCancel kills reservd while a trip's cancellation waits
// for a provider answer that never comes (the cancellation took effect).
// A new instance settles the cancellation written down before the call by
// looking the order up: the trip ends canceled with one cancellation at
// the provider.
func TestKill9MidTripCancel(t *testing.T) {
	t.Parallel()
	sims, err := simset.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sims.Close() })
	env := withSimulators(map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "LOG_LEVEL": "error", "RATE_LIMIT": "0", "TRIP_LEASE": "2s"}, sims)
	a := startProcess(t, env)
	key := createKey(t, env, "traveller", false)
	c := newClient(t)
	c.setURLs(a.url())
	date := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
	r, err := c.do("POST", "/trips", key, "trip-1", fmt.Sprintf(`{"origin": "SFO", "destination": "JFK", "departure_date": %q,
		"currency": "USD", "passengers": [{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10", "title": "ms", "gender": "f"}],
		"contact": {"email": "ada@example.com", "phone_number": "+14155550100"}}`, date))
	if err != nil || r.status != 202 {
		t.Fatalf("POST /trips = %d %s %v", r.status, r.raw, err)
	}
	id := r.data()["id"].(string)
	var trip map[string]any
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		r, err := c.do("GET", "/trips/"+id, key, "", "")
		if err != nil || r.status != 200 {
			t.Fatalf("GET /trips = %d %s %v", r.status, r.raw, err)
		}
		if trip = r.data(); trip["status"] != string(trips.Pending) {
			break
		}
	}
	if trip["status"] != string(trips.Confirmed) {
		t.Fatalf("trip = %v; reservd said:\n%s", trip, a.stderr)
	}
	stat := func(f func(simkit.Stats) int) int {
		n := 0
		for _, k := range sims.Kits() {
			n += f(k.Stats())
		}
		return n
	}
	for _, k := range sims.Kits() {
		k.Update(func(k *simkit.Knobs) { k.LoseCancelResponse = true })
	}
	go c.do("POST", "/trips/"+id+"/cancel", key, "", "") // never answered: the instance dies
	for deadline := time.Now().Add(30 * time.Second); stat(func(s simkit.Stats) int { return s.Cancels }) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no cancellation reached the provider; reservd said:\n%s", a.stderr)
		}
	}
	a.kill() // mid-call: the order is canceled, reservd never heard back
	for _, k := range sims.Kits() {
		k.Update(func(k *simkit.Knobs) { k.LoseCancelResponse = false })
	}
	b := startProcess(t, env)
	c.setURLs(b.url())
	r, err = c.do("POST", "/trips/"+id+"/cancel", key, "", "")
	if err != nil || r.status != 200 || r.data()["status"] != string(trips.Canceled) {
		t.Fatalf("cancel after the crash = %d %s %v", r.status, r.raw, err)
	}
	if n := stat(func(s simkit.Stats) int { return s.Cancels }); n != 1 {
		t.Errorf("%d cancellations for one trip across a crash, want 1", n)
	}
	r, err = c.do("GET", "/trips/"+id, key, "", "")
	if err != nil || r.status != 200 || r.data()["status"] != string(trips.Canceled) {
		t.Errorf("GET after the crash = %d %s %v", r.status, r.raw, err)
	}
}
