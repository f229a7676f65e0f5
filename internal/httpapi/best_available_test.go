package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestFlightLayout checks that POST /flights takes a cabin layout, refuses
// a bad one naming the field, and that best available then keeps a pair on
// one side of the stated aisles.
func TestFlightLayout(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, a *api) {
		var seats, labels []string
		for r := 10; r <= 11; r++ {
			for _, l := range "ABCDEF" {
				seats = append(seats, fmt.Sprintf(`{"seat": "%d%c", "cabin": "economy", "price": {"amount": 10000, "currency": "USD"}}`, r, l))
				labels = append(labels, fmt.Sprintf("%d%c", r, l))
			}
		}
		flight := func(layout string) response {
			return a.do("POST", "/flights", a.admin, strings.NewReader(`{"number": "RV8", "origin": "SFO", "destination": "JFK",
				"departs_at": "2026-12-24T08:00:00Z", "arrives_at": "2026-12-24T13:30:00Z",
				"seats": [`+strings.Join(seats, ",")+`], "layout": `+layout+`}`))
		}
		for layout, field := range map[string]string{
			`{"economy": "ABC"}`:               "layout.economy",
			`{"economy": "AB-CD EF"}`:          "layout.economy",
			`{"business": "AC DF"}`:            "layout.business",
			`{"coach": "ABC DEF"}`:             "layout.coach",
			`{"economy": "ABC DEF", "x": "A"}`: "layout.x",
		} {
			m := wantError(t, flight(layout), 422, "invalid_request")
			if d, _ := m["details"].(map[string]any); d[field] == nil {
				t.Errorf("layout %s: details = %v, want %s named", layout, m["details"], field)
			}
		}
		// Two aisles: B and C are apart, C and D side by side, the other
		// way round from the default ABC DEF.
		r := flight(`{"economy": "ab cd ef"}`)
		if r.status != 201 {
			t.Fatalf("POST /flights with a layout = %d %s", r.status, r.body)
		}
		fl := int64(r.json(t)["data"].(map[string]any)["id"].(float64))
		var take []string
		for _, l := range labels {
			if !slices.Contains([]string{"10B", "10C", "11C", "11D"}, l) {
				take = append(take, `"`+l+`"`)
			}
		}
		data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "seats": [%s]}`, fl, strings.Join(take, ","))), 201)
		for range 10 {
			h := data(t, a.post("/holds", a.client, idem(), fmt.Sprintf(`{"flight_id": %d, "cabin": "economy", "quantity": 2}`, fl)), 201)
			if fmt.Sprint(h["seats"]) != "[11C 11D]" {
				t.Fatalf("best-available pair = %v, want [11C 11D]: the stated layout has an aisle between B and C", h["seats"])
			}
			data(t, a.do("DELETE", "/holds/"+h["id"].(string), a.client, nil), 200)
		}
	})
}
