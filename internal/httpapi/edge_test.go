package httpapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/money"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEdgeAPI is a full server (holds, bookings, trips without providers)
// on the given engine, logging into the returned buffer.
func newEdgeAPI(t *testing.T, engine string) (*api, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := start(t, testConfig(t), app.Overrides{Store: engines[engine](t), Providers: noProviders}, log)
	a.admin, a.client = a.key("ops", true), a.key("alice", false)
	return a, logs
}

// TestEdgeValidationSameOnBothEngines: text PostgreSQL cannot store (a NUL
// byte) or that is not text at all (invalid UTF-8, control characters) is
// refused at the edge with the same 4xx on both engines, where PostgreSQL
// used to answer 500 and SQLite to store it.
func TestEdgeValidationSameOnBothEngines(t *testing.T) {
	t.Parallel()
	for engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a, logs := newEdgeAPI(t, engine)
			date := time.Now().UTC().AddDate(0, 0, 20).Format(time.DateOnly)
			trip := func(given string) string {
				return `{"origin": "SFO", "destination": "JFK", "departure_date": "` + date + `", "currency": "USD",
					"passengers": [{"given_name": "` + given + `", "family_name": "Lovelace", "born_on": "1990-12-10"}]}`
			}
			for i, name := range []string{`Ada\u0000`, `A\u0007da`, `Ada\u009f`} {
				m := wantError(t, a.post("/trips", a.client, fmt.Sprintf("nul-trip-%d", i), trip(name)), 422, "invalid_request")
				if d, _ := m["details"].(map[string]any); d["passengers[0].given_name"] == nil {
					t.Errorf("given_name %s: details = %v", name, m["details"])
				}
			}
			for i, tok := range []string{`tok_\u0000visa`, strings.Repeat("t", 256)} {
				m := wantError(t, a.post("/bookings", a.client, fmt.Sprintf("nul-token-%d", i),
					`{"hold_id": "hld_x", "payment": {"token": "`+tok+`"}}`), 422, "invalid_request")
				if d, _ := m["details"].(map[string]any); d["payment.token"] == nil {
					t.Errorf("token %.20q: details = %v", tok, m["details"])
				}
			}
			fl := a.flight(t)
			for _, key := range []string{"k\xffey", "bad\xc3(", "tab\there"} {
				wantError(t, a.post("/holds", a.client, key, fmt.Sprintf(`{"flight_id": %d, "seats": ["10A"]}`, fl)), 400, "invalid_idempotency_key")
			}
			if strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("refused input logged an error:\n%s", logs)
			}
		})
	}
}

// TestPricesBounded: a seat priced past money.MaxAmount is refused (two at
// the int64 maximum used to overflow a hold's total to -2); at the bound, a
// hold's total is exact, on both engines.
func TestPricesBounded(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		flight := func(amount int64) string {
			return fmt.Sprintf(`{"number": "RV9", "origin": "SFO", "destination": "JFK", "departs_at": "2036-12-24T08:00:00Z",
				"arrives_at": "2036-12-24T13:30:00Z", "seats": [
				{"seat": "1A", "cabin": "first", "price": {"amount": %d, "currency": "USD"}},
				{"seat": "1B", "cabin": "first", "price": {"amount": %d, "currency": "USD"}}]}`, amount, amount)
		}
		for _, amount := range []int64{math.MaxInt64, money.MaxAmount + 1} {
			m := wantError(t, a.post("/flights", a.admin, "", flight(amount)), 422, "invalid_request")
			if d, _ := m["details"].(map[string]any); d["seats[0].price.amount"] == nil {
				t.Errorf("amount %d: details = %v", amount, m["details"])
			}
		}
		f := data(t, a.post("/flights", a.admin, "", flight(money.MaxAmount)), 201)
		h := data(t, a.post("/holds", a.client, "max-prices", fmt.Sprintf(`{"flight_id": %v, "seats": ["1A", "1B"]}`, f["id"])), 201)
		if total, _ := h["total"].(map[string]any); total["amount"] != float64(2*money.MaxAmount) {
			t.Errorf("total of two seats at MaxAmount = %v", h["total"])
		}
	})
}

// TestDatesBounded: a departure date past the end of the sale window (it
// used to answer 500 for 9999-12-31) is a 422 naming the field.
func TestDatesBounded(t *testing.T) {
	t.Parallel()
	a, _ := newEdgeAPI(t, "sqlite")
	far := time.Now().UTC().AddDate(3, 0, 0).Format(time.DateOnly)
	for _, d := range []string{"9999-12-31", far} {
		m := wantError(t, a.do(http.MethodGet, "/offers?origin=SFO&destination=JFK&departure_date="+d, a.client, nil), 422, "invalid_request")
		if dt, _ := m["details"].(map[string]any); dt["departure_date"] == nil {
			t.Errorf("departure_date %s: details = %v", d, m["details"])
		}
		m = wantError(t, a.post("/trips", a.client, "far-"+d, `{"origin": "SFO", "destination": "JFK", "departure_date": "`+d+`", "currency": "USD",
			"passengers": [{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10"}]}`), 422, "invalid_request")
		if dt, _ := m["details"].(map[string]any); dt["departure_date"] == nil {
			t.Errorf("trip departure_date %s: details = %v", d, m["details"])
		}
	}
}

// TestTruncatedBodyIsClientError: a body that ends before its
// Content-Length is the client's doing: 400 invalid_json, logged at info,
// never a 500 logged as an error.
func TestTruncatedBodyIsClientError(t *testing.T) {
	t.Parallel()
	a, logs := newEdgeAPI(t, "sqlite")
	for _, c := range []struct{ path, idem string }{{"/holds", "cut-1"}, {"/flights", ""}} {
		key := a.client
		if c.path == "/flights" {
			key = a.admin
		}
		conn, err := net.Dial("tcp", strings.TrimPrefix(a.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		idem := ""
		if c.idem != "" {
			idem = "Idempotency-Key: " + c.idem + "\r\n"
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n%sContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"flight_id\": 1, ", c.path, key, idem)
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		var body bytes.Buffer
		body.ReadFrom(res.Body)
		conn.Close()
		wantError(t, response{status: res.StatusCode, header: res.Header, body: body.Bytes()}, 400, "invalid_json")
	}
	out := logs.String()
	if strings.Contains(out, `"level":"ERROR"`) {
		t.Errorf("a truncated body logged an error:\n%s", out)
	}
	if !strings.Contains(out, `"level":"INFO","msg":"request refused"`) {
		t.Errorf("no info line says why the request was refused:\n%s", out)
	}
}

// TestFlightDateFilterAtCalendarEnd: a flight search on a date at either
// end of the calendar finds nothing, on both engines, rather than carrying
// date arithmetic past the calendar into the database (as /offers did).
func TestFlightDateFilterAtCalendarEnd(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		for _, d := range []string{"9999-12-31", "0001-01-01"} {
			if r := a.get("/flights?date=" + d); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"data":[]}` {
				t.Errorf("GET /flights?date=%s = %d %s", d, r.status, r.body)
			}
		}
	})
}
