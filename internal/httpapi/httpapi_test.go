package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/httpapi"
	"github.com/reservd/reservd/internal/payment"
	"github.com/reservd/reservd/internal/reserve"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/storetest"
)

// engines are the store engines every HTTP test runs on.
var engines = storetest.Engines

// api is a running server with an admin and a customer key.
type api struct {
	t             testing.TB
	url           string
	store         store.Store
	svc           *reserve.Service
	app           *app.App
	gateway       *payment.TestGateway
	admin, client string
}

func newAPI(t testing.TB, newStore func(testing.TB) store.Store, opts ...func(*config.Config)) *api {
	t.Helper()
	cfg := testConfig(t)
	for _, o := range opts {
		o(&cfg)
	}
	gw := payment.NewTestGateway()
	a := start(t, cfg, app.Overrides{Store: newStore(t), Gateway: gw, Providers: noProviders}, nil)
	a.gateway = gw
	a.admin = a.key("ops", true)
	a.client = a.key("alice", false)
	return a
}

// testConfig is production's default configuration (an empty
// environment) less what would get in the tests' way: no rate limit, no
// limit on invalid keys per address (the fuzz targets send thousands), and
// API keys looked up on every request.
func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("default configuration: %v", err)
	}
	cfg.RateLimit, cfg.APIKeyCacheTTL, cfg.AuthFailureLimit = 0, 0, 0
	return cfg
}

// noProviders is a service without flight providers, for the tests that
// do not search offers.
func noProviders(*http.Client) []aggregator.Source { return nil }

// start builds the service with app.New and serves it; log nil discards
// its lines.
func start(t testing.TB, cfg config.Config, o app.Overrides, log *slog.Logger) *api {
	t.Helper()
	a, err := app.New(t.Context(), cfg, app.Env{Log: log}, o)
	if err != nil {
		t.Fatalf("build the service: %v", err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &api{t: t, url: srv.URL, store: a.Store, svc: a.Reserve, app: a}
}

func (a *api) key(name string, admin bool) string {
	a.t.Helper()
	key, digest := apikey.Generate()
	if _, err := a.store.APIKeyCreate(a.t.Context(), store.APIKeyCreateParams{Name: name, Digest: digest, Admin: admin}); err != nil {
		a.t.Fatalf("create key: %v", err)
	}
	return key
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (a *api) do(method, path, key string, body io.Reader, headers ...string) response {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.url+path, body)
	if err != nil {
		a.t.Fatalf("new request: %v", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatalf("read body: %v", err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (a *api) get(path string) response { return a.do(http.MethodGet, path, "", nil) }

// wantError asserts an error response: status, code, the JSON content type.
func wantError(t testing.TB, r response, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["code"] != code {
		t.Fatalf("code = %v, want %s; body %s", m["code"], code, r.body)
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Fatalf("error without a message: %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	return m
}

func forEachEngine(t *testing.T, f func(t *testing.T, a *api)) {
	for name, newStore := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, newAPI(t, newStore))
		})
	}
}

const validFlight = `{"number": "UA123", "origin": "SFO", "destination": "JFK",
	"departs_at": "2036-12-24T08:30:00-08:00", "arrives_at": "2036-12-24T17:05:00-05:00",
	"seats": [
		{"seat": "1A", "cabin": "business", "price": {"amount": 89900, "currency": "USD"}},
		{"seat": "12A", "cabin": "economy", "price": {"amount": 12900, "currency": "USD"}},
		{"seat": "12B", "cabin": "economy", "price": {"amount": 12900, "currency": "USD"}}
	]}`

func TestSeedParity(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		r := a.get("/ping")
		if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"message":"pong"}` {
			t.Errorf("GET /ping = %d %s", r.status, r.body)
		}
		for _, path := range []string{"/flights/1", "/flights/abc", "/flights/0", "/flights/-3", "/flights/1.5", "/flights/99999999999999999999"} {
			m := wantError(t, a.get(path), 404, "flight_not_found")
			if m["message"] != "Unable to find the requested flight" {
				t.Errorf("GET %s message = %v", path, m["message"])
			}
		}
		created := a.do("POST", "/flights", a.admin, strings.NewReader(validFlight))
		if created.status != 201 {
			t.Fatalf("POST /flights = %d %s", created.status, created.body)
		}
		id := created.json(t)["data"].(map[string]any)["id"]
		r = a.get(fmt.Sprintf("/flights/%v", id))
		if r.status != 200 {
			t.Fatalf("GET /flights/%v = %d %s", id, r.status, r.body)
		}
		var got struct {
			Data map[string]any `json:"data"`
		}
		json.Unmarshal(r.body, &got)
		want := map[string]any{
			"id": id, "number": "UA123", "origin": "SFO", "destination": "JFK",
			"departs_at": "2036-12-24T16:30:00Z", "arrives_at": "2036-12-24T22:05:00Z",
			"seats_total": 3.0, "seats_available": 3.0,
			"lowest_price": map[string]any{"amount": 12900.0, "currency": "USD"},
		}
		if fmt.Sprint(got.Data) != fmt.Sprint(want) {
			t.Errorf("flight = %v\nwant     %v", got.Data, want)
		}
	})
}

func TestInventory(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		var ids []float64
		for i, dep := range []string{"2036-12-24T08:00:00Z", "2036-12-24T09:00:00Z", "2036-12-25T08:00:00Z"} {
			body := strings.Replace(validFlight, `"2036-12-24T08:30:00-08:00"`, `"`+dep+`"`, 1)
			body = strings.Replace(body, `"2036-12-24T17:05:00-05:00"`, `"2036-12-26T08:00:00Z"`, 1)
			if i == 2 {
				body = strings.Replace(body, `"JFK"`, `"LAX"`, 1)
			}
			r := a.do("POST", "/flights", a.admin, strings.NewReader(body))
			if r.status != 201 {
				t.Fatalf("POST /flights = %d %s", r.status, r.body)
			}
			ids = append(ids, r.json(t)["data"].(map[string]any)["id"].(float64))
		}
		list := func(q string) ([]any, string) {
			t.Helper()
			r := a.get("/flights" + q)
			if r.status != 200 {
				t.Fatalf("GET /flights%s = %d %s", q, r.status, r.body)
			}
			m := r.json(t)
			next, _ := m["next_cursor"].(string)
			return m["data"].([]any), next
		}
		if got, next := list(""); len(got) != 3 || next != "" {
			t.Errorf("all flights: %d, next %q", len(got), next)
		}
		if got, _ := list("?origin=sfo&destination=JFK&date=2036-12-24"); len(got) != 2 {
			t.Errorf("route and date: %d flights, want 2", len(got))
		}
		if got, _ := list("?destination=LAX"); len(got) != 1 {
			t.Errorf("destination LAX: %d flights, want 1", len(got))
		}
		page1, next := list("?limit=2")
		if len(page1) != 2 || next == "" {
			t.Fatalf("page 1: %d flights, next %q", len(page1), next)
		}
		page2, next2 := list("?limit=2&cursor=" + next)
		if len(page2) != 1 || next2 != "" || page2[0].(map[string]any)["id"] != ids[2] {
			t.Fatalf("page 2: %v, next %q", page2, next2)
		}

		r := a.get(fmt.Sprintf("/flights/%v/seats", ids[0]))
		if r.status != 200 {
			t.Fatalf("GET seats = %d %s", r.status, r.body)
		}
		seats := r.json(t)["data"].([]any)
		if len(seats) != 3 {
			t.Fatalf("%d seats, want 3", len(seats))
		}
		first := seats[0].(map[string]any)
		if first["seat"] != "1A" || first["cabin"] != "business" || first["status"] != "available" ||
			fmt.Sprint(first["price"]) != "map[amount:89900 currency:USD]" {
			t.Errorf("first seat = %v", first)
		}
		wantError(t, a.get("/flights/424242/seats"), 404, "flight_not_found")
		wantError(t, a.get("/flights/x/seats"), 404, "flight_not_found")

		for _, q := range []string{"?origin=SF", "?destination=12", "?date=24-12-2026", "?date=2026-02-30", "?limit=0", "?limit=201", "?limit=x", "?cursor=!!", "?cursor=e30"} {
			wantError(t, a.get("/flights"+q), 422, "invalid_request")
		}
	})
}

func TestAuth(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		body := func() io.Reader { return strings.NewReader(validFlight) }
		wantError(t, a.do("POST", "/flights", "", body()), 401, "unauthorized")
		wantError(t, a.do("POST", "/flights", "rsv_notakey", body()), 401, "unauthorized")
		wantError(t, a.do("POST", "/flights", a.client, body()), 403, "forbidden")
		r := a.do("POST", "/flights", "", body(), "Authorization", "Basic "+a.admin)
		wantError(t, r, 401, "unauthorized")
		if r := a.do("POST", "/flights", a.admin, body()); r.status != 201 {
			t.Fatalf("admin POST /flights = %d %s", r.status, r.body)
		}
	})
}

// TestBadInputNeverWrites throws malformed and invalid requests at POST
// /flights: each gets its documented 4xx, none a 5xx, and nothing is written.
func TestBadInputNeverWrites(t *testing.T) {
	t.Parallel()
	replace := func(old, new string) string { return strings.Replace(validFlight, old, new, 1) }
	tests := []struct {
		name, body string
		status     int
		code       string
		field      string // a key details must name, for 422
	}{
		{"empty body", "", 400, "invalid_json", ""},
		{"not json", "number=UA1", 400, "invalid_json", ""},
		{"truncated", validFlight[:40], 400, "invalid_json", ""},
		{"array", "[]", 400, "invalid_json", ""},
		{"string", `"flight"`, 400, "invalid_json", ""},
		{"trailing object", validFlight + " {}", 400, "invalid_json", ""},
		{"trailing garbage", validFlight + " x", 400, "invalid_json", ""},
		{"unknown field", replace(`"number"`, `"colour": "red", "number"`), 400, "invalid_json", ""},
		{"unknown nested field", replace(`"cabin": "business"`, `"cabin": "business", "window": true`), 400, "invalid_json", ""},
		{"wrong type", replace(`"UA123"`, `123`), 400, "invalid_json", ""},
		{"fraction amount", replace(`89900`, `899.5`), 400, "invalid_json", ""},
		{"string amount", replace(`89900`, `"899"`), 400, "invalid_json", ""},
		{"huge body", `{"number": "` + strings.Repeat("A", 2<<20) + `"}`, 413, "body_too_large", ""},
		{"null", "null", 422, "invalid_request", "number"},
		{"empty object", "{}", 422, "invalid_request", "seats"},
		{"bad departure", replace(`"2036-12-24T08:30:00-08:00"`, `"tomorrow"`), 422, "invalid_request", "departs_at"},
		{"departure without zone", replace(`"2036-12-24T08:30:00-08:00"`, `"2036-12-24T08:30:00"`), 422, "invalid_request", "departs_at"},
		{"impossible date", replace(`"2036-12-24T17:05:00-05:00"`, `"2026-02-30T17:05:00Z"`), 422, "invalid_request", "arrives_at"},
		{"arrival before departure", replace(`"2036-12-24T17:05:00-05:00"`, `"2036-12-24T07:00:00-08:00"`), 422, "invalid_request", "arrives_at"},
		{"bad origin", replace(`"SFO"`, `"SF0"`), 422, "invalid_request", "origin"},
		{"long destination", replace(`"JFK"`, `"JFKX"`), 422, "invalid_request", "destination"},
		{"same airports", replace(`"JFK"`, `"SFO"`), 422, "invalid_request", "destination"},
		{"bad flight number", replace(`"UA123"`, `"my flight"`), 422, "invalid_request", "number"},
		{"duplicate seat", replace(`"12B"`, `"12A"`), 422, "invalid_request", "seats"},
		{"bad seat label", replace(`"12B"`, `"B12"`), 422, "invalid_request", "seats[2].seat"},
		{"unknown cabin", replace(`"business"`, `"luxury"`), 422, "invalid_request", "seats[0].cabin"},
		{"unknown currency", replace(`"USD"`, `"XYZ"`), 422, "invalid_request", "seats[0].price.currency"},
		{"mixed currencies", replace(`12900, "currency": "USD"`, `12900, "currency": "EUR"`), 422, "invalid_request", "seats[1].price.currency"},
		{"negative price", replace(`89900`, `-1`), 422, "invalid_request", "seats[0].price.amount"},
		// The seats array emptied (what the case named "no seats" claimed to
		// test; it added an unknown field and so tested the decoder).
		{"no seats", validFlight[:strings.Index(validFlight, `"seats": [`)] + `"seats": []}`, 422, "invalid_request", "seats"},
		{"unknown field beside seats", replace(`"seats": [`, `"seats": [], "x": [`), 400, "invalid_json", ""},
	}
	forEachEngine(t, func(t *testing.T, a *api) {
		for _, tt := range tests {
			r := a.do("POST", "/flights", a.admin, strings.NewReader(tt.body), "Content-Type", "application/json")
			t.Run(tt.name, func(t *testing.T) {
				m := wantError(t, r, tt.status, tt.code)
				if tt.field != "" {
					details, _ := m["details"].(map[string]any)
					if _, ok := details[tt.field]; !ok {
						t.Errorf("details %v do not name %q", m["details"], tt.field)
					}
				}
			})
		}
		if tt := "duplicate seat"; true {
			r := a.do("POST", "/flights", a.admin, strings.NewReader(replace(`"12B"`, `"12A"`)))
			if d := r.json(t)["details"].(map[string]any)["seats"]; d != "duplicate label 12A" {
				t.Errorf("%s: details.seats = %v, want the contract's text", tt, d)
			}
		}
		long := strings.Repeat("k", 256)
		wantError(t, a.do("POST", "/flights", a.admin, strings.NewReader(validFlight), "Idempotency-Key", long), 400, "invalid_idempotency_key")

		if has, err := a.store.FlightExists(t.Context()); err != nil || has {
			t.Fatalf("after bad input HasFlights = %v, %v: something was written", has, err)
		}
	})
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"])
	wantError(t, a.get("/nope"), 404, "not_found")
	r := a.do("DELETE", "/flights/1", "", nil)
	wantError(t, r, 405, "method_not_allowed")
	if allow := r.header.Values("Allow"); len(allow) == 0 {
		t.Errorf("405 without an Allow header")
	}
	if r := a.get("/"); r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("GET / = %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := a.get("/healthz"); r.status != 200 || !bytes.Contains(r.body, []byte(`"status":"ok"`)) {
		t.Errorf("GET /healthz = %d %s", r.status, r.body)
	}
	if r := a.get("/metrics"); r.status != 200 || !bytes.Contains(r.body, []byte("reservd_http_request_duration_seconds")) {
		t.Errorf("GET /metrics = %d, no request histogram", r.status)
	}
	if id := a.get("/ping").header.Get("X-Request-Id"); id == "" {
		t.Errorf("no X-Request-Id on responses")
	}
	if id := a.do("GET", "/ping", "", nil, "X-Request-Id", "abc-123").header.Get("X-Request-Id"); id != "abc-123" {
		t.Errorf("X-Request-Id = %q, want the client's abc-123", id)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	st := engines["sqlite"](t)
	// Redis configured but unreachable (nothing listens on port 1).
	cfg := testConfig(t)
	cfg.RedisURL = "redis://127.0.0.1:1/0"
	a := start(t, cfg, app.Overrides{Store: st, Providers: noProviders}, nil)
	m := wantError(t, a.get("/readyz"), 503, "not_ready")
	details := m["details"].(map[string]any)
	if _, ok := details["redis"]; !ok || len(details) != 1 {
		t.Errorf("readyz details = %v, want only redis named", details)
	}
	ok := newAPI(t, engines["sqlite"])
	if r := ok.get("/readyz"); r.status != 200 {
		t.Errorf("readyz with no failing dependency = %d %s", r.status, r.body)
	}
}

// NewServer refuses to build without a dependency, naming every missing one,
// rather than serving a route that would fail on its first request.
func TestNewServerRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	_, err := httpapi.NewServer(httpapi.Deps{Store: engines["sqlite"](t)})
	if err == nil {
		t.Fatal("NewServer without its dependencies succeeded")
	}
	for _, name := range []string{"Reserve", "Aggregator", "Trips", "Logger", "Registry", "Limiter", "Streams", "KeyUsage"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name the missing %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "Store") {
		t.Errorf("error %q names Store, which was given", err)
	}
}
