package duffelsim

import (
	"net/http"
	"strings"

	"github.com/reservd/reservd/internal/provider/simkit"
)

// orderRoutes applies the kit's order knobs to Duffel: the order call is
// POST /air/orders, the lookups GET /air/orders and GET /air/orders/{id}.
var orderRoutes = simkit.OrderRoutes{
	Order: func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Path == "/air/orders" },
	Lookup: func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/air/orders")
	},
	Restate: func(m map[string]any, currency string) {
		data, _ := m["data"].(map[string]any)
		for _, f := range []string{"total", "base", "tax"} {
			amount, _ := data[f+"_amount"].(string)
			from, _ := data[f+"_currency"].(string)
			if v, ok := simkit.ConvertDecimal(amount, from, currency); ok {
				data[f+"_amount"], data[f+"_currency"] = v, currency
			}
		}
	},
	Garble: func(m map[string]any) {
		if data, ok := m["data"].(map[string]any); ok {
			data["total_amount"] = "see invoice"
		}
	},
}
