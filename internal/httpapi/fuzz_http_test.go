package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/trips"
)

// Fuzz targets for the query strings of the listing and search endpoints,
// sent through the whole handler (routing, authentication, parsing, the
// store) of a server on SQLite. Whatever the query, the answer is a 200 that
// keeps the listing's promises or a 422 invalid_request naming only the
// endpoint's parameters; never a 5xx. Seeds are in testdata/fuzz/<target>/.

// fuzzAPI is a server with three flights, three bookings of the customer,
// and one stub provider behind /offers; the handler is called directly.
type fuzzAPI struct {
	*api
	h    http.Handler
	stub *stubProvider
}

func newFuzzAPI(tb testing.TB) *fuzzAPI {
	tb.Helper()
	st := engines["sqlite"](tb)
	stub := &stubProvider{}
	a := start(tb, testConfig(tb), app.Overrides{Store: st,
		Providers:  func(*http.Client) []aggregator.Source { return []aggregator.Source{{Provider: stub}} },
		Aggregator: func(c *aggregator.Config) { c.Retries, c.CacheTTL = 0, 0 },
	}, nil)
	h := a.app.Handler()
	a.admin = a.key("ops", true)
	a.client = a.key("alice", false)
	for i, route := range [][2]string{{"SFO", "JFK"}, {"SFO", "JFK"}, {"LHR", "CDG"}} {
		body := fmt.Sprintf(`{"number": "RV%d", "origin": %q, "destination": %q, "departs_at": "2036-12-2%dT08:00:00Z",
			"arrives_at": "2036-12-2%dT13:30:00Z", "seats": [{"seat": "1A", "cabin": "economy", "price": {"amount": 100, "currency": "USD"}}]}`,
			i+1, route[0], route[1], i+1, i+1)
		r := a.do("POST", "/flights", a.admin, strings.NewReader(body))
		if r.status != 201 {
			tb.Fatalf("POST /flights = %d %s", r.status, r.body)
		}
		id := int64(r.json(tb)["data"].(map[string]any)["id"].(float64))
		hold := data(tb, a.post("/holds", a.client, fmt.Sprintf("fuzz-hold-%d", i), fmt.Sprintf(`{"flight_id": %d, "seats": ["1A"]}`, id)), 201)
		data(tb, a.post("/bookings", a.client, fmt.Sprintf("fuzz-book-%d", i),
			fmt.Sprintf(`{"hold_id": %q, "payment": {"token": "tok_visa"}}`, hold["id"])), 201)
	}
	return &fuzzAPI{api: a, h: h, stub: stub}
}

// get calls the handler for GET path?rawQuery as the customer.
func (a *fuzzAPI) get(t *testing.T, path, rawQuery string) response {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	r.URL.RawQuery = rawQuery
	r.Header.Set("Authorization", "Bearer "+a.client)
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

type listing struct {
	Data       []map[string]any `json:"data"`
	NextCursor string           `json:"next_cursor"`
}

// wantListing checks one answer to a query: a 422 naming only params, or a
// 200 page of at most the asked limit.
func wantListing(t *testing.T, raw string, r response, params ...string) (listing, bool) {
	t.Helper()
	switch r.status {
	case http.StatusUnprocessableEntity:
		m := wantError(t, r, 422, "invalid_request")
		details, _ := m["details"].(map[string]any)
		if len(details) == 0 {
			t.Fatalf("query %q: 422 without details: %s", raw, r.body)
		}
		for k := range details {
			if !containsString(params, k) {
				t.Fatalf("query %q: 422 on %q, not a parameter: %s", raw, k, r.body)
			}
		}
		return listing{}, false
	case http.StatusOK:
	default:
		t.Fatalf("query %q: status %d: %s", raw, r.status, r.body)
	}
	var l listing
	if err := json.Unmarshal(r.body, &l); err != nil || l.Data == nil {
		t.Fatalf("query %q: body %s: %v", raw, r.body, err)
	}
	q, _ := url.ParseQuery(raw)
	limit := 50
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	if len(l.Data) > limit {
		t.Fatalf("query %q: %d rows, limit %d", raw, len(l.Data), limit)
	}
	if l.NextCursor != "" && len(l.Data) != limit {
		t.Fatalf("query %q: a next cursor after a short page of %d", raw, len(l.Data))
	}
	return l, true
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// followCursor checks that the next page, asked with the cursor a page
// issued, is a 200 that does not repeat the page's rows.
func (a *fuzzAPI) followCursor(t *testing.T, path string, q url.Values, l listing, params ...string) {
	t.Helper()
	if l.NextCursor == "" {
		return
	}
	q.Set("cursor", l.NextCursor)
	next, ok := wantListing(t, q.Encode(), a.get(t, path, q.Encode()), params...)
	if !ok {
		t.Fatalf("%s?%s: the cursor the API issued is refused", path, q.Encode())
	}
	for _, row := range next.Data {
		for _, prev := range l.Data {
			if fmt.Sprint(row["id"]) == fmt.Sprint(prev["id"]) {
				t.Fatalf("%s?%s: row %v repeated on the next page", path, q.Encode(), row["id"])
			}
		}
	}
}

// FuzzListFlightsQuery: GET /flights?origin=&destination=&date=&limit=&cursor=.
func FuzzListFlightsQuery(f *testing.F) {
	a := newFuzzAPI(f)
	params := []string{"origin", "destination", "date", "limit", "cursor"}
	f.Fuzz(func(t *testing.T, raw string) {
		l, ok := wantListing(t, raw, a.get(t, "/flights", raw), params...)
		if !ok {
			return
		}
		q, _ := url.ParseQuery(raw)
		for _, row := range l.Data {
			for _, p := range []string{"origin", "destination"} {
				if want := strings.ToUpper(q.Get(p)); want != "" && row[p] != want {
					t.Fatalf("query %q: row %v does not match %s=%s", raw, row, p, want)
				}
			}
			if d := q.Get("date"); d != "" && !strings.HasPrefix(fmt.Sprint(row["departs_at"]), d) {
				t.Fatalf("query %q: row %v is not on %s", raw, row, d)
			}
		}
		a.followCursor(t, "/flights", q, l, params...)
	})
}

// FuzzListBookingsQuery: GET /bookings?limit=&cursor=.
func FuzzListBookingsQuery(f *testing.F) {
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, raw string) {
		l, ok := wantListing(t, raw, a.get(t, "/bookings", raw), "limit", "cursor")
		if !ok {
			return
		}
		for _, row := range l.Data {
			if id, _ := row["id"].(string); !strings.HasPrefix(id, "bkg_") {
				t.Fatalf("query %q: row %v", raw, row)
			}
		}
		q, _ := url.ParseQuery(raw)
		a.followCursor(t, "/bookings", q, l, "limit", "cursor")
	})
}

// FuzzAuthorizationHeader: whatever the Authorization header, a customer
// endpoint answers 401 unauthorized, or 200 for the customer's own key
// (the scheme is case-insensitive; spaces around the key do not count).
func FuzzAuthorizationHeader(f *testing.F) {
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, auth string) {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/bookings", nil)
		r.Header["Authorization"] = []string{strings.ReplaceAll(auth, "$KEY", a.client)}
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, r)
		res := response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		own := strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(key) == a.client
		switch {
		case own && res.status == http.StatusOK:
		case !own && res.status == http.StatusUnauthorized:
			wantError(t, res, 401, "unauthorized")
		default:
			t.Fatalf("Authorization %q: %d %s", r.Header.Get("Authorization"), res.status, res.body)
		}
	})
}

// FuzzOffersQuery: GET /offers?origin=&destination=&departure_date=&adults=&currency=.
// What reaches the provider is a valid search in the currency asked for.
func FuzzOffersQuery(f *testing.F) {
	a := newFuzzAPI(f)
	params := []string{"origin", "destination", "departure_date", "adults", "currency"}
	f.Fuzz(func(t *testing.T, raw string) {
		a.stub.reset()
		r := a.get(t, "/offers", raw)
		searched, got := a.stub.last()
		if r.status != http.StatusOK {
			if _, ok := wantListing(t, raw, r, params...); ok {
				t.Fatal("unreachable")
			}
			if searched {
				t.Fatalf("query %q: refused, yet searched %+v", raw, got)
			}
			return
		}
		if !searched {
			t.Fatalf("query %q: 200 without a search", raw)
		}
		today := time.Now().UTC().Truncate(24 * time.Hour)
		if !flights.ValidAirport(got.Origin) || !flights.ValidAirport(got.Destination) || got.Origin == got.Destination ||
			got.Adults < 1 || got.Adults > trips.MaxPassengers || got.DepartureDate.Before(today.Add(-24*time.Hour)) {
			t.Fatalf("query %q searched %+v", raw, got)
		}
		var page struct {
			Data []struct {
				Price money.Money `json:"price"`
			} `json:"data"`
			Providers []map[string]any `json:"providers"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil || len(page.Data) != 1 || len(page.Providers) != 1 {
			t.Fatalf("query %q: body %s: %v", raw, r.body, err)
		}
		if c := page.Data[0].Price.Currency; c != got.Currency || !money.Known(c) {
			t.Fatalf("query %q: priced in %q, searched in %q", raw, c, got.Currency)
		}
	})
}

// stubProvider answers every search with one offer in USD and records the
// last search it was asked for.
type stubProvider struct {
	mu       sync.Mutex
	searched bool
	req      provider.SearchRequest
}

func (p *stubProvider) reset() { p.mu.Lock(); p.searched = false; p.mu.Unlock() }

func (p *stubProvider) last() (bool, provider.SearchRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.searched, p.req
}

func (p *stubProvider) Name() string { return "stub" }

func (p *stubProvider) Search(_ context.Context, req provider.SearchRequest) ([]provider.Offer, error) {
	p.mu.Lock()
	p.searched, p.req = true, req
	p.mu.Unlock()
	dep := req.DepartureDate.Add(8 * time.Hour)
	return []provider.Offer{{
		Provider: "stub", ID: "o1", Price: money.Money{Amount: 12345, Currency: "USD"}, ExpiresAt: dep,
		Segments: []provider.Segment{{Carrier: "RV", FlightNumber: "1", Origin: req.Origin, Destination: req.Destination,
			DepartsAt: dep, ArrivesAt: dep.Add(5 * time.Hour)}},
	}}, nil
}

var errStub = errors.New("stub provider only searches")

func (p *stubProvider) Price(context.Context, provider.Offer) (provider.Offer, error) {
	return provider.Offer{}, errStub
}

func (p *stubProvider) Book(context.Context, provider.OrderRequest) (provider.Order, error) {
	return provider.Order{}, errStub
}

func (p *stubProvider) FindOrder(context.Context, string) (provider.Order, error) {
	return provider.Order{}, errStub
}

func (p *stubProvider) Cancel(context.Context, string) (provider.Cancellation, error) {
	return provider.Cancellation{}, errStub
}

func (p *stubProvider) CancelStatus(context.Context, string) (provider.Cancellation, error) {
	return provider.Cancellation{}, errStub
}
