package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/provider/simset"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/trips"
)

// newSoloTripAPI is a server on the given engine whose aggregator talks
// real HTTP to one provider's simulator only, so every trip is booked, and
// canceled, there.
func newSoloTripAPI(t *testing.T, engine, name string) (*api, *aggregator.TripService, *simkit.Sim) {
	a, svc, kit, _ := newSoloTripAPIWith(t, engine, name)
	return a, svc, kit
}

// newSoloTripAPIWith is newSoloTripAPI, with a separate adapter of the same
// simulator (another process's, as it were).
func newSoloTripAPIWith(t *testing.T, engine, name string) (*api, *aggregator.TripService, *simkit.Sim, provider.Provider) {
	t.Helper()
	sims, err := simset.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sims.Close() })
	a := start(t, testConfig(t), app.Overrides{Store: engines[engine](t),
		Providers: func(hc *http.Client) []aggregator.Source {
			var sources []aggregator.Source
			for _, p := range sims.Providers(hc) {
				if p.Name() == name {
					sources = append(sources, aggregator.Source{Provider: p, Simulated: true})
				}
			}
			return sources
		},
		Aggregator: func(c *aggregator.Config) {
			c.Retries, c.SearchBudget, c.CacheTTL = 0, 2*time.Second, 0
			// A lost cancel answer is given up on after BookTimeout.
			c.BookTimeout, c.CallTimeout = time.Second, 2*time.Second
		},
	}, nil)
	a.client = a.key("alice", false)
	kit := sims.Kits()[name]
	if kit == nil {
		t.Fatalf("no simulator named %s", name)
	}
	var other provider.Provider
	for _, p := range sims.Providers(&http.Client{Timeout: 5 * time.Second}) {
		if p.Name() == name {
			other = p
		}
	}
	return a, a.app.Trips, kit, other
}

// confirmedTrip creates a trip and works it until it is no longer pending;
// it must end confirmed.
func confirmedTrip(t *testing.T, a *api, svc *aggregator.TripService, beforeWork func(id string)) string {
	t.Helper()
	date := time.Now().UTC().AddDate(0, 0, 20).Format(time.DateOnly)
	body := `{"origin": "SFO", "destination": "JFK", "departure_date": "` + date + `", "currency": "USD",
		"passengers": [{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10", "title": "ms", "gender": "f"}],
		"contact": {"email": "ada@example.com", "phone_number": "+14155550100"}}`
	id := data(t, a.post("/trips", a.client, idem(), body), 202)["id"].(string)
	if beforeWork != nil {
		beforeWork(id)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := svc.Work(t.Context()); err != nil {
			t.Fatalf("work: %v", err)
		}
		got := data(t, a.do("GET", "/trips/"+id, a.client, nil), 200)
		if got["status"] == "confirmed" {
			return id
		}
		if got["status"] != "pending" {
			t.Fatalf("trip ended %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("trip %s still pending", id)
	return ""
}

// TestTripCancel cancels a confirmed trip at each provider, over real
// HTTP, on both engines, counting the cancellations each simulator made:
// not confirmed yet is 409, a refusal is 409 and leaves the trip
// confirmed, a repeat answers the canceled trip without a second
// cancellation, and a cancellation whose answer is lost (never answered,
// or the connection cut) is settled by a lookup: exactly one cancellation
// took effect and the trip ends canceled.
func TestTripCancel(t *testing.T) {
	t.Parallel()
	for engine := range engines {
		for _, name := range registry.Names() {
			t.Run(engine+"/"+name, func(t *testing.T) {
				t.Parallel()
				a, svc, kit := newSoloTripAPI(t, engine, name)
				cancel := func(id, key string) response {
					return a.post("/trips/"+id+"/cancel", a.client, key, "")
				}

				// Not confirmed: pending.
				confirmedTrip(t, a, svc, func(id string) {
					wantError(t, cancel(id, ""), 409, "trip_not_cancelable")
				})
				if n := kit.Stats().CancelCalls; n != 0 {
					t.Fatalf("a pending trip's cancel reached the provider %d times", n)
				}

				// Canceled, with the provider's refund; repeated, with and
				// without an Idempotency-Key: the same trip, one cancellation.
				id := confirmedTrip(t, a, svc, nil)
				key := idem()
				got := data(t, cancel(id, key), 200)
				if got["status"] != "canceled" || got["id"] != id {
					t.Fatalf("canceled trip = %v", got)
				}
				refund, _ := got["refund"].(map[string]any)
				switch name {
				case "amadeus": // a deletion answers 204 without an amount
					if _, ok := got["refund"]; !ok || got["refund"] != nil {
						t.Errorf("amadeus refund = %v, want null", got["refund"])
					}
				default:
					if refund == nil || refund["amount"].(float64) <= 0 || refund["currency"] == "" {
						t.Errorf("%s refund = %v", name, got["refund"])
					}
				}
				calls := kit.Stats().CancelCalls
				if r := cancel(id, key); r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("replayed cancel = %d %q", r.status, r.header.Get("Idempotent-Replayed"))
				}
				again := data(t, cancel(id, ""), 200)
				if again["status"] != "canceled" || !equalJSON(again["refund"], got["refund"]) {
					t.Errorf("second cancel = %v, first %v", again, got)
				}
				if st := kit.Stats(); st.Cancels != 1 || st.CancelCalls != calls {
					t.Errorf("after a repeat: %d cancellations, %d cancel calls (was %d), want 1 and unchanged", st.Cancels, st.CancelCalls, calls)
				}
				if g := data(t, a.do("GET", "/trips/"+id, a.client, nil), 200); g["status"] != "canceled" {
					t.Errorf("GET after cancel = %v", g)
				}

				// Refused: 409, the trip stays confirmed and can be canceled later.
				id = confirmedTrip(t, a, svc, nil)
				kit.Update(func(k *simkit.Knobs) { k.RefuseCancel = true })
				wantError(t, cancel(id, ""), 409, "trip_not_cancelable")
				if g := data(t, a.do("GET", "/trips/"+id, a.client, nil), 200); g["status"] != "confirmed" {
					t.Errorf("refused trip = %v, want confirmed", g)
				}
				if st := kit.Stats(); st.Cancels != 1 {
					t.Errorf("a refusal canceled an order: %d cancellations", st.Cancels)
				}
				kit.Update(func(k *simkit.Knobs) { k.RefuseCancel = false })
				if g := data(t, cancel(id, ""), 200); g["status"] != "canceled" {
					t.Errorf("cancel after a refusal = %v", g)
				}

				// Ambiguous: the answer never comes, or the connection is cut
				// after the cancellation took effect.
				for _, fault := range []string{"lose", "cut"} {
					id = confirmedTrip(t, a, svc, nil)
					before := kit.Stats().Cancels
					kit.Update(func(k *simkit.Knobs) {
						k.LoseCancelResponse, k.CutAfterCancel = fault == "lose", fault == "cut"
					})
					g := data(t, cancel(id, ""), 200)
					kit.Update(func(k *simkit.Knobs) { k.LoseCancelResponse, k.CutAfterCancel = false, false })
					if g["status"] != "canceled" {
						t.Errorf("%s: trip = %v", fault, g)
					}
					if n := kit.Stats().Cancels - before; n != 1 {
						t.Errorf("%s: %d cancellations took effect, want 1", fault, n)
					}
					if g := data(t, cancel(id, ""), 200); g["status"] != "canceled" || kit.Stats().Cancels-before != 1 {
						t.Errorf("%s: repeat = %v, %d cancellations", fault, g, kit.Stats().Cancels-before)
					}
				}
				if orders := len(kit.Orders()); orders != 5 {
					t.Errorf("%d orders at %s for 5 trips", orders, name)
				}
			})
		}
	}
}

func equalJSON(a, b any) bool {
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	if am == nil || bm == nil {
		return a == nil && b == nil
	}
	return am["amount"] == bm["amount"] && am["currency"] == bm["currency"]
}

// TestTripCancelResumes: a cancellation written down by a process that
// died (before its call, or after its call took effect) is settled by the
// next cancel request with a lookup first: the order is canceled exactly
// once either way, on both engines.
func TestTripCancelResumes(t *testing.T) {
	t.Parallel()
	for engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			// Duffel by name: its cancellation is two calls (quote,
			// confirm), which wantCalls counts.
			a, svc, kit, dead := newSoloTripAPIWith(t, engine, "duffel")
			key, digest := apikey.Generate()
			keyID, err := a.store.APIKeyCreate(t.Context(), store.APIKeyCreateParams{Name: "carol", Digest: digest})
			if err != nil {
				t.Fatal(err)
			}
			a.client = key
			for _, c := range []struct {
				name       string
				tookEffect bool          // the dead process's cancel call reached the provider
				age        time.Duration // since the cancellation was written down
				wantCalls  int           // cancel calls this request makes (Duffel: quote + confirm)
			}{
				{"died before its call", false, time.Minute, 2},
				{"died after its call took effect", true, time.Minute, 0},
				{"call took effect moments ago", true, 0, 0},
				{"resumed by the worker, not a request", false, time.Minute, 2},
			} {
				id := confirmedTrip(t, a, svc, nil)
				tr, err := a.store.TripGet(t.Context(), keyID, id)
				if err != nil || tr.OrderID == "" {
					t.Fatalf("%s: stored trip = %+v, %v", c.name, tr, err)
				}
				tr.Cancel = &trips.Cancellation{StartedAt: time.Now().UTC().Add(-c.age)}
				if _, err := a.store.TripUpdate(t.Context(), tr, trips.Confirmed); err != nil {
					t.Fatal(err)
				}
				if c.tookEffect {
					// The dead process's call, through an adapter of its own.
					if _, err := dead.Cancel(t.Context(), tr.OrderID); err != nil {
						t.Fatal(err)
					}
				}
				before := kit.Stats()
				var got map[string]any
				if strings.HasPrefix(c.name, "resumed") {
					if n, err := svc.Work(t.Context()); err != nil || n != 1 {
						t.Errorf("%s: Work = %d, %v; want the one cancellation", c.name, n, err)
					}
					got = data(t, a.do("GET", "/trips/"+id, a.client, nil), 200)
				} else {
					got = data(t, a.post("/trips/"+id+"/cancel", a.client, "", ""), 200)
				}
				after := kit.Stats()
				if got["status"] != "canceled" || got["refund"] == nil {
					t.Errorf("%s: trip = %v", c.name, got)
				}
				if calls := after.CancelCalls - before.CancelCalls; calls != c.wantCalls {
					t.Errorf("%s: %d cancel calls, want %d", c.name, calls, c.wantCalls)
				}
				if o, _ := kit.OrderByID(tr.OrderID); !o.Canceled {
					t.Errorf("%s: the order is not canceled at the provider", c.name)
				}
				want := before.Cancels
				if !c.tookEffect {
					want++
				}
				if after.Cancels != want {
					t.Errorf("%s: %d cancellations took effect, want %d", c.name, after.Cancels, want)
				}
			}
		})
	}
}
