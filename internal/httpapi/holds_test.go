package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/config"
)

// flight creates a flight with business row 1 (A C D F) and economy rows
// 10–12 (A–F) and returns its id.
func (a *api) flight(t testing.TB) int64 {
	t.Helper()
	var seats []string
	for _, l := range "ACDF" {
		seats = append(seats, fmt.Sprintf(`{"seat": "1%c", "cabin": "business", "price": {"amount": 50000, "currency": "USD"}}`, l))
	}
	for r := 10; r <= 12; r++ {
		for _, l := range "ABCDEF" {
			seats = append(seats, fmt.Sprintf(`{"seat": "%d%c", "cabin": "economy", "price": {"amount": 10000, "currency": "USD"}}`, r, l))
		}
	}
	body := `{"number": "RV7", "origin": "SFO", "destination": "JFK", "departs_at": "2036-12-24T08:00:00Z",
		"arrives_at": "2036-12-24T13:30:00Z", "seats": [` + strings.Join(seats, ",") + `]}`
	r := a.do("POST", "/flights", a.admin, strings.NewReader(body))
	if r.status != 201 {
		t.Fatalf("POST /flights = %d %s", r.status, r.body)
	}
	return int64(r.json(t)["data"].(map[string]any)["id"].(float64))
}

// post sends a JSON body with an Idempotency-Key.
func (a *api) post(path, key, idem, body string) response {
	a.t.Helper()
	var h []string
	if idem != "" {
		h = []string{"Idempotency-Key", idem}
	}
	return a.do("POST", path, key, strings.NewReader(body), h...)
}

func data(t testing.TB, r response, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	return r.json(t)["data"].(map[string]any)
}

func (a *api) seatStatus(t testing.TB, flight int64) map[string]string {
	t.Helper()
	r := a.get(fmt.Sprintf("/flights/%d/seats", flight))
	out := map[string]string{}
	for _, s := range r.json(t)["data"].([]any) {
		m := s.(map[string]any)
		out[m["seat"].(string)] = m["status"].(string)
	}
	return out
}

var idem = func() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("key-%d-%d", time.Now().UnixNano(), n)
	}
}()

func TestHolds(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		bob := a.key("bob", false)
		body := fmt.Sprintf(`{"flight_id": %d, "seats": ["12B", "12a"]}`, fl)

		wantError(t, a.post("/holds", "", idem(), body), 401, "unauthorized")
		wantError(t, a.post("/holds", a.client, "", body), 400, "idempotency_key_required")
		wantError(t, a.post("/holds", a.client, strings.Repeat("x", 256), body), 400, "invalid_idempotency_key")

		h := data(t, a.post("/holds", a.client, idem(), body), 201)
		id, _ := h["id"].(string)
		if !strings.HasPrefix(id, "hld_") || len(id) < 4+20 || h["status"] != "active" || h["flight_id"] != float64(fl) ||
			fmt.Sprint(h["seats"]) != "[12A 12B]" || fmt.Sprint(h["total"]) != "map[amount:20000 currency:USD]" {
			t.Errorf("hold = %v", h)
		}
		created, _ := time.Parse(time.RFC3339, h["created_at"].(string))
		expires, _ := time.Parse(time.RFC3339, h["expires_at"].(string))
		if d := expires.Sub(created); d != 10*time.Minute || !strings.HasSuffix(h["expires_at"].(string), "Z") {
			t.Errorf("expires_at - created_at = %s (%v), want 10m in UTC", d, h["expires_at"])
		}
		if got := data(t, a.do("GET", "/holds/"+id, a.client, nil), 200); got["id"] != id || got["status"] != "active" {
			t.Errorf("GET hold = %v", got)
		}
		wantError(t, a.do("GET", "/holds/"+id, bob, nil), 404, "not_found")
		wantError(t, a.do("GET", "/holds/hld_nope", a.client, nil), 404, "not_found")

		m := wantError(t, a.post("/holds", bob, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["12C", "12B"]}`, fl)), 409, "seats_unavailable")
		if fmt.Sprint(m["details"]) != "map[seats:[12B]]" {
			t.Errorf("seats_unavailable details = %v", m["details"])
		}
		if st := a.seatStatus(t, fl); st["12A"] != "held" || st["12B"] != "held" || st["12C"] != "available" {
			t.Errorf("seat map after holds: %v", st)
		}
		q := data(t, a.post("/holds", bob, idem(), fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": 3}`, fl)), 201)
		if seats := q["seats"].([]any); len(seats) != 3 || seats[0].(string)[:2] != seats[2].(string)[:2] {
			t.Errorf("quantity hold seats = %v, want 3 side by side", seats)
		}
		wantError(t, a.post("/holds", bob, idem(), fmt.Sprintf(`{"flight_id": %d, "cabin": "business", "quantity": 5}`, fl)), 409, "not_enough_seats")
		wantError(t, a.post("/holds", bob, idem(), `{"flight_id": 999999, "seats": ["1A"]}`), 404, "flight_not_found")

		for name, bad := range map[string]struct{ body, field string }{
			"missing flight":   {`{"seats": ["1A"]}`, "flight_id"},
			"both forms":       {fmt.Sprintf(`{"flight_id": %d, "seats": ["1A"], "cabin": "economy", "quantity": 1}`, fl), "seats"},
			"neither form":     {fmt.Sprintf(`{"flight_id": %d}`, fl), "seats"},
			"empty seats":      {fmt.Sprintf(`{"flight_id": %d, "seats": []}`, fl), "seats"},
			"duplicate seat":   {fmt.Sprintf(`{"flight_id": %d, "seats": ["1A", "1a"]}`, fl), "seats"},
			"unknown seat":     {fmt.Sprintf(`{"flight_id": %d, "seats": ["99Z"]}`, fl), "seats"},
			"bad label":        {fmt.Sprintf(`{"flight_id": %d, "seats": ["window"]}`, fl), "seats"},
			"too many seats":   {fmt.Sprintf(`{"flight_id": %d, "seats": ["10A","10B","10C","10D","10E","10F","11A","11B","11C","11D","11E"]}`, fl), "seats"},
			"bad cabin":        {fmt.Sprintf(`{"flight_id": %d, "cabin": "deck", "quantity": 1}`, fl), "cabin"},
			"zero quantity":    {fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": 0}`, fl), "quantity"},
			"too big quantity": {fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": 11}`, fl), "quantity"},
		} {
			m := wantError(t, a.post("/holds", bob, idem(), bad.body), 422, "invalid_request")
			if d, _ := m["details"].(map[string]any); d[bad.field] == nil {
				t.Errorf("%s: details %v do not name %s", name, m["details"], bad.field)
			}
		}
		m = wantError(t, a.post("/holds", bob, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["1A", "1a"]}`, fl)), 422, "invalid_request")
		if d := m["details"].(map[string]any)["seats"]; d != "duplicate label 1A" {
			t.Errorf("duplicate details = %v", d)
		}
		wantError(t, a.post("/holds", bob, idem(), `{"flight_id": 1.5, "seats": ["1A"]}`), 400, "invalid_json")
		wantError(t, a.post("/holds", bob, idem(), `{"flight_id": 1, "seats": ["1A"], "x": 1}`), 400, "invalid_json")

		ext := data(t, a.post("/holds/"+id+"/extend", a.client, "", ""), 200)
		if ext["expires_at"].(string) < h["expires_at"].(string) {
			t.Errorf("extended expires_at %v before %v", ext["expires_at"], h["expires_at"])
		}
		wantError(t, a.post("/holds/"+id+"/extend", bob, "", ""), 404, "not_found")
		rel := data(t, a.do("DELETE", "/holds/"+id, a.client, nil), 200)
		if rel["status"] != "released" {
			t.Errorf("DELETE hold = %v", rel)
		}
		if again := data(t, a.do("DELETE", "/holds/"+id, a.client, nil), 200); again["status"] != "released" {
			t.Errorf("second DELETE = %v", again)
		}
		wantError(t, a.post("/holds/"+id+"/extend", a.client, "", ""), 409, "hold_not_active")
		if st := a.seatStatus(t, fl); st["12A"] != "available" || st["12B"] != "available" {
			t.Errorf("seats after release: %v", st)
		}
	})
}

func TestBookings(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		h := data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["1A", "1C"]}`, fl)), 201)
		id := h["id"].(string)
		book := func(token string) response {
			return a.post("/bookings", a.client, idem(), fmt.Sprintf(`{"hold_id": %q, "payment": {"token": %q}}`, id, token))
		}
		wantError(t, a.post("/bookings", a.client, "", `{}`), 400, "idempotency_key_required")
		for _, body := range []string{`{}`, `{"hold_id": "x"}`, `{"payment": {"token": "tok_visa"}}`} {
			wantError(t, a.post("/bookings", a.client, idem(), body), 422, "invalid_request")
		}
		wantError(t, a.post("/bookings", a.client, idem(), `{"hold_id": "hld_unknown", "payment": {"token": "tok_visa"}}`), 404, "not_found")
		wantError(t, book("tok_chargeDeclined"), 402, "payment_declined")
		if got := data(t, a.do("GET", "/holds/"+id, a.client, nil), 200); got["status"] != "active" {
			t.Errorf("hold after a decline = %v, want active", got["status"])
		}
		b := data(t, book("tok_visa"), 201)
		bid := b["id"].(string)
		if !strings.HasPrefix(bid, "bkg_") || b["hold_id"] != id || b["status"] != "confirmed" || fmt.Sprint(b["seats"]) != "[1A 1C]" ||
			fmt.Sprint(b["total"]) != "map[amount:100000 currency:USD]" || b["flight_id"] != float64(fl) {
			t.Errorf("booking = %v", b)
		}
		if a.gateway.Succeeded() != 1 {
			t.Errorf("gateway charged %d times, want 1", a.gateway.Succeeded())
		}
		wantError(t, book("tok_visa"), 409, "hold_not_active")
		wantError(t, a.do("DELETE", "/holds/"+id, a.client, nil), 409, "hold_already_booked")
		if got := data(t, a.do("GET", "/holds/"+id, a.client, nil), 200); got["status"] != "booked" {
			t.Errorf("hold after booking = %v", got["status"])
		}
		if st := a.seatStatus(t, fl); st["1A"] != "booked" || st["1C"] != "booked" {
			t.Errorf("seats after booking: %v", st)
		}
		if got := data(t, a.do("GET", "/bookings/"+bid, a.client, nil), 200); got["id"] != bid {
			t.Errorf("GET booking = %v", got)
		}
		bob := a.key("bob", false)
		wantError(t, a.do("GET", "/bookings/"+bid, bob, nil), 404, "not_found")
		wantError(t, a.post("/bookings/"+bid+"/cancel", bob, "", ""), 404, "not_found")

		// A second booking, then the newest-first listing with pagination.
		h2 := data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["10A"]}`, fl)), 201)
		b2 := data(t, a.post("/bookings", a.client, idem(), fmt.Sprintf(`{"hold_id": %q, "payment": {"token": "tok_visa"}}`, h2["id"])), 201)
		r := a.do("GET", "/bookings?limit=1", a.client, nil)
		m := r.json(t)
		list := m["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["id"] != b2["id"] || m["next_cursor"] == nil {
			t.Fatalf("first page = %s", r.body)
		}
		m = a.do("GET", "/bookings?limit=1&cursor="+m["next_cursor"].(string), a.client, nil).json(t)
		if list := m["data"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != bid || m["next_cursor"] != nil {
			t.Fatalf("second page = %v", m)
		}
		if m := a.do("GET", "/bookings", bob, nil).json(t); len(m["data"].([]any)) != 0 {
			t.Errorf("bob sees alice's bookings: %v", m)
		}
		wantError(t, a.do("GET", "/bookings?cursor=zzz", a.client, nil), 422, "invalid_request")

		c := data(t, a.post("/bookings/"+bid+"/cancel", a.client, "", ""), 200)
		if c["status"] != "canceled" {
			t.Errorf("cancel = %v", c)
		}
		if again := data(t, a.post("/bookings/"+bid+"/cancel", a.client, "", ""), 200); again["status"] != "canceled" {
			t.Errorf("second cancel = %v", again)
		}
		if st := a.seatStatus(t, fl); st["1A"] != "available" || st["1C"] != "available" {
			t.Errorf("seats after cancel: %v", st)
		}
		if a.gateway.Refunded() != 1 {
			t.Errorf("gateway refunded %d times, want 1", a.gateway.Refunded())
		}
	})
}

func TestHoldExpiry(t *testing.T) {
	t.Parallel()
	for name, newStore := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, newStore, func(c *config.Config) { c.HoldTTL, c.HoldMaxLifetime = 300*time.Millisecond, time.Second })
			fl := a.flight(t)
			h := data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["11A"]}`, fl)), 201)
			id := h["id"].(string)
			expires, _ := time.Parse(time.RFC3339Nano, h["expires_at"].(string))
			time.Sleep(time.Until(expires) + 100*time.Millisecond)
			if got := data(t, a.do("GET", "/holds/"+id, a.client, nil), 200); got["status"] != "expired" {
				t.Errorf("hold past expires_at = %v, want expired", got["status"])
			}
			if st := a.seatStatus(t, fl); st["11A"] != "available" {
				t.Errorf("seat of an expired hold = %s, want available", st["11A"])
			}
			wantError(t, a.post("/bookings", a.client, idem(), fmt.Sprintf(`{"hold_id": %q, "payment": {"token": "tok_visa"}}`, id)), 410, "hold_expired")
			wantError(t, a.post("/holds/"+id+"/extend", a.client, "", ""), 410, "hold_expired")
			wantError(t, a.do("DELETE", "/holds/"+id, a.client, nil), 410, "hold_expired")
			data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["11A"]}`, fl)), 201)
			if a.gateway.Succeeded() != 0 {
				t.Errorf("an expired hold was charged")
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		body := fmt.Sprintf(`{"flight_id": %d, "seats": ["10B"]}`, fl)
		first := a.post("/holds", a.client, "same", body)
		if first.status != 201 || first.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first = %d %s", first.status, first.body)
		}
		again := a.post("/holds", a.client, "same", body)
		if again.status != 201 || string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay = %d %q %s\nwant     %s", again.status, again.header.Get("Idempotent-Replayed"), again.body, first.body)
		}
		wantError(t, a.post("/holds", a.client, "same", fmt.Sprintf(`{"flight_id": %d, "seats": ["10C"]}`, fl)), 422, "idempotency_key_reused")
		// Keys belong to their API key: bob's "same" is another request altogether.
		bob := a.key("bob", false)
		wantError(t, a.post("/holds", bob, "same", body), 409, "seats_unavailable")
		// 409s are not stored: once the seat is free, the same key runs again.
		id := first.json(t)["data"].(map[string]any)["id"].(string)
		data(t, a.do("DELETE", "/holds/"+id, a.client, nil), 200)
		data(t, a.post("/holds", bob, "same", body), 201)
		// 4xx other than 409 are stored and replayed.
		bad := `{"flight_id": 999999, "seats": ["1A"]}`
		wantError(t, a.post("/holds", bob, "notfound", bad), 404, "flight_not_found")
		if r := a.post("/holds", bob, "notfound", bad); r.status != 404 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replayed 404 = %d %q", r.status, r.header.Get("Idempotent-Replayed"))
		}

		// Twenty concurrent requests with one key execute once.
		body = fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": 2}`, fl)
		results := concurrently(20, func() response { return a.post("/holds", a.client, "storm", body) })
		var created []string
		inUse := 0
		for _, r := range results {
			switch {
			case r.status == 201:
				created = append(created, string(r.body))
			case r.status == 409 && strings.Contains(string(r.body), "idempotency_key_in_use"):
				inUse++
				if r.header.Get("Retry-After") == "" {
					t.Errorf("409 idempotency_key_in_use without Retry-After")
				}
			default:
				t.Errorf("concurrent same-key request: %d %s", r.status, r.body)
			}
		}
		for _, c := range created[1:] {
			if c != created[0] {
				t.Errorf("same key answered with different holds:\n%s\n%s", c, created[0])
			}
		}
		held := 0
		for _, s := range a.seatStatus(t, fl) {
			if s == "held" {
				held++
			}
		}
		if held != 2+1 { // the storm's 2 seats + bob's 10B
			t.Errorf("%d seats held after 20 same-key requests, want 3 (one execution)", held)
		}
		if len(created)+inUse != 20 || len(created) == 0 {
			t.Errorf("%d created, %d in use", len(created), inUse)
		}
	})
}

// TestIdempotencyClaimedInTransaction covers the routes whose transaction
// claims the key itself (extend, release, cancel): twins replay the one
// execution, whether they arrive after it or during it.
func TestIdempotencyClaimedInTransaction(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		hold := data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["11A"]}`, fl)), 201)
		id := hold["id"].(string)

		// Twenty concurrent extensions with one key: one execution, so one
		// expires_at, and every other answer is its replay.
		wantOneExecution(t, 200, concurrently(20, func() response { return a.post("/holds/"+id+"/extend", a.client, "ext", "") }))
		// The same key on another request is refused and changes nothing.
		wantError(t, a.do("DELETE", "/holds/"+id, a.client, nil, "Idempotency-Key", "ext"), 422, "idempotency_key_reused")
		if st := a.seatStatus(t, fl)["11A"]; st != "held" {
			t.Fatalf("11A is %q after a refused release, want held", st)
		}

		rel := a.do("DELETE", "/holds/"+id, a.client, nil, "Idempotency-Key", "rel")
		if rel.status != 200 || rel.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("release = %d %s", rel.status, rel.body)
		}
		again := a.do("DELETE", "/holds/"+id, a.client, nil, "Idempotency-Key", "rel")
		if again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(rel.body) {
			t.Errorf("release replay = %d %q %s, want %s", again.status, again.header.Get("Idempotent-Replayed"), again.body, rel.body)
		}
		// A 404 is stored like any other answer that is not a 409, 429 or 5xx.
		missing := "/holds/hld_00000000000000000000000000/extend"
		first := a.post(missing, a.client, "gone", "")
		if first.status != 404 {
			t.Fatalf("extend of an unknown hold = %d %s", first.status, first.body)
		}
		if r := a.post(missing, a.client, "gone", ""); r.status != 404 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replayed 404 = %d %q", r.status, r.header.Get("Idempotent-Replayed"))
		}
		// A 409 is not stored: extending the released hold is refused each time afresh.
		for range 2 {
			r := a.post("/holds/"+id+"/extend", a.client, "late", "")
			if r.status != 409 || r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("extend of a released hold = %d %q %s, want a fresh 409", r.status, r.header.Get("Idempotent-Replayed"), r.body)
			}
		}
	})
}

// TestIdempotentSeatHoldTwins covers POST /holds of named seats, whose key
// is claimed by the hold's transaction behind the seat fast path: twins in
// flight and retries after the hold is gone all replay the one hold.
func TestIdempotentSeatHoldTwins(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		body := fmt.Sprintf(`{"flight_id": %d, "seats": ["11C", "11D"]}`, fl)
		first := wantOneExecution(t, 201, concurrently(20, func() response { return a.post("/holds", a.client, "twins", body) }))
		// Released, then retried with the same key: the retry replays the
		// hold it made; it does not hold the seats again.
		var created struct {
			Data struct{ ID string } `json:"data"`
		}
		if err := json.Unmarshal([]byte(first), &created); err != nil {
			t.Fatal(err)
		}
		data(t, a.do("DELETE", "/holds/"+created.Data.ID, a.client, nil), 200)
		r := a.post("/holds", a.client, "twins", body)
		if r.status != 201 || r.header.Get("Idempotent-Replayed") != "true" || string(r.body) != first {
			t.Errorf("retry after release = %d %q %s, want the replay of %s", r.status, r.header.Get("Idempotent-Replayed"), r.body, first)
		}
		for _, seat := range []string{"11C", "11D"} {
			if st := a.seatStatus(t, fl)[seat]; st != "available" {
				t.Errorf("%s is %q after the retry, want available", seat, st)
			}
		}
		// Someone else's seat: a 409 that is not stored, looked up without a claim.
		bob := a.key("bob", false)
		data(t, a.post("/holds", bob, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": ["10F"]}`, fl)), 201)
		for range 2 {
			wantError(t, a.post("/holds", a.client, "lost", fmt.Sprintf(`{"flight_id": %d, "seats": ["10F"]}`, fl)), 409, "seats_unavailable")
		}
	})
}

// concurrently sends n requests at once and returns their answers.
func concurrently(n int, send func() response) []response {
	var wg sync.WaitGroup
	out := make([]response, n)
	for i := range n {
		wg.Go(func() { out[i] = send() })
	}
	wg.Wait()
	return out
}

// wantOneExecution checks the answers to requests with one Idempotency-Key:
// all with status, one of them fresh and the rest its replays, word for
// word. It returns the answer's body.
func wantOneExecution(t *testing.T, status int, answers []response) string {
	t.Helper()
	first, fresh := "", 0
	for _, r := range answers {
		if r.status != status {
			t.Errorf("same-key request: %d %s, want %d", r.status, r.body, status)
			continue
		}
		if r.header.Get("Idempotent-Replayed") != "true" {
			fresh++
		}
		if first == "" {
			first = string(r.body)
		} else if string(r.body) != first {
			t.Errorf("same key answered differently:\n%s\n%s", r.body, first)
		}
	}
	if fresh != 1 {
		t.Errorf("%d answers were not replays, want exactly 1", fresh)
	}
	return first
}

// TestKeyedHoldAfterItsKeyIsGone: once the idempotency key has been cleaned
// up (after 24 h), the same key and body are a new request; the hold the key
// made earlier still owns its derived id, so the new one gets another id.
func TestKeyedHoldAfterItsKeyIsGone(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		fl := a.flight(t)
		body := fmt.Sprintf(`{"flight_id": %d, "seats": ["12E"]}`, fl)
		first := data(t, a.post("/holds", a.client, "reused", body), 201)
		data(t, a.do("DELETE", "/holds/"+first["id"].(string), a.client, nil), 200)
		if _, err := a.store.IdempotencyKeyDeleteOlderThan(t.Context(), 0); err != nil {
			t.Fatal(err)
		}
		r := a.post("/holds", a.client, "reused", body)
		again := data(t, r, 201)
		if r.header.Get("Idempotent-Replayed") != "" || again["id"] == first["id"] {
			t.Errorf("after cleanup: replayed %q, id %v (first %v); want a new hold", r.header.Get("Idempotent-Replayed"), again["id"], first["id"])
		}
		if st := a.seatStatus(t, fl)["12E"]; st != "held" {
			t.Errorf("12E is %q, want held by the new hold", st)
		}
		// And the new answer is stored under the key like any other.
		if r := a.post("/holds", a.client, "reused", body); r.status != 201 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("repeat after the new hold = %d %q, want a replay", r.status, r.header.Get("Idempotent-Replayed"))
		}
	})
}
