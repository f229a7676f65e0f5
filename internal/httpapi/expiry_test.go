package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/provider/simset"
)

// onlyProvider leaves provider at answering searches: the others fail
// every call.
func onlyProvider(sims *simset.Set, at string) {
	for name, k := range sims.Kits() {
		if name != at {
			k.Update(func(k *simkit.Knobs) { k.ErrorBurst = 1 << 20 })
		}
	}
}

// bookAfterExpiry searches (the search is cached), lets at's offers expire,
// then books a trip and works it to its end.
func bookAfterExpiry(t *testing.T, a *api, svc *aggregator.TripService, sims *simset.Set, at string) map[string]any {
	t.Helper()
	sims.Kits()[at].Update(func(k *simkit.Knobs) { k.OfferTTL = 2 * time.Second })
	date := time.Now().UTC().AddDate(0, 0, 50).Format(time.DateOnly)
	r := a.do("GET", "/offers?origin=LHR&destination=BCN&departure_date="+date+"&currency=EUR", a.client, nil)
	if r.status != 200 {
		t.Fatalf("GET /offers = %d %s", r.status, r.body)
	}
	time.Sleep(2500 * time.Millisecond)
	body := `{"origin": "LHR", "destination": "BCN", "departure_date": "` + date + `", "currency": "EUR",
		"passengers": [{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10", "title": "ms", "gender": "f"}],
		"contact": {"email": "ada@example.com", "phone_number": "+14155550100"}}`
	id := data(t, a.post("/trips", a.client, idem(), body), 202)["id"].(string)
	var got map[string]any
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		svc.Work(t.Context())
		if got = data(t, a.do("GET", "/trips/"+id, a.client, nil), 200); got["status"] != "pending" {
			break
		}
	}
	if got["status"] != "confirmed" || got["provider"] != at {
		t.Fatalf("trip = %v", got)
	}
	if n := len(sims.Kits()[at].Orders()); n != 1 {
		t.Errorf("%s: %d orders, want 1", at, n)
	}
	// The cached search, then the search again for fresh offers.
	if n := sims.Kits()[at].Stats().Searches; n != 2 {
		t.Errorf("%s: %d searches, want 2", at, n)
	}
	return got
}

// TestTripSearchesAgainWhenTheCachedOffersExpired: Duffel states when its
// offers expire; a trip booked after that does not try them (each would be
// refused) but searches again, on both engines.
func TestTripSearchesAgainWhenTheCachedOffersExpired(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a, svc, sims := newOffersAPIOn(t, engine, true)
			onlyProvider(sims, "duffel")
			got := bookAfterExpiry(t, a, svc, sims, "duffel")
			if att := got["attempts"].([]any); len(att) != 1 {
				t.Errorf("attempts %v, want only the confirmed one", att)
			}
			if n := sims.Kits()["duffel"].Stats().Prices; n != 1 {
				t.Errorf("duffel: %d price calls, want 1 (no expired offer tried)", n)
			}
		})
	}
}

// TestTripSearchesAgainWhenTheProviderSaysExpired: Kiwi does not say when a
// booking token expires; check_flights refuses it, and the trip searches
// again rather than falling back to the (as stale) next offer.
func TestTripSearchesAgainWhenTheProviderSaysExpired(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a, svc, sims := newOffersAPIOn(t, engine, true)
			onlyProvider(sims, "kiwi")
			got := bookAfterExpiry(t, a, svc, sims, "kiwi")
			att := got["attempts"].([]any)
			if len(att) != 2 {
				t.Fatalf("attempts %v, want the expired one and the confirmed one", att)
			}
			first, second := att[0].(map[string]any), att[1].(map[string]any)
			if first["outcome"] != "unavailable" || !strings.Contains(first["detail"].(string), "check_flights: the offer expired") ||
				second["outcome"] != "confirmed" || first["offer_id"] == second["offer_id"] {
				t.Errorf("attempts %v", att)
			}
		})
	}
}
