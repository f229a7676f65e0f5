package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// departingFlight is validFlight with the given departure (arriving five
// hours later), as the admin would post it.
func departingFlight(number string, departs time.Time) string {
	body := strings.Replace(validFlight, `"UA123"`, `"`+number+`"`, 1)
	body = strings.Replace(body, `"2036-12-24T08:30:00-08:00"`, `"`+departs.UTC().Format(time.RFC3339Nano)+`"`, 1)
	return strings.Replace(body, `"2036-12-24T17:05:00-05:00"`, `"`+departs.Add(5*time.Hour).UTC().Format(time.RFC3339Nano)+`"`, 1)
}

// TestDepartedFlights drives the contract's departed-flight rules through
// HTTP on both engines: a flight posted to leave two seconds from now is
// held and booked while open; once the database's clock passes its
// departure, holds, bookings and cancels answer 409 flight_departed, and
// GET /flights hides it unless include_departed=true. An admin cannot post
// a flight that has already left.
func TestDepartedFlights(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		r := wantError(t, a.do("POST", "/flights", a.admin, strings.NewReader(departingFlight("RV1", time.Now().Add(-time.Minute)))),
			422, "invalid_request")
		if d, _ := r["details"].(map[string]any); d["departs_at"] == nil {
			t.Errorf("details = %v, want departs_at", r["details"])
		}
		if m := a.get("/flights?include_departed=true").json(t); len(m["data"].([]any)) != 0 {
			t.Errorf("a refused flight was stored: %v", m)
		}

		const lead = 2 * time.Second
		departs := time.Now().Add(lead)
		fl := int64(data(t, a.do("POST", "/flights", a.admin, strings.NewReader(departingFlight("RV2", departs))), 201)["id"].(float64))
		hold := func(seat string) response {
			return a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": [%q]}`, fl, seat))
		}
		book := func(holdID string) response {
			return a.post("/bookings", a.client, idem(), fmt.Sprintf(`{"hold_id": %q, "payment": {"token": "tok_visa"}}`, holdID))
		}
		booked := data(t, book(data(t, hold("1A"), 201)["id"].(string)), 201)["id"].(string)
		unpaid := data(t, hold("12A"), 201)["id"].(string)
		if time.Now().After(departs) {
			t.Fatalf("setting up took longer than %v: the machine is too slow for this test", lead)
		}
		listed := func(q string) []float64 {
			t.Helper()
			r := a.get("/flights" + q)
			if r.status != 200 {
				t.Fatalf("GET /flights%s = %d %s", q, r.status, r.body)
			}
			var ids []float64
			for _, f := range r.json(t)["data"].([]any) {
				ids = append(ids, f.(map[string]any)["id"].(float64))
			}
			return ids
		}
		if got := listed(""); len(got) != 1 || got[0] != float64(fl) {
			t.Errorf("GET /flights before departure = %v, want [%d]", got, fl)
		}
		time.Sleep(time.Until(departs) + 100*time.Millisecond)

		wantError(t, hold("12B"), 409, "flight_departed")
		wantError(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": 1}`, fl)),
			409, "flight_departed")
		wantError(t, book(unpaid), 409, "flight_departed")
		if n := a.gateway.Succeeded(); n != 1 {
			t.Errorf("%d charges, want 1: a departed flight was charged for", n)
		}
		wantError(t, a.post("/bookings/"+booked+"/cancel", a.client, "", ""), 409, "flight_departed")
		if got := data(t, a.do("GET", "/bookings/"+booked, a.client, nil), 200); got["status"] != "confirmed" {
			t.Errorf("booking after a refused cancel = %v, want confirmed", got)
		}
		if st := a.seatStatus(t, fl); st["1A"] != "booked" {
			t.Errorf("seat 1A = %s, want booked", st["1A"])
		}

		if got := listed(""); len(got) != 0 {
			t.Errorf("GET /flights after departure = %v, want none", got)
		}
		if got := listed("?include_departed=false"); len(got) != 0 {
			t.Errorf("GET /flights?include_departed=false = %v, want none", got)
		}
		if got := listed("?include_departed=true"); len(got) != 1 || got[0] != float64(fl) {
			t.Errorf("GET /flights?include_departed=true = %v, want [%d]", got, fl)
		}
		r = wantError(t, a.get("/flights?include_departed=yes"), 422, "invalid_request")
		if d, _ := r["details"].(map[string]any); d["include_departed"] == nil {
			t.Errorf("details = %v, want include_departed", r["details"])
		}
	})
}
