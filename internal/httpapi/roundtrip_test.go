package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// flightsOf names an offer's flights, to find the same journey in another search.
func flightsOf(o map[string]any) string {
	var b strings.Builder
	for _, s := range o["segments"].([]any) {
		seg := s.(map[string]any)
		fmt.Fprintf(&b, "%s%s@%s ", seg["carrier"], seg["flight_number"], seg["departs_at"])
	}
	return o["provider"].(string) + " " + b.String()
}

func minor(m any) int64 {
	switch v := m.(map[string]any)["amount"].(type) {
	case float64:
		return int64(v)
	default:
		panic(fmt.Sprintf("amount %v", v))
	}
}

func TestOffersRoundTripFamily(t *testing.T) {
	t.Parallel()
	a, _, _ := newOffersAPI(t)
	dep := time.Now().UTC().AddDate(0, 0, 30)
	date, back := dep.Format(time.DateOnly), dep.AddDate(0, 0, 7).Format(time.DateOnly)
	base := "/offers?origin=SFO&destination=JFK&departure_date=" + date + "&currency=USD"
	for _, bad := range []struct{ q, field string }{
		{base + "&return_date=" + dep.AddDate(0, 0, -1).Format(time.DateOnly), "return_date"},
		{base + "&return_date=next-week", "return_date"},
		{base + "&adults=1&infants=2", "infants"},
		{base + "&children=-1", "children"},
		{base + "&adults=5&children=5", "adults"},
	} {
		m := wantError(t, a.do("GET", bad.q, a.client, nil), 422, "invalid_request")
		if d, _ := m["details"].(map[string]any); d[bad.field] == nil {
			t.Errorf("%s: details %v do not name %s", bad.q, m["details"], bad.field)
		}
	}

	search := func(q string) map[string]map[string]any {
		t.Helper()
		r := a.do("GET", q, a.client, nil)
		if r.status != 200 {
			t.Fatalf("GET %s = %d %s", q, r.status, r.body)
		}
		m := r.json(t)
		for _, p := range m["providers"].([]any) {
			if p := p.(map[string]any); p["status"] != "ok" || p["offers"].(float64) == 0 {
				t.Fatalf("%s: provider %v", q, p)
			}
		}
		out := map[string]map[string]any{}
		for _, o := range m["data"].([]any) {
			o := o.(map[string]any)
			out[flightsOf(o)] = o
		}
		return out
	}
	adult := search(base + "&return_date=" + back)
	family := search(base + "&return_date=" + back + "&adults=2&children=1&infants=1")
	providers := map[string]int{}
	for k, o := range family {
		slices := o["slices"].([]any)
		if len(slices) != 2 {
			t.Fatalf("%s: %d slices, want 2", k, len(slices))
		}
		out, ret := slices[0].(map[string]any), slices[1].(map[string]any)
		if out["origin"] != "SFO" || out["destination"] != "JFK" || ret["origin"] != "JFK" || ret["destination"] != "SFO" {
			t.Errorf("%s: slices %v", k, slices)
		}
		if n := len(out["segments"].([]any)) + len(ret["segments"].([]any)); n != len(o["segments"].([]any)) {
			t.Errorf("%s: slices hold %d segments, the offer %d", k, n, len(o["segments"].([]any)))
		}
		if !strings.HasPrefix(ret["segments"].([]any)[0].(map[string]any)["departs_at"].(string), back) &&
			!strings.HasPrefix(ret["segments"].([]any)[0].(map[string]any)["departs_at"].(string), dep.AddDate(0, 0, 8).Format(time.DateOnly)) {
			t.Errorf("%s: return departs %v, not on %s", k, ret["segments"], back)
		}
		// The price covers every passenger: 2 adults, a child at 75% and an
		// infant at 10% of the adult fare (each converted on its own, so a
		// few minor units apart).
		one, ok := adult[k]
		if !ok {
			t.Errorf("%s: not in the one-adult search", k)
			continue
		}
		fare := minor(one["provider_price"])
		want := 2*fare + fare*simkit.ChildFarePercent/100 + fare*simkit.InfantFarePercent/100
		if got := minor(o["provider_price"]); got < want-4 || got > want+4 {
			t.Errorf("%s: family pays %d, want %d (adult fare %d)", k, got, want, fare)
		}
		providers[o["provider"].(string)]++
	}
	if len(providers) != len(registry.Names()) {
		t.Errorf("round-trip offers by provider: %v", providers)
	}
	// One way: one slice.
	for k, o := range search(base) {
		if len(o["slices"].([]any)) != 1 {
			t.Errorf("one way %s: slices %v", k, o["slices"])
		}
	}
}

// TestTripRoundTripFamilyAtEachProvider books a round trip for two adults,
// a child and an infant at each provider in turn (the others sold out),
// over real HTTP on both engines: one order, at that provider, for the four.
func TestTripRoundTripFamilyAtEachProvider(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, at := range registry.Names() {
			t.Run(engine+"/"+at, func(t *testing.T) {
				t.Parallel()
				a, svc, sims := newOffersAPIOn(t, engine, false)
				for name, k := range sims.Kits() {
					if name != at {
						k.Update(func(k *simkit.Knobs) { k.SoldOut = true })
					}
				}
				dep := time.Now().UTC().AddDate(0, 0, 40)
				date, back := dep.Format(time.DateOnly), dep.AddDate(0, 0, 5).Format(time.DateOnly)
				infant := dep.AddDate(-1, 0, 0).Format(time.DateOnly) // 1 on the departure date
				child := dep.AddDate(-7, 0, 0).Format(time.DateOnly)
				body := `{"origin": "LHR", "destination": "BCN", "departure_date": "` + date + `", "return_date": "` + back + `", "currency": "EUR",
				"passengers": [
					{"given_name": "Baby", "family_name": "Lovelace", "born_on": "` + infant + `", "title": "miss", "gender": "f"},
					{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10", "title": "ms", "gender": "f"},
					{"given_name": "Kid", "family_name": "Lovelace", "born_on": "` + child + `", "title": "mr", "gender": "m"},
					{"given_name": "William", "family_name": "Lovelace", "born_on": "1985-02-21", "title": "mr", "gender": "m"}],
				"contact": {"email": "ada@example.com", "phone_number": "+14155550100"}}`
				created := data(t, a.post("/trips", a.client, idem(), body), 202)
				id := created["id"].(string)
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
				// The provider's price confirmation ran once for the booked
				// attempt (Kiwi's check_flights answers "not checked yet"
				// first: one check, two calls), and its result is on the attempt.
				attempts := got["attempts"].([]any)
				last := attempts[len(attempts)-1].(map[string]any)
				// The step is the one the adapter names (provider.PriceStepNamer,
				// else the aggregator's "price check"); these providers' are pinned.
				step := "price check"
				p, _ := registry.Lookup(at)
				if n, ok := p.NewSimulated(sims.URLs[at], http.DefaultClient).(provider.PriceStepNamer); ok {
					step = n.PriceStep()
				}
				if pinned, ok := map[string]string{"duffel": "offer re-fetch", "amadeus": "flight-offers pricing", "kiwi": "check_flights"}[at]; ok && step != pinned {
					t.Errorf("%s names its price step %q, want %q", at, step, pinned)
				}
				if !strings.Contains(last["detail"].(string), "("+step+": ") {
					t.Errorf("confirmed attempt's detail %q does not record %s", last["detail"], step)
				}
				if n, want := sims.Kits()[at].Stats().Prices, map[string]int{"kiwi": 2}[at]; n != max(want, 1) {
					t.Errorf("%s: %d price calls for one attempt, want %d", at, n, max(want, 1))
				}
				for name, k := range sims.Kits() {
					orders := k.Orders()
					want := 0
					if name == at {
						want = 1
					}
					if len(orders) != want || k.Stats().OrderCalls > want {
						t.Errorf("%s: %d orders (%d order calls), want %d", name, len(orders), k.Stats().OrderCalls, want)
					}
					if want == 1 && orders[0].Passengers != 4 {
						t.Errorf("%s: order for %d passengers, want 4", name, orders[0].Passengers)
					}
				}
			})
		}
	}
}

func TestTripValidatesParty(t *testing.T) {
	t.Parallel()
	a, _, _ := newOffersAPI(t)
	dep := time.Now().UTC().AddDate(0, 0, 40)
	date := dep.Format(time.DateOnly)
	baby := dep.AddDate(0, -6, 0).Format(time.DateOnly)
	for name, c := range map[string]struct{ ret, pax, field string }{
		"return before departure": {dep.AddDate(0, 0, -2).Format(time.DateOnly), `{"given_name": "Ada", "family_name": "L", "born_on": "1990-12-10"}`, "return_date"},
		"bad return":              {"soon", `{"given_name": "Ada", "family_name": "L", "born_on": "1990-12-10"}`, "return_date"},
		"infants over adults": {"", `{"given_name": "Ada", "family_name": "L", "born_on": "1990-12-10"},
			{"given_name": "B", "family_name": "L", "born_on": "` + baby + `"}, {"given_name": "C", "family_name": "L", "born_on": "` + baby + `"}`, "passengers"},
	} {
		body := `{"origin": "LHR", "destination": "BCN", "departure_date": "` + date + `", "return_date": "` + c.ret + `", "currency": "EUR", "passengers": [` + c.pax + `]}`
		m := wantError(t, a.post("/trips", a.client, idem(), body), 422, "invalid_request")
		if d, _ := m["details"].(map[string]any); d[c.field] == nil {
			t.Errorf("%s: details %v do not name %s", name, m["details"], c.field)
		}
	}
}
