package amadeus

import (
	"encoding/json"

	"github.com/reservd/reservd/internal/provider"
)

// orderIdentity reads the id and PNR of a flight-order answer whose prices
// cannot be read. A 201 that names the order is an answer, not an unknown
// outcome: taking it for one would look the order up, and the remark
// search is not an endpoint every Amadeus deployment has.
func orderIdentity(body []byte) (provider.Order, bool) {
	var env struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &env) != nil || env.Data == nil {
		return provider.Order{}, false
	}
	delete(env.Data, "flightOffers") // where the unreadable prices are
	raw, err := json.Marshal(env.Data)
	if err != nil {
		return provider.Order{}, false
	}
	o, err := parseOrder(raw)
	if err != nil {
		return provider.Order{}, false
	}
	return o.Order, true
}
