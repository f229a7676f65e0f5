package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/reservd/reservd/internal/provider/registry"
	"github.com/reservd/reservd/internal/testdb"
)

// answer is one API response.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) data() map[string]any { d, _ := a.body["data"].(map[string]any); return d }

func (a answer) id() string { s, _ := a.data()["id"].(string); return s }

// call sends one request to in; header is name, value pairs.
func (in *instance) call(t testing.TB, method, path, key, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+in.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	a := answer{status: res.StatusCode, header: res.Header}
	raw, _ := io.ReadAll(res.Body)
	json.Unmarshal(raw, &a.body)
	return a
}

// must fails the test unless a has status want.
func (a answer) must(t testing.TB, want int, what string) answer {
	t.Helper()
	if a.status != want {
		t.Fatalf("%s = %d %v, want %d", what, a.status, a.body, want)
	}
	return a
}

// setupFlight creates a customer key and, through the API with an admin key,
// a flight of economy rows 10–19 (A–F); it returns the customer key and the
// flight id.
func setupFlight(t testing.TB, in *instance, env map[string]string) (key string, flight int64) {
	t.Helper()
	admin := createKey(t, env, "ops", true)
	var seats []string
	for r := 10; r < 20; r++ {
		for _, l := range "ABCDEF" {
			seats = append(seats, fmt.Sprintf(`{"seat":"%d%c","cabin":"economy","price":{"amount":12900,"currency":"USD"}}`, r, l))
		}
	}
	body := `{"number":"RV7","origin":"SFO","destination":"JFK","departs_at":"2036-12-24T08:00:00Z","arrives_at":"2036-12-24T13:30:00Z","seats":[` +
		strings.Join(seats, ",") + `]}`
	f := in.call(t, "POST", "/flights", admin, body).must(t, 201, "POST /flights")
	return createKey(t, env, "customer", false), int64(f.data()["id"].(float64))
}

// tripDate is a departure date the trip and offer validators accept.
func tripDate() string { return time.Now().UTC().AddDate(0, 2, 0).Format(time.DateOnly) }

func offersPath() string {
	return "/offers?origin=SFO&destination=JFK&departure_date=" + tripDate() + "&currency=USD"
}

func tripBody() string {
	return `{"origin":"SFO","destination":"JFK","departure_date":"` + tripDate() + `","currency":"USD",
		"passengers":[{"given_name":"Ada","family_name":"Lovelace","born_on":"1990-12-10"}],
		"contact":{"email":"ada@example.com","phone_number":"+14155550100"}}`
}

// metrics is one scrape of GET /metrics.
type metrics map[string]*dto.MetricFamily

func (in *instance) scrape(t testing.TB) metrics {
	t.Helper()
	res, err := http.Get("http://" + in.addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("GET /metrics is not the Prometheus text format: %v", err)
	}
	return fams
}

// value sums the series of family name whose labels include the given
// name, value pairs: counters, gauges, and a histogram's observation count.
func (m metrics) value(name string, labels ...string) float64 {
	f, ok := m[name]
	if !ok {
		return -1
	}
	sum := 0.0
next:
	for _, s := range f.Metric {
		have := map[string]string{}
		for _, l := range s.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case s.Counter != nil:
			sum += s.Counter.GetValue()
		case s.Gauge != nil:
			sum += s.Gauge.GetValue()
		case s.Histogram != nil:
			sum += float64(s.Histogram.GetSampleCount())
		}
	}
	return sum
}

// eventually polls cond until it holds or 15 seconds pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsMove does each action once and checks that its counters grew.
func TestMetricsMove(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATA_DIR": t.TempDir(), "SEED_DEMO": "false", "LOG_FORMAT": "json",
		"HOLD_TTL": "3s", "SWEEP_INTERVAL": "200ms", "RATE_LIMIT": "0"}
	in := start(t, env)
	key, flight := setupFlight(t, in, env)
	before := in.scrape(t)
	grew := func(after metrics, by float64, name string, labels ...string) {
		t.Helper()
		if d := after.value(name, labels...) - before.value(name, labels...); d < by {
			t.Errorf("%s%v grew by %v, want at least %v", name, labels, d, by)
		}
	}
	holdBody := func(seats string) string { return fmt.Sprintf(`{"flight_id":%d,"seats":[%s]}`, flight, seats) }

	// A hold left to expire (HOLD_TTL is 3s; the sweeper runs every 200ms).
	in.call(t, "POST", "/holds", key, holdBody(`"19F"`), "Idempotency-Key", "m-expire").must(t, 201, "POST /holds to expire")

	// A hold, its replay, a seat the fast path refuses, a booking and its cancellation.
	hold := in.call(t, "POST", "/holds", key, holdBody(`"10A","10B"`), "Idempotency-Key", "m-1").must(t, 201, "POST /holds")
	in.call(t, "POST", "/holds", key, holdBody(`"10A"`), "Idempotency-Key", "m-2").must(t, 409, "POST /holds of a held seat")
	// (A replay goes through the fast path as its hold's twin and leaves it
	// without that hold's seats, so the refusal above comes first.)
	replay := in.call(t, "POST", "/holds", key, holdBody(`"10A","10B"`), "Idempotency-Key", "m-1").must(t, 201, "POST /holds again")
	if replay.header.Get("Idempotent-Replayed") != "true" || replay.id() != hold.id() {
		t.Errorf("the repeat was not a replay: %v %v", replay.header, replay.body)
	}
	booking := in.call(t, "POST", "/bookings", key, `{"hold_id":"`+hold.id()+`","payment":{"token":"tok_visa"}}`,
		"Idempotency-Key", "m-3").must(t, 201, "POST /bookings")
	in.call(t, "POST", "/bookings/"+booking.id()+"/cancel", key, "").must(t, 200, "POST /bookings/{id}/cancel")
	in.call(t, "GET", offersPath(), key, "").must(t, 200, "GET /offers")
	in.call(t, "GET", "/readyz", "", "").must(t, 200, "GET /readyz")

	after := in.scrape(t)
	grew(after, 2, "reservd_holds_total", "event", "created")
	grew(after, 1, "reservd_holds_total", "event", "conflict")
	grew(after, 1, "reservd_holds_total", "event", "booked")
	grew(after, 1, "reservd_idempotent_replays_total")
	grew(after, 1, "reservd_seat_fastpath_total", "result", "hit")
	grew(after, 2, "reservd_seat_fastpath_total", "result", "miss")
	grew(after, 1, "reservd_bookings_total", "event", "confirmed")
	grew(after, 1, "reservd_bookings_total", "event", "canceled")
	grew(after, 1, "reservd_payments_total", "outcome", "charged")
	grew(after, 1, "reservd_payments_total", "outcome", "refunded")
	grew(after, 3, "reservd_http_request_duration_seconds", "route", "/holds", "method", "POST")
	grew(after, 1, "reservd_http_request_duration_seconds", "route", "/holds", "method", "POST", "code", "4xx")
	grew(after, 1, "reservd_http_request_duration_seconds", "route", "/bookings/{id}/cancel", "method", "POST", "code", "2xx")
	grew(after, 1, "reservd_offer_search_cache_total", "result", "miss")
	for _, p := range registry.Names() {
		grew(after, 1, "reservd_provider_calls_total", "provider", p, "op", "search", "outcome", "ok")
		grew(after, 1, "reservd_provider_call_duration_seconds", "provider", p, "op", "search")
		if v := after.value("reservd_provider_circuit_state", "provider", p); v != 0 {
			t.Errorf("circuit of %s = %v, want 0 (closed)", p, v)
		}
	}
	if v := after.value("reservd_dependency_up", "dependency", "database"); v != 1 {
		t.Errorf("reservd_dependency_up{database} = %v, want 1", v)
	}
	for _, pool := range []string{"writer", "reader"} {
		if v := after.value("reservd_db_pool_max_connections", "pool", pool); v < 1 {
			t.Errorf("reservd_db_pool_max_connections{pool=%q} = %v", pool, v)
		}
	}
	if v := after.value("reservd_db_pool_open_connections", "pool", "reader"); v < 1 {
		t.Errorf("reservd_db_pool_open_connections{pool=reader} = %v, want an open connection", v)
	}

	// The sweeper expires the first hold and counts what is active; the
	// queue-depth job sees the refund just made (0 left) and no trips.
	eventually(t, "the sweeper to expire a hold", func() bool {
		m := in.scrape(t)
		return m.value("reservd_holds_total", "event", "expired")-before.value("reservd_holds_total", "event", "expired") >= 1 &&
			m.value("reservd_active_holds") == 0
	})
	m := in.scrape(t)
	grew(m, 1, "reservd_job_runs_total", "job", "expire_holds", "result", "ok")
	grew(m, 1, "reservd_job_runs_total", "job", "queue_depth", "result", "ok")
	grew(m, 1, "reservd_job_items_total", "job", "expire_holds")
	for _, q := range []string{"payments", "refunds", "trips"} {
		if v := m.value("reservd_job_queue_depth", "queue", q); v != 0 {
			t.Errorf("reservd_job_queue_depth{queue=%q} = %v, want 0", q, v)
		}
	}
	if _, ok := m["reservd_hold_expiry_lag_seconds"]; !ok {
		t.Errorf("no reservd_hold_expiry_lag_seconds")
	}

	// A hold counts as active until it lapses.
	in.call(t, "POST", "/holds", key, holdBody(`"11A"`), "Idempotency-Key", "m-4").must(t, 201, "POST /holds")
	eventually(t, "reservd_active_holds to count a new hold", func() bool { return in.scrape(t).value("reservd_active_holds") == 1 })

	// A trip waits in its queue until the worker books it.
	trip := in.call(t, "POST", "/trips", key, tripBody(), "Idempotency-Key", "m-5").must(t, 202, "POST /trips")
	eventually(t, "the trip to be booked", func() bool {
		return in.call(t, "GET", "/trips/"+trip.id(), key, "").data()["status"] == "confirmed"
	})
	m = in.scrape(t)
	grew(m, 1, "reservd_trip_attempts_total", "outcome", "confirmed")
	grew(m, 1, "reservd_provider_calls_total", "op", "book", "outcome", "ok")
	grew(m, 1, "reservd_job_items_total", "job", "book_trips")
}

// span is what the tests read of a span the console exporter wrote.
type span struct {
	Name        string
	SpanKind    int
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ TraceID, SpanID string }
	Attributes  []struct {
		Key   string
		Value struct{ Value any }
	}
	Links []struct {
		SpanContext struct{ TraceID, SpanID string }
	}
}

func (s span) attr(key string) any {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.Value
		}
	}
	return nil
}

// Span kinds as the console exporter writes them.
const (
	kindServer = 2
	kindClient = 3
)

type spanSet []span

func readSpanLines(t testing.TB, out string) spanSet {
	t.Helper()
	var spans spanSet
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "{") {
			continue
		}
		var s span
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("console exporter line is not a span: %v\n%s", err, sc.Text())
		}
		spans = append(spans, s)
	}
	return spans
}

func (ss spanSet) named(name string) []span {
	var out []span
	for _, s := range ss {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// under returns the spans of root's trace that descend from root.
func (ss spanSet) under(root span) []span {
	byID := map[string]span{}
	for _, s := range ss {
		if s.SpanContext.TraceID == root.SpanContext.TraceID {
			byID[s.SpanContext.SpanID] = s
		}
	}
	var out []span
	for _, s := range byID {
		for p, ok := byID[s.Parent.SpanID]; ok; p, ok = byID[p.Parent.SpanID] {
			if p.SpanContext.SpanID == root.SpanContext.SpanID {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// TestTracesConsole runs the service with OTEL_TRACES_EXPORTER=console on
// each engine and reads the spans it wrote to its standard output: a hold
// request's server span with the database's spans under it, provider calls
// under an offer search, and a trip's background booking in the trace of
// the request that created it. Its log lines carry the same trace ids.
//
// Not parallel: telemetry.Setup installs the process-wide tracer provider,
// which must be this instance's while it runs (parallel tests start only
// after the sequential ones are done).
func TestTracesConsole(t *testing.T) {
	engines := []struct {
		name string
		env  func(t *testing.T) map[string]string
		db   string // db.system.name of the database spans
	}{
		{"sqlite", func(t *testing.T) map[string]string { return map[string]string{"DATA_DIR": t.TempDir()} }, "sqlite"},
		{"postgres", func(t *testing.T) map[string]string {
			addr, _, _ := privateRedis(t)
			return map[string]string{"DATABASE_URL": testdb.PostgresURL(t), "REDIS_URL": "redis://" + addr + "/0"}
		}, "postgresql"},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			env := e.env(t)
			env["SEED_DEMO"], env["LOG_FORMAT"], env["RATE_LIMIT"] = "false", "json", "0"
			env["OTEL_TRACES_EXPORTER"], env["OTEL_SERVICE_NAME"] = "console", "reservd-test"
			in := start(t, env)
			key, flight := setupFlight(t, in, env)

			in.call(t, "POST", "/holds", key, fmt.Sprintf(`{"flight_id":%d,"cabin":"economy","quantity":2}`, flight),
				"Idempotency-Key", "t-1", "X-Request-Id", "trace-hold-1").must(t, 201, "POST /holds")
			in.call(t, "GET", offersPath(), key, "").must(t, 200, "GET /offers")
			trip := in.call(t, "POST", "/trips", key, tripBody(), "Idempotency-Key", "t-2").must(t, 202, "POST /trips")
			eventually(t, "the trip to be booked", func() bool {
				return in.call(t, "GET", "/trips/"+trip.id(), key, "").data()["status"] == "confirmed"
			})
			in.shutdown(t) // flushes the spans
			spans := readSpanLines(t, in.stdout.String())

			// The hold: a server span named after the route, database spans under it.
			holds := spans.named("POST /holds")
			if len(holds) != 1 || holds[0].SpanKind != kindServer || holds[0].attr("http.route") != "/holds" {
				t.Fatalf("POST /holds server spans = %+v, want one, kind server, http.route /holds", holds)
			}
			hold := holds[0]
			db := 0
			redis := 0
			for _, s := range spans.under(hold) {
				switch {
				case s.attr("db.system.name") == e.db:
					db++
				case s.attr("db.system") == "redis": // redisotel's older semantic conventions
					redis++
				}
			}
			if db == 0 {
				t.Errorf("no %s span under the POST /holds span (trace %s)", e.db, hold.SpanContext.TraceID)
			}
			if env["REDIS_URL"] != "" && redis == 0 {
				t.Errorf("no Redis span under the POST /holds span")
			}

			// Its log lines carry its request id, trace id and span id.
			found := false
			sc := bufio.NewScanner(strings.NewReader(in.stderr.String()))
			for sc.Scan() {
				var rec map[string]any
				if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["request_id"] != "trace-hold-1" || rec["msg"] != "request" {
					continue
				}
				found = true
				if rec["trace_id"] != hold.SpanContext.TraceID || rec["span_id"] != hold.SpanContext.SpanID {
					t.Errorf("access line %v: want trace_id %s span_id %s", rec, hold.SpanContext.TraceID, hold.SpanContext.SpanID)
				}
			}
			if !found {
				t.Errorf("no access line for request trace-hold-1")
			}

			// The search: one span per provider, each with its HTTP requests under it.
			offers := spans.named("GET /offers")
			if len(offers) != 1 {
				t.Fatalf("GET /offers spans = %d, want 1", len(offers))
			}
			for _, p := range registry.Names() {
				var call *span
				for _, s := range spans.under(offers[0]) {
					if s.Name == "provider "+p+" search" {
						call = &s
					}
				}
				if call == nil {
					t.Errorf("no provider %s search span under GET /offers", p)
					continue
				}
				requests := 0
				for _, s := range spans.under(*call) {
					if s.SpanKind == kindClient && s.attr("http.request.method") != nil {
						requests++
					}
				}
				if requests == 0 {
					t.Errorf("no HTTP client span under provider %s search", p)
				}
			}

			// The trip, booked by a background job, is in POST /trips's trace, linked to the job's pass.
			created := spans.named("POST /trips")
			books := spans.named("trip book")
			if len(created) != 1 || len(books) == 0 {
				t.Fatalf("POST /trips spans = %d, trip book spans = %d", len(created), len(books))
			}
			book := books[len(books)-1]
			if book.SpanContext.TraceID != created[0].SpanContext.TraceID || book.Parent.SpanID != created[0].SpanContext.SpanID {
				t.Errorf("trip book span %+v is not a child of POST /trips %+v", book.SpanContext, created[0].SpanContext)
			}
			passes := map[string]bool{}
			for _, s := range spans.named("job book_trips") {
				passes[s.SpanContext.SpanID] = true
			}
			if len(book.Links) != 1 || !passes[book.Links[0].SpanContext.SpanID] {
				t.Errorf("trip book links = %+v, want the job book_trips pass", book.Links)
			}
			ordered := false
			for _, s := range spans.under(book) {
				ordered = ordered || (strings.HasPrefix(s.Name, "provider ") && strings.HasSuffix(s.Name, " book"))
			}
			if !ordered {
				t.Errorf("no provider book span under the trip's span")
			}

			if strings.Contains(in.stdout.String(), key) || strings.Contains(in.stderr.String(), key) {
				t.Errorf("the API key appears in the spans or the log")
			}
		})
	}
}
