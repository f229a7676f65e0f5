package kiwisim

import (
	"encoding/json"
	"net/http"

	"github.com/reservd/reservd/internal/provider/simkit"
)

// orderRoutes applies the kit's order knobs to Tequila: the order call is
// save_booking (it creates the booking Kiwi holds for us), the lookup is
// GET /v2/booking/bookings.
var orderRoutes = simkit.OrderRoutes{
	Order: func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == "/v2/booking/save_booking"
	},
	Lookup: func(r *http.Request) bool {
		return r.Method == http.MethodGet && r.URL.Path == "/v2/booking/bookings"
	},
	// Restate states "total" in currency alone, with no "conversion": what
	// a client that searched in USD sees when Kiwi answers in EUR.
	Restate: func(m map[string]any, currency string) {
		from, _ := m["currency"].(string)
		total, ok := m["total"].(json.Number)
		if !ok || from == "" {
			return
		}
		if v, ok := simkit.ConvertDecimal(total.String(), from, currency); ok {
			m["total"], m["currency"] = json.Number(v), currency
			delete(m, "conversion")
			delete(m, "orig_price")
		}
	},
	Garble: func(m map[string]any) {
		m["total"] = "see booking"
		delete(m, "conversion")
	},
}
