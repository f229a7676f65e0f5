package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/provider/simkit"
	"github.com/reservd/reservd/internal/provider/simset"
)

// newOffersAPI is a server whose aggregator talks real HTTP to a simulator
// of every registered provider, and caches no search.
func newOffersAPI(t *testing.T) (*api, *aggregator.TripService, *simset.Set) {
	t.Helper()
	return newCachedOffersAPI(t, false)
}

// newCachedOffersAPI is newOffersAPI, with production's search cache when cached.
func newCachedOffersAPI(t *testing.T, cached bool) (*api, *aggregator.TripService, *simset.Set) {
	t.Helper()
	return newOffersAPIOn(t, "sqlite", cached)
}

// newOffersAPIOn is newCachedOffersAPI over the store engine named engine.
func newOffersAPIOn(t *testing.T, engine string, cached bool) (*api, *aggregator.TripService, *simset.Set) {
	t.Helper()
	st := engines[engine](t)
	sims, err := simset.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sims.Close() })
	a := start(t, testConfig(t), app.Overrides{Store: st,
		Providers: func(hc *http.Client) []aggregator.Source {
			var sources []aggregator.Source
			for _, p := range sims.Providers(hc) {
				sources = append(sources, aggregator.Source{Provider: p, Simulated: true})
			}
			return sources
		},
		Aggregator: func(c *aggregator.Config) {
			c.Retries, c.SearchBudget = 0, time.Second
			if !cached {
				c.CacheTTL = 0
			}
		},
	}, nil)
	a.client = a.key("alice", false)
	return a, a.app.Trips, sims
}

func TestOffers(t *testing.T) {
	t.Parallel()
	a, _, sims := newOffersAPI(t)
	date := time.Now().UTC().AddDate(0, 0, 20).Format(time.DateOnly)
	q := "/offers?origin=SFO&destination=JFK&departure_date=" + date + "&currency=EUR"
	wantError(t, a.do("GET", q, "", nil), 401, "unauthorized")
	for _, bad := range []struct{ q, field string }{
		{"/offers?destination=JFK&departure_date=" + date, "origin"},
		{"/offers?origin=SFO&destination=SFO&departure_date=" + date, "destination"},
		{"/offers?origin=SFO&destination=JFK", "departure_date"},
		{"/offers?origin=SFO&destination=JFK&departure_date=2020-01-01", "departure_date"},
		{"/offers?origin=SFO&destination=JFK&departure_date=" + date + "&adults=0", "adults"},
		{"/offers?origin=SFO&destination=JFK&departure_date=" + date + "&currency=XYZ", "currency"},
	} {
		m := wantError(t, a.do("GET", bad.q, a.client, nil), 422, "invalid_request")
		if d, _ := m["details"].(map[string]any); d[bad.field] == nil {
			t.Errorf("%s: details %v do not name %s", bad.q, m["details"], bad.field)
		}
	}
	r := a.do("GET", q, a.client, nil)
	if r.status != 200 {
		t.Fatalf("GET /offers = %d %s", r.status, r.body)
	}
	m := r.json(t)
	offers, providers := m["data"].([]any), m["providers"].([]any)
	if len(offers) == 0 || len(providers) != len(registry.Names()) {
		t.Fatalf("offers %d, providers %v", len(offers), providers)
	}
	first := offers[0].(map[string]any)
	if !strings.HasPrefix(first["id"].(string), "off_") || first["price"].(map[string]any)["currency"] != "EUR" ||
		first["provider_price"] == nil || first["expires_at"] == nil {
		t.Errorf("offer = %v", first)
	}
	seg := first["segments"].([]any)[0].(map[string]any)
	for _, k := range []string{"carrier", "flight_number", "origin", "destination", "departs_at", "arrives_at"} {
		if seg[k] == nil || seg[k] == "" {
			t.Errorf("segment lacks %s: %v", k, seg)
		}
	}
	for _, p := range providers {
		p := p.(map[string]any)
		if p["status"] != "ok" || p["simulated"] != true {
			t.Errorf("provider %v", p)
		}
	}
	for _, k := range sims.Kits() {
		k.Update(func(k *simkit.Knobs) { k.ErrorBurst = 100 })
	}
	m = wantError(t, a.do("GET", strings.Replace(q, "EUR", "USD", 1), a.client, nil), 503, "no_providers")
	if !strings.Contains(fmt.Sprint(m["details"]), "error") {
		t.Errorf("no_providers details = %v", m["details"])
	}
}

func TestTrips(t *testing.T) {
	t.Parallel()
	a, svc, sims := newOffersAPI(t)
	date := time.Now().UTC().AddDate(0, 0, 20).Format(time.DateOnly)
	body := `{"origin": "SFO", "destination": "JFK", "departure_date": "` + date + `", "currency": "USD",
		"passengers": [{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10", "title": "ms", "gender": "f"}],
		"contact": {"email": "ada@example.com", "phone_number": "+14155550100"}}`
	wantError(t, a.post("/trips", a.client, "", body), 400, "idempotency_key_required")
	for name, bad := range map[string]struct{ body, field string }{
		// "no passengers" once added an unknown field, testing the decoder
		// rather than the empty list its name promises; both are here now.
		"no passengers": {strings.Replace(body, `[{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10", "title": "ms", "gender": "f"}]`, `[]`, 1), "passengers"},
		"unknown field": {strings.Replace(body, `"passengers": [{`, `"passengers": [], "x": [{`, 1), ""},
		"past date":     {strings.Replace(body, date, "2020-01-01", 1), "departure_date"},
		"bad currency":  {strings.Replace(body, `"USD"`, `"XYZ"`, 1), "currency"},
		"bad born_on":   {strings.Replace(body, "1990-12-10", "tomorrow", 1), "passengers[0].born_on"},
		"bad email":     {strings.Replace(body, "ada@example.com", "ada", 1), "contact.email"},
		"bad phone":     {strings.Replace(body, "+14155550100", "555", 1), "contact.phone_number"},
		"bad title":     {strings.Replace(body, `"ms"`, `"sir"`, 1), "passengers[0].title"},
	} {
		if bad.body == body {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		r := a.post("/trips", a.client, idem(), bad.body)
		if bad.field == "" {
			wantError(t, r, 400, "invalid_json")
			continue
		}
		m := wantError(t, r, 422, "invalid_request")
		if d, _ := m["details"].(map[string]any); d[bad.field] == nil {
			t.Errorf("%s: details %v do not name %s", name, m["details"], bad.field)
		}
	}
	key := idem()
	created := data(t, a.post("/trips", a.client, key, body), 202)
	id := created["id"].(string)
	if !strings.HasPrefix(id, "trp_") || created["status"] != "pending" || created["price"] != nil || created["provider"] != nil {
		t.Errorf("created trip = %v", created)
	}
	if r := a.post("/trips", a.client, key, body); r.status != 202 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed POST /trips = %d %q", r.status, r.header.Get("Idempotent-Replayed"))
	}
	bob := a.key("bob", false)
	wantError(t, a.do("GET", "/trips/"+id, bob, nil), 404, "not_found")
	wantError(t, a.do("GET", "/trips/trp_nope", a.client, nil), 404, "not_found")

	deadline := time.Now().Add(20 * time.Second)
	var got map[string]any
	for time.Now().Before(deadline) {
		svc.Work(t.Context())
		got = data(t, a.do("GET", "/trips/"+id, a.client, nil), 200)
		if got["status"] != "pending" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got["status"] != "confirmed" || got["provider"] == nil || got["provider_booking_reference"] == "" || got["price"] == nil {
		t.Fatalf("trip = %v", got)
	}
	att := got["attempts"].([]any)
	if last := att[len(att)-1].(map[string]any); last["outcome"] != "confirmed" || !strings.HasPrefix(last["offer_id"].(string), "off_") {
		t.Errorf("attempts = %v", att)
	}
	orders := 0
	for _, k := range sims.Kits() {
		orders += len(k.Orders())
	}
	if orders != 1 {
		t.Errorf("%d orders for one trip (one replayed request), want 1", orders)
	}
}
