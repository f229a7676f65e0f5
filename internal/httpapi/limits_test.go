package httpapi_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/config"
)

// TestBodyLimitPerRoute: each route reads a body only as large as it can
// legitimately need. A hold of 3,000 seat labels (~23 KiB) is refused as too
// large before it is read, not decoded in full and then refused; a flight
// of 1,000 seats (~80 KiB) still fits POST /flights.
func TestBodyLimitPerRoute(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"])
	labels := make([]string, 3000)
	for i := range labels {
		labels[i] = fmt.Sprintf(`"%d%c"`, i/6+1, "ABCDEF"[i%6])
	}
	wantError(t, a.post("/holds", a.client, "big-hold", `{"flight_id": 1, "seats": [`+strings.Join(labels, ",")+`]}`), 413, "body_too_large")
	wantError(t, a.post("/bookings", a.client, "big-booking", `{"hold_id": "hld_x", "payment": {"token": "`+strings.Repeat("a", 20<<10)+`"}}`), 413, "body_too_large")

	seats := make([]string, 1000)
	for i := range seats {
		seats[i] = fmt.Sprintf(`{"seat": "%d%c", "cabin": "economy", "price": {"amount": 12900, "currency": "USD"}}`, i/6+1, "ABCDEF"[i%6])
	}
	body := `{"number": "RV1", "origin": "SFO", "destination": "JFK", "departs_at": "2036-12-24T08:00:00Z",
		"arrives_at": "2036-12-24T13:30:00Z", "seats": [` + strings.Join(seats, ",\n\t\t") + `]}`
	if len(body) < 64<<10 {
		t.Fatalf("the big flight is only %d bytes", len(body))
	}
	if r := a.post("/flights", a.admin, "", body); r.status != 201 {
		t.Fatalf("POST /flights with 1,000 seats (%d bytes) = %d %s", len(body), r.status, r.body)
	}
}

// TestArrayCapsRefuseWhileDecoding: an array longer than its route allows
// is refused as soon as one element past the cap is read. Each body below
// goes on with bytes that are not JSON after the element past the cap: a
// decoder that read the whole array would answer invalid_json; the guard
// answers what validation would, having read no further.
func TestArrayCapsRefuseWhileDecoding(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"])
	const garbage = `, !!! not json`
	repeat := func(n int, item func(i int) string) string {
		out := make([]string, n)
		for i := range out {
			out[i] = item(i)
		}
		return strings.Join(out, ", ")
	}
	passenger := `{"given_name": "Ada", "family_name": "Lovelace", "born_on": "1990-12-10"}`
	for _, c := range []struct {
		path, key, body, field, problem string
	}{
		{"/holds", a.client, `{"flight_id": 1, "seats": [` + repeat(11, func(i int) string { return fmt.Sprintf(`"%dA"`, i+1) }) + garbage,
			"seats", "at most 10 seats per hold"},
		{"/trips", a.client, `{"origin": "SFO", "passengers": [` + repeat(10, func(int) string { return passenger }) + garbage,
			"passengers", "at most 9 passengers"},
		{"/flights", a.admin, `{"number": "RV1", "seats": [` + repeat(1001, func(i int) string {
			return fmt.Sprintf(`{"seat": "%d%c", "cabin": "economy", "price": {"amount": 1, "currency": "USD"}}`, i/6+1, "ABCDEF"[i%6])
		}) + garbage, "seats", "at most 1000 seats"},
	} {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			m := wantError(t, a.post(c.path, c.key, "cap-"+c.path, c.body), 422, "invalid_request")
			details, _ := m["details"].(map[string]any)
			if details[c.field] != c.problem {
				t.Errorf("details = %v, want %s: %s", m["details"], c.field, c.problem)
			}
		})
	}
	// At the cap the guard lets the body through to the strict decoder.
	wantError(t, a.post("/holds", a.client, "cap-ok", `{"flight_id": 1, "seats": [`+repeat(10, func(i int) string { return fmt.Sprintf(`"%dA"`, i+1) })+`]`+garbage), 400, "invalid_json")
}

// TestInFlightCaps: past MaxInFlightPerKey requests of one key, or
// MaxInFlight in all, a request is refused at once (429 rate_limited, 503
// overloaded, both with Retry-After) instead of waiting in line; probes
// are still answered, and the caps free up as requests finish.
func TestInFlightCaps(t *testing.T) {
	t.Parallel()
	a := newAPI(t, engines["sqlite"], func(c *config.Config) { c.MaxInFlight, c.MaxInFlightPerKey = 3, 2 })
	alice, bob, carol := a.key("alice", false), a.key("bob", false), a.key("carol", false)

	// stall starts a booking whose body never ends (until the test ends):
	// the request stays in flight, reading its body. It returns once the
	// handler has begun to read the body (the server's 100 Continue says
	// so), past every cap, so that nothing races it for a slot.
	stall := func(key, idem string) (end func()) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(a.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() }) // before srv.Close, which waits for it
		fmt.Fprintf(conn, "POST /bookings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nIdempotency-Key: %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", key, idem)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("stalled request: %q, %v; want 100 Continue", line, err)
		}
		fmt.Fprint(conn, `{"hold_id": `)
		return func() { conn.Close() }
	}
	retryAfter := func(r response) {
		t.Helper()
		if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
		}
	}

	stalled := []func(){stall(alice, "a1"), stall(alice, "a2")}
	r := a.do(http.MethodGet, "/bookings", alice, nil)
	wantError(t, r, 429, "rate_limited")
	retryAfter(r)
	if r := a.do(http.MethodGet, "/bookings", bob, nil); r.status != 200 {
		t.Errorf("another key, within the total cap = %d %s", r.status, r.body)
	}
	stalled = append(stalled, stall(bob, "b1"))
	r = a.do(http.MethodGet, "/bookings", carol, nil)
	wantError(t, r, 503, "overloaded")
	retryAfter(r)
	for _, path := range []string{"/healthz", "/metrics"} {
		if r := a.get(path); r.status != 200 {
			t.Errorf("GET %s at capacity = %d", path, r.status)
		}
	}
	// The stalled requests end when their connections close, and their
	// slots are free again.
	for _, end := range stalled {
		end()
	}
	// The server notices the closed connections a moment later.
	for _, key := range []string{alice, carol} {
		deadline := time.Now().Add(10 * time.Second)
		for r := a.do(http.MethodGet, "/bookings", key, nil); r.status != 200; r = a.do(http.MethodGet, "/bookings", key, nil) {
			if time.Now().After(deadline) {
				t.Fatalf("after the stalled requests ended: %d %s", r.status, r.body)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
