package amadeussim

import (
	"net/http"
	"strings"

	"github.com/reservd/reservd/internal/provider/simkit"
)

// orderRoutes applies the kit's order knobs to Amadeus: the order call is
// POST /v1/booking/flight-orders, the lookups GET under that path.
var orderRoutes = simkit.OrderRoutes{
	Order: func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == "/v1/booking/flight-orders"
	},
	Lookup: func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/booking/flight-orders")
	},
	Restate: func(m map[string]any, currency string) {
		for _, price := range orderPrices(m) {
			from, _ := price["currency"].(string)
			for _, f := range []string{"total", "base", "grandTotal"} {
				if amount, ok := price[f].(string); ok {
					if v, ok := simkit.ConvertDecimal(amount, from, currency); ok {
						price[f] = v
					}
				}
			}
			price["currency"] = currency
		}
	},
	Garble: func(m map[string]any) {
		for _, price := range orderPrices(m) {
			price["total"], price["grandTotal"] = "see ticket", "see ticket"
		}
	},
}

// orderPrices returns every price object of a flight-order answer: each
// flight offer's, and each traveler pricing's.
func orderPrices(m map[string]any) []map[string]any {
	var out []map[string]any
	data, _ := m["data"].(map[string]any)
	offers, _ := data["flightOffers"].([]any)
	for _, o := range offers {
		offer, _ := o.(map[string]any)
		if p, ok := offer["price"].(map[string]any); ok {
			out = append(out, p)
		}
		tps, _ := offer["travelerPricings"].([]any)
		for _, tp := range tps {
			if p, ok := tp.(map[string]any)["price"].(map[string]any); ok {
				out = append(out, p)
			}
		}
	}
	return out
}
